//! Test cases run by `conform plugin test` and `conform mapping test`: each
//! case converted and compared with its expected files, or blessed; a file
//! given alone converted and shown.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use conform_author::cases::{CaseRun, Harness};

use super::{EXIT_FAILURE, EXIT_OK};

/// How cases are run and shown.
pub(crate) struct CaseOptions {
    /// Write the expected files from the output.
    pub(crate) bless: bool,
    /// Print every record, not only the rejections.
    pub(crate) records: bool,
    /// The command, for the hint on blessing.
    pub(crate) command: &'static str,
}

/// Runs `cases` (case folders, or files alone) with `harness`, each
/// case's output written to `out_of(name)`; fails if any case differs.
pub(crate) fn run_cases(
    harness: &Harness<'_>,
    cases: &[PathBuf],
    out_of: impl Fn(&str) -> PathBuf,
    options: &CaseOptions,
) -> Result<ExitCode> {
    let (mut differing, mut blessed, mut files) = (0, 0, 0);
    for case in cases {
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let out = out_of(&name);
        let run = if case.is_file() {
            harness.try_file(case, &out)
        } else {
            harness.run(case, &out, options.bless)
        }
        .with_context(|| format!("case `{}`", case.display()))?;
        // A file alone has nothing to compare with: its records are shown.
        print_case(
            &run,
            options.records || !run.compared,
            &out,
            options.command,
        );
        match (run.differences.is_empty(), run.blessed) {
            _ if !run.compared => files += 1,
            (true, _) => {}
            (false, true) => blessed += 1,
            (false, false) => differing += 1,
        }
    }
    if differing > 0 {
        println!(
            "{differing} of {} cases differ from their expected output",
            cases.len()
        );
        return Ok(ExitCode::from(EXIT_FAILURE));
    }
    let compared = cases.len() - files;
    if blessed > 0 {
        println!("expected files written for {blessed} of {compared} cases");
    } else if compared > 0 {
        println!("{compared} cases as expected");
    }
    if files > 0 {
        println!("{files} files converted (no expected files to compare with)");
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// A case's counts, rejections (and records, when asked) and differences.
fn print_case(run: &CaseRun, records: bool, out: &Path, command: &str) {
    let s = &run.summary;
    let verdict = match (run.differences.is_empty(), run.blessed) {
        _ if !run.compared => "converted (no expected files to compare with)",
        (true, _) => "as expected",
        (false, true) => "expected files written",
        (false, false) => "DIFFERS",
    };
    println!(
        "case {} ({}): rows in {}, converted {}, rejected {}: {verdict}",
        run.name,
        run.input.display(),
        s.rows_in,
        s.converted,
        s.rejected
    );
    if records {
        for line in run.records.lines() {
            println!("  record  {line}");
        }
    }
    for line in run.errors.lines() {
        match serde_json::from_str::<conform_model::Rejection>(line) {
            Ok(e) => println!(
                "  line {}: {}{}: {}",
                e.line,
                e.code,
                e.field.map(|f| format!(" at `{f}`")).unwrap_or_default(),
                e.message
            ),
            Err(_) => println!("  {line}"),
        }
    }
    if !run.differences.is_empty() && !run.blessed {
        for d in run.differences.iter().take(10) {
            println!("  {} line {}:", d.file, d.line);
            println!(
                "    expected: {}",
                d.expected.as_deref().unwrap_or("(no line)")
            );
            println!(
                "    got:      {}",
                d.actual.as_deref().unwrap_or("(no line)")
            );
        }
        if run.differences.len() > 10 {
            println!("  … {} more differing lines", run.differences.len() - 10);
        }
        println!(
            "  the output is in {}; `{command} --bless` makes it the expected output",
            out.display()
        );
    }
}
