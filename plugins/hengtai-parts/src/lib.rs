//! Hengtai fasteners (sample): an XML part catalogue, one `<Part>` per part,
//! a unit on each measuring element, the supplier code on the root element.

use conform_plugin_sdk::tables::{Canonical, CodeList, Quantity};
use conform_plugin_sdk::{
    export_plugin, Checks, Cx, Plugin, Problem, Record, Records, Rejected, ResultExt, Row,
};

/// The Hengtai catalogue mapping.
pub struct HengtaiParts;

const PACKAGING: CodeList = CodeList::named("packaging");
const TOLERANCE_MM: Quantity = Quantity::named("units", "part", "tolerance_mm");
const MASS_G: Quantity = Quantity::named("units", "part", "mass_g");

/// The attributes of `<Size>` and the fields they become.
const SIZES: [(&str, &str, Quantity); 3] = [
    (
        "/Size/@length",
        "length_mm",
        Quantity::named("units", "part", "length_mm"),
    ),
    (
        "/Size/@width",
        "width_mm",
        Quantity::named("units", "part", "width_mm"),
    ),
    (
        "/Size/@height",
        "height_mm",
        Quantity::named("units", "part", "height_mm"),
    ),
];

/// A required element, as a problem naming the element when it is absent.
fn element(row: &Row<'_>, name: &str) -> Result<(), Problem> {
    match row.get(name) {
        Some(_) => Ok(()),
        None => Err(Problem::new(
            "missing-field",
            format!("element `<{name}>` is required but missing"),
        )
        .at(name)),
    }
}

/// The text and unit of a measuring element (`<Weight unit="g">21.5</Weight>`).
fn measure(
    row: &Row<'_>,
    cx: &mut Cx,
    name: &str,
    quantity: Quantity,
) -> Result<Canonical, Problem> {
    element(row, name)?;
    let value = row.text_at(&format!("/{name}/#text"))?;
    let unit = row.text_at(&format!("/{name}/@unit"))?;
    quantity.to_canonical(cx, value, unit).at(name)
}

/// The three sizes of `<Size unit=".." length=".." width=".." height=".."/>`,
/// in the order of [`SIZES`]. A unit the pack does not know is one problem,
/// on `@unit`.
fn sizes(row: &Row<'_>, cx: &mut Cx) -> Result<Vec<Canonical>, Rejected> {
    element(row, "Size")?;
    let unit = row.text_at("/Size/@unit")?;
    let mut checks = Checks::default();
    let mut sizes = Vec::with_capacity(SIZES.len());
    for (pointer, _, quantity) in SIZES {
        let value = row
            .text_at(pointer)
            .and_then(|v| quantity.to_canonical(cx, v, unit).at(pointer));
        match value {
            Ok(v) => sizes.push(v),
            Err(p) if p.code == "unknown-unit" || p.code == "incompatible-unit" => {
                return Err(p.at("/Size/@unit").into())
            }
            Err(p) => {
                checks.take::<()>(Err(p));
            }
        }
    }
    checks.finish()?;
    Ok(sizes)
}

impl Plugin for HengtaiParts {
    fn convert(row: &Row<'_>, cx: &mut Cx) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let part_no = checks.take(row.text("@id"));
        let name = checks.take(row.text("Name"));
        let supplier = checks.take(row.text_at("/$context/PartCatalog/@supplier"));
        let sizes = sizes(row, cx);
        let tolerance = checks.take(measure(row, cx, "Tolerance", TOLERANCE_MM));
        let mass = checks.take(measure(row, cx, "Weight", MASS_G));
        let packaging = checks.take(
            row.text_at("/Package/@type")
                .and_then(|t| PACKAGING.code(cx, t))
                .at("/Package/@type"),
        );
        let quantity = checks.take(row.count_at("/Package/@qty"));
        let mut problems = match &sizes {
            Err(Rejected(problems)) => problems.clone(),
            Ok(_) => Vec::new(),
        };
        if let Err(Rejected(more)) = checks.finish() {
            problems.extend(more);
        }
        let (Ok(sizes), true) = (sizes, problems.is_empty()) else {
            return Err(Rejected(problems));
        };

        let mut part = Record::new("part");
        part.text("part_no", part_no.unwrap_or_default())
            .text("name", name.unwrap_or_default())
            .text("supplier_code", supplier.unwrap_or_default());
        for ((_, field, _), value) in SIZES.iter().zip(&sizes) {
            part.decimal(field, value);
        }
        part.decimal("tolerance_mm", tolerance.as_deref().unwrap_or_default())
            .decimal("mass_g", mass.as_deref().unwrap_or_default())
            .text("packaging", packaging.as_deref().unwrap_or_default())
            .integer("quantity_per_package", quantity.unwrap_or_default());
        Ok(Records::one(part))
    }
}

export_plugin!(HengtaiParts);
