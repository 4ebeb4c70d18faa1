//! `conform plugin test`: each case of a plugin project converted against
//! the pack and compared with what it must become. A case is a folder with
//! a `case.toml` naming its input (`input = "…"`, in the folder),
//! `expected.ndjson` and `expected.errors.ndjson`, as the repository's own
//! golden cases are; `--bless` writes the expected files from the output.

use std::path::{Path, PathBuf};

use conform_engine::local_packs::LocalPacks;
use conform_engine::pipeline::ConvertOptions;
use conform_engine::sink::NdjsonSink;
use conform_model::{FileSummary, PluginManifest};
use conform_sandbox::{LoadedPlugin, Sandbox};

use crate::AuthorError;

/// The expected records of a case.
pub const EXPECTED_RECORDS: &str = "expected.ndjson";
/// The expected error report of a case.
pub const EXPECTED_ERRORS: &str = "expected.errors.ndjson";

/// A case as run.
#[derive(Debug, Clone)]
pub struct CaseRun {
    /// The case's folder name.
    pub name: String,
    /// The input converted.
    pub input: PathBuf,
    /// The conversion's counts.
    pub summary: FileSummary,
    /// The records written.
    pub records: String,
    /// The error report written.
    pub errors: String,
    /// How the output differs from the expected files (empty: as expected).
    pub differences: Vec<Difference>,
    /// Whether the expected files were written from the output.
    pub blessed: bool,
    /// Whether there were expected files to compare with (a case), or the
    /// input was a file given alone.
    pub compared: bool,
}

/// A line where the output and an expected file differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The expected file.
    pub file: &'static str,
    /// The 1-based line.
    pub line: usize,
    /// The expected line (`None`: the output has more lines).
    pub expected: Option<String>,
    /// The output's line (`None`: the output has fewer lines).
    pub actual: Option<String>,
}

/// The case folders under `dir`, sorted (each a folder with a `case.toml`).
pub fn find_cases(dir: &Path) -> Result<Vec<PathBuf>, AuthorError> {
    let entries = std::fs::read_dir(dir).map_err(|e| AuthorError::Cases {
        message: format!(
            "cannot list `{}` ({e}): give the case folders to test",
            dir.display()
        ),
    })?;
    let mut cases: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("case.toml").is_file())
        .collect();
    cases.sort();
    Ok(cases)
}

/// What a test run needs: the plugin loaded and the pack it runs against.
pub struct Harness<'a> {
    /// The plugin's manifest.
    pub manifest: &'a PluginManifest,
    /// The plugin, compiled.
    pub plugin: &'a LoadedPlugin,
    /// The packs to choose from.
    pub packs: &'a LocalPacks,
}

impl Harness<'_> {
    /// Loads the built plugin in `dir` (its `plugin.toml` and component).
    pub fn load(
        dir: &Path,
        sandbox: &Sandbox,
    ) -> Result<(PluginManifest, LoadedPlugin), AuthorError> {
        let path = dir.join("plugin.toml");
        let manifest = PluginManifest::from_toml(&crate::read_file(&path)?).map_err(|e| {
            AuthorError::Manifest {
                path: path.clone(),
                message: e.to_string(),
            }
        })?;
        let component =
            std::fs::read(dir.join(&manifest.component.file)).map_err(|e| AuthorError::Cases {
                message: format!(
                    "cannot read the built component ({e}): run `conform plugin build`"
                ),
            })?;
        let plugin = crate::build::load_component(sandbox, &manifest, &component).map_err(|e| {
            AuthorError::Cases {
                message: format!("the plugin does not load: {e}"),
            }
        })?;
        Ok((manifest, plugin))
    }

    /// Converts the case in `dir`, writing the output to `out` and, when
    /// `bless`, the expected files.
    pub fn run(&self, dir: &Path, out: &Path, bless: bool) -> Result<CaseRun, AuthorError> {
        let name = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let input = dir.join(case_input(dir)?);
        let (summary, records, errors) = self.convert(&input, out)?;
        let mut differences = Vec::new();
        for (file, actual) in [(EXPECTED_RECORDS, &records), (EXPECTED_ERRORS, &errors)] {
            let expected = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
            differences.extend(compare(file, &expected, actual));
        }
        if bless {
            crate::write_file(&dir.join(EXPECTED_RECORDS), &records)?;
            crate::write_file(&dir.join(EXPECTED_ERRORS), &errors)?;
        }
        Ok(CaseRun {
            name,
            input,
            summary,
            records,
            errors,
            differences,
            blessed: bless,
            compared: true,
        })
    }

    /// Converts a file given alone (no expected files), writing the output
    /// to `out`.
    pub fn try_file(&self, input: &Path, out: &Path) -> Result<CaseRun, AuthorError> {
        let (summary, records, errors) = self.convert(input, out)?;
        Ok(CaseRun {
            name: input.file_name().map_or_else(
                || input.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            input: input.to_path_buf(),
            summary,
            records,
            errors,
            differences: Vec::new(),
            blessed: false,
            compared: false,
        })
    }

    /// Converts `input` against the newest pack the plugin targets; the
    /// records and the error report as written to `out`.
    fn convert(
        &self,
        input: &Path,
        out: &Path,
    ) -> Result<(FileSummary, String, String), AuthorError> {
        let pack = self
            .packs
            .for_plugin(self.manifest)
            .map_err(|e| AuthorError::Cases {
                message: e.to_string(),
            })?;
        conform_engine::registry::check_pack(self.manifest, pack)
            .and_then(|()| conform_engine::registry::check_contract(self.plugin, pack))
            .map_err(|e| AuthorError::Cases {
                message: e.to_string(),
            })?;
        let (records_path, errors_path) = (out.join("records.ndjson"), out.join("errors.ndjson"));
        std::fs::create_dir_all(out).map_err(|e| crate::io_error(out, e))?;
        let file = std::fs::File::open(input).map_err(|e| crate::io_error(input, e))?;
        let create =
            |path: &Path| std::fs::File::create(path).map_err(|e| crate::io_error(path, e));
        let mut sink = NdjsonSink::new(create(&records_path)?, create(&errors_path)?);
        let file_name = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let options = ConvertOptions {
            workers: 1,
            ..ConvertOptions::default()
        };
        let summary = conform_engine::Conversion {
            pack,
            plugin: self.plugin,
            manifest: self.manifest,
            options: &options,
        }
        .run(file, &file_name, &mut sink, &mut |_| {})
        .map_err(|e| AuthorError::Cases {
            message: format!("converting `{}`: {e}", input.display()),
        })?;
        drop(sink);
        Ok((
            summary,
            crate::read_file(&records_path)?,
            crate::read_file(&errors_path)?,
        ))
    }
}

/// The input a case's `case.toml` names (a file in the case's folder).
pub fn case_input(dir: &Path) -> Result<String, AuthorError> {
    let path = dir.join("case.toml");
    let table: toml::Table =
        toml::from_str(&crate::read_file(&path)?).map_err(|e| AuthorError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
    let input = table
        .get("input")
        .and_then(toml::Value::as_str)
        .ok_or_else(|| AuthorError::Manifest {
            path: path.clone(),
            message: "it names no `input = \"FILE\"` (a file in the case's folder)".into(),
        })?;
    let inside = Path::new(input)
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !inside {
        return Err(AuthorError::Manifest {
            path,
            message: format!("`input = \"{input}\"` must name a file in the case's folder"),
        });
    }
    Ok(input.to_string())
}

/// The lines where `actual` differs from `expected`.
pub fn compare(file: &'static str, expected: &str, actual: &str) -> Vec<Difference> {
    let (expected, actual): (Vec<&str>, Vec<&str>) =
        (expected.lines().collect(), actual.lines().collect());
    (0..expected.len().max(actual.len()))
        .filter_map(|i| {
            let (e, a) = (expected.get(i), actual.get(i));
            (e != a).then(|| Difference {
                file,
                line: i + 1,
                expected: e.map(|s| s.to_string()),
                actual: a.map(|s| s.to_string()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_file_and_line() {
        let found = compare("expected.ndjson", "a\nb\n", "a\nc\nd\n");
        assert_eq!(
            found,
            [
                Difference {
                    file: "expected.ndjson",
                    line: 2,
                    expected: Some("b".into()),
                    actual: Some("c".into())
                },
                Difference {
                    file: "expected.ndjson",
                    line: 3,
                    expected: None,
                    actual: Some("d".into())
                },
            ]
        );
        assert!(compare("expected.ndjson", "a\n", "a\n").is_empty());
    }
}
