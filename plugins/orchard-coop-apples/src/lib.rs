//! The orchard cooperative (sample): apple lots graded by the provincial
//! `sd-2019` system, net weights in 斤, fruit diameters in cm, dates written
//! `2026年10月8日`.

use conform_plugin_sdk::{
    export_plugin, json, standard, Checks, Plugin, Records, Rejected, ResultExt, Row,
};

/// The cooperative's lot list mapping.
pub struct OrchardCoopApples;

const GRADING_SYSTEM: &str = "sd-2019";

impl Plugin for OrchardCoopApples {
    fn convert(row: &Row) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let lot_id = checks.take(row.text("批次号"));
        let variety = checks.take(row.text("品种"));
        let origin = checks.take(row.text("产地代码"));
        let source_grade = checks.take(row.text("等级"));
        let weight = row.text("净重(斤)").and_then(|v| {
            standard::to_canonical(&v, "斤", "produce_lot", "net_weight_kg").at("净重(斤)")
        });
        let weight = checks.take(weight);
        let diameter = row.text("果径(cm)").and_then(|v| {
            standard::to_canonical_text(&v, "cm", "produce_lot", "fruit_diameter_mm").at("果径(cm)")
        });
        let diameter = checks.take(diameter);
        let grading = match (&source_grade, &diameter) {
            (Some(grade), Some(d)) => {
                checks.take(standard::grade(GRADING_SYSTEM, grade, d).at("等级"))
            }
            _ => None,
        };
        let harvest = checks.take(
            row.text("采收日期")
                .and_then(|d| standard::parse_date(&d, "%Y年%m月%d日").at("采收日期")),
        );
        let packaging = checks.take(
            row.text("包装")
                .and_then(|t| standard::package_code(&t).at("包装")),
        );
        let packages = checks.take(row.count("件数"));
        checks.finish()?;

        let grading = grading.expect("checked");
        let diameter = standard::decimal_value(&diameter.expect("checked"))?;
        Ok(Records::one(
            "produce_lot",
            json!({
                "lot_id": lot_id,
                "product": "apple",
                "variety": variety,
                "origin": origin,
                "grade": grading.class,
                "source_grade": { "system": grading.system, "value": source_grade },
                "net_weight_kg": weight,
                "fruit_diameter_mm": diameter,
                "harvest_date": harvest,
                "packaging": packaging,
                "packages": packages,
            }),
        ))
    }
}

export_plugin!(OrchardCoopApples);
