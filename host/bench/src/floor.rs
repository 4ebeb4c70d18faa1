//! The floors: what the work itself costs on one core, without a plugin,
//! a sandbox or validation, so that the report shows how far Conform is
//! from the ceiling. `decode`: the decoder alone (the file transcoded and
//! cut into rows, as the pipeline gets them). `services`: decoding, then per
//! row the exact-decimal unit conversions and the package-code look-up the
//! Jinggong mapping needs, and a records line written to a file.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use conform_decode::{decode, DecodeLimits, Decoded};

/// What a floor measures.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Floor {
    /// Decoding only.
    Decode,
    /// Decoding, the unit conversions and look-ups, and the output lines.
    Services,
}

/// The Jinggong export's length columns and the fields they become.
const LENGTHS: [(&str, &str); 4] = [
    ("长度(英寸)", "length_mm"),
    ("宽度(英寸)", "width_mm"),
    ("高度(英寸)", "height_mm"),
    ("公差(英寸)", "tolerance_mm"),
];

/// Runs a floor over a Jinggong-format file, writing records to `output`;
/// prints `{"rows_in":…,"converted":…}` as a conversion's summary does.
pub fn run(floor: Floor, file: &Path, output: &Path) -> Result<()> {
    let pack = conform_pack::Pack::load(crate::root().join("standards/sample-regional"))?;
    let tables = pack.standard().tables();
    let units = tables.units("units").context("the pack's unit catalogue")?;
    let packaging = tables
        .code_list("packaging")
        .context("the pack's packaging list")?;
    let registry = conform_engine::Registry::open(crate::root().join("target/plugins"))?;
    let declared = &registry.get("jinggong-parts")?.manifest.input;
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot read `{}`", file.display()))?;
    let rows = decode(
        input,
        &declared.format,
        declared.encoding,
        DecodeLimits::default(),
    );
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(output)
            .with_context(|| format!("cannot write `{}`", output.display()))?,
    );
    let (mut rows_in, mut converted) = (0u64, 0u64);
    for row in rows {
        let Decoded::Record(record) = row? else {
            rows_in += 1;
            continue;
        };
        rows_in += 1;
        if let Floor::Decode = floor {
            converted += 1;
            continue;
        }
        let conform_model::RowFields::Cells(cells) = &record.fields else {
            anyhow::bail!("a Jinggong-format file decodes to CSV cells");
        };
        let text = |name: &str| {
            cells
                .cells()
                .filter(|(column, _)| *column == name)
                .last()
                .map_or("", |(_, cell)| cell.trim())
        };
        let mut line = String::with_capacity(256);
        line.push_str("{\"record_type\":\"part\",\"record\":{");
        let mut ok = true;
        for (column, field) in LENGTHS {
            match units.to_canonical(text(column), "in", "part", field) {
                Ok(value) => line.push_str(&format!("\"{field}\":{value},")),
                Err(_) => ok = false,
            }
        }
        match units.to_canonical(text("重量(磅)"), "lb", "part", "mass_g") {
            Ok(value) => line.push_str(&format!("\"mass_g\":{value},")),
            Err(_) => ok = false,
        }
        match packaging.lookup(text("包装"), None) {
            Ok(found) => line.push_str(&format!("\"packaging\":\"{}\"", found.code)),
            Err(_) => ok = false,
        }
        line.push_str(&format!(
            "}},\"source\":{{\"file\":\"floor\",\"line\":{}}}}}\n",
            record.line
        ));
        if ok {
            converted += 1;
            out.write_all(line.as_bytes())?;
        }
    }
    out.flush()?;
    println!(
        "{}",
        serde_json::json!({ "rows_in": rows_in, "converted": converted })
    );
    Ok(())
}
