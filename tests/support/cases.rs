//! The golden cases, found by directory: each folder
//! `plugins/<plugin>/tests/cases/<case>/` holds a `case.toml` (the input and
//! the counts it must give), `expected.ndjson` and `expected.errors.ndjson`.
//! A new plugin with cases needs no edit of any test file.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use super::{conform, expect_exit, root, sample, textile_sample};

/// One golden case.
#[derive(Debug, Clone)]
pub struct Case {
    /// The plugin that converts it.
    pub plugin: String,
    /// The case's folder name.
    pub name: String,
    /// The case's folder.
    pub dir: PathBuf,
    /// The file to convert: in the case folder, or else a shared sample.
    pub input: PathBuf,
    /// Input rows.
    pub rows: u64,
    /// Rows converted.
    pub converted: u64,
    /// The lines of the rejected rows, in order.
    pub rejected_lines: Vec<u64>,
}

impl Case {
    /// A file of the case's folder (`expected.ndjson`, …).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether the input is one of the shared sample exports of the first
    /// sample standard (`tests/fixtures/samples`).
    pub fn is_shared_sample(&self) -> bool {
        self.input.parent() == Some(root().join("tests/fixtures/samples").as_path())
    }

    /// Whether the plugin's manifest claims the input's file name (a
    /// folder's file goes to the plugin that claims it: a twin that
    /// converts another's sample does not claim it).
    pub fn claims_its_input(&self) -> bool {
        let manifest = super::plugin_source(&self.plugin).join("plugin.toml");
        let manifest: toml::Table =
            toml::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        let name = self.input.file_name().unwrap();
        manifest["input"]
            .get("files")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(toml::Value::as_str)
            .any(|pattern| {
                globset::Glob::new(pattern)
                    .unwrap()
                    .compile_matcher()
                    .is_match(name)
            })
    }
}

/// Every case of every first-party plugin, in order of plugin and case.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for plugin in super::first_party_plugins() {
        let folder = super::plugin_source(&plugin).join("tests/cases");
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs.into_iter().filter(|d| d.is_dir()) {
            assert!(
                dir.join("case.toml").is_file(),
                "{} is a case folder without a case.toml",
                dir.display()
            );
            cases.push(load(&plugin, &dir));
        }
    }
    cases
}

/// The case `name` of `plugin`.
pub fn case(plugin: &str, name: &str) -> Case {
    cases()
        .into_iter()
        .find(|c| c.plugin == plugin && c.name == name)
        .unwrap_or_else(|| panic!("no case plugins/{plugin}/tests/cases/{name}"))
}

fn load(plugin: &str, dir: &Path) -> Case {
    let path = dir.join("case.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let table: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let known = ["input", "rows", "converted", "rejected_lines"];
    if let Some(unknown) = table.keys().find(|k| !known.contains(&k.as_str())) {
        panic!(
            "{}: unknown key `{unknown}`; a case has {known:?}",
            path.display()
        );
    }
    let number = |key: &str| {
        table
            .get(key)
            .and_then(toml::Value::as_integer)
            .unwrap_or_else(|| panic!("{}: `{key}` must be a whole number", path.display()))
            as u64
    };
    let input = table
        .get("input")
        .and_then(toml::Value::as_str)
        .unwrap_or_else(|| panic!("{}: `input` names the file to convert", path.display()));
    let local = dir.join(input);
    Case {
        plugin: plugin.to_string(),
        name: dir.file_name().unwrap().to_string_lossy().into_owned(),
        dir: dir.to_path_buf(),
        input: if local.is_file() {
            local
        } else if textile_sample(input).is_file() {
            textile_sample(input)
        } else {
            sample(input)
        },
        rows: number("rows"),
        converted: number("converted"),
        rejected_lines: table
            .get("rejected_lines")
            .and_then(toml::Value::as_array)
            .unwrap_or_else(|| panic!("{}: `rejected_lines` is a list", path.display()))
            .iter()
            .map(|v| v.as_integer().expect("a line number") as u64)
            .collect(),
    }
}

/// What converting a case gave: records, error report, summary.
pub struct Converted {
    /// The records, as written.
    pub records: String,
    /// The error report, as written.
    pub errors: String,
    /// The summary (`--summary json`).
    pub summary: Value,
}

/// Converts the case's input with the real binary and its plugin.
pub fn convert(case: &Case) -> Converted {
    convert_with(case, &["--plugin".into(), case.plugin.clone()])
}

/// The mapping of the case's export (`mappings/<plugin>/mapping.toml`),
/// if there is one.
pub fn mapping_of(case: &Case) -> Option<PathBuf> {
    let path = super::root()
        .join("mappings")
        .join(&case.plugin)
        .join("mapping.toml");
    path.is_file().then_some(path)
}

/// Converts the case's input with the real binary and `mapping` run by the
/// mapping interpreter.
pub fn convert_mapped(case: &Case, mapping: &Path) -> Converted {
    convert_with(
        case,
        &[
            "--mapping".into(),
            mapping.display().to_string(),
            "--interpreter".into(),
            super::interpreter().display().to_string(),
        ],
    )
}

/// Converts the case's input with the real binary, converting `with`
/// (`--plugin NAME`, `--mapping FILE`).
fn convert_with(case: &Case, with: &[String]) -> Converted {
    let out = tempfile::tempdir().unwrap();
    let (records, errors) = (
        out.path().join("records.ndjson"),
        out.path().join("errors.ndjson"),
    );
    let output: Output = conform()
        .env("CONFORM_PLUGINS", super::built_dir_of(&case.plugin))
        .arg("convert")
        .args(with)
        .args(["--summary", "json", "--output"])
        .arg(&records)
        .arg("--errors")
        .arg(&errors)
        .arg(&case.input)
        .output()
        .unwrap();
    expect_exit(&output, 0);
    Converted {
        records: std::fs::read_to_string(records).unwrap(),
        errors: std::fs::read_to_string(errors).unwrap(),
        summary: serde_json::from_slice(&output.stdout)
            .expect("--summary json prints one JSON object"),
    }
}
