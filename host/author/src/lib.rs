//! Tools for plugin providers, behind `conform plugin …`: a plugin project
//! made outside any Conform checkout with the SDK and the contract inside
//! it ([`scaffold`], [`sdk_files`]), built with cargo into a component
//! checked as a server checks it ([`build`]), and its cases converted
//! against a pack and compared with what they must become ([`cases`]); a
//! pack folder to start a standard from ([`pack_scaffold`]); a server to
//! publish plugins and packs to and fetch packs from ([`server`]).
//!
//! Depends on the engine (conversions), the sandbox (checks) and the
//! pack; nothing depends on it but the `conform` binary.

pub mod build;
pub mod cases;
pub mod pack_scaffold;
pub mod sample;
pub mod scaffold;
mod scaffold_python;
pub mod sdk_files;
pub mod server;

use std::path::{Path, PathBuf};

/// The flags a plugin's wasm is compiled with (the first-party plugins'
/// too, by `cargo xtask build-plugins`): LLVM inlines more before the wasm
/// is written, so that the sandbox's compiler gets fewer, larger functions
/// (about 5% fewer instructions per row on the benchmark's file, see
/// BENCHMARKS.md). A provider who gives rustc flags of their own (in the
/// environment or a cargo configuration file) builds with those alone.
pub const PLUGIN_RUSTFLAGS: &str = "-C llvm-args=-inline-threshold=1000";

/// What went wrong for a provider, worded for them.
#[derive(Debug, thiserror::Error)]
pub enum AuthorError {
    /// A project cannot be made as asked.
    #[error("{message}")]
    Scaffold {
        /// Why, and what to do.
        message: String,
    },
    /// The project does not build into a component Conform accepts.
    #[error("{message}")]
    Build {
        /// Why, and what to do.
        message: String,
    },
    /// A manifest (`plugin.toml`, `Cargo.toml`, `case.toml`) is wrong.
    #[error("`{path}`: {message}")]
    Manifest {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The cases cannot be run.
    #[error("{message}")]
    Cases {
        /// Why, and what to do.
        message: String,
    },
    /// A file cannot be read or written.
    #[error("`{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> AuthorError {
    AuthorError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn read_file(path: &Path) -> Result<String, AuthorError> {
    std::fs::read_to_string(path).map_err(|e| io_error(path, e))
}

pub(crate) fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), AuthorError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| io_error(path, e))
}

pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), AuthorError> {
    write_bytes(path, text.as_bytes())
}
