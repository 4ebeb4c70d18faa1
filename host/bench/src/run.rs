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
    #[arg(long, default_value_t = 20_000)]
    python_rows: u64,
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

/// Runs a command to completion, timing it and reading its peak RSS.
fn measure(command: &mut Command, what: &str) -> Result<Measured> {
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

fn conform(plugin: &str, file: &Path, workers: usize, cache: &Path) -> Command {
    let mut c = Command::new(sibling_binary("conform"));
    c.current_dir(root())
        .env("CONFORM_PLUGINS", root().join("target/plugins"))
        .env("CONFORM_CACHE", cache)
        .args([
            "convert",
            "--plugin",
            plugin,
            "--output",
            "/dev/null",
            "--errors",
            "/dev/null",
            "--summary",
            "json",
        ])
        .args(["--workers", &workers.to_string()])
        .arg(file);
    c
}

fn native(plugin: &str, file: &Path, workers: usize) -> Command {
    let mut c = Command::new(sibling_binary("conform-bench"));
    c.args([
        "native",
        "--plugin",
        plugin,
        "--workers",
        &workers.to_string(),
    ])
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

const MILLER_SCRIPT: &str = r#"map pk = {"纸箱":"CT","木箱":"CS","托盘":"PX","塑料筐":"CR"};
if (is_present(${零件号}) && ${零件号} != "" && is_numeric(${重量(磅)}) && haskey(pk, ${包装})) {
  emit1 {"part_no": ${零件号}, "name": ${名称}, "supplier_code": ${供应商代码},
    "length_mm": roundm(${长度(英寸)} * 25.4, 0.01), "width_mm": roundm(${宽度(英寸)} * 25.4, 0.01),
    "height_mm": roundm(${高度(英寸)} * 25.4, 0.01), "tolerance_mm": roundm(${公差(英寸)} * 25.4, 0.01),
    "mass_g": roundm(${重量(磅)} * 453.59237, 0.1), "packaging": pk[${包装}],
    "quantity_per_package": int(${每包数量})}
}"#;

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
    measure_main_variants(&mut report, &args, plugin, &main_file, &cache)?;
    measure_miller(&mut report, &args, &main_file)?;
    measure_python(&mut report, &args, plugin)?;
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

/// Converts the main file with Conform and native Rust, 2 workers then 1, checking they agree.
fn measure_main_variants(
    report: &mut Report,
    args: &RunArgs,
    plugin: &str,
    main_file: &Path,
    cache: &Path,
) -> Result<()> {
    eprintln!("converting {} rows with each variant …", args.rows);
    let mut expected_converted = None;
    for workers in [2, 1] {
        for (name, mut command) in [
            (
                format!("Conform, wasm plugin, {workers} worker(s)"),
                conform(plugin, main_file, workers, cache),
            ),
            (
                format!("Native Rust, same pipeline, {workers} worker(s)"),
                native(plugin, main_file, workers),
            ),
        ] {
            let m = measure(&mut command, &name)?;
            let (rows, converted) = summary_counts(&m)?;
            if rows != args.rows {
                bail!("{name} read {rows} rows of {}", args.rows);
            }
            if *expected_converted.get_or_insert(converted) != converted {
                bail!("{name} converted {converted} rows where another variant converted {expected_converted:?}");
            }
            report.add(Variant {
                name,
                rows,
                secs: m.secs,
                max_rss_kib: m.max_rss_kib,
                note: String::new(),
            });
        }
    }
    Ok(())
}

/// Measures the Miller + iconv peer on the main file, or records it as skipped.
fn measure_miller(report: &mut Report, args: &RunArgs, main_file: &Path) -> Result<()> {
    if have("mlr", &["--version"]) && have("iconv", &["--version"]) {
        let script = format!(
            "iconv -f GB18030 -t UTF-8 '{}' | mlr --icsv --ojsonl --allow-ragged-csv-input put -q '{}' > /dev/null",
            main_file.display(),
            MILLER_SCRIPT.replace('\'', "'\\''")
        );
        let m = measure(Command::new("sh").args(["-c", &script]), "miller")?;
        let note =
            "iconv | mlr: units and packaging, no schema validation, no error report".to_string();
        report.add(Variant {
            name: "Miller (mlr) + iconv".into(),
            rows: args.rows,
            secs: m.secs,
            max_rss_kib: m.max_rss_kib,
            note,
        });
    } else {
        report.skipped(
            "Miller (mlr) + iconv",
            "not installed: `apt-get install miller`",
        );
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
            secs: m.secs,
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
