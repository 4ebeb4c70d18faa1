//! The host side of the plugin contract: the only place bindings are generated.

// The generated items are the contract's own, documented in its WIT.
#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../../plugins/wit",
        world: "converter",
    });
}
pub use generated::*;

pub use conform::plugin::types::{ErrorCode, Grading, Level, Service, StandardError};
