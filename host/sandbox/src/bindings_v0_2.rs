//! The host side of contract 0.2.0: bindings generated from
//! `plugins/wit/0.2.0`, with the pack's tables as host resources.

// The generated items are the contract's own, documented in its WIT.
#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../../plugins/wit/0.2.0",
        world: "converter",
        with: {
            "conform:plugin/tables.code-list": crate::host::v0_2::CodeListHandle,
            "conform:plugin/tables.class-set": crate::host::v0_2::ClassSetHandle,
            "conform:plugin/tables.thresholds": crate::host::v0_2::ThresholdsHandle,
            "conform:plugin/tables.scheme": crate::host::v0_2::SchemeHandle,
            "conform:plugin/tables.quantity": crate::host::v0_2::QuantityHandle,
            "conform:plugin/tables.term-levels": crate::host::v0_2::TermLevelsHandle,
            "conform:plugin/tables.time-format": crate::host::v0_2::TimeFormatHandle,
            "conform:plugin/tables.time-pattern": crate::host::v0_2::TimePatternHandle,
        },
        imports: { default: trappable },
    });
}
pub use generated::*;
