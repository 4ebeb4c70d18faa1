//! The native baseline: the same plugin code, compiled as native Rust into
//! this process, in the same pipeline. The difference to the wasm pipeline is
//! what the sandbox costs.

use std::sync::Arc;

use anyhow::{bail, Result};
use conform_engine::pipeline::{BatchConverter, Converters};
use conform_model::PluginManifest;
use conform_pack::Standard;
use conform_plugin_sdk::bindings::conform::plugin::types as guest2;
use conform_sandbox::native::{contract, NativeTerms};
use conform_sandbox::{InputRecord, RowOutcome};

type NativeFnV0_2 = fn(guest2::Batch) -> guest2::BatchResult;

/// A first-party plugin compiled natively (every one is on contract 0.2.0:
/// cells in, record trees out, through the sandbox's own batch building and
/// result checks).
pub enum NativePlugin {
    /// The plugin's converter and what its results are held to.
    V0_2(NativeFnV0_2, NativeTerms),
}

impl NativePlugin {
    /// The native build of a first-party plugin, held to its manifest.
    pub fn named(name: &str, manifest: &PluginManifest) -> Result<NativePlugin> {
        let v0_2 = |f: NativeFnV0_2| {
            let terms = NativeTerms {
                name: name.into(),
                limits: manifest.limits,
                declared: manifest.target.record_types.clone(),
            };
            NativePlugin::V0_2(f, terms)
        };
        Ok(match name {
            "jinggong-parts" => v0_2(jinggong_parts::native_convert),
            "hengtai-parts" => v0_2(hengtai_parts::native_convert),
            "orchard-coop-apples" => v0_2(orchard_coop_apples::native_convert),
            "valley-farms-apples" => v0_2(valley_farms_apples::native_convert),
            "swift-express" => v0_2(swift_express::native_convert),
            "eastroute-waybills" => v0_2(eastroute_waybills::native_convert),
            other => bail!("no native build of plugin `{other}`"),
        })
    }
}

impl Converters for NativePlugin {
    fn worker(&self, standard: Arc<Standard>) -> Box<dyn BatchConverter> {
        match self {
            NativePlugin::V0_2(f, terms) => Box::new(NativeWorkerV0_2 {
                f: *f,
                terms: terms.clone(),
                standard,
            }),
        }
    }
}

struct NativeWorkerV0_2 {
    f: NativeFnV0_2,
    terms: NativeTerms,
    standard: Arc<Standard>,
}

impl BatchConverter for NativeWorkerV0_2 {
    fn convert(&mut self, batch: &[InputRecord]) -> Vec<RowOutcome> {
        let f = self.f;
        conform_sandbox::native::convert(batch, &self.terms, |cells| {
            // Copied in and out, as the sandbox copies through guest memory.
            let result =
                conform_plugin_sdk::native::with_standard(&self.standard, || f(batch_in(cells)));
            result_out(result)
        })
    }
}

/// The host's batch as the plugin's SDK types it.
fn batch_in(batch: &contract::Batch) -> guest2::Batch {
    guest2::Batch {
        text: batch.text.clone(),
        columns: batch
            .columns
            .iter()
            .map(|column| {
                column
                    .iter()
                    .map(|step| match step {
                        contract::Step::Key(k) => guest2::Step::Key(k.clone()),
                        contract::Step::Index(i) => guest2::Step::Index(*i),
                    })
                    .collect()
            })
            .collect(),
        cells: batch
            .cells
            .iter()
            .map(|c| guest2::CellAt {
                column: c.column,
                value: match c.value {
                    contract::Cell::Text(s) => guest2::Cell::Text(span_in(s)),
                    contract::Cell::Number(s) => guest2::Cell::Number(span_in(s)),
                    contract::Cell::Boolean(b) => guest2::Cell::Boolean(b),
                    contract::Cell::Null => guest2::Cell::Null,
                    contract::Cell::EmptyObject => guest2::Cell::EmptyObject,
                    contract::Cell::EmptyArray => guest2::Cell::EmptyArray,
                },
            })
            .collect(),
        rows: batch
            .rows
            .iter()
            .map(|r| guest2::Row {
                ordinal: r.ordinal,
                line: r.line,
                cells: guest2::Range {
                    start: r.cells.start,
                    len: r.cells.len,
                },
            })
            .collect(),
    }
}

fn span_in(s: contract::Span) -> guest2::Span {
    guest2::Span {
        start: s.start,
        len: s.len,
    }
}

fn range_out(r: guest2::Range) -> contract::Range {
    contract::Range {
        start: r.start,
        len: r.len,
    }
}

/// The plugin's result as the host types it.
fn result_out(result: guest2::BatchResult) -> contract::BatchResult {
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
                guest2::Outcome::Converted(r) => contract::Outcome::Converted(range_out(r)),
                guest2::Outcome::Rejected(r) => contract::Outcome::Rejected(range_out(r)),
            })
            .collect(),
    }
}
