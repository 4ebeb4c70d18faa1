//! `conform-bench`: the benchmark of Conform, side by side with its native
//! baseline and the tools users reach for today. Run it with
//! `cargo xtask bench` (release build; `--smoke` for a small, quick run).
//!
//! Every variant runs as its own process on the same generated files, so
//! that wall time and peak RSS (from `wait4`) are measured alike. Results are
//! reported as ratios: absolute times on a shared machine are noise.

mod floor;
mod generate;
mod load;
mod native;
mod replicas;
mod report;
mod run;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "conform-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a large sample export of one format.
    Generate {
        /// The plugin whose format to write (`jinggong-parts`, …).
        #[arg(long)]
        kind: String,
        /// Data rows.
        #[arg(long)]
        rows: u64,
        /// The file to write.
        out: PathBuf,
    },
    /// Converts a file with the native build of a plugin, in the same pipeline.
    Native {
        /// The plugin.
        #[arg(long)]
        plugin: String,
        /// Worker threads.
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// Where the records go.
        #[arg(long, default_value = "/dev/null")]
        output: PathBuf,
        /// Where the error report goes.
        #[arg(long, default_value = "/dev/null")]
        errors: PathBuf,
        /// The input file.
        file: PathBuf,
    },
    /// Measures a floor on a Jinggong-format file: what the work costs on
    /// one core without plugin, sandbox or validation.
    Floor {
        /// What to measure.
        #[arg(long, value_enum)]
        floor: floor::Floor,
        /// Where the records go.
        #[arg(long, default_value = "/dev/null")]
        output: PathBuf,
        /// The input file.
        file: PathBuf,
    },
    /// Measures instantiation from an `InstancePre`, default and pooling allocators.
    Instantiate {
        /// Instantiations per allocator.
        #[arg(long, default_value_t = 2000)]
        iterations: usize,
    },
    /// Runs every variant side by side and reports.
    Run(run::RunArgs),
    /// Measures the server under load: streaming conversions by many
    /// clients, and fairness between tenants' jobs.
    Load(load::LoadArgs),
    /// Measures replicas sharing the work on one PostgreSQL: 1, 2 and 3
    /// replicas, and the queue's own cost per job.
    Replicas(replicas::ReplicasArgs),
}

/// The repository root: the nearest folder at or above the current one
/// with the workspace's `Cargo.toml` (`cargo xtask bench` runs from the
/// root; the tests from the package folder). Found at run time, so that a
/// copied checkout measures itself.
pub fn root() -> PathBuf {
    let start = std::env::current_dir().expect("a current directory");
    start
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|text| text.contains("[workspace]"))
        })
        .unwrap_or_else(|| {
            panic!(
                "run conform-bench inside the repository (from `{}` no workspace is found above)",
                start.display()
            )
        })
        .to_path_buf()
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Generate { kind, rows, out } => {
            let file = std::fs::File::create(&out)
                .with_context(|| format!("cannot write `{}`", out.display()))?;
            let mut writer = std::io::BufWriter::new(file);
            generate::generate(&kind, rows, &mut writer)?;
            std::io::Write::flush(&mut writer)?;
            Ok(())
        }
        Command::Native {
            plugin,
            workers,
            output,
            errors,
            file,
        } => native_convert(&plugin, workers, &file, &output, &errors),
        Command::Floor {
            floor,
            output,
            file,
        } => floor::run(floor, &file, &output),
        Command::Instantiate { iterations } => instantiate(iterations),
        Command::Run(args) => run::run(args),
        Command::Load(args) => load::run(args),
        Command::Replicas(args) => replicas::run(args),
    }
}

fn native_convert(
    plugin: &str,
    workers: usize,
    file: &Path,
    output: &Path,
    errors: &Path,
) -> Result<()> {
    let pack = conform_pack::Pack::load(root().join("standards/sample-regional"))?;
    let registry = conform_engine::Registry::open(root().join("target/plugins"))?;
    let manifest = &registry.get(plugin)?.manifest;
    let converters = native::NativePlugin::named(plugin, manifest)?;
    let options = conform_engine::ConvertOptions {
        workers,
        ..conform_engine::ConvertOptions::default()
    };
    let input = std::fs::File::open(file)?;
    let create = |path: &Path| {
        std::fs::File::create(path).with_context(|| format!("cannot write `{}`", path.display()))
    };
    let mut sink = conform_engine::sink::NdjsonSink::new(create(output)?, create(errors)?);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let summary = conform_engine::Conversion {
        pack: &pack,
        plugin: &converters,
        manifest,
        options: &options,
    }
    .run(input, &name, &mut sink, &mut |_| {})?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

fn instantiate(iterations: usize) -> Result<()> {
    let pack = conform_pack::Pack::load(root().join("standards/sample-regional"))?;
    let registry = conform_engine::Registry::open(root().join("target/plugins"))?;
    let entry = registry.get("jinggong-parts")?;
    let mut report = serde_json::Map::new();
    for (name, pooling) in [("default", false), ("pooling", true)] {
        let sandbox = conform_sandbox::Sandbox::new(conform_sandbox::SandboxConfig {
            cache_dir: None,
            pooling,
            ..conform_sandbox::SandboxConfig::default()
        })?;
        let plugin = registry.load(entry, &sandbox, &pack)?;
        let standard: Arc<conform_pack::Standard> = pack.standard().clone();
        for _ in 0..iterations.min(100) {
            plugin
                .instantiate_once(standard.clone())
                .map_err(anyhow::Error::msg)?;
        }
        let mut micros: Vec<f64> = (0..iterations)
            .map(|_| {
                let start = Instant::now();
                plugin
                    .instantiate_once(standard.clone())
                    .expect("instantiates");
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        micros.sort_by(f64::total_cmp);
        report.insert(format!("{name}_median_us"), micros[micros.len() / 2].into());
        report.insert(
            format!("{name}_p99_us"),
            micros[micros.len() * 99 / 100].into(),
        );
    }
    println!("{}", serde_json::Value::Object(report));
    Ok(())
}
