//! The native baseline: the same plugin code, compiled as native Rust into
//! this process, in the same pipeline. The difference to the wasm pipeline is
//! what the sandbox costs.

use std::sync::Arc;

use anyhow::{bail, Result};
use conform_engine::pipeline::{BatchConverter, Converters};
use conform_model::PluginManifest;
use conform_pack::Standard;
use conform_plugin_sdk::bindings::conform::plugin::types as guest;
use conform_sandbox::native::{contract, NativeTerms};
use conform_sandbox::{InputRecord, RowOutcome};

type NativeFn = fn(guest::Batch) -> guest::BatchResult;

/// A first-party plugin compiled natively (every one is on contract 0.2.0:
/// cells in, record trees out, through the sandbox's own batch building and
/// result checks).
pub struct NativePlugin {
    convert: NativeFn,
    /// What its results are held to.
    terms: NativeTerms,
}

impl NativePlugin {
    /// The native build of a first-party plugin, held to its manifest.
    pub fn named(name: &str, manifest: &PluginManifest) -> Result<NativePlugin> {
        let convert: NativeFn = match name {
            "jinggong-parts" => jinggong_parts::native_convert,
            "hengtai-parts" => hengtai_parts::native_convert,
            "orchard-coop-apples" => orchard_coop_apples::native_convert,
            "valley-farms-apples" => valley_farms_apples::native_convert,
            "swift-express" => swift_express::native_convert,
            "eastroute-waybills" => eastroute_waybills::native_convert,
            other => bail!("no native build of plugin `{other}`"),
        };
        let terms = NativeTerms {
            name: name.into(),
            limits: manifest.limits,
            declared: manifest.target.record_types.clone(),
        };
        Ok(NativePlugin { convert, terms })
    }
}

impl Converters for NativePlugin {
    fn worker(&self, standard: Arc<Standard>) -> Box<dyn BatchConverter> {
        Box::new(NativeWorker {
            convert: self.convert,
            terms: self.terms.clone(),
            standard,
        })
    }
}

struct NativeWorker {
    convert: NativeFn,
    terms: NativeTerms,
    standard: Arc<Standard>,
}

impl BatchConverter for NativeWorker {
    fn convert(&mut self, batch: &[InputRecord]) -> Vec<RowOutcome> {
        let convert = self.convert;
        conform_sandbox::native::convert(batch, &self.terms, |cells| {
            // Copied in and out, as the sandbox copies through guest memory.
            let result = conform_plugin_sdk::native::with_standard(&self.standard, || {
                convert(batch_in(cells))
            });
            result_out(result)
        })
    }
}

/// The host's batch as the plugin's SDK types it.
fn batch_in(batch: &contract::Batch) -> guest::Batch {
    guest::Batch {
        text: batch.text.clone(),
        columns: batch
            .columns
            .iter()
            .map(|column| {
                column
                    .iter()
                    .map(|step| match step {
                        contract::Step::Key(k) => guest::Step::Key(k.clone()),
                        contract::Step::Index(i) => guest::Step::Index(*i),
                    })
                    .collect()
            })
            .collect(),
        cells: batch.cells.clone(),
        rows: batch
            .rows
            .iter()
            .map(|r| guest::Row {
                ordinal: r.ordinal,
                line: r.line,
                cells: guest::Range {
                    start: r.cells.start,
                    len: r.cells.len,
                },
            })
            .collect(),
    }
}

fn range_out(r: guest::Range) -> contract::Range {
    contract::Range {
        start: r.start,
        len: r.len,
    }
}

/// The plugin's result as the host types it.
fn result_out(result: guest::BatchResult) -> contract::BatchResult {
    contract::BatchResult {
        text: result.text,
        names: result.names,
        nodes: result.nodes,
        records: result
            .records
            .into_iter()
            .map(|r| contract::OutputRecord {
                record_type: r.record_type,
                nodes: range_out(r.nodes),
            })
            .collect(),
        problems: result
            .problems
            .into_iter()
            .map(|p| contract::Problem {
                field: p.field,
                target: p.target,
                code: p.code,
                message: p.message,
            })
            .collect(),
        outcomes: result
            .outcomes
            .into_iter()
            .map(|o| match o {
                guest::Outcome::Converted(r) => contract::Outcome::Converted(range_out(r)),
                guest::Outcome::Rejected(r) => contract::Outcome::Rejected(range_out(r)),
            })
            .collect(),
    }
}
