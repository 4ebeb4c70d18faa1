//! The Jinggong parts mapping as it was written for contract 0.1.0 and its
//! SDK (`plugins/sdk-0.1`), kept unchanged: a plugin built against the
//! 0.1.0 WIT must keep converting. Its output is `jinggong-parts`' golden
//! output. Jinggong machining plant (sample): parts in a GB18030 CSV with Chinese
//! headers, sizes in inches and masses in pounds.

use conform_plugin_sdk::{
    export_plugin, json, standard, Checks, Plugin, Records, Rejected, ResultExt, Row,
};

/// The Jinggong parts list mapping.
pub struct JinggongParts;

const LENGTHS: [(&str, &str); 4] = [
    ("长度(英寸)", "length_mm"),
    ("宽度(英寸)", "width_mm"),
    ("高度(英寸)", "height_mm"),
    ("公差(英寸)", "tolerance_mm"),
];

impl Plugin for JinggongParts {
    fn convert(row: &Row) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let part_no = checks.take(row.text("零件号"));
        let name = checks.take(row.text("名称"));
        let supplier = checks.take(row.text("供应商代码"));
        let mut record = json!({});
        for (column, field) in LENGTHS {
            let value = row
                .text(column)
                .and_then(|v| standard::to_canonical(&v, "in", "part", field).at(column));
            if let Some(v) = checks.take(value) {
                record[field] = v;
            }
        }
        let mass = row
            .text("重量(磅)")
            .and_then(|v| standard::to_canonical(&v, "lb", "part", "mass_g").at("重量(磅)"));
        let mass = checks.take(mass);
        let packaging = checks.take(
            row.text("包装")
                .and_then(|t| standard::package_code(&t).at("包装")),
        );
        let quantity = checks.take(row.count("每包数量"));
        checks.finish()?;

        record["part_no"] = json!(part_no);
        record["name"] = json!(name);
        record["supplier_code"] = json!(supplier);
        record["mass_g"] = json!(mass);
        record["packaging"] = json!(packaging);
        record["quantity_per_package"] = json!(quantity);
        Ok(Records::one("part", record))
    }
}

export_plugin!(JinggongParts);
