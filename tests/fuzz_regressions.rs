//! Replays every input the fuzzers found a crash with
//! (`tests/fuzz/regressions/<target>/<what it found>`), plus hand-written
//! hostile inputs kept beside them, through the same checks the fuzz
//! targets run (`tests/fuzz/src/lib.rs`).

#[path = "fuzz/src/lib.rs"]
mod fuzz_checks;

use std::path::PathBuf;

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo runs the tests")).join("../..")
}

/// A sample export shipped as a fixture.
fn sample(name: &str) -> PathBuf {
    root().join("tests/fixtures/samples").join(name)
}

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 6] = [
    ("csv", fuzz_checks::csv),
    ("xml", fuzz_checks::xml),
    ("json", fuzz_checks::json),
    ("ndjson", fuzz_checks::ndjson),
    ("plugin_manifest", fuzz_checks::plugin_manifest),
    ("pack_manifest", fuzz_checks::pack_manifest),
];

#[test]
fn every_saved_input_passes_its_target_checks() {
    let dir = root().join("tests/fuzz/regressions");
    let mut replayed = 0;
    for (target, check) in TARGETS {
        let Ok(entries) = std::fs::read_dir(dir.join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(
                outcome.is_ok(),
                "fuzz regression `{target}/{}` fails again",
                path.file_name().unwrap().to_string_lossy()
            );
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no saved inputs under {}", dir.display());
}

/// The checks themselves catch what they claim to: a decoder that numbered
/// rows out of order would fail them. (The seed is a well-formed file.)
#[test]
fn the_checks_pass_on_the_sample_exports() {
    for name in [
        "jinggong-parts.csv",
        "orchard-coop-apples.csv",
        "eastroute-waybills.csv",
    ] {
        let mut data = vec![1u8]; // GB18030 or UTF-8 alike decode as text here
        data.extend(std::fs::read(sample(name)).unwrap());
        fuzz_checks::csv(&data);
    }
    let mut data = vec![0u8];
    data.extend(std::fs::read(sample("swift-express.ndjson")).unwrap());
    fuzz_checks::ndjson(&data);
    let manifest = std::fs::read(root().join("standards/sample-regional/pack.toml")).unwrap();
    fuzz_checks::pack_manifest(&manifest);
}
