//! The host side of the plugin contract: the only place bindings are generated.

// The generated items are the contract's own, documented in its WIT.
#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../../plugins/wit/0.1.0",
        world: "converter",
    });
}
pub use generated::*;

pub use conform::plugin::types::{ErrorCode, Grading, Level, Service, StandardError};

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    /// A released contract is never edited: plugins built against it must
    /// keep loading. A change is a new version in a folder of its own.
    #[test]
    fn contract_0_1_0_is_frozen() {
        let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo runs the tests");
        let path = std::path::Path::new(&crate_dir).join("../../plugins/wit/0.1.0/plugin.wit");
        let text = std::fs::read(&path).expect("the 0.1.0 contract is in plugins/wit/0.1.0");
        assert_eq!(
            hex::encode(Sha256::digest(&text)),
            "ebf09ca6297ccc8b65172d6e72075ea07a551510f690fac0b25a24e77fb850e8",
            "plugins/wit/0.1.0/plugin.wit changed: released contracts are frozen; add a new version beside it"
        );
    }
}
