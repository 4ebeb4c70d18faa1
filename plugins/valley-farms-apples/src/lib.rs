//! Valley Farms (sample): apple lots as a JSON array, each naming its grading
//! system (`GB/T 10651`, `USDA`), dates `MM/DD/YYYY`, `net_kg` a number or a
//! numeric string.

use conform_plugin_sdk::{
    export_plugin, json, standard, Checks, Plugin, Records, Rejected, ResultExt, Row,
};

/// The Valley Farms lot mapping.
pub struct ValleyFarmsApples;

impl Plugin for ValleyFarmsApples {
    fn convert(row: &Row) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let lot_id = checks.take(row.text("lot"));
        let variety = checks.take(row.text("variety"));
        let origin = checks.take(row.text("origin"));
        let system = checks.take(row.text("grade_system"));
        let source_grade = checks.take(row.text("grade"));
        let weight = row.text("net_kg").and_then(|v| {
            standard::to_canonical(&v, "kg", "produce_lot", "net_weight_kg").at("net_kg")
        });
        let weight = checks.take(weight);
        let diameter = row.text("min_diameter_mm").and_then(|v| {
            standard::to_canonical_text(&v, "mm", "produce_lot", "fruit_diameter_mm")
                .at("min_diameter_mm")
        });
        let diameter = checks.take(diameter);
        let grading = match (&system, &source_grade, &diameter) {
            (Some(system), Some(grade), Some(d)) => {
                let graded = standard::grade(system, grade, d);
                let field = match &graded {
                    Err(p) if p.code == "unknown-grading-system" => "grade_system",
                    _ => "grade",
                };
                checks.take(graded.at(field))
            }
            _ => None,
        };
        let harvest = checks.take(
            row.text("harvested")
                .and_then(|d| standard::parse_date(&d, "%m/%d/%Y").at("harvested")),
        );
        let packaging = checks.take(
            row.text("pack")
                .and_then(|t| standard::package_code(&t).at("pack")),
        );
        let packages = checks.take(row.count("units"));
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

export_plugin!(ValleyFarmsApples);
