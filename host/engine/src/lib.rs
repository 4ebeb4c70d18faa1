//! The conversion engine of Conform: what the CLI and the server share.
//!
//! [`registry`] finds plugins and loads them into the sandbox; [`pipeline`]
//! streams one input through decode → plugin → validation into [`sink`]s,
//! accounting for every row; [`packs`] keeps pack versions side by side.
//! [`catalog`] is an installation's packs and plugins: resolving which pack
//! a plugin runs against, the one cache of compiled plugins
//! ([`compiled`]), and publishing (checks in staging, pack archives
//! unpacked by [`archive`]); [`layout`] knows where every file of a data
//! directory lives.
//! Nothing here knows HTTP: `conform-server` serves the engine over it.

pub mod archive;
pub mod catalog;
pub mod compiled;
pub mod layout;
pub mod local_packs;
pub mod mapped;
pub mod packs;
pub mod pipeline;
pub mod registry;
pub mod scratch;
pub mod sink;
#[cfg(test)]
mod test_support;

pub use pipeline::{Conversion, ConvertOptions, PipelineError};

/// How the `conform` binary compiles untrusted components: in a child
/// process of itself (`conform compile-component`), capped in time and
/// memory. Outside that binary, [`conform_sandbox::Compiler::InProcess`].
pub fn subprocess_compiler() -> conform_sandbox::Compiler {
    match conform_program() {
        Some(program) => conform_sandbox::Compiler::Subprocess {
            program,
            args: vec!["compile-component".into()],
        },
        None => conform_sandbox::Compiler::InProcess,
    }
}
/// The data memory of reading one workbook in a child process, in MiB.
pub const WORKBOOK_MEMORY_MIB: u64 = 1024;

/// The CPU time of reading one workbook in a child process, in seconds.
pub const WORKBOOK_CPU_SECONDS: u64 = 600;

/// How the `conform` binary reads workbooks: in a child process of itself
/// (`conform read-workbook`) with its data memory and CPU time capped.
/// Outside that binary, in process.
pub fn subprocess_workbook_reader(
    memory_mib: u64,
    cpu_seconds: u64,
) -> conform_decode::WorkbookReader {
    match conform_program() {
        Some(program) => conform_decode::WorkbookReader::Subprocess {
            program,
            args: vec!["read-workbook".into()],
            memory_mib,
            cpu_seconds,
        },
        None => conform_decode::WorkbookReader::InProcess,
    }
}

/// The running program if it is the `conform` binary.
fn conform_program() -> Option<std::path::PathBuf> {
    std::env::current_exe()
        .ok()
        .filter(|p| p.file_stem().is_some_and(|stem| stem == "conform"))
}

pub use catalog::{Catalog, CatalogError, NameGate, PublishError, Resolved};
pub use layout::DataDir;
pub use registry::{Registry, RegistryError};
