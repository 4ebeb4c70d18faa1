//! Helpers shared by the end-to-end tests: paths of the repo, the real
//! binary, the built plugins.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repo root exists")
}

/// The built first-party plugins (`cargo xtask build-plugins`).
pub fn plugins_dir() -> PathBuf {
    let dir = root().join("target/plugins");
    assert!(
        dir.join("jinggong-parts/plugin.toml").is_file(),
        "plugins are not built: run `cargo xtask build-plugins` (or `cargo xtask test`)"
    );
    dir
}

/// The built test plugins (`cargo xtask build-plugins` builds them too).
pub fn test_plugins_dir() -> PathBuf {
    let dir = root().join("target/test-plugins");
    assert!(
        dir.join("hostile/plugin.toml").is_file(),
        "test plugins are not built: run `cargo xtask build-plugins` (or `cargo xtask test`)"
    );
    dir
}

/// A sample export shipped as a fixture.
pub fn sample(name: &str) -> PathBuf {
    root().join("tests/fixtures/samples").join(name)
}

/// The `conform` binary, run from the repo root with the built plugins.
pub fn conform() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_conform"));
    command
        .current_dir(root())
        .env("CONFORM_PLUGINS", plugins_dir())
        .env("CONFORM_CACHE", root().join("target/test-cache"))
        .env_remove("CONFORM_PACK")
        .env_remove("CONFORM_LOG");
    command
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
pub mod server;
