//! Keqiao dyeing and finishing mill (sample): fabric rolls in a GB18030 CSV
//! with Chinese headers, colours by name, compositions written
//! `65%涤纶 35%棉`, defect points per 100 m², `cn-quality` grades and dates
//! as `2026年11月2日`.

use conform_plugin_sdk::tables::{CodeList, Quantity, Scheme, TimeFormat};
use conform_plugin_sdk::{
    export_plugin, Checks, Cx, Plugin, Problem, Record, Records, Rejected, ResultExt, Row,
};

/// The Keqiao roll list mapping.
pub struct KeqiaoDyeingRolls;

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

/// The grading system of the mill's own grades.
const SYSTEM: &str = "cn-quality";

/// A composition as written (`65%涤纶 35%棉`, `97%棉,3%氨纶`): fibre codes
/// and whole percentages, in the order given.
fn composition(cx: &mut Cx, text: &str) -> Result<Vec<(String, i64)>, Problem> {
    let mut parts = Vec::new();
    for item in text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | '、' | ';'))
        .filter(|s| !s.is_empty())
    {
        let Some((percent, fibre)) = item.split_once('%') else {
            return Err(Problem::new(
                "invalid-format",
                format!("`{item}` is not a share of a fibre: write it as `65%涤纶`"),
            ));
        };
        let percent: i64 = percent.trim().parse().map_err(|_| {
            Problem::new(
                "invalid-format",
                format!("`{percent}` in `{item}` is not a whole percentage"),
            )
        })?;
        parts.push((FIBRES.code(cx, fibre)?, percent));
    }
    if parts.is_empty() {
        return Err(Problem::new(
            "missing-field",
            "the composition lists no fibre",
        ));
    }
    Ok(parts)
}

impl Plugin for KeqiaoDyeingRolls {
    fn convert(row: &Row<'_>, cx: &mut Cx) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let roll_id = checks.take(row.text("卷号"));
        let article = checks.take(row.text("品名"));
        let supplier = checks.take(row.text("供应商代码"));
        let colour_source = checks.take(row.text("颜色"));
        let colour = match (colour_source, supplier) {
            (Some(colour), Some(supplier)) => checks.take(
                COLOURS
                    .code_in(cx, colour, supplier)
                    .at("颜色")
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
        let width = measure("幅宽(cm)", WIDTH, "cm");
        let length = measure("长度(m)", LENGTH, "m");
        let density = measure("克重(g/m²)", DENSITY, "g/m²");
        let points = measure("疵点评分(分/100m²)", POINTS, "分/100m²");
        let fibres = checks.take(
            row.text("成分")
                .and_then(|t| composition(cx, t))
                .at("成分")
                .target("/composition"),
        );
        let declared = checks.take(row.text("自评等级").target("/grade"));
        let grade = match (declared, &points) {
            (Some(declared), Some(points)) => checks.take(
                GRADE
                    .evaluate(cx, &[(declared, Some(SYSTEM)), (points, None)])
                    .map(|found| found.class)
                    .at("自评等级")
                    .target("/grade"),
            ),
            _ => None,
        };
        let inspected = checks.take(
            row.text("检验日期")
                .and_then(|t| TIME.parse_date(cx, t, "%Y年%m月%d日"))
                .at("检验日期")
                .target("/inspected_on"),
        );
        checks.finish()?;

        let mut roll = Record::new("fabric_roll");
        roll.text("roll_id", roll_id.unwrap_or_default())
            .text("supplier_code", supplier.unwrap_or_default())
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

export_plugin!(KeqiaoDyeingRolls);
