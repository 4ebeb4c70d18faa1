//! The CLI end to end: bad input gets a one-line message that says what to
//! do and a non-zero exit; folders are routed by the plugins' claims; a
//! misbehaving plugin costs only the rows it fails on.

mod support;

// Four more suites live in this test binary, each a link saved in CI: the
// row-accounting property (run in process), the check that no host
// logic names a standard's domain, the authoring tools and the guides.
#[path = "accounting.rs"]
mod accounting;
#[path = "host_is_domain_free.rs"]
mod host_is_domain_free;
// A provider's plugin written, built and tested outside the repository.
#[path = "authoring.rs"]
mod authoring;
// The guides in docs/guides/, every command run as written.
#[path = "guides.rs"]
mod guides;

use serde_json::Value;
use support::cases;
use support::*;

#[test]
fn a_folder_is_routed_to_the_plugins_that_claim_its_files() {
    let out = tempfile::tempdir().unwrap();
    let output = conform()
        .args(["convert", "--summary", "json", "--output-dir"])
        .arg(out.path())
        .arg("tests/fixtures/samples")
        .output()
        .unwrap();
    expect_exit(&output, 0);
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // The folder holds the sample export of every case that uses one, each
    // converted by the plugin that claims it.
    let samples: Vec<cases::Case> = cases::cases()
        .into_iter()
        .filter(|case| case.is_shared_sample() && case.claims_its_input())
        .collect();
    let rows: u64 = samples.iter().map(|c| c.rows).sum();
    let converted: u64 = samples.iter().map(|c| c.converted).sum();
    assert_eq!(
        (
            summary["rows_in"].as_u64(),
            summary["converted"].as_u64(),
            summary["rejected"].as_u64()
        ),
        (Some(rows), Some(converted), Some(rows - converted))
    );
    assert_eq!(summary["files"].as_array().unwrap().len(), samples.len());
    let records =
        std::fs::read_to_string(out.path().join("hengtai-parts.xml.records.ndjson")).unwrap();
    let hengtai = cases::case("hengtai-parts", "sample").converted;
    assert_eq!(ndjson(&records).len() as u64, hengtai);
    for line in ndjson(&records) {
        assert_eq!(line["record_type"], "part");
        assert_eq!(line["source"]["file"], "hengtai-parts.xml");
        assert!(line["source"]["line"].as_u64().unwrap() > 1);
    }
}

#[test]
fn the_python_sdk_passes_its_own_tests() {
    // In plain CPython, over stand-ins for the generated bindings.
    let output = std::process::Command::new("python3")
        .args([
            "-m",
            "unittest",
            "discover",
            "-s",
            "plugins/python/sdk/tests",
        ])
        .current_dir(root())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("OK"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn the_python_twin_is_held_to_its_rust_twins_golden_files() {
    // The golden test converts each with the real binary and compares with
    // these files: the same files, so the same output, row for row.
    let rust = root().join("plugins/jinggong-parts/tests/cases/sample");
    let python = root().join("plugins/python/jinggong-parts-py/tests/cases/sample");
    for file in ["case.toml", "expected.ndjson", "expected.errors.ndjson"] {
        assert_eq!(
            std::fs::read(python.join(file)).unwrap(),
            std::fs::read(rust.join(file)).unwrap(),
            "{file} differs between the twins"
        );
    }
}

#[test]
fn an_unclaimed_file_is_reported_and_the_others_still_convert() {
    let input = tempfile::tempdir().unwrap();
    std::fs::copy(
        sample("swift-express.ndjson"),
        input.path().join("swift-express.ndjson"),
    )
    .unwrap();
    std::fs::write(input.path().join("notes.txt"), "hello").unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = conform()
        .args(["convert", "--output-dir"])
        .arg(out.path())
        .arg(input.path())
        .output()
        .unwrap();
    expect_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("notes.txt") && stderr.contains("no plugin claims this file name"),
        "{stderr}"
    );
    assert!(out
        .path()
        .join("swift-express.ndjson.records.ndjson")
        .is_file());
}

#[test]
fn a_missing_file_says_so() {
    let output = conform()
        .args([
            "convert",
            "--plugin",
            "swift-express",
            "no/such/file.ndjson",
        ])
        .output()
        .unwrap();
    expect_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("cannot read `no/such/file.ndjson`"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn an_unknown_plugin_lists_the_known_ones() {
    let output = conform()
        .args(["convert", "--plugin", "nope"])
        .arg(sample("swift-express.ndjson"))
        .output()
        .unwrap();
    expect_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no plugin named `nope`") && stderr.contains("swift-express"),
        "{stderr}"
    );
}

#[test]
fn a_component_that_does_not_match_its_digest_is_refused() {
    let plugins = tempfile::tempdir().unwrap();
    copy_dir(
        &plugins_dir().join("swift-express"),
        &plugins.path().join("swift-express"),
    );
    let wasm = plugins.path().join("swift-express/swift-express.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&wasm, bytes).unwrap();
    let output = conform()
        .env("CONFORM_PLUGINS", plugins.path())
        .args(["convert", "--plugin", "swift-express"])
        .arg(sample("swift-express.ndjson"))
        .output()
        .unwrap();
    expect_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("sha256") && stderr.contains("rebuild the plugin"),
        "{stderr}"
    );
}

#[test]
fn a_pack_that_does_not_load_names_the_file_and_entry() {
    let pack = tempfile::tempdir().unwrap();
    copy_dir(&root().join("standards/sample-regional"), pack.path());
    let grading = pack.path().join("rules/apple-systems.toml");
    let text_in = std::fs::read_to_string(&grading)
        .unwrap()
        .replace("\"一级\" = \"R2\"", "\"一级\" = \"R9\"");
    std::fs::write(&grading, text_in).unwrap();
    let output = conform()
        .args(["convert", "--plugin", "swift-express", "--pack"])
        .arg(pack.path())
        .arg(sample("swift-express.ndjson"))
        .output()
        .unwrap();
    expect_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("apple-systems.toml")
            && stderr.contains("scopes.sd-2019.terms.一级")
            && stderr.contains("`R9`"),
        "{stderr}"
    );
}

#[test]
fn an_output_that_cannot_be_written_fails_before_converting() {
    let output = conform()
        .args([
            "convert",
            "--plugin",
            "swift-express",
            "--output",
            "/nonexistent-dir/records.ndjson",
        ])
        .arg(sample("swift-express.ndjson"))
        .output()
        .unwrap();
    expect_exit(&output, 1);
    assert!(
        text(&output.stderr).contains(
            "`/nonexistent-dir/records.ndjson`: its folder does not exist; create it first"
        ),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn help_documents_the_exit_codes() {
    let output = conform().args(["--help"]).output().unwrap();
    expect_exit(&output, 0);
    assert!(text(&output.stdout).contains("Exit codes:"));
}

/// Converts rows asking the hostile test plugin to misbehave.
fn hostile(
    actions: &[&str],
    batch_size: usize,
) -> (
    Vec<serde_json::Value>,
    Vec<serde_json::Value>,
    std::process::Output,
) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hostile.ndjson");
    let rows: Vec<String> = actions
        .iter()
        .map(|a| format!("{{\"action\":\"{a}\"}}"))
        .collect();
    std::fs::write(&input, rows.join("\n")).unwrap();
    let (records, errors) = (dir.path().join("r.ndjson"), dir.path().join("e.ndjson"));
    let output = conform()
        .env("CONFORM_PLUGINS", test_plugins_dir())
        .args([
            "convert",
            "--plugin",
            "hostile",
            "--batch-size",
            &batch_size.to_string(),
            "--output",
        ])
        .arg(&records)
        .arg("--errors")
        .arg(&errors)
        .arg(&input)
        .output()
        .unwrap();
    (
        ndjson(&std::fs::read_to_string(records).unwrap()),
        ndjson(&std::fs::read_to_string(errors).unwrap()),
        output,
    )
}

fn codes_by_line(errors: &[serde_json::Value]) -> Vec<(u64, String)> {
    errors
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_plugin_that_traps_or_breaks_the_contract_costs_only_those_rows() {
    let actions = [
        "ok",
        "panic",
        "ok",
        "grow",
        "ok",
        "undeclared",
        "invalid",
        "huge",
        "many",
        "garbage",
        "ok",
    ];
    let (records, errors, output) = hostile(&actions, 256);
    expect_exit(&output, 0);
    let converted: Vec<u64> = records
        .iter()
        .map(|r| r["source"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(converted, [1, 3, 5, 11], "the good rows survive, in order");
    assert_eq!(
        codes_by_line(&errors),
        [
            (2, "plugin-trap".to_string()),
            (4, "plugin-memory".to_string()),
            (6, "plugin-output".to_string()),
            (7, "schema-violation".to_string()),
            (8, "plugin-output".to_string()),
            (9, "plugin-output".to_string()),
            (10, "unknown-field".to_string()),
        ]
    );
    let trap = &errors[0]["message"];
    assert!(
        trap.as_str()
            .unwrap()
            .contains("plugin `hostile` failed on this row"),
        "{trap}"
    );
}

#[test]
fn a_plugin_that_loops_is_stopped_and_only_that_row_is_lost() {
    let (records, errors, output) = hostile(&["ok", "ok", "loop", "ok", "ok"], 2);
    expect_exit(&output, 0);
    let converted: Vec<u64> = records
        .iter()
        .map(|r| r["source"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(converted, [1, 2, 4, 5]);
    assert_eq!(codes_by_line(&errors), [(3, "plugin-timeout".to_string())]);
    assert!(errors[0]["message"].as_str().unwrap().contains("300 ms"));
}

#[test]
fn a_plugin_looping_on_every_row_costs_a_bounded_time_per_batch() {
    let started = std::time::Instant::now();
    let (records, errors, output) = hostile(&["loop"; 20], 20);
    expect_exit(&output, 0);
    assert!(records.is_empty());
    assert_eq!(errors.len(), 20);
    assert!(
        errors.iter().all(|e| e["code"] == "plugin-timeout"),
        "{errors:#?}"
    );
    assert!(errors[19]["message"]
        .as_str()
        .unwrap()
        .contains("the rest of the batch was not tried"));
    // The batch, then two rows alone: about 3 × 300 ms, not 20 ×.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_unclosed_quote_is_reported_on_its_line_with_the_lines_it_swallowed() {
    let dir = tempfile::tempdir().unwrap();
    let sample = std::fs::read(sample("eastroute-waybills.csv")).unwrap();
    let (text, _, _) = encoding_rs::GBK.decode(&sample);
    let mut lines: Vec<String> = text.lines().take(5).map(str::to_string).collect();
    // Line 3 opens a quote in its first field and never closes it.
    lines[2] = format!("\"{}", lines[2]);
    let joined = lines.join("\r\n") + "\r\n";
    let (bytes, _, _) = encoding_rs::GBK.encode(&joined);
    let input = dir.path().join("eastroute-waybills.csv");
    std::fs::write(&input, &bytes).unwrap();
    let output = conform()
        .args(["convert", "--summary", "json", "--output-dir"])
        .arg(dir.path().join("out"))
        .arg(&input)
        .output()
        .unwrap();
    expect_exit(&output, 0);
    let errors =
        std::fs::read_to_string(dir.path().join("out/eastroute-waybills.csv.errors.ndjson"))
            .unwrap();
    let errors = ndjson(&errors);
    assert_eq!(codes_by_line(&errors), [(3, "csv-syntax".to_string())]);
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.contains("lines 3 to 5"), "{message}");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (summary["converted"].as_u64(), summary["rejected"].as_u64()),
        (Some(1), Some(1))
    );
}

/// A copy of the sample pack in a fresh folder, with `edit` applied to its
/// manifest's text.
fn edited_pack(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("standards/sample-regional"), dir.path());
    let manifest = dir.path().join("pack.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, edit(text)).unwrap();
    dir
}

#[test]
fn check_pack_refuses_files_outside_the_pack_naming_the_entry() {
    let absolute = edited_pack(|t| t.replace("rules/time.toml", "/proc/self/environ"));
    let climbing = edited_pack(|t| t.replace("rules/units.toml", "../../../../../../etc/hostname"));
    let linked = edited_pack(|t| t);
    let schema = linked.path().join("schemas/part.schema.json");
    std::fs::remove_file(&schema).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", &schema).unwrap();
    let zero = edited_pack(|t| t);
    let table = zero.path().join("rules/packaging.toml");
    std::fs::remove_file(&table).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &table).unwrap();
    for (pack, entry) in [
        (&absolute, "tables.time"),
        (&climbing, "tables.units"),
        (&linked, "record_types.part"),
        (&zero, "tables.packaging"),
    ] {
        let output = conform()
            .arg("check-pack")
            .arg(pack.path())
            .output()
            .unwrap();
        expect_exit(&output, 1);
        let stderr = text(&output.stderr);
        assert!(stderr.contains(entry), "names `{entry}`: {stderr}");
        assert!(!stderr.contains("PATH="), "{stderr}");
    }
}

#[test]
fn a_plugin_version_is_pinned_with_name_at_version() {
    let output = conform()
        .args(["convert", "--plugin", "jinggong-parts@0.1.0"])
        .arg(sample("jinggong-parts.csv"))
        .output()
        .unwrap();
    expect_exit(&output, 0);
    let output = conform()
        .args(["convert", "--plugin", "jinggong-parts@9.9.9"])
        .arg(sample("jinggong-parts.csv"))
        .output()
        .unwrap();
    expect_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("jinggong-parts@9.9.9"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn the_cli_never_overwrites_its_input_or_truncates_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("jinggong-parts.csv");
    std::fs::copy(sample("jinggong-parts.csv"), &input).unwrap();
    let original = std::fs::read(&input).unwrap();
    let link = dir.path().join("link.ndjson");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let other = dir.path().join("out.ndjson");
    for args in [
        vec!["--output".to_string(), input.display().to_string()],
        vec!["--errors".to_string(), input.display().to_string()],
        vec!["--output".to_string(), link.display().to_string()],
        vec![
            "--output".to_string(),
            other.display().to_string(),
            "--errors".to_string(),
            other.display().to_string(),
        ],
    ] {
        let output = conform()
            .arg("convert")
            .args(&args)
            .arg(&input)
            .output()
            .unwrap();
        expect_exit(&output, 1);
        assert_eq!(std::fs::read(&input).unwrap(), original, "{args:?}");
        assert!(!other.exists(), "nothing was opened for writing: {args:?}");
    }
    // Devices are written in place, and may be named twice.
    let output = conform()
        .args(["convert", "--output", "/dev/null", "--errors", "/dev/null"])
        .arg(&input)
        .output()
        .unwrap();
    expect_exit(&output, 0);
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    // The streams are the process's own: appending to a file keeps it, and
    // a redirection onto the input is refused.
    let all = dir.path().join("all.ndjson");
    std::fs::write(&all, "kept\n").unwrap();
    let shell = |script: &str| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("CONFORM", binary("conform"))
            .env("CONFORM_PLUGINS", plugins_dir())
            .current_dir(root())
            .output()
            .unwrap()
    };
    let appended = shell(&format!(
        "\"$CONFORM\" convert --output /dev/stdout --errors /dev/null '{}' >> '{}'",
        input.display(),
        all.display()
    ));
    expect_exit(&appended, 0);
    let kept = std::fs::read_to_string(&all).unwrap();
    assert!(
        kept.starts_with("kept\n") && kept.lines().count() > 1,
        "{kept}"
    );
    let log = dir.path().join("run.log");
    let shared = shell(&format!(
        "\"$CONFORM\" convert '{}' > '{}' 2>&1",
        input.display(),
        log.display()
    ));
    expect_exit(&shared, 0);
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("\"record_type\""));
    let onto_input = shell(&format!(
        "\"$CONFORM\" convert --errors /dev/null '{0}' >> '{0}'",
        input.display()
    ));
    expect_exit(&onto_input, 1);
    assert!(
        text(&onto_input.stderr).contains("is the input file"),
        "{}",
        text(&onto_input.stderr)
    );
    assert_eq!(std::fs::read(&input).unwrap(), original);
    // A link planted at the output is replaced, never followed.
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "untouched\n").unwrap();
    let planted = dir.path().join("planted.ndjson");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let output = conform()
        .arg("convert")
        .arg("--output")
        .arg(&planted)
        .args(["--errors", "/dev/null"])
        .arg(&input)
        .output()
        .unwrap();
    expect_exit(&output, 0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
    assert!(!std::fs::symlink_metadata(&planted).unwrap().is_symlink());
    // A folder as an output, or as the output folder of its own files.
    let output = conform()
        .arg("convert")
        .arg("--output")
        .arg(dir.path())
        .arg(&input)
        .output()
        .unwrap();
    expect_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("is a folder"),
        "{}",
        text(&output.stderr)
    );
    let output = conform()
        .arg("convert")
        .arg("--output-dir")
        .arg(dir.path())
        .arg(dir.path())
        .output()
        .unwrap();
    expect_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("is the input folder"),
        "{}",
        text(&output.stderr)
    );
    // An existing output survives a failure after it would have been opened.
    let records = dir.path().join("records.ndjson");
    std::fs::write(&records, "precious\n").unwrap();
    let output = conform()
        .arg("convert")
        .arg("--output")
        .arg(&records)
        .arg("--errors")
        .arg(dir.path().join("no-such-folder/errors.ndjson"))
        .arg(&input)
        .output()
        .unwrap();
    expect_exit(&output, 1);
    assert_eq!(std::fs::read_to_string(&records).unwrap(), "precious\n");
    assert!(
        text(&output.stderr).contains("its folder does not exist"),
        "{}",
        text(&output.stderr)
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn special_files_in_a_folder_are_skipped_and_listed() {
    let input = tempfile::tempdir().unwrap();
    std::fs::copy(
        sample("swift-express.ndjson"),
        input.path().join("swift-express.ndjson"),
    )
    .unwrap();
    let fifo = input.path().join("swift-pipe.ndjson");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    std::os::unix::fs::symlink(
        input.path().join("gone"),
        input.path().join("dangling.ndjson"),
    )
    .unwrap();
    std::os::unix::fs::symlink(input.path().join("loop-b"), input.path().join("loop-a")).unwrap();
    std::os::unix::fs::symlink(input.path().join("loop-a"), input.path().join("loop-b")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = conform()
        .args(["convert", "--summary", "json", "--output-dir"])
        .arg(out.path())
        .arg(input.path())
        .output()
        .unwrap();
    expect_exit(&output, 1);
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["files"].as_array().unwrap().len(), 1, "{summary}");
    let skipped: Vec<(String, String)> = summary["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["file"].as_str().unwrap().into(),
                s["message"].as_str().unwrap().into(),
            )
        })
        .collect();
    let names: Vec<&str> = skipped.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        names,
        ["dangling.ndjson", "loop-a", "loop-b", "swift-pipe.ndjson"]
    );
    assert!(skipped[3].1.contains("named pipe"), "{skipped:?}");
    assert!(skipped[0].1.contains("symbolic link"), "{skipped:?}");
}

#[test]
fn a_cached_component_not_written_for_that_plugin_is_never_run() {
    let cache = tempfile::tempdir().unwrap();
    let run = |plugin: &str, file: &str| {
        conform()
            .env("CONFORM_CACHE", cache.path())
            .args(["convert", "--plugin", plugin])
            .arg(sample(file))
            .output()
            .unwrap()
    };
    let hengtai = run("hengtai-parts", "hengtai-parts.xml");
    expect_exit(&hengtai, 0);
    expect_exit(&run("jinggong-parts", "jinggong-parts.csv"), 0);
    let digest = |name: &str| {
        let manifest =
            std::fs::read_to_string(plugins_dir().join(name).join("plugin.toml")).unwrap();
        let m: toml::Value = toml::from_str(&manifest).unwrap();
        m["component"]["sha256"].as_str().unwrap().to_string()
    };
    let entry = |sha: &str| {
        std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(sha))
            .unwrap_or_else(|| panic!("no cache entry for {sha}"))
    };
    let (hengtai_entry, jinggong_entry) = (
        entry(&digest("hengtai-parts")),
        entry(&digest("jinggong-parts")),
    );
    // Another plugin's compiled code under hengtai's name: ignored, recompiled.
    std::fs::copy(&jinggong_entry, &hengtai_entry).unwrap();
    let again = run("hengtai-parts", "hengtai-parts.xml");
    expect_exit(&again, 0);
    assert_eq!(again.stdout, hengtai.stdout, "hengtai's own code ran");
    assert!(
        text(&again.stderr).contains("did not write"),
        "{}",
        text(&again.stderr)
    );
    // A key readable by others is not trusted: the cache is not used (the
    // plugin compiles afresh) and the log says why.
    let key = cache.path().join("cache.key");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let uncached = run("hengtai-parts", "hengtai-parts.xml");
    expect_exit(&uncached, 0);
    assert_eq!(uncached.stdout, hengtai.stdout);
    let log = text(&uncached.stderr);
    assert!(
        log.contains("not cached") && log.contains("not a private file"),
        "{log}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Bytes nobody compiled: the same.
    std::fs::write(&hengtai_entry, vec![7u8; 4096]).unwrap();
    let again = run("hengtai-parts", "hengtai-parts.xml");
    expect_exit(&again, 0);
    assert_eq!(again.stdout, hengtai.stdout);
}

/// The summary of `conform convert FILE` (records and errors thrown away),
/// which must fail.
fn failed_conversion(file: &std::path::Path) -> Value {
    let output = conform()
        .args([
            "convert",
            "--summary",
            "json",
            "--output",
            "/dev/null",
            "--errors",
            "/dev/null",
        ])
        .arg(file)
        .output()
        .unwrap();
    expect_exit(&output, 1);
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `conform convert FILE --plugin PLUGIN`: its records with `source.file`
/// left out, and its error report.
fn converted_without_file_names(file: &std::path::Path, plugin: &str) -> (Vec<Value>, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let errors = dir.path().join("errors.ndjson");
    let output = conform()
        .arg("convert")
        .arg(file)
        .args(["--plugin", plugin, "--errors"])
        .arg(&errors)
        .output()
        .unwrap();
    expect_exit(&output, 0);
    let mut records = ndjson(&text(&output.stdout));
    for record in &mut records {
        record["source"].as_object_mut().unwrap().remove("file");
    }
    (records, ndjson(&std::fs::read_to_string(errors).unwrap()))
}

#[test]
fn a_csv_plugin_converts_the_export_saved_as_a_workbook_to_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    for plugin in ["jinggong-parts", "eastroute-waybills"] {
        let csv_export = sample(&format!("{plugin}.csv"));
        let workbook = dir.path().join(format!("{plugin}.xlsx"));
        std::fs::write(&workbook, saved_as_workbook(&csv_export, "出货明细")).unwrap();
        let (csv_records, csv_errors) = converted_without_file_names(&csv_export, plugin);
        let (records, errors) = converted_without_file_names(&workbook, plugin);
        assert!(csv_records.len() >= 5, "{plugin}: {csv_records:?}");
        assert_eq!(
            records, csv_records,
            "{plugin}: the same records on the same lines"
        );
        // A sheet has no ragged rows: the row the CSV's decoder refuses
        // for its field count is a row with cells missing in the sheet,
        // rejected too, by the plugin.
        let ragged: Vec<&Value> = csv_errors
            .iter()
            .filter(|e| e["code"] == "csv-field-count")
            .map(|e| &e["line"])
            .collect();
        for line in &ragged {
            assert!(
                errors.iter().any(|e| &e["line"] == *line),
                "{plugin}: line {line}"
            );
        }
        let place = |e: &Value| (e["line"].clone(), e["code"].clone(), e["field"].clone());
        let kept = |list: &[Value]| -> Vec<_> {
            list.iter()
                .filter(|e| !ragged.contains(&&e["line"]))
                .map(place)
                .collect()
        };
        assert_eq!(
            kept(&errors),
            kept(&csv_errors),
            "{plugin}: the same rejections on the same lines"
        );
        assert!(!errors.is_empty(), "{plugin}: the sample has rejected rows");
        for error in &errors {
            assert_eq!(
                error["sheet"], "出货明细",
                "the report names the sheet: {error}"
            );
            assert!(
                error["file"].as_str().unwrap().ends_with(".xlsx"),
                "{error}"
            );
        }
        assert!(csv_errors.iter().all(|e| e.get("sheet").is_none()));
    }
}

#[test]
fn a_broken_workbook_or_a_workbook_given_to_a_json_plugin_is_refused_not_read_as_garbage() {
    let dir = tempfile::tempdir().unwrap();
    // A ZIP archive that is no workbook, under a CSV plugin's name.
    let broken = dir.path().join("jinggong-parts.csv");
    let mut bytes = b"PK\x03\x04\x14\x00\x06\x00\x08\x00".to_vec();
    bytes.extend_from_slice(&[0x9c; 2000]);
    std::fs::write(&broken, bytes).unwrap();
    let summary = failed_conversion(&broken);
    let file = &summary["files"][0];
    assert_eq!(file["error_code"], "input-unreadable", "{summary}");
    assert!(
        file["error"]
            .as_str()
            .unwrap()
            .contains("workbook cannot be read")
            && file["error"]
                .as_str()
                .unwrap()
                .contains("save the sheet as CSV"),
        "{summary}"
    );
    assert_eq!(file["rows_in"], 0, "no rows of garbage: {summary}");
    // A real workbook given to a JSON plugin.
    let workbook = dir.path().join("valley-farms-apples.json");
    std::fs::write(
        &workbook,
        saved_as_workbook(&sample("jinggong-parts.csv"), "Sheet1"),
    )
    .unwrap();
    let summary = failed_conversion(&workbook);
    let file = &summary["files"][0];
    assert_eq!(file["error_code"], "encoding", "{summary}");
    assert!(
        file["error"]
            .as_str()
            .unwrap()
            .contains("an Excel workbook (.xlsx)"),
        "{summary}"
    );
    assert_eq!(file["rows_in"], 0, "no rows of garbage: {summary}");
}

#[test]
fn a_utf16_export_stops_with_encoding_and_blank_crlf_lines_keep_row_lines() {
    let dir = tempfile::tempdir().unwrap();
    // Excel's "Unicode text": UTF-16 LE with a byte-order mark.
    let utf16 = dir.path().join("jinggong-parts.csv");
    let mut bytes = vec![0xFF, 0xFE];
    for unit in "编号\t名称\r\nJG-1\t垫圈\r\n".encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    std::fs::write(&utf16, bytes).unwrap();
    let summary = failed_conversion(&utf16);
    let file = &summary["files"][0];
    assert_eq!(file["error_code"], "encoding", "{summary}");
    assert!(
        file["error"].as_str().unwrap().contains("UTF-16 LE"),
        "{summary}"
    );
    assert_eq!(file["rows_in"], 0, "no rows of garbage: {summary}");

    // The jinggong sample (CSV, GB18030) with CRLF line ends and a blank
    // line after each: every row is reported on the line it is on.
    let original = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    let mut crlf = Vec::new();
    for line in original.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        crlf.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        crlf.extend_from_slice(b"\r\n\r\n");
    }
    let path = dir.path().join("jinggong-parts.csv");
    std::fs::write(&path, crlf).unwrap();
    let errors = dir.path().join("errors.ndjson");
    let output = conform()
        .arg("convert")
        .arg(&path)
        .arg("--errors")
        .arg(&errors)
        .output()
        .unwrap();
    expect_exit(&output, 0);
    let mut lines: Vec<u64> = ndjson(&text(&output.stdout))
        .iter()
        .map(|r| r["source"]["line"].as_u64().unwrap())
        .collect();
    lines.extend(
        ndjson(&std::fs::read_to_string(&errors).unwrap())
            .iter()
            .map(|r| r["line"].as_u64().unwrap()),
    );
    assert!(lines.len() >= 13, "{lines:?}");
    assert!(
        lines.iter().all(|l| l % 2 == 1),
        "rows are on odd lines: {lines:?}"
    );
}

fn record<'a>(records: &'a [Value], key: &str, id: &str) -> &'a Value {
    &records
        .iter()
        .find(|r| r["record"][key] == id)
        .unwrap_or_else(|| panic!("no record {id}"))["record"]
}

/// The records of a plugin's sample case.
fn sample_records(plugin: &str) -> Vec<Value> {
    ndjson(&cases::convert(&cases::case(plugin, "sample")).records)
}

/// Spot checks of the facts that a float or a wrong table gets wrong.
#[test]
fn exact_rounding_grading_service_levels_and_time_zones() {
    let converted = cases::convert(&cases::case("jinggong-parts", "sample"));
    let parts = ndjson(&converted.records);
    // 0.125 in = 3.175 mm, rounded half to even: 3.18 (a binary float gives 3.17).
    assert_eq!(record(&parts, "part_no", "JG-10024")["height_mm"], 3.18);
    assert_eq!(record(&parts, "part_no", "JG-10040")["mass_g"], 1134.0);
    let errors = ndjson(&converted.errors);
    let line8 = errors.iter().find(|e| e["line"] == 8).unwrap();
    assert_eq!(
        (line8["code"].as_str(), line8["field"].as_str()),
        (Some("schema-violation"), Some("/length_mm"))
    );

    let lots = sample_records("orchard-coop-apples");
    // 特级 crosswalks to R1 but 78 mm caps it at R2.
    assert_eq!(record(&lots, "lot_id", "QX-2610-002")["grade"], "R2");
    assert_eq!(
        record(&lots, "lot_id", "QX-2610-010")["net_weight_kg"],
        22.75
    );

    let swift = sample_records("swift-express");
    // Epoch ms in UTC: the local date moves.
    let s3 = record(&swift, "shipment_id", "SWX8800012003");
    assert_eq!(s3["dispatched_at"], "2026-11-04T01:20:00+08:00");
    assert_eq!(s3["service_level"], "SL120");

    let east = sample_records("eastroute-waybills");
    // EASTROUTE's 次日达 is 48 h, not 24.
    let e1 = record(&east, "shipment_id", "ER20261103001");
    assert_eq!(
        (e1["service_level"].as_str(), e1["promised_by"].as_str()),
        (Some("SL48"), Some("2026-11-05T14:05:00+08:00"))
    );
}

#[test]
fn a_plugin_built_against_contract_0_1_0_still_converts() {
    // `contract-0-1` is the Jinggong mapping written for contract 0.1.0
    // and its SDK, kept unchanged; `jinggong-parts` now uses 0.2.0.
    let case = cases::case("jinggong-parts", "sample");
    let dir = tempfile::tempdir().unwrap();
    let (records, errors) = (dir.path().join("r.ndjson"), dir.path().join("e.ndjson"));
    let output = conform()
        .env("CONFORM_PLUGINS", test_plugins_dir())
        .args(["convert", "--plugin", "contract-0-1", "--output"])
        .arg(&records)
        .arg("--errors")
        .arg(&errors)
        .arg(&case.input)
        .output()
        .unwrap();
    expect_exit(&output, 0);
    for (written, expected) in [
        (&records, "expected.ndjson"),
        (&errors, "expected.errors.ndjson"),
    ] {
        assert_eq!(
            std::fs::read_to_string(written).unwrap(),
            std::fs::read_to_string(case.file(expected)).unwrap(),
            "contract 0.1.0 and 0.2.0 give the same {expected}"
        );
    }
}

/// `PES 65, CO 35` as the record writes it.
fn composition_of(text: &str) -> serde_json::Value {
    let items: Vec<serde_json::Value> = text
        .split(", ")
        .map(|item| {
            let (fibre, percent) = item.split_once(' ').unwrap();
            serde_json::json!({ "fibre": fibre, "percent": percent.parse::<i64>().unwrap() })
        })
        .collect();
    serde_json::Value::Array(items)
}

#[test]
fn the_textile_exports_become_what_their_standard_lists() {
    let path = root().join("tests/fixtures/textile-outcomes.toml");
    let outcomes: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (plugin, expected) in &outcomes {
        let dir = tempfile::tempdir().unwrap();
        let (records, errors) = (dir.path().join("r.ndjson"), dir.path().join("e.ndjson"));
        let file = textile_sample(expected["file"].as_str().unwrap());
        let output = conform()
            .args(["convert", "--plugin", plugin, "--output"])
            .arg(&records)
            .arg("--errors")
            .arg(&errors)
            .arg(&file)
            .output()
            .unwrap();
        expect_exit(&output, 0);
        let written = ndjson(&std::fs::read_to_string(&records).unwrap());
        let rows = expected["converted"].as_array().unwrap();
        assert_eq!(written.len(), rows.len(), "{plugin}: records");
        for (line, row) in written.iter().zip(rows) {
            let row = row.as_table().unwrap();
            let r = &line["record"];
            let number = |key: &str| row[key].as_float().unwrap();
            let supplier = row
                .get("supplier_code")
                .or(expected.get("supplier_code"))
                .unwrap();
            let want = serde_json::json!({
                "roll_id": row["roll_id"].as_str(), "supplier_code": supplier.as_str(),
                "colour_code": row["colour"].as_str(), "colour_source": row["given"].as_str(),
                "width_cm": number("width_cm"), "length_m": number("length_m"),
                "areal_density_gsm": number("gsm"), "points_per_100m2": number("points"),
                "composition": composition_of(row["composition"].as_str().unwrap()),
                "grade": row["grade"].as_str(), "inspected_on": row["inspected_on"].as_str(),
                "source_grade": { "system": expected["system"].as_str(), "value": row["declared"].as_str() },
            });
            let line_no = row["line"].as_integer().unwrap() as u64;
            assert_eq!(line["source"]["line"].as_u64(), Some(line_no), "{plugin}");
            for (key, value) in want.as_object().unwrap() {
                let got = &r[key];
                let same = match (got.as_f64(), value.as_f64()) {
                    (Some(a), Some(b)) => a == b,
                    _ => got == value,
                };
                assert!(same, "{plugin} line {line_no} `{key}`: {got} ≠ {value}");
            }
        }
        let rejections = ndjson(&std::fs::read_to_string(&errors).unwrap());
        let want: Vec<(u64, String)> = expected["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["line"].as_integer().unwrap() as u64,
                    r["at"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let got: Vec<(u64, String)> = rejections
            .iter()
            .map(|r| {
                let at = r.get("target").or(r.get("field")).unwrap();
                (
                    r["line"].as_u64().unwrap(),
                    at.as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            got, want,
            "{plugin}: every rejected row, at the record field it concerns"
        );
    }
}

#[test]
fn a_contract_0_1_0_plugin_is_refused_by_a_pack_that_does_not_serve_it() {
    // The 0.1.0 mapping, pointed at the textile pack, which binds no table
    // to contract 0.1.0: refused when it loads, not row by row.
    let plugins = tempfile::tempdir().unwrap();
    let dir = plugins.path().join("contract-0-1");
    copy_dir(&test_plugins_dir().join("contract-0-1"), &dir);
    let manifest = dir.join("plugin.toml");
    let edited = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("pack = \"sample-regional\"", "pack = \"sample-textile\"")
        .replace(
            "record_types = [\"part\"]",
            "record_types = [\"fabric_roll\"]",
        );
    std::fs::write(&manifest, edited).unwrap();
    let output = conform()
        .env("CONFORM_PLUGINS", plugins.path())
        .args(["convert", "--plugin", "contract-0-1"])
        .arg(textile_sample("keqiao-dyeing-rolls.csv"))
        .output()
        .unwrap();
    expect_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("uses contract 0.1.0, which pack `sample-textile 1.0.0` does not serve"),
        "{stderr}"
    );
}

#[test]
fn a_plugin_naming_a_table_the_pack_lacks_is_refused_when_it_loads() {
    for (tables, why) in [
        (
            "finishes = \"code-list\"",
            "uses table `finishes` (code-list), which pack `sample-textile 1.0.0` does not have",
        ),
        (
            "colours = \"class-set\"",
            "uses table `colours` (class-set), which pack `sample-textile 1.0.0` has as a code-list",
        ),
    ] {
        let plugins = tempfile::tempdir().unwrap();
        let dir = plugins.path().join("keqiao-dyeing-rolls");
        copy_dir(&plugins_dir().join("keqiao-dyeing-rolls"), &dir);
        let manifest = dir.join("plugin.toml");
        let edited = std::fs::read_to_string(&manifest)
            .unwrap()
            .replace("[target.tables]\n", &format!("[target.tables]\n{tables}\n"))
            .replace("colours = \"code-list\"\n", "");
        std::fs::write(&manifest, edited).unwrap();
        let output = conform()
            .env("CONFORM_PLUGINS", plugins.path())
            .args(["convert", "--plugin", "keqiao-dyeing-rolls"])
            .arg(textile_sample("keqiao-dyeing-rolls.csv"))
            .output()
            .unwrap();
        expect_exit(&output, 1);
        let stderr = text(&output.stderr);
        assert!(stderr.contains(why), "{stderr}");
    }
}

#[test]
fn a_plugin_breaking_contract_0_2_0_costs_only_its_rows() {
    let actions = [
        "ok",
        "bad-span",
        "dup-key",
        "ok",
        "short-count",
        "inexact",
        "deep",
        "handles",
        "no-table",
        "wrong-kind",
        "no-outcome",
        "ok",
        "bad-ends",
        "ok",
        "too-many",
    ];
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hostile-0-2.ndjson");
    let rows: Vec<String> = actions
        .iter()
        .map(|a| format!("{{\"action\":\"{a}\"}}"))
        .collect();
    std::fs::write(&input, rows.join("\n")).unwrap();
    let (records, errors) = (dir.path().join("r.ndjson"), dir.path().join("e.ndjson"));
    let output = conform()
        .env("CONFORM_PLUGINS", test_plugins_dir())
        .args(["convert", "--plugin", "hostile-0-2", "--output"])
        .arg(&records)
        .arg("--errors")
        .arg(&errors)
        .arg(&input)
        .output()
        .unwrap();
    expect_exit(&output, 0);
    let converted: Vec<u64> = ndjson(&std::fs::read_to_string(&records).unwrap())
        .iter()
        .map(|r| r["source"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(converted, [1, 4, 12, 14], "the good rows survive, in order");
    let errors = ndjson(&std::fs::read_to_string(&errors).unwrap());
    let expected = [
        (2, "plugin-output", "outside the result's text"),
        (3, "plugin-output", "twice"),
        (5, "plugin-output", "ends before"),
        (6, "plugin-output", "exactly"),
        (7, "plugin-output", "deeper than 64"),
        (8, "too-many-handles", "1024"),
        (9, "unknown-table", "no-such-table"),
        (10, "wrong-table-kind", "packaging"),
        (11, "plugin-output", "outcomes"),
        (13, "plugin-output", "character boundaries"),
        (15, "plugin-output", "more than 4096 values"),
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:?}");
    for (error, (line, code, says)) in errors.iter().zip(expected) {
        assert_eq!(
            (error["line"].as_u64(), error["code"].as_str()),
            (Some(line), Some(code)),
            "{error}"
        );
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(says), "line {line}: {message}");
    }
}

/// A mapping over NDJSON with a pattern, a constant, units from a column
/// and a code list, as `conform convert --mapping` runs it.
const PARTS_MAPPING: &str = r#"
name = "parts-by-mapping"
version = "0.1.0"
provider = "tests"
[input]
format = "ndjson"
[target]
pack = "sample-regional"
versions = "^1.0"
record_type = "part"
[fields.part_no]
column = "sku"
match = '^sku:([A-Z0-9-]+)$'
[fields.name]
constant = "Flange"
[fields.supplier_code]
column = "supplier"
[fields.length_mm]
column = "length"
unit_column = "unit"
[fields.width_mm]
column = "width"
unit_column = "unit"
[fields.height_mm]
column = "height"
unit_column = "unit"
[fields.tolerance_mm]
constant = 0.05
[fields.mass_g]
column = "mass_lb"
unit = "lb"
[fields.packaging]
column = "pack"
code_list = "packaging"
[fields.quantity_per_package]
column = "qty"
"#;

#[test]
fn a_mapping_converts_in_the_sandbox_naming_each_problems_field_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(&mapping, PARTS_MAPPING).unwrap();
    let input = dir.path().join("parts.ndjson");
    std::fs::write(
        &input,
        concat!(
            r#"{"sku":"sku:FL-100","supplier":"91370200MA3C1234X5","length":"2.5","width":2,"height":"1","unit":"in","mass_lb":"1.2","pack":"纸箱","qty":"20"}"#,
            "\n",
            r#"{"sku":"FL-101","supplier":"91370200MA3C1234X5","length":"2.5","width":"2","height":"1","unit":"furlong","mass_lb":"x","pack":"纸箱","qty":"2.5"}"#,
            "\n",
        ),
    )
    .unwrap();
    let output = conform()
        .args(["convert", "--summary", "json", "--mapping"])
        .arg(&mapping)
        .arg("--interpreter")
        .arg(interpreter())
        .arg("--errors")
        .arg(dir.path().join("errors.ndjson"))
        .arg(&input)
        .output()
        .unwrap();
    expect_exit(&output, 0);
    let records = ndjson(&text(&output.stdout));
    assert_eq!(
        records[0]["record"],
        serde_json::json!({
            "part_no": "FL-100", "name": "Flange", "supplier_code": "91370200MA3C1234X5",
            "length_mm": 63.5, "width_mm": 50.8, "height_mm": 25.4, "tolerance_mm": 0.05,
            "mass_g": 544.3, "packaging": "CT", "quantity_per_package": 20
        }),
        "{records:?}"
    );
    assert_eq!(records.len(), 1, "{records:?}");
    let summary: Value = serde_json::from_str(text(&output.stderr).trim()).unwrap();
    assert_eq!(
        (&summary["converted"], &summary["rejected"]),
        (&1.into(), &1.into())
    );
    // Every problem of the second row at once, each naming the record
    // field and the input; the unit column's problem once, not per field.
    let errors = ndjson(&std::fs::read_to_string(dir.path().join("errors.ndjson")).unwrap());
    let found: Vec<(&str, &str, &str)> = errors
        .iter()
        .map(|e| {
            assert_eq!(e["line"], 2, "{e}");
            (
                e["code"].as_str().unwrap(),
                e["field"].as_str().unwrap(),
                e["target"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("no-match", "sku", "/part_no"),
            ("unknown-unit", "unit", "/length_mm"),
            ("not-a-number", "mass_lb", "/mass_g"),
            ("not-a-number", "qty", "/quantity_per_package"),
        ],
        "{errors:?}"
    );
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("`FL-101` does not match"),
        "{errors:?}"
    );
}

/// `conform convert INPUT --mapping MAPPING`, which must succeed: the
/// records and the error report's lines.
fn convert_by_mapping(
    mapping: &std::path::Path,
    input: &std::path::Path,
) -> (Vec<Value>, Vec<Value>) {
    let errors = input.with_extension("errors.ndjson");
    let output = conform()
        .args(["convert", "--mapping"])
        .arg(mapping)
        .arg("--interpreter")
        .arg(interpreter())
        .arg("--errors")
        .arg(&errors)
        .arg(input)
        .output()
        .unwrap();
    expect_exit(&output, 0);
    (
        ndjson(&text(&output.stdout)),
        ndjson(&std::fs::read_to_string(errors).unwrap()),
    )
}

#[test]
fn an_expression_that_would_run_away_rejects_its_row_and_the_others_convert() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("mapping.toml");
    // Every character of `note` an item: a long note is more steps than a
    // field may take for a row.
    std::fs::write(
        &mapping,
        PARTS_MAPPING.replace(
            "[fields.name]\nconstant = \"Flange\"",
            "[fields.name]\nexpr = 'concat(\"Flange \", split(column(\"note\"), \"\")[0])'",
        ),
    )
    .unwrap();
    let row = |note: &str| {
        format!(
            r#"{{"sku":"sku:FL-100","supplier":"91370200MA3C1234X5","length":"2.5","width":2,"height":"1","unit":"in","mass_lb":"1.2","pack":"纸箱","qty":"20","note":"{note}"}}"#
        )
    };
    let input = dir.path().join("parts.ndjson");
    std::fs::write(
        &input,
        format!(
            "{}\n{}\n{}\n",
            row("ok"),
            row(&"x".repeat(150_000)),
            row("ok")
        ),
    )
    .unwrap();
    let (records, errors) = convert_by_mapping(&mapping, &input);
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0]["record"]["name"], "Flange o");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (&errors[0]["line"], &errors[0]["code"], &errors[0]["target"]),
        (&2.into(), &"mapping-limit".into(), &"/name".into())
    );
}

#[test]
fn a_fixed_width_gbk_export_converts_by_its_columns() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(
        &mapping,
        PARTS_MAPPING
            .replace(
                "[input]\nformat = \"ndjson\"",
                "[input]\nencoding = \"gbk\"\n[input.format.fixed-width]\nskip_lines = 1\ncolumns = [\n  { name = \"sku\", start = 1, width = 12 },\n  { name = \"length\", start = 13, width = 6 },\n  { name = \"pack\", start = 19, width = 4 },\n  { name = \"qty\", start = 23, width = 5 },\n]",
            )
            .replace("column = \"supplier\"", "constant = \"91370200MA3C1234X5\"")
            .replace("column = \"width\"", "column = \"length\"")
            .replace("column = \"height\"", "column = \"length\"")
            .replace("unit_column = \"unit\"", "unit = \"in\"")
            .replace("column = \"mass_lb\"", "constant = \"2\""),
    )
    .unwrap();
    // A title line, then rows padded to their columns; 纸箱 is two
    // characters wide, as any character is.
    let export =
        "零件清单（样例，定宽）\r\nsku:FL-100  2.5   纸箱  20\r\nsku:FL-101  1     麻袋  5\r\n";
    let (bytes, _, _) = encoding_rs::GBK.encode(export);
    let input = dir.path().join("parts.txt");
    std::fs::write(&input, &bytes).unwrap();
    let (records, errors) = convert_by_mapping(&mapping, &input);
    assert_eq!(records.len(), 1, "{records:?}");
    let part = &records[0]["record"];
    assert_eq!(
        (
            &part["part_no"],
            &part["length_mm"],
            &part["packaging"],
            &part["quantity_per_package"]
        ),
        (&"FL-100".into(), &63.5.into(), &"CT".into(), &20.into())
    );
    assert_eq!(records[0]["source"]["line"], 2);
    assert_eq!(
        (&errors[0]["line"], &errors[0]["code"], &errors[0]["field"]),
        (&3.into(), &"unknown-package-term".into(), &"pack".into())
    );
}

#[test]
fn a_mapping_with_problems_converts_nothing_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("mapping.toml");
    let bad = PARTS_MAPPING.replace("code_list = \"packaging\"", "code_list = \"packing\"");
    std::fs::write(&mapping, &bad).unwrap();
    let records = dir.path().join("records.ndjson");
    let run = |interpreter: &std::path::Path| {
        conform()
            .args(["convert", "--mapping"])
            .arg(&mapping)
            .arg("--interpreter")
            .arg(interpreter)
            .arg("--output")
            .arg(&records)
            .arg("tests/fixtures/samples/swift-express.ndjson")
            .output()
            .unwrap()
    };
    let output = run(&interpreter());
    expect_exit(&output, 1);
    let line = bad.lines().position(|l| l.contains("packing")).unwrap() + 1;
    let shown = text(&output.stderr);
    assert!(
        shown.contains(&format!(
            "{}:{line}: pack `sample-regional` has no table `packing`",
            mapping.display()
        )),
        "{shown}"
    );
    assert!(shown.contains("1 problem(s) in"), "{shown}");
    assert!(!records.exists(), "nothing is written");

    // Without the interpreter, the error says how to build it.
    std::fs::write(&mapping, PARTS_MAPPING).unwrap();
    let output = run(&dir.path().join("missing.wasm"));
    expect_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("cargo xtask build-plugins"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_mapping_is_checked_against_its_pack_with_each_problem_at_its_line() {
    let output = conform()
        .args(["mapping", "check", "mappings/jinggong-parts/mapping.toml"])
        .output()
        .unwrap();
    expect_exit(&output, 0);
    assert!(text(&output.stdout).contains("10 fields, no problem"));

    // A misspelt field, a unit the pack does not know: both named at their
    // lines, and the required field left unmapped.
    let good =
        std::fs::read_to_string(root().join("mappings/jinggong-parts/mapping.toml")).unwrap();
    let bad = good
        .replace("[fields.name]", "[fields.nmae]")
        .replace("unit = \"lb\"", "unit = \"stone-ish\"");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mapping.toml");
    std::fs::write(&file, &bad).unwrap();
    let output = conform()
        .args(["mapping", "check"])
        .arg(&file)
        .output()
        .unwrap();
    expect_exit(&output, 1);
    let shown = text(&output.stderr);
    let line_of = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let at = |line: usize| format!("{}:{line}: ", file.display());
    assert!(
        shown.contains(&format!(
            "{}`nmae` is not a field",
            at(line_of("[fields.nmae]"))
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "{}field `mass_g`: unit `stone-ish`",
            at(line_of("stone-ish"))
        )),
        "{shown}"
    );
    assert!(
        shown.contains("requires fields the mapping does not make: name"),
        "{shown}"
    );
    assert!(shown.contains("3 problem(s)"), "{shown}");

    // A pack id is never a path.
    std::fs::write(&file, good.replace("\"sample-regional\"", "\"../../x\"")).unwrap();
    let output = conform()
        .args(["mapping", "check"])
        .arg(&file)
        .output()
        .unwrap();
    expect_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("`../../x` is not a pack id"),
        "{}",
        text(&output.stderr)
    );

    // With the sample export (GB18030, read as the mapping says): every
    // column the mapping names is one of the sample's.
    let sample = "tests/fixtures/samples/jinggong-parts.csv";
    let output = conform()
        .args([
            "mapping",
            "check",
            "mappings/jinggong-parts/mapping.toml",
            "--sample",
            sample,
        ])
        .output()
        .unwrap();
    expect_exit(&output, 0);
    assert!(text(&output.stdout).contains("every column it names is in the sample"));
    let traditional = good.replace("\"包装\"", "\"包裝\"");
    std::fs::write(&file, &traditional).unwrap();
    let output = conform()
        .args(["mapping", "check"])
        .arg(&file)
        .args(["--sample", sample])
        .output()
        .unwrap();
    expect_exit(&output, 1);
    let shown = text(&output.stderr);
    let line = traditional
        .lines()
        .position(|l| l.contains("包裝"))
        .unwrap()
        + 1;
    assert!(
        shown.contains(&format!(
            "{}:{line}: field `packaging`: the sample `{sample}` has no column `包裝`; its columns: 零件号",
            file.display()
        )),
        "{shown}"
    );
}
