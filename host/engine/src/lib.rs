//! The conversion engine of Conform: what the CLI and the server share.
//!
//! [`registry`] finds plugins and loads them into the sandbox; [`pipeline`]
//! streams one input through decode → plugin → validation into [`sink`]s,
//! accounting for every row; [`packs`] keeps pack versions side by side.
//! Nothing here knows HTTP: `conform-server` serves the engine over it.

pub mod packs;
pub mod pipeline;
pub mod registry;
pub mod sink;
#[cfg(test)]
mod test_support;

pub use pipeline::{Conversion, ConvertOptions, PipelineError};

/// How the `conform` binary compiles untrusted components: in a child
/// process of itself (`conform compile-component`), capped in time and
/// memory. Outside that binary, [`conform_sandbox::Compiler::InProcess`].
pub fn subprocess_compiler() -> conform_sandbox::Compiler {
    let program = std::env::current_exe()
        .ok()
        .filter(|p| p.file_stem().is_some_and(|stem| stem == "conform"));
    match program {
        Some(program) => conform_sandbox::Compiler::Subprocess {
            program,
            args: vec!["compile-component".into()],
        },
        None => conform_sandbox::Compiler::InProcess,
    }
}
pub use registry::{Registry, RegistryError};
