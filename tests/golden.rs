//! Golden tests, one per case folder (`plugins/<plugin>/tests/cases/<case>/`,
//! see `support/cases.rs`): the real binary converts the case's input, and
//! the records and error report must equal its expected files, which agree
//! with every outcome SAMPLE-STANDARD lists. The counts and rejected lines of
//! `case.toml` are asserted too, so that regenerating the expected files
//! (`UPDATE_GOLDEN=1`) cannot hide a regression in them.
//!
//! `cargo test --test golden -- jinggong` runs one plugin's cases.

mod support;

use support::cases::{self, Case};
use support::ndjson;

fn main() {
    let arguments = libtest_mimic::Arguments::from_args();
    let cases = cases::cases();
    let mapped: Vec<_> = cases
        .iter()
        .filter_map(|case| cases::mapping_of(case).map(|mapping| (case.clone(), mapping)))
        .collect();
    let trials = cases
        .into_iter()
        .map(|case| {
            libtest_mimic::Trial::test(format!("{}/{}", case.plugin, case.name), move || {
                check(&case);
                Ok(())
            })
        })
        .chain(mapped.into_iter().map(|(case, mapping)| {
            let name = format!("mapping/{}/{}", case.plugin, case.name);
            libtest_mimic::Trial::test(name, move || {
                check_mapping(&case, &mapping);
                Ok(())
            })
        }))
        .collect();
    libtest_mimic::run(&arguments, trials).exit();
}

/// The mapping of an export (`mappings/<plugin>/mapping.toml`) against its
/// plugin's case: the same records byte for byte, the same rows rejected
/// with the same codes; a problem the plugin gives a `target` is the
/// mapping's but for the input it names, and a `target` of the mapping's
/// names one of its fields. The input a problem names may differ from the
/// plugin's (docs/mappings.md lists how).
fn check_mapping(case: &Case, mapping: &std::path::Path) {
    let converted = cases::convert_mapped(case, mapping);
    let expected = std::fs::read_to_string(case.file("expected.ndjson")).unwrap();
    assert!(
        converted.records == expected,
        "the records of mapping {} differ from {}:\n{}",
        mapping.display(),
        case.file("expected.ndjson").display(),
        converted.records
    );
    let expected = ndjson(&std::fs::read_to_string(case.file("expected.errors.ndjson")).unwrap());
    let errors = ndjson(&converted.errors);
    let outcome =
        |e: &serde_json::Value| format!("line {} (row {}): {}", e["line"], e["ordinal"], e["code"]);
    assert_eq!(
        errors.iter().map(outcome).collect::<Vec<_>>(),
        expected.iter().map(outcome).collect::<Vec<_>>(),
        "the rejections of mapping {}",
        mapping.display()
    );
    // Each problem the mapping finds names one of its fields, the one the
    // plugin names where the plugin names one.
    let mapping_text = std::fs::read_to_string(mapping).unwrap();
    let fields: toml::Table = toml::from_str::<toml::Table>(&mapping_text).unwrap()["fields"]
        .as_table()
        .unwrap()
        .clone();
    for (error, plugins) in errors.iter().zip(&expected) {
        if plugins.get("target").is_some() {
            let without_input = |e: &serde_json::Value| {
                let mut e = e.clone();
                e.as_object_mut().unwrap().remove("field");
                e
            };
            assert_eq!(
                without_input(error),
                without_input(plugins),
                "a problem with a target is the plugin's (but for the input it names)"
            );
        }
        if let Some(target) = error["target"].as_str() {
            let field = target.strip_prefix('/').unwrap_or(target);
            assert!(
                fields.contains_key(field),
                "{error} names no field of {}",
                mapping.display()
            );
        }
    }
    let summary = &converted.summary;
    assert_eq!(summary["rows_in"], case.rows, "rows");
    assert_eq!(summary["converted"], case.converted, "converted");
}

/// Compares `actual` with the case's expected file `name` (or writes it,
/// with `UPDATE_GOLDEN=1`).
fn golden(case: &Case, name: &str, actual: &str) {
    let path = case.file(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
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

fn check(case: &Case) {
    let converted = cases::convert(case);
    golden(case, "expected.ndjson", &converted.records);
    golden(case, "expected.errors.ndjson", &converted.errors);

    let summary = &converted.summary;
    let rejected = case.rejected_lines.len() as u64;
    assert_eq!(summary["rows_in"], case.rows, "rows");
    assert_eq!(summary["converted"], case.converted, "converted");
    assert_eq!(summary["rejected"], rejected, "rejected");
    assert_eq!(
        case.rows,
        case.converted + rejected,
        "every row accounted for"
    );

    let records_out = summary["files"][0]["records_out"].as_u64();
    assert_eq!(
        Some(ndjson(&converted.records).len() as u64),
        records_out,
        "one line per record"
    );
    let errors = ndjson(&converted.errors);
    let mut lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    lines.dedup();
    assert_eq!(lines, case.rejected_lines, "rejected lines");
    for error in &errors {
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
