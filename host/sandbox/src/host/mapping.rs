//! `conform:mapping/program@0.1.0`: the one import the mapping interpreter
//! has beyond the plugin contract, the mapping it runs. Linked for every
//! store, answered only where the plugin was loaded as the interpreter
//! with a program ([`crate::LoadedPlugin::for_mapping`]); any other
//! component importing it is refused at load ([`crate::check_imports`]).

use wasmtime::component::Linker;

use super::{Breach, HostState};

/// The interface's name, as a component imports it.
pub const PROGRAM_IMPORT: &str = "conform:mapping/program@0.1.0";

/// Links `program.source`.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker
        .instance(PROGRAM_IMPORT)?
        .func_wrap("source", |store, (): ()| match &store.data().program {
            Some(program) => Ok((program.to_string(),)),
            None => Err(Breach("it asked for a mapping program, but it runs none").into()),
        })
}
