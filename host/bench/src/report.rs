//! The report: a table for the terminal and `BENCHMARKS.md`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

/// One measured variant: every run's wall time, the peak RSS of all.
pub struct Variant {
    pub name: String,
    pub rows: u64,
    pub runs: Vec<f64>,
    pub max_rss_kib: u64,
    pub note: String,
}

impl Variant {
    /// The median run's seconds (of an even count, the lower middle).
    pub fn secs(&self) -> f64 {
        let mut sorted = self.runs.clone();
        sorted.sort_by(f64::total_cmp);
        sorted
            .get(sorted.len().saturating_sub(1) / 2)
            .copied()
            .unwrap_or(f64::NAN)
    }

    fn rate(&self) -> f64 {
        self.rows as f64 / self.secs()
    }

    /// The runs' spread, for the table: `min–max`.
    fn spread(&self) -> String {
        let min = self.runs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.runs.iter().copied().fold(0.0, f64::max);
        format!("{min:.2}–{max:.2}")
    }
}

/// Everything measured in one run.
pub struct Report {
    command_line: String,
    rows: u64,
    variants: Vec<Variant>,
    skipped: Vec<(String, String)>,
    startup: (f64, f64),
    big: (u64, u64),
    formats: Vec<(String, u64, f64, f64)>,
    instantiation: serde_json::Value,
}

/// The markers around the side-by-side results in BENCHMARKS.md.
pub const RESULTS: Markers = Markers {
    begin: "<!-- results:begin -->",
    end: "<!-- results:end -->",
};

/// The two comment lines around one generated part of a Markdown file.
#[derive(Debug, Clone, Copy)]
pub struct Markers {
    /// The line before the part.
    pub begin: &'static str,
    /// The line after it.
    pub end: &'static str,
}

impl Report {
    pub fn new(command_line: &str, rows: u64) -> Report {
        Report {
            command_line: command_line.into(),
            rows,
            variants: Vec::new(),
            skipped: Vec::new(),
            startup: (0.0, 0.0),
            big: (0, 0),
            formats: Vec::new(),
            instantiation: serde_json::Value::Null,
        }
    }

    pub fn add(&mut self, variant: Variant) {
        eprintln!(
            "  {:<44} {:>10.0} rows/s  {:>7.1} MiB",
            variant.name,
            variant.rate(),
            variant.max_rss_kib as f64 / 1024.0
        );
        self.variants.push(variant);
    }

    pub fn skipped(&mut self, name: &str, why: &str) {
        eprintln!("  {name}: skipped, {why}");
        self.skipped.push((name.into(), why.into()));
    }

    pub fn startup(&mut self, cold: f64, warm: f64) {
        self.startup = (cold, warm);
    }

    pub fn memory(&mut self, rows: u64, max_rss_kib: u64) {
        self.big = (rows, max_rss_kib);
    }

    pub fn format(&mut self, kind: &str, rows: u64, wasm_secs: f64, native_secs: f64) {
        self.formats
            .push((kind.into(), rows, wasm_secs, native_secs));
    }

    pub fn instantiation(&mut self, value: serde_json::Value) {
        self.instantiation = value;
    }

    fn find(&self, prefix: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.name.starts_with(prefix))
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        self.write_machine_line(&mut md);
        self.write_throughput_table(&mut md);
        self.write_targets_table(&mut md);
        self.write_formats_table(&mut md);
        self.write_instantiation_table(&mut md);
        md
    }

    /// Writes the opening line: the command line, the core count and the CPU model.
    fn write_machine_line(&self, md: &mut String) {
        let cpu = cpu_model();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let _ = writeln!(
            md,
            "Produced by `{}` on {cores} cores ({cpu}).\n",
            self.command_line
        );
    }

    /// The rate of the native baseline with 2 workers, the yardstick of the tables.
    fn native_two_worker_rate(&self) -> Option<f64> {
        self.find("Native Rust, same pipeline, 2")
            .map(Variant::rate)
    }

    /// Writes the table of every variant on the main file, with skipped ones last.
    fn write_throughput_table(&self, md: &mut String) {
        let native2 = self.native_two_worker_rate();
        let _ = writeln!(
            md,
            "### Throughput: Jinggong parts, GB18030 CSV, inch/lb → mm/g, {} rows, 1 in 20 bad\n",
            self.rows
        );
        let _ = writeln!(
            md,
            "Each variant ran the number of times shown, interleaved round by round; seconds and rows/s are the median run's.\n"
        );
        let _ = writeln!(
            md,
            "| variant | rows | runs | median seconds | range (s) | rows/s | peak RSS (MiB) | × native (2 workers) | note |"
        );
        let _ = writeln!(
            md,
            "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |"
        );
        for v in &self.variants {
            let ratio = native2.map_or("".into(), |n| format!("{:.2}", v.rate() / n));
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.2} | {} | {:.0} | {:.1} | {ratio} | {} |",
                v.name,
                v.rows,
                v.runs.len(),
                v.secs(),
                v.spread(),
                v.rate(),
                v.max_rss_kib as f64 / 1024.0,
                v.note
            );
        }
        for (name, why) in &self.skipped {
            let _ = writeln!(md, "| {name} | | | | | | | | skipped: {why} |");
        }
    }

    /// Writes the table that holds the measurements against the project's targets.
    fn write_targets_table(&self, md: &mut String) {
        let _ = writeln!(md, "\n### Targets\n");
        let _ = writeln!(md, "| target | measured | |");
        let _ = writeln!(md, "| --- | --- | --- |");
        self.write_speed_targets(md);
        self.write_memory_target(md);
        self.write_instantiation_target(md);
        self.write_startup_row(md);
    }

    /// Writes the targets on speed, from the medians: against native,
    /// against the idiomatic Miller script, 1 to 2 workers, and the
    /// distance to the floors.
    fn write_speed_targets(&self, md: &mut String) {
        let rate = |prefix: &str| self.find(prefix).map(Variant::rate);
        let wasm2 = rate("Conform, wasm plugin, 2").unwrap_or(0.0);
        let wasm1 = rate("Conform, wasm plugin, 1").unwrap_or(0.0);
        if let Some(n) = self.native_two_worker_rate() {
            let r = wasm2 / n;
            let _ = writeln!(
                md,
                "| wasm ≥ 80% of native (2 workers) | {:.0}% | {} |",
                r * 100.0,
                mark(r >= 0.8)
            );
        }
        if let Some(mapping) = rate("Conform, mapping") {
            let r = mapping / wasm2;
            let _ = writeln!(
                md,
                "| a mapping ≥ 70% of its hand-written plugin (2 workers) | {:.0}% | {} |",
                r * 100.0,
                mark(r >= 0.7)
            );
        }
        match rate("Miller") {
            Some(miller) => {
                let r = wasm2 / miller;
                let _ = writeln!(
                    md,
                    "| Conform (2 workers) ≥ 3× the idiomatic Miller script | {r:.2}× | {} |",
                    mark(r >= 3.0)
                );
            }
            None => {
                let _ = writeln!(
                    md,
                    "| Conform (2 workers) ≥ 3× the idiomatic Miller script | Miller not installed | |"
                );
            }
        }
        let scale = wasm2 / wasm1;
        let _ = writeln!(
            md,
            "| ≥ 1.7× from 1 worker to 2, order kept | {scale:.2}× | {} |",
            mark(scale >= 1.7)
        );
        for (floor, what) in [
            ("Floor, 1 core: decode", "decoding alone"),
            ("Floor, 1 core: services", "decode + services + output"),
        ] {
            if let Some(f) = rate(floor) {
                let _ = writeln!(
                    md,
                    "| distance to the floor: Conform, 1 worker, against {what} on 1 core | {:.0}% of the floor's rate ({:.0} vs {:.0} rows/s) | |",
                    wasm1 / f * 100.0,
                    wasm1,
                    f
                );
            }
        }
    }

    /// Writes the target on memory: peak RSS on the big file against the main file.
    fn write_memory_target(&self, md: &mut String) {
        let main_rss = self
            .find("Conform, wasm plugin, 2")
            .map_or(0, |v| v.max_rss_kib);
        let (big_rows, big_rss) = self.big;
        let growth = big_rss as f64 / main_rss as f64;
        let _ = writeln!(
            md,
            "| peak RSS for {big_rows} rows within 10% of {} rows | {:.1} MiB vs {:.1} MiB ({:+.0}%) | {} |",
            self.rows,
            big_rss as f64 / 1024.0,
            main_rss as f64 / 1024.0,
            (growth - 1.0) * 100.0,
            mark(growth <= 1.1)
        );
    }

    /// Writes the target on instantiation time with the pooling allocator.
    fn write_instantiation_target(&self, md: &mut String) {
        let pooling = self.instantiation["pooling_median_us"]
            .as_f64()
            .unwrap_or(f64::NAN);
        let _ = writeln!(md, "| `InstancePre` instantiation, pooling allocator, median < 10 µs | {pooling:.1} µs | {} |", mark(pooling < 10.0));
    }

    /// Writes the start-up row: warm precompiled cache against cold, with no target mark.
    fn write_startup_row(&self, md: &mut String) {
        let (cold, warm) = self.startup;
        let _ = writeln!(
            md,
            "| start-up, warm precompiled cache vs cold (sample file, whole process) | {:.0} ms vs {:.0} ms ({:.1}× faster) | |",
            warm * 1000.0,
            cold * 1000.0,
            cold / warm
        );
    }

    /// Writes the table of the six formats, wasm plugin against its native build.
    fn write_formats_table(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "\n### Six formats, wasm plugin vs native build of the same plugin (2 workers)\n"
        );
        let _ = writeln!(
            md,
            "| format | rows | wasm rows/s | native rows/s | wasm / native |"
        );
        let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: |");
        for (kind, rows, wasm, native) in &self.formats {
            let (w, n) = (*rows as f64 / wasm, *rows as f64 / native);
            let _ = writeln!(
                md,
                "| {kind} | {rows} | {w:.0} | {n:.0} | {:.0}% |",
                w / n * 100.0
            );
        }
    }

    /// Writes the table of instantiation times, default allocator against pooling.
    fn write_instantiation_table(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "\n### Instantiation from `InstancePre` (store + instance, jinggong-parts)\n"
        );
        let _ = writeln!(md, "| allocator | median (µs) | p99 (µs) |");
        let _ = writeln!(md, "| --- | ---: | ---: |");
        for name in ["default", "pooling"] {
            let median = self.instantiation[format!("{name}_median_us")]
                .as_f64()
                .unwrap_or(f64::NAN);
            let p99 = self.instantiation[format!("{name}_p99_us")]
                .as_f64()
                .unwrap_or(f64::NAN);
            let _ = writeln!(md, "| {name} | {median:.1} | {p99:.1} |");
        }
    }
}

/// The CPU model named in `/proc/cpuinfo`, or "unknown CPU".
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The last cell of a target row: whether the target was met.
fn mark(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

/// Replaces what stands between `markers` in `path` (or appends them with
/// `results`).
pub fn write_between_markers(path: &Path, markers: Markers, results: &str) -> Result<()> {
    let Markers { begin, end } = markers;
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(begin), old.find(end)) {
        (Some(b), Some(e)) if b < e => format!(
            "{}{begin}\n{results}{end}{}",
            &old[..b],
            &old[e + end.len()..]
        ),
        _ => format!("{old}\n{begin}\n{results}{end}\n"),
    };
    std::fs::write(path, new).with_context(|| format!("cannot write `{}`", path.display()))
}
