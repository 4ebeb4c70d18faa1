//! Reading a mapping file, and its problems, each at a line.

use std::path::Path;

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

/// Why a mapping file cannot be read.
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
}

/// The largest mapping file read (bytes): a mapping is a page of TOML.
pub const MAX_MAPPING_BYTES: u64 = 1024 * 1024;

/// The text of the mapping file at `path`, read to at most
/// [`MAX_MAPPING_BYTES`] (whatever the file claims to be: a device too).
pub fn read(path: &Path) -> Result<String, MappingError> {
    use std::io::Read;
    let error = |source| MappingError::Read {
        path: path.display().to_string(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_MAPPING_BYTES + 1).read_to_end(&mut bytes))
        .map_err(error)?;
    if bytes.len() as u64 > MAX_MAPPING_BYTES {
        return Err(error(std::io::Error::other(format!(
            "it holds more than the {MAX_MAPPING_BYTES} bytes a mapping may"
        ))));
    }
    String::from_utf8(bytes).map_err(|_| error(std::io::Error::other("it is not UTF-8 text")))
}
