//! Helpers shared by the end-to-end tests: paths of the repo, the real
//! binary, the built plugins.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root, found at run time from the directory cargo runs
/// the tests in (the package's): never a path baked in at compile time, so
/// that a copied or moved checkout tests itself.
pub fn root() -> PathBuf {
    let start = std::env::current_dir().expect("a current directory");
    start
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|text| text.contains("[workspace]"))
        })
        .unwrap_or_else(|| panic!("no workspace Cargo.toml above `{}`", start.display()))
        .to_path_buf()
}

/// A binary of this build (`conform`, `conform-bench`), beside the test
/// binary's folder (`target/<profile>/deps/..`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps")
        .join(name);
    assert!(
        path.is_file(),
        "`{}` is not built: run `cargo build`",
        path.display()
    );
    path
}

/// The built first-party plugins (`cargo xtask build-plugins`), checked to
/// be built from this tree's current sources.
pub fn plugins_dir() -> PathBuf {
    built_plugins("plugins", "target/plugins")
}

/// The built first-party Python plugins (`cargo xtask build-plugins`),
/// apart from the others: each takes a server seconds to compile, and the
/// servers the tests start load every plugin of [`plugins_dir`].
pub fn python_plugins_dir() -> PathBuf {
    built_plugins("plugins/python", "target/python-plugins")
}

/// The built plugins folder holding first-party plugin `name`.
pub fn built_dir_of(name: &str) -> PathBuf {
    if plugin_source(name).starts_with(root().join("plugins/python")) {
        python_plugins_dir()
    } else {
        plugins_dir()
    }
}

/// The built test plugins (`cargo xtask build-plugins` builds them too).
pub fn test_plugins_dir() -> PathBuf {
    built_plugins("tests/plugins", "target/test-plugins")
}

/// The built mapping interpreter (`cargo xtask build-plugins`), checked to
/// be built from this tree's current sources.
pub fn interpreter() -> PathBuf {
    let root = root();
    let component = root.join("target/mapping-interpreter/mapping-interpreter.wasm");
    let built = std::fs::metadata(&component)
        .and_then(|m| m.modified())
        .ok();
    let sources = [
        "plugins/mapping-interpreter",
        "plugins/sdk",
        "plugins/wit",
        "host/mapping",
    ]
    .iter()
    .map(|path| newest_change(&root.join(path)))
    .max()
    .expect("four sources");
    assert!(
        built.is_some_and(|built| built >= sources),
        "the mapping interpreter is not built from the current sources ({}): run `cargo xtask build-plugins` (or `cargo xtask test`)",
        component.display()
    );
    component
}

/// `out` of the root, after checking that every plugin folder of `home`
/// has a component there newer than its sources: else the tests would run
/// stale or missing plugins, and they stop at once saying what to run.
fn built_plugins(home: &str, out: &str) -> PathBuf {
    let (root, out) = (root(), root().join(out));
    for name in plugin_names(&root.join(home)) {
        let component = out.join(&name).join(format!("{name}.wasm"));
        let built = std::fs::metadata(&component)
            .and_then(|m| m.modified())
            .ok();
        // The SDKs and the contracts are built into the plugins.
        let sources = [
            root.join(home).join(&name),
            root.join("plugins/sdk"),
            root.join("plugins/sdk-0.1"),
            root.join("plugins/python/sdk"),
            root.join("plugins/wit"),
        ]
        .iter()
        .map(|dir| newest_change(dir))
        .max()
        .expect("five folders");
        assert!(
            built.is_some_and(|built| built >= sources),
            "plugin `{name}` is not built from the current sources ({}): run `cargo xtask build-plugins` (or `cargo xtask test`)",
            component.display()
        );
    }
    out
}

/// The plugins of a folder: its subfolders with a `plugin.toml`.
pub fn plugin_names(home: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(home)
        .unwrap_or_else(|e| panic!("cannot list `{}`: {e}", home.display()))
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("plugin.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The first-party plugins: the folders of `plugins/` (Rust) and
/// `plugins/python/` (Python) with a `plugin.toml`.
pub fn first_party_plugins() -> Vec<String> {
    let mut names = plugin_names(&root().join("plugins"));
    names.extend(plugin_names(&root().join("plugins/python")));
    names
}

/// The source folder of first-party plugin `name`.
pub fn plugin_source(name: &str) -> PathBuf {
    let rust = root().join("plugins").join(name);
    if rust.join("plugin.toml").is_file() {
        rust
    } else {
        root().join("plugins/python").join(name)
    }
}

/// When anything of a crate folder last changed: its `plugin.toml` and
/// `Cargo.toml`, its `src/`, and for the contract folder its files.
fn newest_change(dir: &Path) -> std::time::SystemTime {
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    let mut folders = vec![dir.join("src")];
    if !dir.join("Cargo.toml").is_file() {
        folders.push(dir.to_path_buf());
    }
    for file in [dir.join("plugin.toml"), dir.join("Cargo.toml")] {
        if let Ok(changed) = std::fs::metadata(file).and_then(|m| m.modified()) {
            newest = newest.max(changed);
        }
    }
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                // Python's bytecode cache is no source.
                if !path.ends_with("__pycache__") {
                    folders.push(path);
                }
            } else if let Ok(changed) = entry.metadata().and_then(|m| m.modified()) {
                newest = newest.max(changed);
            }
        }
    }
    newest
}

/// A sample export shipped as a fixture.
pub fn sample(name: &str) -> PathBuf {
    root().join("tests/fixtures/samples").join(name)
}

/// A sample export of the textile standard shipped as a fixture.
pub fn textile_sample(name: &str) -> PathBuf {
    root().join("tests/fixtures/samples-textile").join(name)
}

/// The `conform` binary, run from the repo root with the built plugins.
pub fn conform() -> Command {
    let mut command = Command::new(binary("conform"));
    command
        .current_dir(root())
        .env("CONFORM_PLUGINS", plugins_dir())
        .env("CONFORM_CACHE", root().join("target/test-cache"))
        .env_remove("CONFORM_PACK")
        .env_remove("CONFORM_SERVER")
        .env_remove("CONFORM_TOKEN")
        .env_remove("CONFORM_LOG")
        .env_remove("CONFORM_MAPPING_INTERPRETER");
    built_as_users_build(&mut command);
    command
}

/// CI lints its own build through clippy (`.ci/run`); a project a test
/// scaffolds (or a guide's reader writes) is built as its user builds it.
pub fn built_as_users_build(command: &mut Command) -> &mut Command {
    command
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
}

/// Output as text, for assertions.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Panics with the command's output unless it exited with `code`.
pub fn expect_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit code; stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// Parses NDJSON text into values.
pub fn ndjson(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad NDJSON line {l:?}: {e}")))
        .collect()
}

/// Copies a folder recursively, skipping hidden entries (caches).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
pub mod browser;
pub mod cases;
pub mod objects;
pub mod postgres;
pub mod server;

/// A sample CSV export saved as a workbook, as a spreadsheet program
/// keeps it: numbers as numbers (with as many decimals shown as the CSV
/// has), valid dates and times as dates with the CSV's look, the rest as
/// text; on a sheet named `sheet`.
pub fn saved_as_workbook(csv_export: &std::path::Path, sheet_name: &str) -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let bytes = std::fs::read(csv_export).unwrap();
    let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).unwrap();
    let date_time = Format::new().set_num_format("yyyy/mm/dd hh:mm");
    for (r, row) in reader.records().enumerate() {
        for (c, cell) in row.unwrap().iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            let date = cell.split_once(' ').and_then(|(day, time)| {
                let day: Vec<u16> = day
                    .split('/')
                    .map(|p| p.parse().ok())
                    .collect::<Option<_>>()?;
                let time: Vec<u16> = time
                    .split(':')
                    .map(|p| p.parse().ok())
                    .collect::<Option<_>>()?;
                let (&[y, m, d], &[h, min]) = (&day[..], &time[..]) else {
                    return None;
                };
                // A day the month lacks stays text, as a spreadsheet keeps it.
                let days = [
                    31,
                    if y % 4 == 0 { 29 } else { 28 },
                    31,
                    30,
                    31,
                    30,
                    31,
                    31,
                    30,
                    31,
                    30,
                    31,
                ];
                if !(1..=12).contains(&m) || d == 0 || d > days[m as usize - 1] {
                    return None;
                }
                ExcelDateTime::from_ymd(y, m as u8, d as u8)
                    .ok()?
                    .and_hms(h, min as u8, 0)
                    .ok()
            });
            let is_number = !cell.is_empty()
                && cell.chars().all(|ch| ch.is_ascii_digit() || ch == '.')
                && !(cell.starts_with('0') && cell.len() > 1 && !cell.starts_with("0."));
            if let Some(date) = date {
                sheet
                    .write_datetime_with_format(r, c, &date, &date_time)
                    .unwrap();
            } else if is_number {
                let places = cell.split_once('.').map_or(0, |(_, f)| f.len());
                let look = if places == 0 {
                    "0".to_string()
                } else {
                    format!("0.{}", "0".repeat(places))
                };
                let value: f64 = cell.parse().unwrap();
                sheet
                    .write_number_with_format(r, c, value, &Format::new().set_num_format(&look))
                    .unwrap();
            } else if !cell.is_empty() {
                sheet.write_string(r, c, cell).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}
