//! A provider's first plugin, from a folder outside the repository, as the
//! authoring guide has it: `conform plugin new` makes a project that builds
//! and passes its own case; a changed export makes `plugin test` fail with
//! the differing lines; `--bless` makes the output the expected one.

use std::path::Path;
use std::process::{Command, Output};

use super::support::server::{self, PROVIDER, PUBLISHER, UPLOADER};
use super::support::*;

/// `conform` run in `dir`, the scaffolds' wasm builds sharing one target
/// folder (the first builds the SDK's dependencies once).
fn authoring(dir: &Path) -> Command {
    let mut command = conform();
    command
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", root().join("target/scaffolds"));
    command
}

/// `conform plugin …` run in `dir`.
fn plugin(dir: &Path, args: &[&str]) -> Output {
    authoring(dir).arg("plugin").args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_new_plugin_builds_passes_its_case_and_is_told_what_changed() {
    let home = tempfile::tempdir().unwrap();
    let standards = root().join("standards");
    let pack = standards.join("sample-regional");
    let pack = pack.to_str().unwrap();
    let made = plugin(
        home.path(),
        &[
            "new",
            "acme-parts",
            "--pack",
            pack,
            "--record-type",
            "part",
            "--format",
            "tsv",
            "--encoding",
            "gbk",
        ],
    );
    expect_exit(&made, 0);
    let project = home.path().join("acme-parts");
    for file in [
        "Cargo.toml",
        "plugin.toml",
        "src/lib.rs",
        ".conform/sdk/src/lib.rs",
        ".conform/wit/0.2.0/plugin.wit",
        "tests/cases/sample/case.toml",
        "tests/cases/sample/acme-parts-sample.tsv",
    ] {
        assert!(project.join(file).is_file(), "{file} was not written");
    }
    // The SDK and the contract came from the binary, not from a checkout.
    let sdk = std::fs::read_to_string(project.join(".conform/sdk/Cargo.toml")).unwrap();
    assert!(!sdk.contains("workspace"), "{sdk}");

    let standards = standards.to_str().unwrap();
    let tested = plugin(&project, &["test", "--pack", standards]);
    expect_exit(&tested, 0);
    assert!(
        stdout(&tested).contains("1 cases as expected"),
        "{}",
        stdout(&tested)
    );
    let built = project.join("target/conform/plugins/acme-parts");
    let manifest = std::fs::read_to_string(built.join("plugin.toml")).unwrap();
    let component = std::fs::read(built.join("acme-parts.wasm")).unwrap();
    assert!(manifest.contains(&sha256_hex(&component)), "{manifest}");

    // The built plugin checks as a server would check it, against its pack.
    let checked = plugin(&project, &["check", "--pack", standards]);
    expect_exit(&checked, 0);
    assert!(
        stdout(&checked).contains("contract 0.2.0")
            && stdout(&checked).contains("pack `sample-regional` 1.0.0 serves it"),
        "{}",
        stdout(&checked)
    );
    // A component that is not the one its manifest names is refused.
    let tampered = home.path().join("tampered");
    std::fs::create_dir(&tampered).unwrap();
    std::fs::copy(built.join("plugin.toml"), tampered.join("plugin.toml")).unwrap();
    let mut bytes = component.clone();
    bytes.push(0);
    std::fs::write(tampered.join("acme-parts.wasm"), bytes).unwrap();
    refused(
        &plugin(&project, &["check", tampered.to_str().unwrap()]),
        "sha256",
    );

    // A new row in the export (GBK, tab-separated) with two problems.
    let export = project.join("tests/cases/sample/acme-parts-sample.tsv");
    let row = "2.5\t\t3\tx\tZZ\tA-1\t许多\tbad\t1\t1\n";
    let mut bytes = std::fs::read(&export).unwrap();
    bytes.extend_from_slice(&encoding_rs::GBK.encode(row).0);
    std::fs::write(&export, bytes).unwrap();
    let tested = plugin(&project, &["test", "--pack", standards]);
    expect_exit(&tested, 1);
    let shown = stdout(&tested);
    for expected in [
        "DIFFERS",
        "line 3: missing-field at `length_mm`",
        "line 3: not-a-number at `quantity_per_package`: `许多` is not a whole number",
        "expected.errors.ndjson line 1:",
        "--bless",
    ] {
        assert!(shown.contains(expected), "no `{expected}` in:\n{shown}");
    }

    let blessed = plugin(&project, &["test", "--pack", standards, "--bless"]);
    expect_exit(&blessed, 0);
    let errors =
        std::fs::read_to_string(project.join("tests/cases/sample/expected.errors.ndjson")).unwrap();
    assert_eq!(errors.lines().count(), 2, "{errors}");
    expect_exit(&plugin(&project, &["test", "--pack", standards]), 0);
}

#[test]
fn a_new_plugin_reading_ndjson_passes_its_case() {
    let home = tempfile::tempdir().unwrap();
    let pack = root().join("standards/sample-regional");
    let made = plugin(
        home.path(),
        &[
            "new",
            "lots",
            "--pack",
            pack.to_str().unwrap(),
            "--record-type",
            "shipment",
            "--format",
            "ndjson",
        ],
    );
    expect_exit(&made, 0);
    let standards = root().join("standards");
    let tested = plugin(
        &home.path().join("lots"),
        &["test", "--pack", standards.to_str().unwrap()],
    );
    expect_exit(&tested, 0);
    // A file given alone: converted, its records and rejections shown.
    let case = home.path().join("lots/tests/cases/sample");
    let sample = std::fs::read_to_string(case.join("lots-sample.ndjson")).unwrap();
    let export = home.path().join("export.ndjson");
    std::fs::write(&export, format!("{}\n{{}}\n", sample.trim_end())).unwrap();
    let tried = plugin(
        &home.path().join("lots"),
        &[
            "test",
            export.to_str().unwrap(),
            "--pack",
            standards.to_str().unwrap(),
        ],
    );
    expect_exit(&tried, 0);
    let shown = stdout(&tried);
    for expected in [
        "rows in 2, converted 1, rejected 1: converted (no expected files to compare with)",
        "  record  {\"record_type\":\"shipment\"",
        "line 2: missing-field",
        "1 files converted",
    ] {
        assert!(shown.contains(expected), "no `{expected}` in:\n{shown}");
    }
}

#[test]
fn a_new_python_plugin_builds_passes_its_case_and_imports_the_contract_only() {
    let home = tempfile::tempdir().unwrap();
    let pack = root().join("standards/sample-regional");
    let made = plugin(
        home.path(),
        &[
            "new",
            "py-parts",
            "--lang",
            "python",
            "--pack",
            pack.to_str().unwrap(),
            "--record-type",
            "part",
            "--encoding",
            "gb18030",
        ],
    );
    expect_exit(&made, 0);
    let project = home.path().join("py-parts");
    for file in [
        "app.py",
        "plugin.toml",
        ".conform/sdk-python/conform_plugin/__init__.py",
        ".conform/wit/0.2.0/plugin.wit",
        "tests/cases/sample/expected.ndjson",
    ] {
        assert!(project.join(file).is_file(), "{file} was not written");
    }
    assert!(!project.join("Cargo.toml").exists());
    let standards = root().join("standards");
    let tested = plugin(&project, &["test", "--pack", standards.to_str().unwrap()]);
    expect_exit(&tested, 0);
    assert!(
        stdout(&tested).contains("1 cases as expected"),
        "{}",
        stdout(&tested)
    );
    // Checked as a server checks it: the contract's imports only (WASI
    // stubbed out), the converter world.
    let checked = plugin(&project, &["check", "--pack", standards.to_str().unwrap()]);
    expect_exit(&checked, 0);
    assert!(
        stdout(&checked).contains("contract 0.2.0"),
        "{}",
        stdout(&checked)
    );
    // A row with a problem in a required field is rejected as the Rust
    // SDK rejects it.
    let export = project.join("tests/cases/sample/py-parts-sample.csv");
    let mut bytes = std::fs::read(&export).unwrap();
    bytes.extend_from_slice(
        &encoding_rs::GB18030
            .encode("1,1,1,x,CT,AAA,许多,AA000000AAAAAAAAAA,1,1\n")
            .0,
    );
    std::fs::write(&export, bytes).unwrap();
    let tested = plugin(&project, &["test", "--pack", standards.to_str().unwrap()]);
    expect_exit(&tested, 1);
    assert!(
        stdout(&tested).contains(
            "line 3: not-a-number at `quantity_per_package`: `许多` is not a whole number"
        ),
        "{}",
        stdout(&tested)
    );
}

#[test]
fn a_new_plugin_is_refused_what_cannot_be_made() {
    let home = tempfile::tempdir().unwrap();
    let pack = root().join("standards/sample-regional");
    let pack = pack.to_str().unwrap();
    refused(
        &plugin(
            home.path(),
            &["new", "p", "--pack", pack, "--record-type", "pear"],
        ),
        "has no record type `pear`; it has: part, produce_lot, shipment",
    );
    refused(
        &plugin(home.path(), &["new", "Acme_Parts", "--pack", pack]),
        "lowercase letters",
    );
    std::fs::create_dir(home.path().join("taken")).unwrap();
    std::fs::write(home.path().join("taken/notes.txt"), "mine").unwrap();
    refused(
        &plugin(home.path(), &["new", "taken", "--pack", pack]),
        "exists and is not empty",
    );
}

/// `conform pack check DIR`.
fn pack_check(pack: &Path) -> Output {
    conform()
        .arg("pack")
        .arg("check")
        .arg(pack)
        .output()
        .unwrap()
}

/// The command failed (exit 1) saying `why` on stderr.
fn refused(output: &Output, why: &str) {
    expect_exit(output, 1);
    assert!(
        text(&output.stderr).contains(why),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_new_pack_checks_and_a_plugin_is_scaffolded_against_it() {
    let home = tempfile::tempdir().unwrap();
    let made = conform()
        .current_dir(home.path())
        .args([
            "pack",
            "new",
            "acme-standard",
            "--publisher",
            "Acme Standards Office",
        ])
        .output()
        .unwrap();
    expect_exit(&made, 0);
    let pack = home.path().join("acme-standard");
    let checked = pack_check(&pack);
    expect_exit(&checked, 0);
    assert!(
        text(&checked.stdout).contains("pack `acme-standard` 0.1.0 loads: record types item"),
        "{}",
        text(&checked.stdout)
    );
    // A provider starts from it: the sample record is the pack's `item`.
    let scaffolded = plugin(
        home.path(),
        &["new", "acme-items", "--pack", pack.to_str().unwrap()],
    );
    expect_exit(&scaffolded, 0);
    let expected = std::fs::read_to_string(
        home.path()
            .join("acme-items/tests/cases/sample/expected.ndjson"),
    )
    .unwrap();
    assert!(
        expected.starts_with(r#"{"record_type":"item","record":{"item_no":"AAA","mass_kg":1.5,"name":"sample","packaging":"CT"}"#),
        "{expected}"
    );
    // After an upgrade, `plugin sdk` writes the SDK this binary carries.
    let sdk_lib = home.path().join("acme-items/.conform/sdk/src/lib.rs");
    std::fs::write(&sdk_lib, "// edited").unwrap();
    let rewritten = plugin(home.path(), &["sdk", "--project", "acme-items"]);
    expect_exit(&rewritten, 0);
    assert_eq!(
        std::fs::read_to_string(&sdk_lib).unwrap(),
        std::fs::read_to_string(root().join("plugins/sdk/src/lib.rs")).unwrap()
    );
    // Every problem of a broken pack, each naming its file.
    std::fs::write(pack.join("rules/packaging.toml"), "codes = 3\n").unwrap();
    std::fs::write(pack.join("schemas/item.schema.json"), "{ not json").unwrap();
    let checked = pack_check(&pack);
    expect_exit(&checked, 1);
    let shown = text(&checked.stderr);
    assert!(shown.contains("2 problem(s)"), "{shown}");
    assert!(
        shown.contains("item.schema.json") && shown.contains("packaging.toml"),
        "{shown}"
    );
}

#[test]
fn a_pack_and_a_plugin_are_published_and_the_pack_fetched_back() {
    let server = server::server_with_publisher("");
    let home = tempfile::tempdir().unwrap();
    let as_token = |token: &str, args: &[&str]| {
        authoring(home.path())
            .env("CONFORM_SERVER", &server.base)
            .env("CONFORM_TOKEN", token)
            .args(args)
            .output()
            .unwrap()
    };
    expect_exit(&as_token(PUBLISHER, &["pack", "new", "acme-standard"]), 0);

    // The token comes from the environment, and nothing goes without it.
    refused(
        &as_token("", &["pack", "publish", "acme-standard"]),
        "set CONFORM_TOKEN to your token",
    );
    // A pack with a problem is refused here, before anything is sent.
    let broken = home.path().join("broken");
    copy_dir(&home.path().join("acme-standard"), &broken);
    std::fs::write(broken.join("schemas/item.schema.json"), "{ not json").unwrap();
    refused(
        &as_token(PUBLISHER, &["pack", "publish", "broken"]),
        "item.schema.json",
    );
    let published = as_token(PUBLISHER, &["pack", "publish", "acme-standard"]);
    expect_exit(&published, 0);
    assert!(
        stdout(&published).contains("published pack `acme-standard` 0.1.0 to http://"),
        "{}",
        stdout(&published)
    );
    // The server's own refusals reach the publisher in its words.
    refused(
        &as_token(PUBLISHER, &["pack", "publish", "acme-standard"]),
        "refused (409 pack-exists)",
    );
    refused(
        &as_token(PROVIDER, &["pack", "publish", "acme-standard"]),
        "refused (403",
    );

    // A provider fetches the pack the server runs and writes a plugin for it.
    let fetched = as_token(
        PROVIDER,
        &["pack", "fetch", "acme-standard", "--dir", "packs"],
    );
    expect_exit(&fetched, 0);
    let pack = home.path().join("packs/acme-standard-0.1.0");
    for file in [
        "pack.toml",
        "schemas/item.schema.json",
        "rules/packaging.toml",
    ] {
        assert_eq!(
            std::fs::read(pack.join(file)).unwrap(),
            std::fs::read(home.path().join("acme-standard").join(file)).unwrap(),
            "{file}"
        );
    }
    refused(
        &as_token(
            PROVIDER,
            &["pack", "fetch", "acme-standard@2", "--dir", "packs"],
        ),
        "none matches",
    );
    let made = as_token(
        PROVIDER,
        &[
            "plugin",
            "new",
            "acme-items",
            "--pack",
            "packs/acme-standard-0.1.0",
        ],
    );
    expect_exit(&made, 0);
    let project = home.path().join("acme-items");
    let project_arg = ["--project", project.to_str().unwrap()];
    // Tested against the pack fetched from the server, not a folder.
    let tested = as_token(PROVIDER, &[&["plugin", "test"][..], &project_arg].concat());
    expect_exit(&tested, 0);
    let shown = stdout(&tested);
    assert!(
        shown.contains("pack `acme-standard` 0.1.0 from http://")
            && shown.contains("1 cases as expected"),
        "{shown}"
    );
    // Kept per server: `127.0.0.1_PORT/`.
    let kept = server.base.trim_start_matches("http://").replace(':', "_");
    assert!(project
        .join("target/conform/packs")
        .join(kept)
        .join("acme-standard-0.1.0/pack.toml")
        .is_file());

    let published = as_token(
        PROVIDER,
        &[&["plugin", "publish"][..], &project_arg].concat(),
    );
    expect_exit(&published, 0);
    assert!(
        stdout(&published).contains("published plugin `acme-items` 0.1.0 to http://")
            && stdout(&published).contains("runs against 0.1.0"),
        "{}",
        stdout(&published)
    );
    refused(
        &as_token(
            PROVIDER,
            &[&["plugin", "publish"][..], &project_arg].concat(),
        ),
        "refused (409 plugin-exists)",
    );
    // An enterprise converts its export with it on the server: the case's
    // expected records.
    let case = project.join("tests/cases/sample");
    let input = std::fs::read(case.join("acme-items-sample.csv")).unwrap();
    let (status, body) = server::post(
        &server,
        "/v1/convert?plugin=acme-items",
        Some(UPLOADER),
        &input,
    );
    assert_eq!(status, 200, "{body}");
    let records = |text: &str| {
        ndjson(text)
            .into_iter()
            .filter_map(|line| line.get("record").cloned())
            .collect::<Vec<_>>()
    };
    let expected = std::fs::read_to_string(case.join("expected.ndjson")).unwrap();
    assert_eq!(records(&body), records(&expected), "{body}");
    assert_eq!(records(&body).len(), 1);
}

/// SHA-256 of `bytes`, hex.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
