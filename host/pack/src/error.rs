//! Why a pack does not load.

use std::path::PathBuf;

/// A pack that cannot be loaded, naming the file and, where one applies, the entry.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// A file of the pack cannot be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A manifest entry names a path outside the pack folder.
    #[error("manifest entry `{entry}` = `{path}` is refused: {why}; name a file inside the pack folder, relative to it")]
    OutsidePack {
        /// The manifest entry (`rules.time`, `record_types.part`).
        entry: String,
        /// The path as the manifest gives it.
        path: String,
        /// Why it is refused.
        why: String,
    },
    /// A file of the pack is larger than a pack file may be.
    #[error("`{}` is larger than {limit} bytes, the most a pack file may hold", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The pack's files, all together, are more than one check reads.
    #[error("the pack's files add up to more than {limit} bytes (a file named by several entries counts each time), the most a pack may hold; make it smaller")]
    PackTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// A file a manifest entry names cannot be read.
    #[error("manifest entry `{entry}` names `{path}`, which cannot be read ({source}); add the file to the pack or fix the entry")]
    MissingFile {
        /// The manifest entry.
        entry: String,
        /// The path as the manifest gives it.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file of the pack is not UTF-8 text.
    #[error("`{}` is not UTF-8 text (invalid bytes after byte {offset}); save it as UTF-8", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Bytes before the first invalid one.
        offset: usize,
    },
    /// The manifest is invalid.
    #[error("`{}`: {source}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        source: conform_model::ManifestError,
    },
    /// A rule table is not valid TOML of its shape.
    #[error("`{}`: {source}", path.display())]
    RuleSyntax {
        /// The table file.
        path: PathBuf,
        /// What is wrong.
        source: toml::de::Error,
    },
    /// A schema file is not JSON.
    #[error("`{}` is not valid JSON: {source}", path.display())]
    SchemaJson {
        /// The schema file.
        path: PathBuf,
        /// What is wrong.
        source: serde_json::Error,
    },
    /// A schema does not compile.
    #[error("schema `{}` of record type `{record_type}` does not compile: {message}", path.display())]
    SchemaCompile {
        /// The schema file.
        path: PathBuf,
        /// The record type.
        record_type: String,
        /// The compiler's message.
        message: String,
    },
    /// An entry of a rule table is inconsistent.
    #[error("`{}`, entry `{entry}`: {message}", path.display())]
    Table {
        /// The table file.
        path: PathBuf,
        /// The entry, as a dotted path.
        entry: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// More than one of the above, in the order found.
    #[error("{} problems:\n{}", .0.len(), .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Several(Vec<PackError>),
}

impl PackError {
    pub(crate) fn table(
        path: &std::path::Path,
        entry: impl Into<String>,
        message: impl Into<String>,
    ) -> PackError {
        PackError::Table {
            path: path.to_path_buf(),
            entry: entry.into(),
            message: message.into(),
        }
    }
}
