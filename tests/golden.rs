//! Golden tests: the real binary converts each sample export, and the records
//! and error report must equal the expected files in `tests/golden/<plugin>/`,
//! which agree with every outcome SAMPLE-STANDARD lists. The counts and
//! rejected lines are also asserted here, so that regenerating the golden
//! files (`UPDATE_GOLDEN=1`) cannot hide a regression in them.

mod support;

use serde_json::Value;
use support::*;

struct Case {
    plugin: &'static str,
    file: &'static str,
    rows: u64,
    converted: u64,
    rejected_lines: &'static [u64],
}

const CASES: [Case; 6] = [
    Case {
        plugin: "jinggong-parts",
        file: "jinggong-parts.csv",
        rows: 13,
        converted: 6,
        rejected_lines: &[5, 7, 8, 9, 11, 13, 14],
    },
    Case {
        plugin: "hengtai-parts",
        file: "hengtai-parts.xml",
        rows: 9,
        converted: 6,
        rejected_lines: &[32, 39, 52],
    },
    Case {
        plugin: "orchard-coop-apples",
        file: "orchard-coop-apples.csv",
        rows: 11,
        converted: 7,
        rejected_lines: &[7, 8, 9, 10],
    },
    Case {
        plugin: "valley-farms-apples",
        file: "valley-farms-apples.json",
        rows: 10,
        converted: 7,
        rejected_lines: &[6, 8, 10],
    },
    Case {
        plugin: "swift-express",
        file: "swift-express.ndjson",
        rows: 8,
        converted: 4,
        rejected_lines: &[4, 5, 7, 9],
    },
    Case {
        plugin: "eastroute-waybills",
        file: "eastroute-waybills.csv",
        rows: 8,
        converted: 5,
        rejected_lines: &[6, 7, 8],
    },
];

fn run(case: &Case) -> (String, String, Value) {
    let out = tempfile::tempdir().unwrap();
    let (records, errors) = (
        out.path().join("records.ndjson"),
        out.path().join("errors.ndjson"),
    );
    let output = conform()
        .args([
            "convert",
            "--plugin",
            case.plugin,
            "--summary",
            "json",
            "--output",
        ])
        .arg(&records)
        .arg("--errors")
        .arg(&errors)
        .arg(sample(case.file))
        .output()
        .unwrap();
    expect_exit(&output, 0);
    let summary: Value =
        serde_json::from_slice(&output.stdout).expect("--summary json prints one JSON object");
    (
        std::fs::read_to_string(records).unwrap(),
        std::fs::read_to_string(errors).unwrap(),
        summary,
    )
}

fn golden(case: &Case, name: &str, actual: &str) {
    let path = root().join("tests/golden").join(case.plugin).join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
    assert!(
        expected == actual,
        "{} differs from the output:\n{actual}",
        path.display()
    );
}

#[test]
fn every_sample_export_converts_as_the_standard_says() {
    for case in &CASES {
        let (records, errors, summary) = run(case);
        golden(case, "expected.ndjson", &records);
        golden(case, "expected.errors.ndjson", &errors);

        let rejected = case.rejected_lines.len() as u64;
        assert_eq!(summary["rows_in"], case.rows, "{}", case.file);
        assert_eq!(summary["converted"], case.converted, "{}", case.file);
        assert_eq!(summary["rejected"], rejected, "{}", case.file);
        assert_eq!(
            case.rows,
            case.converted + rejected,
            "{}: every row accounted for",
            case.file
        );

        let records = ndjson(&records);
        assert_eq!(records.len() as u64, case.converted, "{}", case.file);
        let mut lines: Vec<u64> = ndjson(&errors)
            .iter()
            .map(|e| e["line"].as_u64().unwrap())
            .collect();
        lines.dedup();
        assert_eq!(lines, case.rejected_lines, "{}: rejected lines", case.file);
        for error in ndjson(&errors) {
            assert!(
                error["code"].as_str().is_some_and(|c| !c.is_empty()),
                "{error}"
            );
            assert!(
                error["message"].as_str().is_some_and(|m| m.len() > 10),
                "{error}"
            );
        }
    }
}

fn record<'a>(records: &'a [Value], key: &str, id: &str) -> &'a Value {
    &records
        .iter()
        .find(|r| r["record"][key] == id)
        .unwrap_or_else(|| panic!("no record {id}"))["record"]
}

/// Spot checks of the facts that a float or a wrong table gets wrong.
#[test]
fn exact_rounding_grading_service_levels_and_time_zones() {
    let (records, errors, _) = run(&CASES[0]);
    let parts = ndjson(&records);
    // 0.125 in = 3.175 mm, rounded half to even: 3.18 (a binary float gives 3.17).
    assert_eq!(record(&parts, "part_no", "JG-10024")["height_mm"], 3.18);
    assert_eq!(record(&parts, "part_no", "JG-10040")["mass_g"], 1134.0);
    let errors = ndjson(&errors);
    let line8 = errors.iter().find(|e| e["line"] == 8).unwrap();
    assert_eq!(
        (line8["code"].as_str(), line8["field"].as_str()),
        (Some("schema-violation"), Some("/length_mm"))
    );

    let lots = ndjson(&run(&CASES[2]).0);
    // 特级 crosswalks to R1 but 78 mm caps it at R2.
    assert_eq!(record(&lots, "lot_id", "QX-2610-002")["grade"], "R2");
    assert_eq!(
        record(&lots, "lot_id", "QX-2610-010")["net_weight_kg"],
        22.75
    );

    let swift = ndjson(&run(&CASES[4]).0);
    // Epoch ms in UTC: the local date moves.
    let s3 = record(&swift, "shipment_id", "SWX8800012003");
    assert_eq!(s3["dispatched_at"], "2026-11-04T01:20:00+08:00");
    assert_eq!(s3["service_level"], "SL120");

    let east = ndjson(&run(&CASES[5]).0);
    // EASTROUTE's 次日达 is 48 h, not 24.
    let e1 = record(&east, "shipment_id", "ER20261103001");
    assert_eq!(
        (e1["service_level"].as_str(), e1["promised_by"].as_str()),
        (Some("SL48"), Some("2026-11-05T14:05:00+08:00"))
    );
}
