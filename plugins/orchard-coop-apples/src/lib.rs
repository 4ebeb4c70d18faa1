//! The orchard cooperative (sample): apple lots graded by the provincial
//! `sd-2019` system, net weights in 斤, fruit diameters in cm, dates written
//! `2026年10月8日`.

use conform_plugin_sdk::tables::{CodeList, Quantity, Scheme, TimeFormat};
use conform_plugin_sdk::{
    export_plugin, Checks, Cx, Plugin, Record, Records, Rejected, ResultExt, Row,
};

/// The cooperative's lot list mapping.
pub struct OrchardCoopApples;

const PACKAGING: CodeList = CodeList::named("packaging");
const GRADE: Scheme = Scheme::named("apple-grade");
const TIME: TimeFormat = TimeFormat::named("time");
const NET_WEIGHT: Quantity = Quantity::named("units", "produce_lot", "net_weight_kg");
const DIAMETER: Quantity = Quantity::named("units", "produce_lot", "fruit_diameter_mm");

/// The grading system of the cooperative's own grades.
const GRADING_SYSTEM: &str = "sd-2019";

impl Plugin for OrchardCoopApples {
    fn convert(row: &Row<'_>, cx: &mut Cx) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let lot_id = checks.take(row.text("批次号"));
        let variety = checks.take(row.text("品种"));
        let origin = checks.take(row.text("产地代码"));
        let source_grade = checks.take(row.text("等级"));
        let weight = checks.take(
            row.text("净重(斤)")
                .and_then(|v| NET_WEIGHT.to_canonical(cx, v, "斤"))
                .at("净重(斤)"),
        );
        let diameter = checks.take(
            row.text("果径(cm)")
                .and_then(|v| DIAMETER.to_canonical(cx, v, "cm"))
                .at("果径(cm)"),
        );
        // The lot's class is the lower of its grade's crosswalk and its
        // diameter's class; a refusal of either is the grade's problem.
        let grading = match (source_grade, &diameter) {
            (Some(grade), Some(d)) => checks.take(
                GRADE
                    .evaluate(cx, &[(grade, Some(GRADING_SYSTEM)), (d, None)])
                    .at("等级"),
            ),
            _ => None,
        };
        let harvest = checks.take(
            row.text("采收日期")
                .and_then(|d| TIME.parse_date(cx, d, "%Y年%m月%d日"))
                .at("采收日期"),
        );
        let packaging = checks.take(
            row.text("包装")
                .and_then(|t| PACKAGING.code(cx, t))
                .at("包装"),
        );
        let packages = checks.take(row.count("件数"));
        checks.finish()?;

        let grading = grading.expect("checked");
        let system = grading
            .parts
            .first()
            .and_then(|part| part.scope.as_deref())
            .unwrap_or_default();
        let mut lot = Record::new("produce_lot");
        lot.text("lot_id", lot_id.unwrap_or_default())
            .text("product", "apple")
            .text("variety", variety.unwrap_or_default())
            .text("origin", origin.unwrap_or_default())
            .text("grade", &grading.class)
            .object("source_grade", |o| {
                o.text("system", system)
                    .text("value", source_grade.unwrap_or_default());
            })
            .decimal("net_weight_kg", weight.as_deref().unwrap_or_default())
            .decimal("fruit_diameter_mm", diameter.as_deref().unwrap_or_default())
            .text("harvest_date", harvest.as_deref().unwrap_or_default())
            .text("packaging", packaging.as_deref().unwrap_or_default())
            .integer("packages", packages.unwrap_or_default());
        Ok(Records::one(lot))
    }
}

export_plugin!(OrchardCoopApples);
