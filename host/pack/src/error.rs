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
