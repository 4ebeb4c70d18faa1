//! A small run of the whole benchmark, so that it never rots. It asserts that
//! every variant runs and reports, never how fast.

use std::process::Command;

#[test]
fn the_benchmark_runs_end_to_end_on_small_inputs() {
    let output = Command::new(env!("CARGO_BIN_EXE_conform-bench"))
        .args([
            "run",
            "--smoke",
            "--rows",
            "3000",
            "--big-rows",
            "6000",
            "--format-rows",
            "500",
        ])
        .args([
            "--python-rows",
            "500",
            "--iterations",
            "50",
            "--command-line",
            "smoke test",
        ])
        .output()
        .expect("conform-bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for expected in [
        "Conform, wasm plugin, 2 worker(s) | 3000 |",
        "Native Rust, same pipeline, 1 worker(s) | 3000 |",
        "### Targets",
        "| eastroute-waybills | 500 |",
        "| pooling |",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in:\n{stdout}"
        );
    }
}
