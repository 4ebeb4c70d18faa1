//! Jinggong machining plant (sample): parts in a GB18030 CSV with Chinese
//! headers, sizes in inches and masses in pounds.

use conform_plugin_sdk::tables::{CodeList, Quantity};
use conform_plugin_sdk::{
    export_plugin, Checks, Cx, Plugin, Record, Records, Rejected, ResultExt, Row,
};

/// The Jinggong parts list mapping.
pub struct JinggongParts;

const PACKAGING: CodeList = CodeList::named("packaging");
const MASS_G: Quantity = Quantity::named("units", "part", "mass_g");

/// Each length column, in inches, and the field it becomes.
const LENGTHS: [(&str, Quantity); 4] = [
    ("长度(英寸)", Quantity::named("units", "part", "length_mm")),
    ("宽度(英寸)", Quantity::named("units", "part", "width_mm")),
    ("高度(英寸)", Quantity::named("units", "part", "height_mm")),
    (
        "公差(英寸)",
        Quantity::named("units", "part", "tolerance_mm"),
    ),
];

/// The record fields of [`LENGTHS`], in order.
const LENGTH_FIELDS: [&str; 4] = ["length_mm", "width_mm", "height_mm", "tolerance_mm"];

impl Plugin for JinggongParts {
    fn prepare(rows: &[Row<'_>], cx: &mut Cx) {
        for (column, quantity) in LENGTHS {
            quantity.prefetch_column(cx, rows, column, "in");
        }
        MASS_G.prefetch_column(cx, rows, "重量(磅)", "lb");
    }

    fn convert(row: &Row<'_>, cx: &mut Cx) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let part_no = checks.take(row.text("零件号"));
        let name = checks.take(row.text("名称"));
        let supplier = checks.take(row.text("供应商代码"));
        let lengths = LENGTHS.map(|(column, quantity)| {
            checks.take(
                row.text(column)
                    .and_then(|v| quantity.to_canonical(cx, v, "in"))
                    .at(column),
            )
        });
        let mass = checks.take(
            row.text("重量(磅)")
                .and_then(|v| MASS_G.to_canonical(cx, v, "lb"))
                .at("重量(磅)"),
        );
        let packaging = checks.take(
            row.text("包装")
                .and_then(|t| PACKAGING.code(cx, t))
                .at("包装"),
        );
        let quantity = checks.take(row.count("每包数量"));
        checks.finish()?;

        let mut part = Record::new("part");
        part.text("part_no", part_no.unwrap_or_default())
            .text("name", name.unwrap_or_default())
            .text("supplier_code", supplier.unwrap_or_default());
        for (field, value) in LENGTH_FIELDS.iter().zip(&lengths) {
            part.decimal(field, value.as_deref().unwrap_or_default());
        }
        part.decimal("mass_g", mass.as_deref().unwrap_or_default())
            .text("packaging", packaging.as_deref().unwrap_or_default())
            .integer("quantity_per_package", quantity.unwrap_or_default());
        Ok(Records::one(part))
    }
}

export_plugin!(JinggongParts);
