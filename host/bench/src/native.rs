//! The native baseline: the same plugin code, compiled as native Rust into
//! this process, in the same pipeline. The difference to the wasm pipeline is
//! what the sandbox costs.

use std::sync::Arc;

use anyhow::{bail, Result};
use conform_engine::pipeline::{BatchConverter, Converters};
use conform_pack::Standard;
use conform_plugin_sdk::bindings::conform::plugin::types as guest;
use conform_sandbox::{InputRecord, OutputRecord, Problem, RecordBody, RowOutcome};

type NativeFn = fn(Vec<guest::InputRecord>) -> Vec<guest::Outcome>;

/// A first-party plugin compiled natively.
pub struct NativePlugin(NativeFn);

impl NativePlugin {
    /// The native build of a first-party plugin.
    pub fn named(name: &str) -> Result<NativePlugin> {
        let f: NativeFn = match name {
            "jinggong-parts" => jinggong_parts::native_convert,
            "hengtai-parts" => hengtai_parts::native_convert,
            "orchard-coop-apples" => orchard_coop_apples::native_convert,
            "valley-farms-apples" => valley_farms_apples::native_convert,
            "swift-express" => swift_express::native_convert,
            "eastroute-waybills" => eastroute_waybills::native_convert,
            other => bail!("no native build of plugin `{other}`"),
        };
        Ok(NativePlugin(f))
    }
}

struct NativeWorker {
    f: NativeFn,
    standard: Arc<Standard>,
}

impl Converters for NativePlugin {
    fn worker(&self, standard: Arc<Standard>) -> Box<dyn BatchConverter> {
        Box::new(NativeWorker {
            f: self.0,
            standard,
        })
    }
}

impl BatchConverter for NativeWorker {
    fn convert(&mut self, batch: &[InputRecord]) -> Vec<RowOutcome> {
        // Copy the rows in, as the sandbox copies them into guest memory.
        let inputs = batch
            .iter()
            .map(|r| guest::InputRecord {
                ordinal: r.ordinal,
                line: r.line,
                fields: r.fields.clone(),
            })
            .collect();
        let outcomes =
            conform_plugin_sdk::native::with_standard(&self.standard, || (self.f)(inputs));
        outcomes
            .into_iter()
            .map(|o| match o {
                guest::Outcome::Converted(records) => RowOutcome::Converted(
                    records
                        .into_iter()
                        .map(|r| OutputRecord {
                            record_type: r.record_type,
                            body: RecordBody::Json(r.json),
                        })
                        .collect(),
                ),
                guest::Outcome::Rejected(problems) => RowOutcome::Rejected(
                    problems
                        .into_iter()
                        .map(|p| Problem {
                            field: p.field,
                            target: None,
                            code: p.code,
                            message: p.message,
                        })
                        .collect(),
                ),
            })
            .collect()
    }
}
