//! The SDK for Conform converter plugins.
//!
//! A plugin maps one enterprise's export format onto the record types of a
//! schema pack. With this crate a provider writes plain Rust over one row at
//! a time; the SDK handles batches, the JSON crossing the sandbox boundary
//! and the calls to the host's standard services:
//!
//! ```ignore
//! use conform_plugin_sdk::{export_plugin, json, standard, Plugin, Records, Row, Rejected, ResultExt};
//!
//! struct Parts;
//!
//! impl Plugin for Parts {
//!     fn convert(row: &Row) -> Result<Records, Rejected> {
//!         let length = standard::to_canonical(row.text("length_in")?, "in", "part", "length_mm").at("length_in")?;
//!         Ok(Records::one("part", json!({ "part_no": row.text("no")?, "length_mm": length })))
//!     }
//! }
//!
//! export_plugin!(Parts);
//! ```
//!
//! Plugins are built for `wasm32-unknown-unknown` and turned into components
//! by `cargo xtask build-plugins`; they import the contract and nothing else.

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "converter",
        path: "../wit/0.1.0",
        pub_export_macro: true,
        export_macro_name: "__export_converter",
        default_bindings_module: "conform_plugin_sdk::bindings",
    });
}

#[cfg(feature = "native")]
pub mod native;
mod row;
pub mod standard;

pub use row::{Checks, Problem, Rejected, ResultExt, Row};
pub use serde_json::{json, Map, Number, Value};

use bindings::conform::plugin::types as wit;

/// A converter plugin: one input row in, records of the standard or problems out.
pub trait Plugin {
    /// Converts one row. Return every problem you can find at once, so that a
    /// person can fix the row in one go.
    fn convert(row: &Row) -> Result<Records, Rejected>;
}

/// The records one input row became.
#[derive(Debug, Clone, Default)]
pub struct Records(Vec<(String, Value)>);

impl Records {
    /// One record of `record_type`.
    pub fn one(record_type: &str, record: Value) -> Records {
        Records(vec![(record_type.to_string(), record)])
    }

    /// Adds a record.
    pub fn push(&mut self, record_type: &str, record: Value) {
        self.0.push((record_type.to_string(), record));
    }
}

/// Runs a plugin over a batch. Used by [`export_plugin!`]; not for direct use.
#[doc(hidden)]
pub fn run_batch<P: Plugin>(batch: Vec<wit::InputRecord>) -> Vec<wit::Outcome> {
    batch
        .into_iter()
        .map(|input| {
            let row = match Row::parse(input.ordinal, input.line, &input.fields) {
                Ok(row) => row,
                Err(problem) => return wit::Outcome::Rejected(vec![problem.into_wit()]),
            };
            match P::convert(&row) {
                Ok(Records(records)) => wit::Outcome::Converted(
                    records
                        .into_iter()
                        .map(|(record_type, record)| wit::OutputRecord {
                            record_type,
                            json: record.to_string(),
                        })
                        .collect(),
                ),
                Err(Rejected(problems)) => {
                    wit::Outcome::Rejected(problems.into_iter().map(Problem::into_wit).collect())
                }
            }
        })
        .collect()
}

/// Exports a type implementing [`Plugin`] as the component's `convert`.
#[cfg(not(feature = "native"))]
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        struct __ConformPluginExport;

        impl $crate::bindings::Guest for __ConformPluginExport {
            fn convert(
                batch: ::std::vec::Vec<$crate::bindings::conform::plugin::types::InputRecord>,
            ) -> ::std::vec::Vec<$crate::bindings::conform::plugin::types::Outcome> {
                $crate::run_batch::<$plugin>(batch)
            }
        }

        $crate::bindings::__export_converter!(__ConformPluginExport with_types_in $crate::bindings);
    };
}

/// With the `native` feature: exposes the plugin as a plain function
/// `native_convert` for the benchmark's native baseline.
#[cfg(feature = "native")]
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        /// Converts a batch natively (benchmark baseline).
        pub fn native_convert(
            batch: ::std::vec::Vec<$crate::bindings::conform::plugin::types::InputRecord>,
        ) -> ::std::vec::Vec<$crate::bindings::conform::plugin::types::Outcome> {
            $crate::run_batch::<$plugin>(batch)
        }
    };
}
