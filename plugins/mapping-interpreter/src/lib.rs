//! The mapping interpreter: a plugin of contract 0.2.0 that runs a
//! declarative mapping instead of code of its own. The host checks a
//! mapping file against its pack, compiles it into a
//! [`conform_mapping::Program`] and hands it over through the one extra
//! import `conform:mapping/program@0.1.0`; the interpreter compiles it once
//! per instance ([`compiled::Compiled`]) and converts each row with the
//! SDK's tables, in the sandbox, under the plugin's limits, like any
//! plugin. A row with several bad fields is rejected with every problem,
//! each naming the record field (`target`) and the input column (`field`).

mod compiled;
mod expr;
mod value;

use std::sync::OnceLock;

use conform_plugin_sdk::{export_plugin, Cx, Plugin, Problem, Records, Rejected, Row};

pub use compiled::Compiled;

/// The host's side of `conform:mapping/program@0.1.0`.
mod program {
    wit_bindgen::generate!({
        path: "../wit/mapping-0.1.0",
        world: "interpreter",
    });
}

/// The mapping interpreter as a plugin.
pub struct Interpreter;

/// The instance's program, compiled on the first batch; `Err` says why the
/// host's program cannot run (every row is rejected with it).
static COMPILED: OnceLock<Result<Compiled, String>> = OnceLock::new();

fn compiled() -> Result<&'static Compiled, Rejected> {
    COMPILED
        .get_or_init(|| Compiled::from_json(&program::conform::mapping::program::source()))
        .as_ref()
        .map_err(|why| Rejected(vec![Problem::new("mapping-program", why.clone())]))
}

impl Plugin for Interpreter {
    fn prepare(rows: &[Row<'_>], cx: &mut Cx) {
        if let Ok(compiled) = compiled() {
            compiled.prefetch(rows, cx);
        }
    }

    fn convert(row: &Row<'_>, cx: &mut Cx) -> Result<Records, Rejected> {
        compiled()?.convert(row, cx)
    }
}

export_plugin!(Interpreter);
