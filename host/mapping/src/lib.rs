//! Declarative mappings: one enterprise export mapped onto a pack's record
//! type by a file (`mapping.toml`) instead of code. This crate reads the
//! file ([`format`]) and checks it against the pack before anything runs
//! ([`check`]): every field, table, unit and pattern it names, each
//! problem with its line. See `docs/mappings.md` for the format and the
//! plan (the sandboxed interpreter that runs a mapping comes next).

pub mod check;
pub mod format;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use format::MappingFile;

/// One problem of a mapping file, at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The 1-based line of the mapping file.
    pub line: usize,
    /// What is wrong and what to do.
    pub message: String,
}

/// Every problem found in one mapping file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.lines().join("\n"))]
pub struct MappingProblems {
    /// The file, as the user named it.
    pub file: String,
    /// The problems, in the order found.
    pub problems: Vec<Located>,
}

impl MappingProblems {
    /// The problems of `file`.
    pub fn new(file: &str, problems: Vec<Located>) -> MappingProblems {
        MappingProblems {
            file: file.to_string(),
            problems,
        }
    }

    /// Each problem as `file:line: message`, the form editors jump to.
    pub fn lines(&self) -> Vec<String> {
        self.problems
            .iter()
            .map(|p| format!("{}:{}: {}", self.file, p.line, p.message))
            .collect()
    }
}

/// Why a mapping cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The file cannot be read.
    #[error("cannot read mapping `{path}`: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a mapping, or not one this pack can run.
    #[error("{0}")]
    Problems(#[from] MappingProblems),
}

/// The largest mapping file read (bytes): a mapping is a page of TOML.
pub const MAX_MAPPING_BYTES: u64 = 1024 * 1024;

/// Reads the mapping at `path` and checks it against `pack`.
pub fn load(path: &Path, pack: &conform_pack::Pack) -> Result<MappingFile, MappingError> {
    let shown = path.display().to_string();
    let read = |source| MappingError::Read {
        path: shown.clone(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read)?.len();
    if size > MAX_MAPPING_BYTES {
        return Err(read(std::io::Error::other(format!(
            "it holds {size} bytes, more than a mapping may ({MAX_MAPPING_BYTES})"
        ))));
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    let mapping = check::parse(&shown, &text)?;
    let problems = check::check(&mapping, &text, pack);
    if problems.is_empty() {
        Ok(mapping)
    } else {
        Err(MappingProblems::new(&shown, problems).into())
    }
}
