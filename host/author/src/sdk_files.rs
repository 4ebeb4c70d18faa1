//! The plugin SDKs and the contract's WIT, carried inside the `conform`
//! binary: `conform plugin new` writes them into the new project, so that
//! a provider needs no Conform checkout. The SDKs' sources are the
//! repository's own (`plugins/sdk`, `plugins/python/sdk`,
//! `plugins/wit/0.2.0`), embedded at build time; only the Rust SDK's
//! manifest is written here, without the repository's workspace (and
//! without the `native` feature, which needs the host).

use std::path::Path;

use crate::scaffold::Language;
use crate::AuthorError;

/// The contract the SDK implements.
pub const CONTRACT: &str = "0.2.0";

/// Where the SDK and the WIT go inside a plugin project.
pub const VENDOR_DIR: &str = ".conform";

/// The SDK's source files, by path inside its crate.
const SDK_SOURCES: [(&str, &str); 9] = [
    (
        "src/lib.rs",
        include_str!("../../../plugins/sdk/src/lib.rs"),
    ),
    (
        "src/batch.rs",
        include_str!("../../../plugins/sdk/src/batch.rs"),
    ),
    (
        "src/output.rs",
        include_str!("../../../plugins/sdk/src/output.rs"),
    ),
    (
        "src/record.rs",
        include_str!("../../../plugins/sdk/src/record.rs"),
    ),
    (
        "src/row.rs",
        include_str!("../../../plugins/sdk/src/row.rs"),
    ),
    (
        "src/scaled.rs",
        include_str!("../../../plugins/sdk/src/scaled.rs"),
    ),
    (
        "src/tables.rs",
        include_str!("../../../plugins/sdk/src/tables.rs"),
    ),
    (
        "src/text.rs",
        include_str!("../../../plugins/sdk/src/text.rs"),
    ),
    (
        "src/written.rs",
        include_str!("../../../plugins/sdk/src/written.rs"),
    ),
];

/// Where the Python SDK goes inside [`VENDOR_DIR`] (a folder for
/// componentize-py's `--python-path`).
pub const PYTHON_SDK_DIR: &str = "sdk-python";

/// The Python SDK's source files, by path inside its folder.
const PYTHON_SOURCES: [(&str, &str); 6] = [
    (
        "conform_plugin/__init__.py",
        include_str!("../../../plugins/python/sdk/conform_plugin/__init__.py"),
    ),
    (
        "conform_plugin/_record.py",
        include_str!("../../../plugins/python/sdk/conform_plugin/_record.py"),
    ),
    (
        "conform_plugin/_row.py",
        include_str!("../../../plugins/python/sdk/conform_plugin/_row.py"),
    ),
    (
        "conform_plugin/_run.py",
        include_str!("../../../plugins/python/sdk/conform_plugin/_run.py"),
    ),
    (
        "conform_plugin/tables.py",
        include_str!("../../../plugins/python/sdk/conform_plugin/tables.py"),
    ),
    (
        "conform_plugin/written.py",
        include_str!("../../../plugins/python/sdk/conform_plugin/written.py"),
    ),
];

/// The contract, as the SDK's bindings read it (`../wit/0.2.0` from the SDK).
const WIT: &str = include_str!("../../../plugins/wit/0.2.0/plugin.wit");

/// The SDK's manifest outside the repository: the same dependencies as the
/// workspace gives it (a test holds them equal).
pub(crate) const SDK_MANIFEST: &str = r#"# The Conform plugin SDK (contract 0.2.0), written by `conform plugin new`.
# Do not edit: `conform plugin sdk` writes it again.
[package]
name = "conform-plugin-sdk"
version = "0.2.0"
edition = "2021"
rust-version = "1.85"
license = "Apache-2.0"
publish = false

[dependencies]
wit-bindgen = { version = "0.61", default-features = false, features = ["macros", "realloc"] }
serde_json = "1"
rustc-hash = "2"

[lints.rust]
# `native` runs a plugin inside the host, for Conform's own benchmark only.
unexpected_cfgs = { level = "warn", check-cfg = ['cfg(feature, values("native"))'] }
"#;

/// Writes the SDK of `language` (`.conform/sdk/`, `.conform/sdk-python/`)
/// and the WIT (`.conform/wit/0.2.0/`) into `project`, replacing what an
/// earlier version wrote there.
pub fn write_sdk(project: &Path, language: Language) -> Result<(), AuthorError> {
    let vendor = project.join(VENDOR_DIR);
    match language {
        Language::Rust => {
            let sdk = vendor.join("sdk");
            crate::write_file(&sdk.join("Cargo.toml"), SDK_MANIFEST)?;
            for (path, text) in SDK_SOURCES {
                crate::write_file(&sdk.join(path), text)?;
            }
        }
        Language::Python => {
            let sdk = vendor.join(PYTHON_SDK_DIR);
            for (path, text) in PYTHON_SOURCES {
                crate::write_file(&sdk.join(path), text)?;
            }
        }
    }
    crate::write_file(&vendor.join("wit").join(CONTRACT).join("plugin.wit"), WIT)?;
    crate::write_file(
        &vendor.join("README.md"),
        "The Conform plugin SDK and contract, written by `conform plugin new`.\n\
         `conform plugin sdk` writes them again (after a Conform upgrade).\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's folder.
    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn every_sdk_source_is_carried_but_the_native_runner() {
        let mut files: Vec<String> = std::fs::read_dir(root().join("plugins/sdk/src"))
            .unwrap()
            .map(|e| format!("src/{}", e.unwrap().file_name().to_string_lossy()))
            .filter(|f| f != "src/native.rs")
            .collect();
        files.sort();
        let mut carried: Vec<String> = SDK_SOURCES.iter().map(|(p, _)| p.to_string()).collect();
        carried.sort();
        assert_eq!(carried, files, "add the new file to SDK_SOURCES");
    }

    #[test]
    fn every_python_sdk_source_is_carried() {
        let dir = root().join("plugins/python/sdk/conform_plugin");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".py"))
            .map(|f| format!("conform_plugin/{f}"))
            .collect();
        files.sort();
        let carried: Vec<&str> = PYTHON_SOURCES.iter().map(|(p, _)| *p).collect();
        assert_eq!(carried, files, "add the new file to PYTHON_SOURCES");
    }

    #[test]
    fn the_carried_manifest_asks_for_the_workspace_s_versions() {
        let workspace: toml::Table =
            toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
        let deps = &workspace["workspace"]["dependencies"];
        let carried: toml::Table = toml::from_str(SDK_MANIFEST).unwrap();
        for name in ["wit-bindgen", "serde_json", "rustc-hash"] {
            assert_eq!(
                carried["dependencies"][name], deps[name],
                "`{name}` differs from the workspace's"
            );
        }
        let sdk: toml::Table = toml::from_str(
            &std::fs::read_to_string(root().join("plugins/sdk/Cargo.toml")).unwrap(),
        )
        .unwrap();
        let own: Vec<&String> = sdk["dependencies"].as_table().unwrap().keys().collect();
        assert_eq!(
            own,
            ["conform-pack", "rustc-hash", "serde_json", "wit-bindgen"]
        );
    }
}
