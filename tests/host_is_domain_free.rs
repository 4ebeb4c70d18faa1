//! No host logic names a standard's domain: a new standard is a pack, never
//! a Conform release. The words of the two sample standards' domains may
//! appear in comments, tests and sample-data tools, and in the files frozen
//! with contract 0.1.0 and pack format 1, whose functions and tables are
//! the first sample standard's; anywhere else in the product's code they
//! mean a domain leaked into the host.

use std::path::{Path, PathBuf};

use crate::support;

/// The words of the sample standards' domains.
const DOMAIN_WORDS: [&str; 7] = [
    "apple", "diameter", "carrier", "fruit", "fibre", "colour", "fabric",
];

/// Files frozen with contract 0.1.0 and pack format 1.
const FROZEN: [&str; 5] = [
    "host/pack/src/format1/",
    "host/pack/src/contract_v0_1.rs",
    "host/model/src/pack_format1.rs",
    "host/sandbox/src/host/v0_1.rs",
    "host/sandbox/src/bindings.rs",
];

/// Crates that are not the product: the benchmark generates sample exports.
const NOT_PRODUCT: [&str; 1] = ["host/bench/"];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "tests") {
                rust_files(&path, found);
            }
        } else if path.extension().is_some_and(|e| e == "rs")
            // A crate's unit tests kept in a file of their own.
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            found.push(path);
        }
    }
}

/// The code of a file, numbered from 1: without comments, and without its
/// unit tests (from a `#[cfg(test)]` at the margin to the next `}` there, as
/// rustfmt lays a test module out).
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_tests = false;
    let mut code = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if in_tests {
            in_tests = line != "}";
            continue;
        }
        if line == "#[cfg(test)]" {
            in_tests = true;
            continue;
        }
        if line.trim_start().starts_with("//") {
            continue;
        }
        code.push((i + 1, line.find(" //").map_or(line, |at| &line[..at])));
    }
    code
}

#[test]
fn no_host_logic_names_a_domain() {
    let root = support::root();
    let mut files = Vec::new();
    rust_files(&root.join("host"), &mut files);
    rust_files(&root.join("xtask"), &mut files);
    let mut leaks = Vec::new();
    for path in &files {
        let relative = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if FROZEN
            .iter()
            .chain(&NOT_PRODUCT)
            .any(|f| relative.starts_with(f))
        {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for (line, code) in code_lines(&text) {
            let lower = code.to_lowercase();
            if let Some(word) = DOMAIN_WORDS.iter().find(|w| lower.contains(*w)) {
                leaks.push(format!("{relative}:{line}: `{word}` in `{}`", code.trim()));
            }
        }
    }
    assert!(files.len() > 50, "the walk found the host's sources");
    assert!(
        leaks.is_empty(),
        "host logic names a domain; move it into a pack's tables:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn the_check_sees_a_leak_in_code_and_not_in_comments() {
    let text = "/// Grades apples.\nfn grade() {\n    let x = 1; // apple\n    if term == \"apple\" {}\n}\n#[cfg(test)]\nmod tests {\n    const A: &str = \"apple\";\n}\nconst B: &str = \"apple\";\n";
    let leaking: Vec<usize> = code_lines(text)
        .into_iter()
        .filter(|(_, code)| code.contains("apple"))
        .map(|(line, _)| line)
        .collect();
    assert_eq!(leaking, vec![4, 10]);
}
