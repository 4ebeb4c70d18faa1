//! A plugin that misbehaves on request. Each row's `action` picks what it
//! does; `ok` converts the row into a valid part.
//!
//! Most actions go through the SDK ([`Hostile`]); those that break the
//! contract in ways the SDK would not let a plugin (raw JSON text, floods of
//! problems and log lines) answer at the contract level ([`raw`]).

use conform_plugin_sdk::bindings::conform::plugin::{standard as host, types as wit};
use conform_plugin_sdk::{
    json, run_batch, standard, Plugin, Problem, Records, Rejected, Row, Value,
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

/// A valid part as JSON text, with `edit` applied to the text.
fn part_text(ordinal: u64, edit: impl Fn(String) -> String) -> String {
    let row = Row::from_value(ordinal, 0, json!({}));
    edit(part(&row).to_string())
}

fn converted(json: String) -> wit::Outcome {
    wit::Outcome::Converted(vec![wit::OutputRecord {
        record_type: "part".into(),
        json,
    }])
}

/// The actions that answer at the contract level, or `None` for the SDK's.
fn raw(input: &wit::InputRecord) -> Option<wit::Outcome> {
    let fields: Value = serde_json_from_str(&input.fields)?;
    let ordinal = input.ordinal;
    Some(match fields.get("action")?.as_str()? {
        // Far more problems than a row may list.
        "flood-problems" => wit::Outcome::Rejected(
            (0..150_000)
                .map(|_| wit::Problem {
                    field: None,
                    code: String::new(),
                    message: String::new(),
                })
                .collect(),
        ),
        // Codes of its own choosing that look like the host's fault codes.
        "fake-fault-codes" => wit::Outcome::Rejected(
            (0..10)
                .map(|i| wit::Problem {
                    field: None,
                    code: format!("plugin-evil-{ordinal}-{i}"),
                    message: "chosen by the plugin".into(),
                })
                .collect(),
        ),
        // Log lines that try to forge others, far too many of them.
        "flood-log" => {
            for i in 0..10_000 {
                host::log(
                    wit::Level::Warn,
                    &format!("line {i}\nFORGED-LOG-LINE level=ERROR admin=true\r\u{1b}[2J"),
                );
            }
            converted(part_text(ordinal, |t| t))
        }
        // The same key twice: a reader keeping the first sees an invalid
        // value, serde_json (keeping the last) a valid one.
        "duplicate-key" => converted(part_text(ordinal, |t| {
            t.replacen('{', "{\"packaging\":\"XX\",", 1)
        })),
        // An integer beyond what a float holds exactly.
        "inexact-number" => converted(part_text(ordinal, |t| {
            t.replace(
                "\"quantity_per_package\":1",
                "\"quantity_per_package\":12345678901234567890123",
            )
        })),
        // An integer field written as a decimal.
        "decimal-integer" => converted(part_text(ordinal, |t| {
            t.replace(
                "\"quantity_per_package\":1",
                "\"quantity_per_package\":20.0",
            )
        })),
        _ => return None,
    })
}

fn serde_json_from_str(text: &str) -> Option<Value> {
    text.parse().ok()
}

struct Export;

impl conform_plugin_sdk::bindings::Guest for Export {
    fn convert(batch: Vec<wit::InputRecord>) -> Vec<wit::Outcome> {
        batch
            .into_iter()
            .map(|input| match raw(&input) {
                Some(outcome) => outcome,
                None => run_batch::<Hostile>(vec![input])
                    .pop()
                    .expect("one outcome per record"),
            })
            .collect()
    }
}

conform_plugin_sdk::bindings::__export_converter!(Export with_types_in conform_plugin_sdk::bindings);
