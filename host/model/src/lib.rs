//! Plain types of Conform's documents.
//!
//! This crate holds what crosses a boundary as a document: the plugin manifest
//! a provider ships, the pack manifest and rule tables a standards body
//! publishes, and the lines of a conversion report. It knows nothing of
//! wasmtime, HTTP or files beyond parsing text: the other crates build on it,
//! and `cargo xtask schemas` generates the JSON Schemas in `schemas/` from it.
//!
//! Every manifest type rejects unknown fields, so that a typo in a manifest is
//! an error rather than a silently ignored setting.

pub mod api;
pub mod pack;
pub mod pack_format1;
pub mod plugin;
pub mod report;
pub mod row;
pub mod schemas;

pub use pack::PackManifest;
pub use pack_format1::RuleFiles;
pub use plugin::{InputFormat, PluginLimits, PluginManifest, TextEncoding};
pub use report::{
    codes, problems_listed, truncate, FailedFile, FileSummary, HostCode, OutputLine, Rejection,
    Source, Summary, MAX_FIELD_BYTES, MAX_MESSAGE_BYTES, MAX_PROBLEMS_PER_ROW,
};
pub use row::{CellEnds, CellRow, RowFields};

/// A manifest that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The text is not valid TOML of the manifest's shape.
    #[error("invalid manifest: {0}")]
    Syntax(#[from] toml::de::Error),
    /// The text parsed but a value breaks a rule of the manifest.
    #[error("invalid manifest: {0}")]
    Invalid(String),
}
