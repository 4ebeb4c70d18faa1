//! The host side of the plugin contract: the only place bindings are generated.

wasmtime::component::bindgen!({
    path: "../../plugins/wit",
    world: "converter",
});

pub use conform::plugin::types::{ErrorCode, Grading, Level, Service, StandardError};

use crate::host::HostState;

/// Adds the standard services to a linker.
pub(crate) fn add_to_linker(
    linker: &mut wasmtime::component::Linker<HostState>,
) -> wasmtime::Result<()> {
    Converter::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
        linker,
        |state| state,
    )
}
