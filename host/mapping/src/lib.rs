//! Declarative mappings: one enterprise export mapped onto a pack's record
//! type by a file (`mapping.toml`) instead of code. This crate reads the
//! file ([`format`]) and checks it against the pack before anything runs
//! ([`check`]): every field, table, unit and pattern it names, each
//! problem with its line. A mapping that passes is compiled ([`compile`])
//! into the [`Program`] the interpreter component runs in the sandbox
//! (`plugins/mapping-interpreter`). See `docs/mappings.md`.
//!
//! Without the default feature `check` only [`program`] is built (serde
//! alone): the interpreter, built for WebAssembly, shares it.

#[cfg(feature = "check")]
pub mod check;
#[cfg(feature = "check")]
mod compile;
#[cfg(feature = "check")]
pub mod expr;
#[cfg(feature = "check")]
mod file;
#[cfg(feature = "check")]
pub mod format;
pub mod program;
#[cfg(all(test, feature = "check"))]
mod tests;

#[cfg(feature = "check")]
pub use compile::compile;
#[cfg(feature = "check")]
pub use file::{read, Located, MappingError, MappingProblems, MAX_MAPPING_BYTES};
#[cfg(feature = "check")]
pub use format::MappingFile;
pub use program::Program;
