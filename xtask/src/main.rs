//! Repository chores, run as `cargo xtask <task>`:
//!
//! - `build-plugins`: builds every plugin in `plugins/` for
//!   `wasm32-unknown-unknown`, turns each into a component and writes it with
//!   its manifest (digest filled in) to `target/plugins/<name>/`.
//! - `schemas [--check]`: regenerates `schemas/` from `conform-model`, or
//!   checks that it is fresh.
//! - `demo`: builds the plugins and converts the sample exports into `target/demo/`.
//! - `test`: builds the plugins and runs every test of the workspace.
//! - `bench [--smoke]`: builds everything in release mode (dev for `--smoke`)
//!   and runs `conform-bench run`, writing `BENCHMARKS.md` unless `--smoke`.
//! - `bench-server [--smoke]`: the same build, then `conform-bench load`
//!   (the server under load), writing its part of `BENCHMARKS.md` unless
//!   `--smoke`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// The first-party plugins, one folder each under `plugins/`.
const PLUGINS: [&str; 6] = [
    "jinggong-parts",
    "hengtai-parts",
    "orchard-coop-apples",
    "valley-farms-apples",
    "swift-express",
    "eastroute-waybills",
];

/// Plugins that exist only for the tests, one folder each under `tests/plugins/`.
const TEST_PLUGINS: [(&str, &str); 1] = [("hostile", "hostile-plugin")];

const WASM_TARGET: &str = "wasm32-unknown-unknown";

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
        _ => {
            eprintln!("usage: cargo xtask <build-plugins | schemas [--check] | demo | test | bench [--smoke] [ARGS…] | bench-server [--smoke] [ARGS…]>");
            std::process::exit(2);
        }
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
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

fn build_plugins(root: &Path) -> Result<()> {
    ensure_wasm_target()?;
    let mut build = cargo();
    build
        .current_dir(root)
        .args(["build", "--profile", "plugin", "--target", WASM_TARGET]);
    for plugin in PLUGINS {
        build.args(["-p", plugin]);
    }
    for (_, package) in TEST_PLUGINS {
        build.args(["-p", package]);
    }
    run(build)?;

    for plugin in PLUGINS {
        package(
            root,
            plugin,
            plugin,
            &root.join("plugins").join(plugin),
            &root.join("target/plugins"),
        )?;
    }
    for (plugin, package_name) in TEST_PLUGINS {
        package(
            root,
            plugin,
            package_name,
            &root.join("tests/plugins").join(plugin),
            &root.join("target/test-plugins"),
        )?;
    }
    Ok(())
}

/// Turns a built module into a component and writes it beside its manifest,
/// the manifest's `[component]` filled in.
fn package(
    root: &Path,
    plugin: &str,
    package: &str,
    source_dir: &Path,
    out_dir: &Path,
) -> Result<()> {
    let module_path = root.join(format!(
        "target/{WASM_TARGET}/plugin/{}.wasm",
        package.replace('-', "_")
    ));
    let module = std::fs::read(&module_path)
        .with_context(|| format!("reading {}", module_path.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .with_context(|| format!("making a component of plugin `{plugin}`"))?;
    let sha256 = hex::encode(Sha256::digest(&component));

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
    std::fs::write(dir.join(&file), &component)?;
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
    // Built together with the benchmark, so that the two share one build.
    let mut build = cargo();
    build
        .current_dir(root)
        .args(["build", "--quiet", "-p", "conform", "-p", "conform-bench"]);
    run(build)?;
    let mut convert = Command::new(root.join("target/debug/conform"));
    convert.current_dir(root).args([
        "convert",
        "--output-dir",
        "target/demo",
        "tests/fixtures/samples",
    ]);
    run(convert)?;
    eprintln!("records and error reports are in target/demo/");
    Ok(())
}

fn test(root: &Path) -> Result<()> {
    build_plugins(root)?;
    let mut test = cargo();
    test.current_dir(root).arg("test");
    run(test)
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
    let xtask = if command == "run" {
        "bench"
    } else {
        "bench-server"
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
