//! The guides run as written: every `sh` block of a guide, in order, in
//! one shell, in a fresh folder outside the repository, with the `conform`
//! under test on `PATH` and a server started here (the reader's `bash`
//! set-up block, its address and token, is made by the test). Then what
//! the guide says came of it is checked.

use std::path::Path;
use std::process::{Command, Output};

use super::support::server::{self, Server, PROVIDER, PUBLISHER};
use super::support::*;

/// The `sh` blocks of a guide, in order, as one script.
fn sh_blocks(markdown: &str) -> String {
    let mut script = String::new();
    let mut inside = false;
    for line in markdown.lines() {
        match (inside, line.trim_end()) {
            (false, "```sh") => inside = true,
            (true, "```") => inside = false,
            (true, line) => {
                script.push_str(line);
                script.push('\n');
            }
            _ => {}
        }
    }
    assert!(!inside, "a `sh` block is never closed");
    script
}

/// Runs the guide `name` (in `docs/guides/`) in `dir` with `token`.
fn run_guide(name: &str, server: &Server, token: &str, dir: &Path) -> Output {
    let guide = std::fs::read_to_string(root().join("docs/guides").join(name)).unwrap();
    let script = format!("set -euxo pipefail\n{}", sh_blocks(&guide));
    let bin = binary("conform");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = built_as_users_build(&mut Command::new("bash"))
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("PATH", path)
        .env("CONFORM_SERVER", &server.base)
        .env("CONFORM_TOKEN", token)
        // The scaffolds' wasm builds share one target folder.
        .env("CARGO_TARGET_DIR", root().join("target/scaffolds"))
        .env_remove("CONFORM_PACK")
        .env_remove("CONFORM_PLUGINS")
        .env_remove("CONFORM_LOG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the guide {name} failed at a command; its trace:\n{}\nstdout:\n{}",
        text(&output.stderr),
        text(&output.stdout)
    );
    output
}

#[test]
fn the_plugin_guide_runs_as_written() {
    let server = server::configured("");
    let home = tempfile::tempdir().unwrap();
    let output = run_guide("write-a-plugin.md", &server, PROVIDER, home.path());
    the_acme_export_became_what_the_guide_says(
        &output,
        &home.path().join("acme-parts/tests/cases/march"),
    );
    let (status, body) = server::get(&server, "/v1/plugins/acme-parts", PROVIDER);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn the_python_plugin_guide_runs_as_written() {
    let server = server::configured("");
    let home = tempfile::tempdir().unwrap();
    let output = run_guide(
        "write-a-plugin-in-python.md",
        &server,
        PROVIDER,
        home.path(),
    );
    the_acme_export_became_what_the_guide_says(
        &output,
        &home.path().join("acme-parts-py/tests/cases/march"),
    );
    let (status, body) = server::get(&server, "/v1/plugins/acme-parts-py", PROVIDER);
    assert_eq!(status, 200, "{body}");
}

/// Each record of a case's expected file as `part_no LxWxH tolerance mass
/// packaging`.
fn parts_of(case: &Path) -> Vec<String> {
    ndjson(&std::fs::read_to_string(case.join("expected.ndjson")).unwrap())
        .iter()
        .map(|r| {
            let p = &r["record"];
            format!(
                "{} {}x{}x{} {} {} {}",
                p["part_no"],
                p["length_mm"],
                p["width_mm"],
                p["height_mm"],
                p["tolerance_mm"],
                p["mass_g"],
                p["packaging"]
            )
        })
        .collect()
}

/// What both plugin guides say the sample export becomes: three parts in
/// millimetres and grams, two rows rejected with every problem.
fn the_acme_export_became_what_the_guide_says(output: &Output, case: &Path) {
    let shown = text(&output.stdout);
    assert!(
        shown.contains("rows in 5, converted 3, rejected 2: as expected"),
        "{shown}"
    );
    assert_eq!(
        parts_of(case),
        [
            r#""AC-1001" 30.0x10.0x4.0 0.05 8.2 "CT""#,
            r#""AC-1002" 63.5x63.5x19.05 0.05 1200.0 "CS""#,
            r#""AC-1003" 30.0x30.0x2.0 0.1 100.0 "CT""#,
        ]
    );
    let errors = ndjson(&std::fs::read_to_string(case.join("expected.errors.ndjson")).unwrap());
    let problems: Vec<String> = errors
        .iter()
        .map(|e| format!("{} {} {}", e["line"], e["code"], e["field"]))
        .collect();
    assert_eq!(
        problems,
        [
            r#"5 "invalid-format" "尺寸""#,
            r#"6 "unknown-unit" "单位""#,
            r#"6 "unknown-package-term" "包装""#,
        ]
    );
}

#[test]
fn the_mapping_guide_runs_as_written() {
    // The guide's `conform` finds the interpreter beside its own folder.
    interpreter();
    let server = server::configured("");
    let home = tempfile::tempdir().unwrap();
    let output = run_guide(
        "onboard-an-export-with-a-mapping.md",
        &server,
        PROVIDER,
        home.path(),
    );
    let shown = text(&output.stdout);
    assert!(
        shown.contains("rows in 4, converted 2, rejected 2: as expected"),
        "{shown}"
    );
    let case = home.path().join("acme/tests/cases/march");
    assert_eq!(
        parts_of(&case),
        [
            r#""AC-1001" 63.5x63.5x19.05 0.05 1200.0 "CT""#,
            r#""AC-1002" 31.75x31.75x3.18 0.03 850.0 "CT""#,
        ]
    );
    let records = ndjson(&std::fs::read_to_string(case.join("expected.ndjson")).unwrap());
    assert!(
        records
            .iter()
            .all(|r| r["record"]["supplier_code"] == "91370200MA3C1234X5"),
        "{records:?}"
    );
    let errors = ndjson(&std::fs::read_to_string(case.join("expected.errors.ndjson")).unwrap());
    let problems: Vec<String> = errors
        .iter()
        .map(|e| format!("{} {} {} {}", e["line"], e["code"], e["field"], e["target"]))
        .collect();
    assert_eq!(
        problems,
        [
            r#"4 "unknown-package-term" "包装" "/packaging""#,
            r#"5 "unknown-unit" "重量" "/mass_g""#,
        ]
    );
    let converted = std::fs::read_to_string(home.path().join("acme/records.ndjson")).unwrap();
    assert_eq!(
        converted,
        std::fs::read_to_string(case.join("expected.ndjson")).unwrap(),
        "convert gives the case's records"
    );
    let (status, body) = server::get(&server, "/v1/plugins/acme-parts-mapping", PROVIDER);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"mapping\":true"), "{body}");
}

#[test]
fn the_pack_guide_runs_as_written() {
    let server = server::server_with_publisher("");
    let home = tempfile::tempdir().unwrap();
    run_guide("publish-a-pack.md", &server, PUBLISHER, home.path());
    for version in ["0.1.0", "0.1.1"] {
        let codes = std::fs::read_to_string(home.path().join(format!(
            "published/acme-standard-{version}/rules/packaging.toml"
        )))
        .unwrap();
        assert!(codes.contains("PL = \"pallet\""), "{version}: {codes}");
        let (status, body) = server::get(
            &server,
            &format!("/v1/packs/acme-standard/{version}"),
            PUBLISHER,
        );
        assert_eq!(status, 200, "{body}");
    }
}
