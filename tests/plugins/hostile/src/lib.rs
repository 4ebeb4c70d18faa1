//! A plugin that misbehaves on request. Each row's `action` picks what it
//! does; `ok` converts the row into a valid part.

use conform_plugin_sdk::{
    export_plugin, json, standard, Plugin, Problem, Records, Rejected, Row, Value,
};

/// The misbehaving plugin.
pub struct Hostile;

fn part(row: &Row) -> Value {
    json!({
        "part_no": format!("T-{:04}", row.ordinal),
        "name": "test part",
        "supplier_code": "91370200MA3C1234X5",
        "length_mm": 1.0, "width_mm": 1.0, "height_mm": 1.0, "tolerance_mm": 0.0,
        "mass_g": 1.0, "packaging": "CT", "quantity_per_package": 1
    })
}

impl Plugin for Hostile {
    fn convert(row: &Row) -> Result<Records, Rejected> {
        match row.text("action")?.as_str() {
            "ok" => Ok(Records::one("part", part(row))),
            "panic" => panic!("asked to panic on row {}", row.ordinal),
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "grow" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "slow" => {
                // Merely slow: about 10 ms of work, well inside the batch limit
                // for one row, then a valid part.
                let mut n: u64 = 0;
                for _ in 0..20_000_000u64 {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
                Ok(Records::one("part", part(row)))
            }
            "undeclared" => Ok(Records::one("shipment", part(row))),
            "invalid" => {
                let mut record = part(row);
                record.as_object_mut().expect("an object").remove("mass_g");
                Ok(Records::one("part", record))
            }
            "huge" => Ok(Records::one("part", json!({ "blob": "x".repeat(200_000) }))),
            "many" => {
                let mut records = Records::default();
                for _ in 0..10 {
                    records.push("part", part(row));
                }
                Ok(records)
            }
            "garbage" => {
                let value =
                    standard::to_canonical("\u{0}\u{ffff}", "\u{202e}", "no-such-type", "")?;
                Ok(Records::one("part", value))
            }
            other => Err(Problem::new("unknown-action", format!("no action `{other}`")).into()),
        }
    }
}

export_plugin!(Hostile);
