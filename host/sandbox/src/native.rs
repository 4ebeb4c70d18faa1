//! A natively compiled contract 0.2.0 converter, run with the sandbox's own
//! batch building and result checks but without wasm: the benchmark's
//! native baseline, so that it differs from a plugin by the sandbox alone.
//! Native code is not contained: this is for first-party code only.

use conform_model::PluginLimits;

use crate::input::InputRecord;
use crate::worker::{convert_v0_2, RowOutcome, Terms};

/// The contract's types as the host holds them (`Batch`, `BatchResult`, …).
pub use crate::bindings_v0_2::conform::plugin::types as contract;

/// What a native converter's results are held to, as a manifest gives it.
#[derive(Debug, Clone)]
pub struct NativeTerms {
    /// The plugin's name, for messages.
    pub name: String,
    /// Its limits.
    pub limits: PluginLimits,
    /// The record types it may emit.
    pub declared: Vec<String>,
}

/// Converts `batch` through `convert`: the rows built into cells as for a
/// plugin, the result checked row by row as a plugin's is.
pub fn convert(
    batch: &[InputRecord],
    terms: &NativeTerms,
    convert: impl FnOnce(&contract::Batch) -> contract::BatchResult,
) -> Vec<RowOutcome> {
    let held = Terms {
        name: &terms.name,
        limits: &terms.limits,
        declared: &terms.declared,
    };
    match convert_v0_2(batch, &held, |cells| Ok(convert(cells))) {
        Ok(outcomes) => outcomes,
        Err(fault) => {
            let problem = fault.problem(&terms.name, &terms.limits);
            vec![RowOutcome::Rejected(vec![problem]); batch.len()]
        }
    }
}
