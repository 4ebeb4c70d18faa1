//! The side-by-side run: generate, convert with every variant, report.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::generate::{self, KINDS};
use crate::report::{Report, Variant};
use crate::root;

/// Arguments of `conform-bench run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Rows of the main (Jinggong parts, GB18030 CSV) file.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Rows of the large file for the memory check [default: 10 × rows].
    #[arg(long)]
    big_rows: Option<u64>,
    /// Rows for the slow Python peer (pandas + pint + jsonschema).
    #[arg(long, default_value_t = 100_000)]
    python_rows: u64,
    /// Runs of each variant on the main file, interleaved; the median counts.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Rows per file of the six-format run.
    #[arg(long, default_value_t = 200_000)]
    format_rows: u64,
    /// Instantiations measured per allocator.
    #[arg(long, default_value_t = 5000)]
    iterations: usize,
    /// A small, quick run that proves the benchmark works (CI).
    #[arg(long)]
    smoke: bool,
    /// Write the results into this Markdown file, between its result markers.
    #[arg(long)]
    write: Option<PathBuf>,
    /// The command line to record in the report.
    #[arg(long, default_value = "cargo xtask bench")]
    command_line: String,
}

/// What a process cost.
pub struct Measured {
    pub secs: f64,
    pub max_rss_kib: u64,
    pub stdout: String,
}

/// Runs a command to completion, timing it and reading its peak RSS; each
/// run starts [`settled`].
fn measure(command: &mut Command, what: &str) -> Result<Measured> {
    settled()?;
    let log = tempfile_path("stderr");
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::from(File::create(&log)?));
    let start = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {what}"))?;
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)?;
    let mut status = 0;
    // SAFETY: rusage is plain data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: wait4 reaps exactly this child and writes into `usage`.
    if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
        bail!(
            "waiting for {what} failed: {}",
            std::io::Error::last_os_error()
        );
    }
    let secs = start.elapsed().as_secs_f64();
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let stderr = std::fs::read_to_string(&log).unwrap_or_default();
        bail!(
            "{what} failed (status {status}): {}",
            stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
        );
    }
    Ok(Measured {
        secs,
        max_rss_kib: usage.ru_maxrss as u64,
        stdout,
    })
}

/// Removes the outputs of earlier runs and waits for everything written
/// to reach the disk, so that every run writes a new file and none pays for
/// another's writing: the kernel writing back the last run's few hundred
/// megabytes took the cores a run was measured on, and a file written over
/// another is written out by ext4 as it is closed or renamed
/// (`auto_da_alloc`), inside the run.
fn settled() -> Result<()> {
    let out = bench_dir().join("out");
    if out.is_dir() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot empty {}", out.display()))?;
    }
    std::fs::create_dir_all(&out)?;
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    Ok(())
}

fn tempfile_path(name: &str) -> PathBuf {
    root()
        .join("target/bench")
        .join(format!("{name}.{}.log", std::process::id()))
}

fn bench_dir() -> PathBuf {
    root().join("target/bench")
}

/// The generated file of `rows` rows of a format, made once.
fn input(kind: &str, rows: u64) -> Result<PathBuf> {
    let ext = KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, f)| f.rsplit('.').next().unwrap_or("txt"))
        .unwrap_or("txt");
    let path = bench_dir().join(format!("{kind}-{rows}.{ext}"));
    if !path.is_file() {
        let tmp = path.with_extension("partial");
        let mut out = std::io::BufWriter::new(File::create(&tmp)?);
        generate::generate(kind, rows, &mut out)?;
        std::io::Write::flush(&mut out)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(path)
}

/// A binary built beside this one (`conform`, `conform-bench`).
pub(crate) fn sibling_binary(name: &str) -> PathBuf {
    std::env::current_exe()
        .expect("own path")
        .with_file_name(name)
}

/// Where a variant writes its records, as every variant does (a file, not
/// `/dev/null`, so that writing costs what it costs).
fn output_of(label: &str) -> PathBuf {
    bench_dir().join("out").join(format!("{label}.ndjson"))
}

fn conform(plugin: &str, file: &Path, workers: usize, cache: &Path) -> Command {
    conform_from(&root().join("target/plugins"), plugin, file, workers, cache)
}

/// [`conform`] with the plugins of `plugins` (the Python ones are apart).
fn conform_from(
    plugins: &Path,
    plugin: &str,
    file: &Path,
    workers: usize,
    cache: &Path,
) -> Command {
    let mut c = Command::new(sibling_binary("conform"));
    c.current_dir(root())
        .env("CONFORM_PLUGINS", plugins)
        .env("CONFORM_CACHE", cache)
        .args(["convert", "--plugin", plugin, "--output"])
        .arg(output_of(&format!("conform-{plugin}-{workers}")))
        .arg("--errors")
        .arg(output_of(&format!("conform-{plugin}-{workers}.errors")))
        .args(["--summary", "json"])
        .args(["--workers", &workers.to_string()])
        .arg(file);
    c
}

/// Conform converting with the export's mapping (`mappings/<plugin>/`),
/// run by the interpreter found beside the binary.
fn conform_mapping(plugin: &str, file: &Path, workers: usize, cache: &Path) -> Command {
    let mut c = Command::new(sibling_binary("conform"));
    c.current_dir(root())
        .env("CONFORM_PLUGINS", root().join("target/plugins"))
        .env("CONFORM_CACHE", cache)
        .arg("convert")
        .arg("--mapping")
        .arg(mapping_of(plugin))
        .arg("--output")
        .arg(output_of(&format!("mapping-{plugin}-{workers}")))
        .arg("--errors")
        .arg(output_of(&format!("mapping-{plugin}-{workers}.errors")))
        .args(["--summary", "json"])
        .args(["--workers", &workers.to_string()])
        .arg(file);
    c
}

/// The mapping of the export a plugin converts.
fn mapping_of(plugin: &str) -> PathBuf {
    root().join("mappings").join(plugin).join("mapping.toml")
}

fn native(plugin: &str, file: &Path, workers: usize) -> Command {
    let mut c = Command::new(sibling_binary("conform-bench"));
    c.args([
        "native",
        "--plugin",
        plugin,
        "--workers",
        &workers.to_string(),
        "--output",
    ])
    .arg(output_of(&format!("native-{plugin}-{workers}")))
    .arg("--errors")
    .arg(output_of(&format!("native-{plugin}-{workers}.errors")))
    .arg(file);
    c
}

fn floor(name: &str, file: &Path) -> Command {
    let mut c = Command::new(sibling_binary("conform-bench"));
    c.args(["floor", "--floor", name, "--output"])
        .arg(output_of(&format!("floor-{name}")))
        .arg(file);
    c
}

fn summary_counts(m: &Measured) -> Result<(u64, u64)> {
    let v: serde_json::Value =
        serde_json::from_str(m.stdout.trim()).context("a summary on stdout")?;
    let rows = v["rows_in"].as_u64().context("rows_in")?;
    let converted = v["converted"].as_u64().context("converted")?;
    Ok((rows, converted))
}

fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The idiomatic Miller script: the package-code map built once, in
/// `begin`; the same output fields as Conform's records.
const MILLER_SCRIPT: &str = r#"begin { @pk = {"纸箱":"CT","木箱":"CS","托盘":"PX","塑料筐":"CR"} }
if (is_present(${零件号}) && ${零件号} != "" && is_numeric(${重量(磅)}) && haskey(@pk, ${包装})) {
  emit1 {"part_no": ${零件号}, "name": ${名称}, "supplier_code": ${供应商代码},
    "length_mm": roundm(${长度(英寸)} * 25.4, 0.01), "width_mm": roundm(${宽度(英寸)} * 25.4, 0.01),
    "height_mm": roundm(${高度(英寸)} * 25.4, 0.01), "tolerance_mm": roundm(${公差(英寸)} * 25.4, 0.01),
    "mass_g": roundm(${重量(磅)} * 453.59237, 0.1), "packaging": @pk[${包装}],
    "quantity_per_package": int(${每包数量})}
}"#;

/// One variant of the main comparison: how to run it once, and what it is.
struct Planned {
    name: String,
    rows: u64,
    note: String,
    command: Box<dyn Fn() -> Command>,
    /// Whether its summary's counts are checked against the others'.
    counts: bool,
}

/// Runs every variant and reports.
pub fn run(mut args: RunArgs) -> Result<()> {
    apply_smoke_limits(&mut args);
    let big_rows = args.big_rows.unwrap_or(args.rows * 10);
    std::fs::create_dir_all(bench_dir())?;
    let plugin = "jinggong-parts";
    let cache = bench_dir().join("cache");
    let mut report = Report::new(&args.command_line, args.rows);

    eprintln!("generating inputs …");
    let main_file = input(plugin, args.rows)?;
    let big_file = input(plugin, big_rows)?;

    measure_startup(&mut report, plugin, &cache)?;
    let planned = plan_main_variants(&mut report, &args, plugin, &main_file, &cache);
    measure_interleaved(&mut report, &args, planned)?;
    measure_python(&mut report, &args, plugin)?;
    measure_python_plugin(&mut report, &args, plugin, &cache)?;
    measure_memory(&mut report, plugin, &big_file, big_rows, &cache)?;
    measure_formats(&mut report, &args, &cache)?;
    measure_instantiation(&mut report, &args)?;
    print_and_write(&report, args.write)
}

/// Shrinks every size to a small, quick run when `--smoke` is given.
fn apply_smoke_limits(args: &mut RunArgs) {
    if args.smoke {
        args.rows = args.rows.min(20_000);
        args.big_rows = Some(args.big_rows.unwrap_or(100_000).min(100_000));
        args.python_rows = args.python_rows.min(5_000);
        args.rounds = args.rounds.min(3);
        args.format_rows = args.format_rows.min(5_000);
        args.iterations = args.iterations.min(200);
    }
}

/// Measures start-up: a cold compile cache against a warm one, on the sample file.
fn measure_startup(report: &mut Report, plugin: &str, cache: &Path) -> Result<()> {
    let sample = root().join("tests/fixtures/samples/jinggong-parts.csv");
    let _ = std::fs::remove_dir_all(cache);
    let cold = measure(
        &mut conform(plugin, &sample, 1, cache),
        "conform (cold cache)",
    )?;
    let warm = measure(
        &mut conform(plugin, &sample, 1, cache),
        "conform (warm cache)",
    )?;
    report.startup(cold.secs, warm.secs);
    Ok(())
}

/// The variants of the main file: Conform and native Rust with 2 workers
/// and 1, the idiomatic Miller script, and the two floors.
fn plan_main_variants(
    report: &mut Report,
    args: &RunArgs,
    plugin: &str,
    main_file: &Path,
    cache: &Path,
) -> Vec<Planned> {
    let mut planned = Vec::new();
    for workers in [2, 1] {
        let (p, f, c) = (
            plugin.to_string(),
            main_file.to_path_buf(),
            cache.to_path_buf(),
        );
        planned.push(Planned {
            name: format!("Conform, wasm plugin, {workers} worker(s)"),
            rows: args.rows,
            note: String::new(),
            command: Box::new(move || conform(&p, &f, workers, &c)),
            counts: true,
        });
        let (p, f) = (plugin.to_string(), main_file.to_path_buf());
        planned.push(Planned {
            name: format!("Native Rust, same pipeline, {workers} worker(s)"),
            rows: args.rows,
            note: "the same mapping compiled natively (contract 0.2.0 SDK, `native` feature)"
                .into(),
            command: Box::new(move || native(&p, &f, workers)),
            counts: true,
        });
    }
    if mapping_of(plugin).is_file() {
        let (p, f, c) = (
            plugin.to_string(),
            main_file.to_path_buf(),
            cache.to_path_buf(),
        );
        planned.push(Planned {
            name: "Conform, mapping (interpreter), 2 worker(s)".into(),
            rows: args.rows,
            note: format!(
                "`mappings/{plugin}/mapping.toml` run by the mapping interpreter: the same records"
            ),
            command: Box::new(move || conform_mapping(&p, &f, 2, &c)),
            counts: true,
        });
    }
    if have("mlr", &["--version"]) && have("iconv", &["--version"]) {
        let script = format!(
            "iconv -f GB18030 -t UTF-8 '{}' | mlr --icsv --ojsonl --allow-ragged-csv-input put -q '{}' > '{}'",
            main_file.display(),
            MILLER_SCRIPT.replace('\'', "'\\''"),
            output_of("miller").display()
        );
        planned.push(Planned {
            name: "Miller (mlr) + iconv, idiomatic script".into(),
            rows: args.rows,
            note: "map built once in `begin`; same fields, written to a file; binary-float arithmetic, no schema validation, no error report".into(),
            command: Box::new(move || {
                let mut c = Command::new("sh");
                c.args(["-c", &script]);
                c
            }),
            counts: false,
        });
    } else {
        report.skipped(
            "Miller (mlr) + iconv, idiomatic script",
            "not installed: `apt-get install miller`",
        );
    }
    for (name, what) in [
        ("decode", "decode only: transcode and cut into rows"),
        (
            "services",
            "decode + exact-decimal conversions + package look-up + records written",
        ),
    ] {
        let f = main_file.to_path_buf();
        planned.push(Planned {
            name: format!("Floor, 1 core: {name}"),
            rows: args.rows,
            note: format!("{what}; no plugin, sandbox or validation"),
            command: Box::new(move || floor(name, &f)),
            counts: false,
        });
    }
    planned
}

/// Runs every planned variant `args.rounds` times, interleaved (round by
/// round, each variant once a round), so that the machine's moods fall on
/// all alike; reports each variant's median.
fn measure_interleaved(report: &mut Report, args: &RunArgs, planned: Vec<Planned>) -> Result<()> {
    eprintln!(
        "converting {} rows with each variant, {} interleaved runs …",
        args.rows, args.rounds
    );
    let mut runs: Vec<Vec<Measured>> = planned.iter().map(|_| Vec::new()).collect();
    let mut expected_converted = None;
    for _ in 0..args.rounds.max(1) {
        for (variant, done) in planned.iter().zip(&mut runs) {
            let m = measure(&mut (variant.command)(), &variant.name)?;
            if variant.counts {
                let (rows, converted) = summary_counts(&m)?;
                if rows != variant.rows {
                    bail!("{} read {rows} rows of {}", variant.name, variant.rows);
                }
                if *expected_converted.get_or_insert(converted) != converted {
                    bail!(
                        "{} converted {converted} rows where another variant converted {expected_converted:?}",
                        variant.name
                    );
                }
            }
            done.push(m);
        }
    }
    for (variant, done) in planned.into_iter().zip(runs) {
        report.add(Variant {
            name: variant.name,
            rows: variant.rows,
            runs: done.iter().map(|m| m.secs).collect(),
            max_rss_kib: done.iter().map(|m| m.max_rss_kib).max().unwrap_or(0),
            note: variant.note,
        });
    }
    Ok(())
}

/// Measures the Python peer on its own smaller file, or records it as skipped.
fn measure_python(report: &mut Report, args: &RunArgs, plugin: &str) -> Result<()> {
    let python_ok = have("python3", &["-c", "import pandas, pint, jsonschema"]);
    if python_ok {
        let small = input(plugin, args.python_rows)?;
        let script = root().join("host/bench/peers/pandas_convert.py");
        let schema = root().join("standards/sample-regional/schemas/part.schema.json");
        let m = measure(
            Command::new("python3")
                .arg(script)
                .arg(&small)
                .arg(schema)
                .arg("/dev/null"),
            "python",
        )?;
        let note = format!(
            "{} rows; pandas + pint (vectorised) + jsonschema per record",
            args.python_rows
        );
        report.add(Variant {
            name: "Python: pandas + pint + jsonschema".into(),
            rows: args.python_rows,
            runs: vec![m.secs],
            max_rss_kib: m.max_rss_kib,
            note,
        });
    } else {
        report.skipped(
            "Python: pandas + pint + jsonschema",
            "not installed: `pip install pandas pint jsonschema`",
        );
    }
    Ok(())
}

/// The Python twin of the plugin (`plugins/python/<plugin>-py`, built by
/// componentize-py) against the Rust plugin on the Python peer's file,
/// 2 workers each, interleaved; skipped when it is not built.
fn measure_python_plugin(
    report: &mut Report,
    args: &RunArgs,
    plugin: &str,
    cache: &Path,
) -> Result<()> {
    let twin = format!("{plugin}-py");
    let python_plugins = root().join("target/python-plugins");
    if !python_plugins.join(&twin).join("plugin.toml").is_file() {
        report.skipped(
            "Conform, Python plugin",
            "not built: `cargo xtask build-plugins` builds the Python plugins",
        );
        return Ok(());
    }
    let small = input(plugin, args.python_rows)?;
    let rust_plugins = root().join("target/plugins");
    let variants = [
        (
            "Conform, Rust plugin (same file), 2 worker(s)",
            &rust_plugins,
            plugin,
        ),
        (
            "Conform, Python plugin, 2 worker(s)",
            &python_plugins,
            twin.as_str(),
        ),
    ];
    // Compiled once before timing: a Python component takes seconds.
    measure(
        &mut conform_from(&python_plugins, &twin, &small, 2, cache),
        "warm-up",
    )?;
    let mut runs: Vec<Vec<Measured>> = vec![Vec::new(), Vec::new()];
    let mut converted = None;
    for _ in 0..args.rounds.max(1) {
        for ((name, plugins, plugin), done) in variants.iter().zip(&mut runs) {
            let m = measure(&mut conform_from(plugins, plugin, &small, 2, cache), name)?;
            let (_, count) = summary_counts(&m)?;
            if *converted.get_or_insert(count) != count {
                bail!("{name} converted {count} rows where the other converted {converted:?}");
            }
            done.push(m);
        }
    }
    for ((name, _, plugin), done) in variants.into_iter().zip(runs) {
        report.add(Variant {
            name: name.into(),
            rows: args.python_rows,
            runs: done.iter().map(|m| m.secs).collect(),
            max_rss_kib: done.iter().map(|m| m.max_rss_kib).max().unwrap_or(0),
            note: format!("{} rows; `{plugin}`", args.python_rows),
        });
    }
    Ok(())
}

/// Measures peak RSS of Conform with 2 workers on the big file.
fn measure_memory(
    report: &mut Report,
    plugin: &str,
    big_file: &Path,
    big_rows: u64,
    cache: &Path,
) -> Result<()> {
    eprintln!("memory with {big_rows} rows …");
    let big = measure(
        &mut conform(plugin, big_file, 2, cache),
        "conform (big file)",
    )?;
    report.memory(big_rows, big.max_rss_kib);
    Ok(())
}

/// Converts a file of each of the six formats with the wasm plugin and its native build.
fn measure_formats(report: &mut Report, args: &RunArgs, cache: &Path) -> Result<()> {
    eprintln!("the six formats …");
    for (kind, _) in KINDS {
        let file = input(kind, args.format_rows)?;
        let wasm = measure(&mut conform(kind, &file, 2, cache), kind)?;
        let nat = measure(&mut native(kind, &file, 2), kind)?;
        let (rows, _) = summary_counts(&wasm)?;
        report.format(kind, rows, wasm.secs, nat.secs);
    }
    Ok(())
}

/// Measures instantiation from `InstancePre` in a separate `conform-bench instantiate` process.
fn measure_instantiation(report: &mut Report, args: &RunArgs) -> Result<()> {
    eprintln!("instantiation …");
    let m = measure(
        Command::new(sibling_binary("conform-bench")).args([
            "instantiate",
            "--iterations",
            &args.iterations.to_string(),
        ]),
        "instantiate",
    )?;
    report.instantiation(serde_json::from_str(m.stdout.trim())?);
    Ok(())
}

/// Prints the Markdown report and, with `--write`, puts it between the file's result markers.
fn print_and_write(report: &Report, write: Option<PathBuf>) -> Result<()> {
    let markdown = report.markdown();
    println!("{markdown}");
    if let Some(path) = write {
        crate::report::write_between_markers(&path, crate::report::RESULTS, &markdown)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
