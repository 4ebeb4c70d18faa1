//! Hengtai fasteners (sample): an XML part catalogue, one `<Part>` per part,
//! a unit on each measuring element, the supplier code on the root element.

use conform_plugin_sdk::{
    export_plugin, json, standard, Checks, Plugin, Problem, Records, Rejected, ResultExt, Row,
    Value,
};

/// The Hengtai catalogue mapping.
pub struct HengtaiParts;

const SIZES: [(&str, &str); 3] = [
    ("/Size/@length", "length_mm"),
    ("/Size/@width", "width_mm"),
    ("/Size/@height", "height_mm"),
];

/// A required element, as a problem naming the element when it is absent.
fn element<'a>(row: &'a Row, name: &str) -> Result<&'a Value, Problem> {
    row.get(name).ok_or_else(|| {
        Problem::new(
            "missing-field",
            format!("element `<{name}>` is required but missing"),
        )
        .at(name)
    })
}

/// The text and unit of a measuring element (`<Weight unit="g">21.5</Weight>`).
fn measure(row: &Row, name: &str, field: &str) -> Result<Value, Problem> {
    element(row, name)?;
    let value = row.text_at(&format!("/{name}/#text"))?;
    let unit = row.text_at(&format!("/{name}/@unit"))?;
    standard::to_canonical(&value, &unit, "part", field).at(name)
}

/// The three sizes of `<Size unit=".." length=".." width=".." height=".."/>`.
/// A unit the pack does not know is one problem, on `@unit`.
fn sizes(row: &Row, record: &mut Value) -> Result<(), Rejected> {
    element(row, "Size")?;
    let unit = row.text_at("/Size/@unit")?;
    let mut checks = Checks::default();
    for (pointer, field) in SIZES {
        let value = row
            .text_at(pointer)
            .and_then(|v| standard::to_canonical(&v, &unit, "part", field).at(pointer));
        match value {
            Ok(v) => record[field] = v,
            Err(p) if p.code == "unknown-unit" || p.code == "incompatible-unit" => {
                return Err(p.at("/Size/@unit").into())
            }
            Err(p) => {
                checks.take::<()>(Err(p));
            }
        }
    }
    checks.finish()
}

impl Plugin for HengtaiParts {
    fn convert(row: &Row) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let part_no = checks.take(row.text("@id"));
        let name = checks.take(row.text("Name"));
        let supplier = checks.take(row.text_at("/$context/PartCatalog/@supplier"));
        let mut record = json!({});
        let sizes = sizes(row, &mut record);
        let tolerance = checks.take(measure(row, "Tolerance", "tolerance_mm"));
        let mass = checks.take(measure(row, "Weight", "mass_g"));
        let packaging = checks.take(
            row.text_at("/Package/@type")
                .and_then(|t| standard::package_code(&t).at("/Package/@type")),
        );
        let quantity = checks.take(row.count_at("/Package/@qty"));
        let mut problems = sizes.err().map(|r| r.0).unwrap_or_default();
        if let Err(Rejected(more)) = checks.finish() {
            problems.extend(more);
        }
        if !problems.is_empty() {
            return Err(Rejected(problems));
        }

        record["part_no"] = json!(part_no);
        record["name"] = json!(name);
        record["supplier_code"] = json!(supplier);
        record["tolerance_mm"] = json!(tolerance);
        record["mass_g"] = json!(mass);
        record["packaging"] = json!(packaging);
        record["quantity_per_package"] = json!(quantity);
        Ok(Records::one("part", record))
    }
}

export_plugin!(HengtaiParts);
