//! A small run of the whole benchmark, so that it never rots. It asserts that
//! every variant runs and reports, never how fast.

use std::process::Command;

/// `conform-bench` of this build, beside the test binary's folder: found at
/// run time, not baked in, so that a copied checkout runs its own.
fn bench_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    exe.parent()
        .and_then(std::path::Path::parent)
        .expect("test binaries live in target/<profile>/deps")
        .join("conform-bench")
}

/// Runs `conform-bench ARGS` to success and returns what it printed, after
/// checking that it holds each of `expected`.
fn bench(args: &[&str], expected: &[&str]) -> String {
    let output = Command::new(bench_binary())
        .args(args)
        .args(["--command-line", "smoke test"])
        .output()
        .expect("conform-bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for expected in expected {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in:\n{stdout}"
        );
    }
    stdout
}

#[test]
fn the_benchmark_runs_end_to_end_on_small_inputs() {
    bench(
        &[
            "run",
            "--smoke",
            "--rows",
            "3000",
            "--big-rows",
            "6000",
            "--format-rows",
            "500",
            "--python-rows",
            "500",
            "--iterations",
            "50",
            "--rounds",
            "2",
        ],
        &[
            "Conform, wasm plugin, 2 worker(s) | 3000 | 2 |",
            "Native Rust, same pipeline, 1 worker(s) | 3000 | 2 |",
            "| Floor, 1 core: decode | 3000 | 2 |",
            "| Floor, 1 core: services | 3000 | 2 |",
            "median seconds",
            "### Targets",
            "| wasm ≥ 80% of native (2 workers) |",
            "| distance to the floor: Conform, 1 worker, against decode + services + output on 1 core |",
            "| eastroute-waybills | 500 |",
            "| pooling |",
            // The Python twin beside the Rust plugin, on the same file.
            "Conform, Python plugin, 2 worker(s) | 500 | 2 |",
            "Conform, Rust plugin (same file), 2 worker(s) | 500 | 2 |",
        ],
    );
}

#[test]
fn the_load_benchmark_runs_against_the_real_server() {
    let stdout = bench(
        &[
            "load",
            "--seconds",
            "0.3",
            "--clients",
            "2",
            "--large-job-rows",
            "500",
        ],
        &[
            "| 2 | kept-alive connections |",
            "| 2 | a connection per request |",
            "| on an idle server |",
            "while tenant A has 4 jobs of 500 rows",
        ],
    );
    // No request failed.
    for line in stdout.lines().filter(|l| l.starts_with("| 2 |")) {
        assert_eq!(line.split('|').nth(4).map(str::trim), Some("0"), "{line}");
    }
}

#[test]
fn the_replicas_benchmark_runs_on_a_real_postgresql() {
    let stdout = bench(
        &[
            "replicas",
            "--jobs",
            "4",
            "--rows",
            "300",
            "--tiny-jobs",
            "4",
            "--replicas",
            "1,2",
            "--rounds",
            "1",
        ],
        &[
            "| 1 | 4 | 1200 |",
            "| 2 | 4 | 1200 |",
            "| PostgreSQL | 4 |",
            "| SQLite (the default) | 4 |",
        ],
    );
    // Every job of each set-up was run by some replica.
    for line in stdout
        .lines()
        .filter(|l| l.starts_with("| 1 | 4 |") || l.starts_with("| 2 | 4 |"))
    {
        let spread = line.split('|').nth(6).unwrap_or_default();
        let ran: usize = spread
            .split('/')
            .map(|n| n.trim().parse::<usize>().unwrap())
            .sum();
        assert_eq!(ran, 4, "{line}");
    }
}
