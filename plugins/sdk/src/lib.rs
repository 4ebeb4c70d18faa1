//! The SDK for Conform converter plugins, contract `conform:plugin@0.2.0`.
//!
//! A plugin maps one enterprise's export format onto the record types of a
//! schema pack. With this crate a provider writes plain Rust over one row at
//! a time; the SDK handles batches, the typed cells and record trees that
//! cross the sandbox boundary, and the pack's tables (opened once per batch,
//! each answer remembered for the batch):
//!
//! ```ignore
//! use conform_plugin_sdk::tables::{CodeList, Quantity};
//! use conform_plugin_sdk::{export_plugin, Checks, Cx, Plugin, Record, Records, Rejected, ResultExt, Row};
//!
//! const PACKAGING: CodeList = CodeList::named("packaging");
//! const LENGTH_MM: Quantity = Quantity::named("units", "part", "length_mm");
//!
//! struct Parts;
//!
//! impl Plugin for Parts {
//!     fn convert(row: &Row, cx: &mut Cx) -> Result<Records, Rejected> {
//!         let mut checks = Checks::default();
//!         let length = checks.take(row.text("length_in").and_then(|v| LENGTH_MM.to_canonical(cx, v, "in")).at("length_in"));
//!         let packaging = checks.take(row.text("pack").and_then(|t| PACKAGING.code(cx, t)).at("pack"));
//!         checks.finish()?;
//!         let mut part = Record::new("part");
//!         part.decimal("length_mm", &length.unwrap()).text("packaging", &packaging.unwrap());
//!         Ok(Records::one(part))
//!     }
//! }
//!
//! export_plugin!(Parts);
//! ```
//!
//! Plugins are built for `wasm32-unknown-unknown` and turned into components
//! by `conform plugin build` (in this repository, `cargo xtask
//! build-plugins`); they import the contract and nothing else.

#[doc(hidden)]
// The generated functions are the contract's, as wide as it makes them.
#[allow(clippy::too_many_arguments)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "converter",
        path: "../wit/0.2.0",
        pub_export_macro: true,
        export_macro_name: "__export_converter",
        default_bindings_module: "conform_plugin_sdk::bindings",
        // Arguments to the host are lent, not copied into owned strings.
        ownership: Borrowing {
            duplicate_if_necessary: false
        },
    });
}

mod batch;
#[cfg(feature = "native")]
pub mod native;
mod output;
mod record;
mod row;
mod scaled;
pub mod tables;
mod text;
pub mod written;

pub use output::{encode_node, Node};
pub use record::{Array, Object, Record, Written};
pub use row::{Cell, Checks, Problem, Rejected, ResultExt, Row};
pub use tables::Cx;

use bindings::conform::plugin::types as wit;

/// A converter plugin: one input row in, records of the standard or problems out.
pub trait Plugin {
    /// Converts one row. Return every problem you can find at once, so that a
    /// person can fix the row in one go.
    fn convert(row: &Row<'_>, cx: &mut Cx) -> Result<Records, Rejected>;

    /// Called once a batch, before its rows are converted: the place to ask
    /// the host about a whole column at once (`Quantity::prefetch`), so that
    /// `convert` answers from memory. Does nothing unless a plugin says so.
    fn prepare(rows: &[Row<'_>], cx: &mut Cx) {
        let _ = (rows, cx);
    }
}

/// The records one input row became.
#[derive(Debug, Clone, Default)]
pub struct Records(Several);

/// Records, one without a list: most rows become one record.
#[derive(Debug, Clone, Default)]
enum Several {
    #[default]
    None,
    One(Record),
    Many(Vec<Record>),
}

impl Records {
    /// One record.
    pub fn one(record: Record) -> Records {
        Records(Several::One(record))
    }

    /// Adds a record.
    pub fn push(&mut self, record: Record) {
        self.0 = match std::mem::take(&mut self.0) {
            Several::None => Several::One(record),
            Several::One(first) => Several::Many(vec![first, record]),
            Several::Many(mut all) => {
                all.push(record);
                Several::Many(all)
            }
        };
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.records().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.records().is_empty()
    }

    /// The records in order, for tests of a plugin's mapping.
    pub fn iter(&self) -> std::slice::Iter<'_, Record> {
        self.records().iter()
    }

    /// The record, when there is exactly one.
    pub fn only(&self) -> Option<&Record> {
        match self.records() {
            [record] => Some(record),
            _ => None,
        }
    }

    /// The records, for tests of a plugin's mapping.
    pub fn records(&self) -> &[Record] {
        match &self.0 {
            Several::None => &[],
            Several::One(record) => std::slice::from_ref(record),
            Several::Many(all) => all,
        }
    }

    /// Gives the records' buffers to the next records.
    pub(crate) fn recycle(self) {
        match self.0 {
            Several::None => {}
            Several::One(record) => record.recycle(),
            Several::Many(all) => all.into_iter().for_each(Record::recycle),
        }
    }
}

impl<'a> IntoIterator for &'a Records {
    type Item = &'a Record;
    type IntoIter = std::slice::Iter<'a, Record>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Runs a plugin over a batch. Used by [`export_plugin!`]; not for direct use.
#[doc(hidden)]
pub fn run_batch<P: Plugin>(batch: wit::Batch) -> wit::BatchResult {
    let batch = batch::Batch::new(batch);
    let mut cx = Cx::for_batch(&batch.inner.text);
    let mut out = output::Output::default();
    let rows: Vec<Row<'_>> = (0..batch.rows()).map(|index| batch.row(index)).collect();
    P::prepare(&rows, &mut cx);
    for row in &rows {
        match P::convert(row, &mut cx) {
            Ok(records) => out.converted(records),
            Err(Rejected(problems)) => out.rejected(problems),
        }
    }
    out.finish()
}

/// Exports a type implementing [`Plugin`] as the component's `convert`.
#[cfg(not(feature = "native"))]
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        struct __ConformPluginExport;

        impl $crate::bindings::Guest for __ConformPluginExport {
            fn convert(
                batch: $crate::bindings::conform::plugin::types::Batch,
            ) -> $crate::bindings::conform::plugin::types::BatchResult {
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
            batch: $crate::bindings::conform::plugin::types::Batch,
        ) -> $crate::bindings::conform::plugin::types::BatchResult {
            $crate::run_batch::<$plugin>(batch)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_counted_and_read_in_order() {
        let mut records = Records::default();
        assert!(records.is_empty() && records.only().is_none());
        let mut first = Record::new("part");
        first.text("sku", "A-1");
        records.push(first);
        assert_eq!(records.len(), 1);
        assert_eq!(
            records.only().and_then(|r| r.get("sku")),
            Some(Written::Text("A-1"))
        );
        records.push(Record::new("package"));
        let types: Vec<&str> = records.iter().map(Record::record_type).collect();
        assert_eq!(types, ["part", "package"]);
        assert!(records.only().is_none());
        assert_eq!((&records).into_iter().count(), 2);
    }

    #[test]
    fn a_rejection_lists_its_codes() {
        let rejected = Rejected(vec![
            Problem::new("missing-field", "no sku").at("sku"),
            Problem::new("not-a-number", "`x`").at("qty"),
        ]);
        assert_eq!(rejected.codes(), ["missing-field", "not-a-number"]);
    }
}
