//! `conform plugin build`: a Rust guest built with cargo and made a
//! component in-process (no separately installed tool), or a Python one
//! made a component by componentize-py (WASI stubbed out, so that it
//! imports the contract only); checked as a server checks it at
//! publication (digest, imports, world) and written with its manifest,
//! `[component]` filled in, where `conform` loads plugins from.

use std::path::{Path, PathBuf};
use std::process::Command;

use conform_sandbox::Sandbox;
use sha2::{Digest, Sha256};

use crate::scaffold::Language;
use crate::AuthorError;

/// The target plugins are built for.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Where a project's built plugin goes: a plugins folder of one plugin,
/// which `--plugins` can name.
pub const BUILT_DIR: &str = "target/conform/plugins";

/// A built and checked plugin.
#[derive(Debug, Clone)]
pub struct Built {
    /// The plugin's name.
    pub name: String,
    /// The folder holding `plugin.toml` and the component.
    pub dir: PathBuf,
    /// The plugins folder it is in (for `--plugins`).
    pub plugins_dir: PathBuf,
    /// The component's size in bytes.
    pub size: usize,
    /// The component's SHA-256, hex.
    pub sha256: String,
}

/// Builds the plugin project in `project`, checking the component in
/// `sandbox`.
pub fn build_plugin(project: &Path, sandbox: &Sandbox) -> Result<Built, AuthorError> {
    let project = &std::path::absolute(project).map_err(|e| crate::io_error(project, e))?;
    let source_path = project.join("plugin.toml");
    let source = crate::read_file(&source_path)?;
    let component = match Language::of_project(project)? {
        Language::Rust => {
            let package = package_name(project)?;
            ensure_wasm_target(project)?;
            let module_path = cargo_build(project, &package)?;
            let module =
                std::fs::read(&module_path).map_err(|e| crate::io_error(&module_path, e))?;
            componentize(&module)?
        }
        Language::Python => componentize_python(project)?,
    };
    let sha256 = hex::encode(Sha256::digest(&component));
    let file = format!("{}.wasm", manifest_name(&source, &source_path)?);
    let manifest =
        with_component(&source, &file, &sha256).map_err(|message| AuthorError::Manifest {
            path: source_path.clone(),
            message,
        })?;
    let parsed =
        conform_model::PluginManifest::from_toml(&manifest).map_err(|e| AuthorError::Manifest {
            path: source_path.clone(),
            message: e.to_string(),
        })?;
    check_component(sandbox, &parsed, &component)?;
    let plugins_dir = project.join(BUILT_DIR);
    let dir = plugins_dir.join(&parsed.name);
    crate::write_bytes(&dir.join(&file), &component)?;
    crate::write_file(&dir.join("plugin.toml"), &manifest)?;
    Ok(Built {
        name: parsed.name,
        dir,
        plugins_dir,
        size: component.len(),
        sha256,
    })
}

/// The componentize-py release the Python SDK is built and tested with.
pub const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

/// Makes the Python project in `project` (`app.py`, defining `WitWorld`) a
/// component with componentize-py, against the contract and the SDK the
/// project carries.
fn componentize_python(project: &Path) -> Result<Vec<u8>, AuthorError> {
    let command = componentize_py().ok_or_else(|| AuthorError::Build {
        message: format!(
            "componentize-py is not installed: `python3 -m pip install {COMPONENTIZE_PY}` (it builds Python plugins)"
        ),
    })?;
    let out = project.join("target/conform/build/app.wasm");
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| crate::io_error(dir, e))?;
    }
    let vendor = Path::new(crate::sdk_files::VENDOR_DIR);
    let status = Command::new(&command)
        .current_dir(project)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg("--wit-path")
        .arg(vendor.join("wit").join(crate::sdk_files::CONTRACT))
        .args(["--world", "converter", "componentize", "app", "--stub-wasi"])
        .args(["--python-path", "."])
        .arg("--python-path")
        .arg(vendor.join(crate::sdk_files::PYTHON_SDK_DIR))
        .arg("--output")
        .arg(&out)
        .status()
        .map_err(|e| AuthorError::Build {
            message: format!("cannot run `{}`: {e}", command.display()),
        })?;
    if !status.success() {
        return Err(AuthorError::Build {
            message: format!(
                "componentize-py failed ({status}); its messages are above (app.py must define `WitWorld = converter(YourPlugin())`)"
            ),
        });
    }
    std::fs::read(&out).map_err(|e| crate::io_error(&out, e))
}

/// The componentize-py command: on `PATH`, or in the scripts folder of
/// the `python3` on `PATH`.
fn componentize_py() -> Option<PathBuf> {
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()
        .map(|out| {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("componentize-py")
        });
    [Some(PathBuf::from("componentize-py")), scripts]
        .into_iter()
        .flatten()
        .find(|command| {
            Command::new(command)
                .arg("--version")
                .output()
                .is_ok_and(|out| out.status.success())
        })
}

/// The variable cargo reads the wasm target's flags from.
const PLUGIN_RUSTFLAGS_VAR: &str = "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS";

/// Whether the provider gives rustc flags of their own: in the
/// environment, or in a cargo configuration file of the project's folders
/// or of cargo's home. Those are used as they are, without
/// [`crate::PLUGIN_RUSTFLAGS`]: cargo would take the target's flags in
/// place of the provider's `build.rustflags`, not beside them.
fn sets_own_rustflags(project: &Path) -> bool {
    // `RUSTFLAGS`, `CARGO_ENCODED_RUSTFLAGS`, `CARGO_BUILD_RUSTFLAGS`, the
    // target's own variable.
    let in_environment =
        std::env::vars_os().any(|(name, _)| name.to_string_lossy().ends_with("RUSTFLAGS"));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    let folders = project
        .ancestors()
        .map(|folder| folder.join(".cargo"))
        .chain(cargo_home);
    in_environment
        || folders
            .flat_map(|folder| [folder.join("config.toml"), folder.join("config")])
            .any(|file| std::fs::read_to_string(file).is_ok_and(|text| text.contains("rustflags")))
}

/// Runs `cargo build --release --target wasm32-unknown-unknown` in
/// `project` (its messages on the terminal) and returns the module cargo
/// says it wrote for `package`, wherever its configuration puts the target
/// folder.
fn cargo_build(project: &Path, package: &str) -> Result<PathBuf, AuthorError> {
    use std::io::BufRead;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    if !sets_own_rustflags(project) {
        command.env(PLUGIN_RUSTFLAGS_VAR, crate::PLUGIN_RUSTFLAGS);
    }
    let mut child = command
        .current_dir(project)
        .args(["build", "--release", "--target", WASM_TARGET])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(project.join("Cargo.toml"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| AuthorError::Build {
            message: format!(
                "cannot run cargo ({e}): install Rust (https://rustup.rs) or put cargo on PATH"
            ),
        })?;
    let crate_name = package.replace('-', "_");
    let mut module = None;
    let stdout = child.stdout.take().expect("piped");
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line.unwrap_or_default())
        else {
            continue;
        };
        if message["reason"] != "compiler-artifact" || message["target"]["name"] != crate_name {
            continue;
        }
        let wasm = message["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
            .find(|f| f.ends_with(".wasm"));
        if let Some(wasm) = wasm {
            module = Some(PathBuf::from(wasm));
        }
    }
    let status = child.wait().map_err(|e| AuthorError::Build {
        message: format!("cargo stopped: {e}"),
    })?;
    if !status.success() {
        return Err(AuthorError::Build {
            message: format!("cargo build failed ({status}); its messages are above"),
        });
    }
    module.ok_or_else(|| AuthorError::Build {
        message: format!(
            "cargo built no wasm module for `{package}`: the crate must be a `cdylib` (`[lib] crate-type = [\"cdylib\"]`)"
        ),
    })
}

/// A core module made a component (its WIT world is embedded by the SDK).
pub fn componentize(module: &[u8]) -> Result<Vec<u8>, AuthorError> {
    wit_component::ComponentEncoder::default()
        .module(module)
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|e| AuthorError::Build {
            message: format!(
                "the module does not make a component: {e:#}; is it built with the Conform SDK?"
            ),
        })
}

/// The source manifest with `[component]` (file and digest) set.
pub fn with_component(source: &str, file: &str, sha256: &str) -> Result<String, String> {
    let mut manifest: toml::Table = toml::from_str(source).map_err(|e| e.to_string())?;
    let mut component = toml::Table::new();
    component.insert("file".into(), file.into());
    component.insert("sha256".into(), sha256.into());
    manifest.insert("component".into(), component.into());
    toml::to_string(&manifest).map_err(|e| e.to_string())
}

/// The component checked as a server checks it: its digest, that it
/// compiles, imports only the contract and exports a converter world.
fn check_component(
    sandbox: &Sandbox,
    manifest: &conform_model::PluginManifest,
    component: &[u8],
) -> Result<(), AuthorError> {
    load_component(sandbox, manifest, component)
        .map(|_| ())
        .map_err(|e| AuthorError::Build {
            message: format!("the component is refused: {e}"),
        })
}

/// `component` loaded in `sandbox` under what `manifest` says of it (name,
/// digest, limits, record types): the checks a server makes, and the
/// plugin ready to convert.
pub fn load_component(
    sandbox: &Sandbox,
    manifest: &conform_model::PluginManifest,
    component: &[u8],
) -> Result<conform_sandbox::LoadedPlugin, conform_sandbox::SandboxError> {
    sandbox.load(
        &manifest.name,
        component,
        &manifest.component.sha256,
        manifest.limits,
        manifest.target.record_types.clone(),
    )
}

fn manifest_name(source: &str, path: &Path) -> Result<String, AuthorError> {
    let table: toml::Table = toml::from_str(source).map_err(|e| AuthorError::Manifest {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    table
        .get("name")
        .and_then(toml::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| AuthorError::Manifest {
            path: path.to_path_buf(),
            message: "it has no `name`".into(),
        })
}

/// The crate's package name, from its `Cargo.toml`.
fn package_name(project: &Path) -> Result<String, AuthorError> {
    let path = project.join("Cargo.toml");
    let table: toml::Table =
        toml::from_str(&crate::read_file(&path)?).map_err(|e| AuthorError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
    table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| AuthorError::Manifest {
            path,
            message: "it has no `[package] name`".into(),
        })
}

/// Adds the wasm target with rustup when it is missing (as the README's
/// set-up does); without rustup, cargo says what is missing.
fn ensure_wasm_target(project: &Path) -> Result<(), AuthorError> {
    // In the project, so that its `rust-toolchain.toml` chooses the toolchain.
    let Ok(listed) = Command::new("rustup")
        .current_dir(project)
        .args(["target", "list", "--installed"])
        .output()
    else {
        return Ok(());
    };
    if String::from_utf8_lossy(&listed.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    let status = Command::new("rustup")
        .current_dir(project)
        .args(["target", "add", WASM_TARGET])
        .status()
        .map_err(|e| AuthorError::Build {
            message: format!("cannot run rustup: {e}"),
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(AuthorError::Build {
            message: format!("`rustup target add {WASM_TARGET}` failed ({status})"),
        })
    }
}
