//! Haiyun textile exporter (sample): fabric rolls in a UTF-8 JSON array, each
//! naming the weaving mill that made it and carrying that mill's own colour
//! code; inches, yards, densities as `{"value", "unit"}`, compositions as
//! `T/C 65/35`, defect points per 100 yd², `trade-quality` grades, dates as
//! MM/DD/YYYY.

use conform_plugin_sdk::tables::{CodeList, Quantity, Scheme, TimeFormat};
use conform_plugin_sdk::{
    export_plugin, Checks, Cx, Plugin, Problem, Record, Records, Rejected, ResultExt, Row,
};

/// The Haiyun roll list mapping.
pub struct HaiyunExportRolls;

const COLOURS: CodeList = CodeList::named("colours");
const FIBRES: CodeList = CodeList::named("fibres");
const GRADE: Scheme = Scheme::named("grade");
const TIME: TimeFormat = TimeFormat::named("time");
/// Each measured field: its quantity in the unit catalogue, and its pointer.
type Measured = (Quantity, &'static str);
const WIDTH: Measured = (
    Quantity::named("units", "fabric_roll", "width_cm"),
    "/width_cm",
);
const LENGTH: Measured = (
    Quantity::named("units", "fabric_roll", "length_m"),
    "/length_m",
);
const DENSITY: Measured = (
    Quantity::named("units", "fabric_roll", "areal_density_gsm"),
    "/areal_density_gsm",
);
const POINTS: Measured = (
    Quantity::named("units", "fabric_roll", "points_per_100m2"),
    "/points_per_100m2",
);

/// The grading system of the mills' own grades.
const SYSTEM: &str = "trade-quality";

/// A composition in trade shorthand (`T/C 65/35`, `T/R/SP 63/33/4`,
/// `L 100`): fibre codes and whole percentages, in the order given.
fn composition(cx: &mut Cx, text: &str) -> Result<Vec<(String, i64)>, Problem> {
    let malformed = || {
        Problem::new(
            "invalid-format",
            format!("`{text}` is not a composition: write fibres and their shares as `T/C 65/35`"),
        )
    };
    let (fibres, shares) = text
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(malformed)?;
    let fibres: Vec<&str> = fibres.split('/').collect();
    let shares: Vec<&str> = shares.trim().split('/').collect();
    if fibres.len() != shares.len() {
        return Err(malformed());
    }
    fibres
        .iter()
        .zip(shares)
        .map(|(fibre, share)| {
            let percent = share.trim().parse::<i64>().map_err(|_| malformed())?;
            Ok((FIBRES.code(cx, fibre)?, percent))
        })
        .collect()
}

impl Plugin for HaiyunExportRolls {
    fn convert(row: &Row<'_>, cx: &mut Cx) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let roll_id = checks.take(row.text("roll"));
        let article = checks.take(row.text("article"));
        let mill = checks.take(row.text("mill_uscc"));
        let colour_source = checks.take(row.text("color"));
        let colour = match (colour_source, mill) {
            (Some(colour), Some(mill)) => checks.take(
                COLOURS
                    .code_in(cx, colour, mill)
                    .at("color")
                    .target("/colour_code"),
            ),
            _ => None,
        };
        let mut measure = |column: &str, (quantity, target): (Quantity, &str), unit: &str| {
            checks.take(
                row.text(column)
                    .and_then(|v| quantity.to_canonical(cx, v, unit))
                    .at(column)
                    .target(target),
            )
        };
        let width = measure("width_in", WIDTH, "in");
        let length = measure("length_yd", LENGTH, "yd");
        let points = measure("points_per_100yd2", POINTS, "points/100yd2");
        let density = checks.take(
            row.text_at("/weight/value")
                .and_then(|value| {
                    let unit = row.text_at("/weight/unit")?;
                    DENSITY.0.to_canonical(cx, value, unit)
                })
                .at("weight")
                .target("/areal_density_gsm"),
        );
        let fibres = checks.take(
            row.text("content")
                .and_then(|t| composition(cx, t))
                .at("content")
                .target("/composition"),
        );
        let declared = checks.take(row.text("quality").target("/grade"));
        let grade = match (declared, &points) {
            (Some(declared), Some(points)) => checks.take(
                GRADE
                    .evaluate(cx, &[(declared, Some(SYSTEM)), (points, None)])
                    .map(|found| found.class)
                    .at("quality")
                    .target("/grade"),
            ),
            _ => None,
        };
        let inspected = checks.take(
            row.text("inspected")
                .and_then(|t| TIME.parse_date(cx, t, "%m/%d/%Y"))
                .at("inspected")
                .target("/inspected_on"),
        );
        checks.finish()?;

        let mut roll = Record::new("fabric_roll");
        roll.text("roll_id", roll_id.unwrap_or_default())
            .text("supplier_code", mill.unwrap_or_default())
            .text("article", article.unwrap_or_default())
            .text("colour_code", colour.as_deref().unwrap_or_default())
            .text("colour_source", colour_source.unwrap_or_default())
            .decimal("width_cm", width.as_deref().unwrap_or_default())
            .decimal("length_m", length.as_deref().unwrap_or_default())
            .decimal("areal_density_gsm", density.as_deref().unwrap_or_default())
            .array("composition", |items| {
                for (fibre, percent) in fibres.iter().flatten() {
                    items.object(|item| {
                        item.text("fibre", fibre).integer("percent", *percent);
                    });
                }
            })
            .decimal("points_per_100m2", points.as_deref().unwrap_or_default())
            .text("grade", grade.as_deref().unwrap_or_default())
            .object("source_grade", |source| {
                source
                    .text("system", SYSTEM)
                    .text("value", declared.unwrap_or_default());
            })
            .text("inspected_on", inspected.as_deref().unwrap_or_default());
        Ok(Records::one(roll))
    }
}

export_plugin!(HaiyunExportRolls);
