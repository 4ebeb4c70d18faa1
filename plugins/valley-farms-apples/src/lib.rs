//! Valley Farms (sample): apple lots as a JSON array, each naming its grading
//! system (`GB/T 10651`, `USDA`), dates `MM/DD/YYYY`, `net_kg` a number or a
//! numeric string.

use conform_plugin_sdk::tables::{CodeList, Quantity, Scheme, TimeFormat};
use conform_plugin_sdk::{
    export_plugin, Checks, Cx, Plugin, Record, Records, Rejected, ResultExt, Row,
};

/// The Valley Farms lot mapping.
pub struct ValleyFarmsApples;

const PACKAGING: CodeList = CodeList::named("packaging");
const GRADE: Scheme = Scheme::named("apple-grade");
const TIME: TimeFormat = TimeFormat::named("time");
const NET_WEIGHT: Quantity = Quantity::named("units", "produce_lot", "net_weight_kg");
const DIAMETER: Quantity = Quantity::named("units", "produce_lot", "fruit_diameter_mm");

impl Plugin for ValleyFarmsApples {
    fn convert(row: &Row<'_>, cx: &mut Cx) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let lot_id = checks.take(row.text("lot"));
        let variety = checks.take(row.text("variety"));
        let origin = checks.take(row.text("origin"));
        let system = checks.take(row.text("grade_system"));
        let source_grade = checks.take(row.text("grade"));
        let weight = checks.take(
            row.text("net_kg")
                .and_then(|v| NET_WEIGHT.to_canonical(cx, v, "kg"))
                .at("net_kg"),
        );
        let diameter = checks.take(
            row.text("min_diameter_mm")
                .and_then(|v| DIAMETER.to_canonical(cx, v, "mm"))
                .at("min_diameter_mm"),
        );
        // The lot's class is the lower of its grade's crosswalk in its
        // system and its diameter's class.
        let grading = match (system, source_grade, &diameter) {
            (Some(system), Some(grade), Some(d)) => {
                let graded = GRADE.evaluate(cx, &[(grade, Some(system)), (d, None)]);
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
                .and_then(|d| TIME.parse_date(cx, d, "%m/%d/%Y"))
                .at("harvested"),
        );
        let packaging = checks.take(
            row.text("pack")
                .and_then(|t| PACKAGING.code(cx, t))
                .at("pack"),
        );
        let packages = checks.take(row.count("units"));
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

export_plugin!(ValleyFarmsApples);
