//! Repository chores, run as `cargo xtask <task>`:
//!
//! - `build-plugins`: builds every plugin (a folder with a `plugin.toml`
//!   under `plugins/` or `tests/plugins/`) for
//!   `wasm32-unknown-unknown`, turns each into a component and writes it with
//!   its manifest (digest filled in) to `target/plugins/<name>/` (those of
//!   `tests/plugins/` to `target/test-plugins/<name>/`); and every Python
//!   plugin (a folder of `plugins/python/` with a `plugin.toml` and an
//!   `app.py`) with componentize-py (installed from PyPI when missing) to
//!   `target/python-plugins/<name>/`.
//! - `schemas [--check]`: regenerates `schemas/` from `conform-model`, or
//!   checks that it is fresh.
//! - `demo`: builds the plugins and converts the sample exports into `target/demo/`.
//! - `test`: builds the plugins, installs Debian's `chromium` and
//!   `chromium-driver` when missing (the upload page's tests drive them),
//!   and runs every test of the workspace.
//! - `bench [--smoke]`: builds everything in release mode (dev for `--smoke`)
//!   and runs `conform-bench run`, writing `BENCHMARKS.md` unless `--smoke`.
//! - `bench-server [--smoke]`: the same build, then `conform-bench load`
//!   (the server under load), writing its part of `BENCHMARKS.md` unless
//!   `--smoke`.
//! - `bench-replicas`: the same build, then `conform-bench replicas`
//!   (1, 2 and 3 replicas on a PostgreSQL cluster it starts), writing its
//!   part of `BENCHMARKS.md`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// Where plugins live, each in a folder with its `plugin.toml`, and where
/// `build-plugins` writes them: first-party plugins, and plugins that exist
/// only for the tests.
const PLUGIN_HOMES: [(&str, &str); 2] = [
    ("plugins", "target/plugins"),
    ("tests/plugins", "target/test-plugins"),
];

/// A plugin found in the tree: its folder, its crate, where it is written.
struct PluginSource {
    /// The plugin's name: its folder's.
    name: String,
    /// The folder with `plugin.toml` and `Cargo.toml`.
    dir: PathBuf,
    /// The crate's package name (`-p`).
    package: String,
    /// Where `build-plugins` writes it.
    out_dir: PathBuf,
}

/// Every plugin of the tree: each folder of [`PLUGIN_HOMES`] with a
/// `plugin.toml`. A folder there without one is named, so that it is not
/// silently skipped; a plugin must be a workspace member (the globs in
/// `Cargo.toml` take every folder).
fn discover_plugins(root: &Path) -> Result<Vec<PluginSource>> {
    let mut found = Vec::new();
    for (home, out) in PLUGIN_HOMES {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(home))
            .with_context(|| format!("cannot list `{home}`"))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.join("Cargo.toml").is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !dir.join("plugin.toml").is_file() {
                // The SDKs and the mapping interpreter are crates beside
                // the plugins, not plugins.
                if !name.starts_with("sdk") && dir != root.join(INTERPRETER.0) {
                    eprintln!(
                        "note: `{}` has no plugin.toml: not a plugin, not built",
                        dir.display()
                    );
                }
                continue;
            }
            let cargo: toml::Table =
                toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml"))?)
                    .with_context(|| format!("parsing {}", dir.join("Cargo.toml").display()))?;
            let package = cargo
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .with_context(|| {
                    format!("{} has no [package] name", dir.join("Cargo.toml").display())
                })?
                .to_string();
            found.push(PluginSource {
                name,
                dir,
                package,
                out_dir: root.join(out),
            });
        }
    }
    if found.is_empty() {
        bail!("no plugin found: each needs a folder under plugins/ with a plugin.toml");
    }
    Ok(found)
}

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The mapping interpreter: its crate's folder and package, and where its
/// component is written (apart from `target/plugins`: it is no plugin of
/// its own, and the servers of the tests load every plugin there). `conform
/// convert --mapping` looks for it there by default.
const INTERPRETER: (&str, &str, &str) = (
    "plugins/mapping-interpreter",
    "conform-mapping-interpreter",
    "target/mapping-interpreter/mapping-interpreter.wasm",
);

/// Where the Python plugins live (outside the workspace's globs: they are
/// no crates), each a folder with `plugin.toml` and `app.py`, beside the
/// Python SDK (`sdk/`); they are written to `target/python-plugins/<name>/`
/// (apart: each takes seconds to compile, and the demo and the tests'
/// servers load every plugin of `target/plugins`).
const PYTHON_HOME: &str = "plugins/python";
/// The componentize-py the Python plugins are built with, from PyPI.
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = repo_root();
    match args.first().map(String::as_str) {
        Some("build-plugins") => build_plugins(&root),
        Some("schemas") => schemas(&root, args.iter().any(|a| a == "--check")),
        Some("demo") => demo(&root),
        Some("test") => test(&root),
        Some("bench") => bench(&root, "run", &args[1..]),
        Some("bench-server") => bench(&root, "load", &args[1..]),
        Some("bench-replicas") => {
            ensure_test_packages()?;
            bench(&root, "replicas", &args[1..])
        }
        _ => {
            eprintln!("usage: cargo xtask <build-plugins | schemas [--check] | demo | test | bench [--smoke] [ARGS…] | bench-server [--smoke] [ARGS…] | bench-replicas [ARGS…]>");
            std::process::exit(2);
        }
    }
}

/// The repository root: the parent of xtask's folder, which `cargo run`
/// (the `cargo xtask` alias) passes at run time; nothing baked in at
/// compile time, so that a copied checkout works on itself.
fn repo_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .expect("run xtask as `cargo xtask …` (cargo passes CARGO_MANIFEST_DIR)");
    manifest_dir
        .parent()
        .expect("xtask is one level below the root")
        .to_path_buf()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(mut command: Command) -> Result<()> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .with_context(|| format!("cannot run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out)
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == WASM_TARGET) =>
        {
            Ok(())
        }
        Ok(_) => {
            let mut add = Command::new("rustup");
            add.args(["target", "add", WASM_TARGET]);
            run(add)
        }
        Err(_) => {
            eprintln!("rustup not found; assuming the {WASM_TARGET} standard library is installed");
            Ok(())
        }
    }
}

/// What the plugins' wasm is compiled with, as `conform plugin build`
/// compiles a provider's (`conform_author::PLUGIN_RUSTFLAGS`): LLVM inlines
/// more before the wasm is written, so that Cranelift compiles fewer,
/// larger functions (about 5% fewer instructions on the benchmark's file).
const PLUGIN_RUSTFLAGS: &str = "-C llvm-args=-inline-threshold=1000";

/// The variable cargo reads the wasm target's flags from.
const PLUGIN_RUSTFLAGS_VAR: &str = "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS";

fn build_plugins(root: &Path) -> Result<()> {
    ensure_wasm_target()?;
    let plugins = discover_plugins(root)?;
    let mut build = cargo();
    build
        .current_dir(root)
        .args(["build", "--profile", "plugin", "--target", WASM_TARGET]);
    // Flags given in the environment (`RUSTFLAGS`, `CARGO_*_RUSTFLAGS`) are
    // used alone: cargo would take the target's in their place.
    let own_flags =
        std::env::vars_os().any(|(name, _)| name.to_string_lossy().ends_with("RUSTFLAGS"));
    if !own_flags {
        build.env(PLUGIN_RUSTFLAGS_VAR, PLUGIN_RUSTFLAGS);
    }
    for plugin in &plugins {
        build.args(["-p", &plugin.package]);
    }
    build.args(["-p", INTERPRETER.1]);
    run(build)?;
    for plugin in &plugins {
        package(root, plugin)?;
    }
    let (_, package, out) = INTERPRETER;
    let component = componentize(root, package)?;
    let out = root.join(out);
    std::fs::create_dir_all(out.parent().expect("a file in a folder"))?;
    std::fs::write(&out, &component)?;
    eprintln!(
        "built the mapping interpreter: {} bytes -> {}",
        component.len(),
        out.display()
    );
    build_python_plugins(root)
}

/// The component of the built wasm module of crate `package`.
fn componentize(root: &Path, package: &str) -> Result<Vec<u8>> {
    let module_path = root.join(format!(
        "target/{WASM_TARGET}/plugin/{}.wasm",
        package.replace('-', "_")
    ));
    let module = std::fs::read(&module_path)
        .with_context(|| format!("reading {}", module_path.display()))?;
    wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .with_context(|| format!("making a component of `{package}`"))
}

/// Turns a built module into a component and writes it beside its manifest.
fn package(root: &Path, source: &PluginSource) -> Result<()> {
    let component = componentize(root, &source.package)?;
    write_plugin(&source.name, &source.dir, &source.out_dir, &component)
}

/// Builds each Python plugin of [`PYTHON_HOME`] into a component with
/// componentize-py (WASI stubbed out: the component imports the contract
/// only) and writes it beside its manifest.
fn build_python_plugins(root: &Path) -> Result<()> {
    let home = root.join(PYTHON_HOME);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&home)
        .with_context(|| format!("cannot list `{PYTHON_HOME}`"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("plugin.toml").is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Ok(());
    }
    let componentize = componentize_py()?;
    let staging = root.join("target/python-build");
    std::fs::create_dir_all(&staging)?;
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !dir.join("app.py").is_file() {
            bail!("Python plugin `{}` has no app.py", dir.display());
        }
        let built = staging.join(format!("{name}.wasm"));
        let mut build = Command::new(&componentize);
        build
            .current_dir(&dir)
            // No bytecode caches written into the source tree.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .arg("--quiet")
            .arg("--wit-path")
            .arg(root.join("plugins/wit/0.2.0"))
            .args(["--world", "converter", "componentize", "app", "--stub-wasi"])
            .args(["--python-path", "."])
            .arg("--python-path")
            .arg(home.join("sdk"))
            .arg("--output")
            .arg(&built);
        run(build)?;
        let component =
            std::fs::read(&built).with_context(|| format!("reading {}", built.display()))?;
        write_plugin(&name, &dir, &root.join("target/python-plugins"), &component)?;
    }
    Ok(())
}

/// The componentize-py command: on `PATH`, or in Python's scripts folder;
/// installed from PyPI ([`COMPONENTIZE_PY`]) when it is in neither.
fn componentize_py() -> Result<PathBuf> {
    let found = || -> Option<PathBuf> {
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
    };
    if let Some(command) = found() {
        return Ok(command);
    }
    let mut install = Command::new("python3");
    install.args(["-m", "pip", "install", "--quiet", COMPONENTIZE_PY]);
    run(install).context("installing componentize-py for the Python plugins")?;
    found().context("componentize-py was installed but cannot be run")
}

/// Writes `component` beside its manifest (from `source_dir`), the
/// manifest's `[component]` filled in, to `out_dir/<plugin>/`.
fn write_plugin(plugin: &str, source_dir: &Path, out_dir: &Path, component: &[u8]) -> Result<()> {
    let sha256 = hex::encode(Sha256::digest(component));

    let source = source_dir.join("plugin.toml");
    let text = std::fs::read_to_string(&source)
        .with_context(|| format!("reading {}", source.display()))?;
    let mut manifest: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", source.display()))?;
    let file = format!("{plugin}.wasm");
    let mut reference = toml::Table::new();
    reference.insert("file".into(), file.clone().into());
    reference.insert("sha256".into(), sha256.into());
    manifest.insert("component".into(), reference.into());
    let manifest = toml::to_string(&manifest)?;
    conform_model::PluginManifest::from_toml(&manifest)
        .with_context(|| format!("the manifest of plugin `{plugin}` ({})", source.display()))?;

    let dir = out_dir.join(plugin);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(&file), component)?;
    std::fs::write(dir.join("plugin.toml"), manifest)?;
    eprintln!(
        "built plugin {plugin}: {} bytes -> {}",
        component.len(),
        dir.display()
    );
    Ok(())
}

fn schemas(root: &Path, check: bool) -> Result<()> {
    let dir = root.join("schemas");
    let mut stale = Vec::new();
    for (name, schema) in conform_model::schemas::all() {
        let text = format!("{}\n", serde_json::to_string_pretty(&schema)?);
        let path = dir.join(name);
        if check {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(name);
            }
        } else {
            std::fs::write(&path, text)?;
        }
    }
    if !stale.is_empty() {
        bail!(
            "schemas out of date: {}; run `cargo xtask schemas`",
            stale.join(", ")
        );
    }
    Ok(())
}

fn demo(root: &Path) -> Result<()> {
    build_plugins(root)?;
    // The workspace's default members, as the tests build them: `-p conform`
    // alone would unify features differently and rebuild some thirty crates
    // after a test run.
    let mut build = cargo();
    build.current_dir(root).args(["build", "--quiet"]);
    run(build)?;
    // The sample exports of both sample standards, each folder converted
    // against the pack its plugins target.
    for samples in ["tests/fixtures/samples", "tests/fixtures/samples-textile"] {
        let mut convert = Command::new(root.join("target/debug/conform"));
        convert
            .current_dir(root)
            .args(["convert", "--output-dir", "target/demo", samples]);
        run(convert)?;
    }
    eprintln!("records and error reports are in target/demo/");
    Ok(())
}

fn test(root: &Path) -> Result<()> {
    build_plugins(root)?;
    ensure_test_packages()?;
    ensure_test_object_store()?;
    let mut test = cargo();
    test.current_dir(root).arg("test");
    run(test)
}

/// The S3-compatible server the replicas' tests start, from PyPI.
const MOTO: &str = "moto[server]==5.2.1";

/// Installs moto's server with pip when Python cannot import it.
fn ensure_test_object_store() -> Result<()> {
    let found = || {
        Command::new("python3")
            .args(["-c", "import moto.server"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if found() {
        return Ok(());
    }
    let mut install = Command::new("python3");
    install.args(["-m", "pip", "install", "--quiet", MOTO]);
    run(install).context("installing moto's S3 server for the replicas' tests")?;
    if !found() {
        bail!("moto was installed but `import moto.server` fails");
    }
    Ok(())
}

/// A Debian package the tests use.
struct TestPackage {
    /// The package's name.
    name: &'static str,
    /// Whether it is installed.
    installed: fn() -> bool,
    /// What it is for.
    why: &'static str,
}

/// Debian packages the tests use.
const TEST_PACKAGES: [TestPackage; 4] = [
    TestPackage {
        name: "chromium",
        installed: || is_file("/usr/bin/chromium"),
        why: "the upload page's tests",
    },
    TestPackage {
        name: "chromium-driver",
        installed: || is_file("/usr/bin/chromedriver"),
        why: "the upload page's tests",
    },
    TestPackage {
        name: "postgresql",
        installed: has_postgres_server,
        why: "the replicas' tests (a real PostgreSQL cluster)",
    },
    TestPackage {
        name: "openssl",
        installed: || is_file("/usr/bin/openssl"),
        why: "the certificates of the TLS database test",
    },
];

fn is_file(path: &str) -> bool {
    Path::new(path).is_file()
}

/// Whether a PostgreSQL server (its `initdb`) is installed, of any version.
fn has_postgres_server() -> bool {
    std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .any(|version| version.path().join("bin/initdb").is_file())
}

/// Installs the [`TEST_PACKAGES`] that are missing (as root, or through
/// `sudo`), refreshing the package lists if the first try cannot find them.
fn ensure_test_packages() -> Result<()> {
    let missing: Vec<_> = TEST_PACKAGES.iter().filter(|p| !(p.installed)()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let as_root = |args: &[&str]| {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout.starts_with(b"0"));
        let mut command = if root {
            Command::new(args[0])
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg(args[0]);
            sudo
        };
        command
            .args(&args[1..])
            .env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    let mut install = vec!["apt-get", "install", "-y", "--no-install-recommends"];
    install.extend(missing.iter().map(|p| p.name));
    // A package's own set-up may fail where its files are in place (the
    // PostgreSQL package starts a cluster of its own, which a container
    // may refuse): what counts is whether the files are there afterwards.
    let still_missing = || missing.iter().any(|p| !(p.installed)());
    if run(as_root(&install)).is_err() && still_missing() {
        run(as_root(&["apt-get", "update"])).context("refreshing Debian's package lists")?;
        let _ = run(as_root(&install));
    }
    if still_missing() {
        let wanted: Vec<String> = missing
            .iter()
            .filter(|p| !(p.installed)())
            .map(|p| format!("{} for {}", p.name, p.why))
            .collect();
        bail!("cannot install {}", wanted.join(", "));
    }
    Ok(())
}

/// Builds the plugins and, in release mode (dev for `--smoke`), `conform`
/// and `conform-bench`, then runs `conform-bench <command>` (`run` or
/// `load`), which writes `BENCHMARKS.md` unless `--smoke`.
fn bench(root: &Path, command: &str, args: &[String]) -> Result<()> {
    build_plugins(root)?;
    let smoke = args.iter().any(|a| a == "--smoke");
    let profile = if smoke { "dev" } else { "release" };
    let mut build = cargo();
    build.current_dir(root).args([
        "build",
        "--profile",
        profile,
        "-p",
        "conform",
        "-p",
        "conform-bench",
    ]);
    run(build)?;
    let dir = if smoke { "debug" } else { "release" };
    let mut bench = Command::new(root.join("target").join(dir).join("conform-bench"));
    bench.current_dir(root).arg(command);
    let xtask = match command {
        "run" => "bench",
        "load" => "bench-server",
        _ => "bench-replicas",
    };
    let shown = std::iter::once(format!("cargo xtask {xtask}"))
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    if command == "load" && smoke {
        // `load` has no smoke switch of its own: a short, small run.
        bench.args([
            "--seconds",
            "0.5",
            "--clients",
            "2,4",
            "--large-job-rows",
            "2000",
        ]);
        bench.args(args.iter().filter(|a| *a != "--smoke"));
    } else {
        bench.args(args);
    }
    bench.args(["--command-line", &shown]);
    if !smoke && !args.iter().any(|a| a == "--write") {
        bench.args(["--write", "BENCHMARKS.md"]);
    }
    run(bench)
}
