//! The row-accounting invariant, as a property: whatever the CSV — good rows,
//! ragged rows, bad numbers, unknown terms, quoted fields over several lines,
//! blank lines — every row ends up converted or rejected, exactly once, in
//! order: `rows_in = converted + rejected`. The same holds for the export's
//! mapping run by the interpreter, which converts and rejects the same rows
//! as the plugin, into the same records.

use crate::support;

use std::sync::OnceLock;

use conform_engine::mapped::MappedPlugin;
use conform_engine::pipeline::ConvertOptions;
use conform_engine::sink::MemorySink;
use conform_engine::Registry;
use conform_model::plugin::PluginManifest;
use conform_pack::Pack;
use conform_sandbox::{LoadedPlugin, Sandbox, SandboxConfig};
use proptest::prelude::*;

struct Fixture {
    pack: Pack,
    registry: Registry,
    plugin: LoadedPlugin,
    /// `mappings/jinggong-parts` in the interpreter.
    mapped: MappedPlugin,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let pack = Pack::load(support::root().join("standards/sample-regional")).unwrap();
        let registry = Registry::open(support::plugins_dir()).unwrap();
        let sandbox = Box::leak(Box::new(Sandbox::new(SandboxConfig::default()).unwrap()));
        let plugin = registry
            .load(registry.get("jinggong-parts").unwrap(), sandbox, &pack)
            .unwrap();
        let mapped = mapped(sandbox, &pack);
        Fixture {
            pack,
            registry,
            plugin,
            mapped,
        }
    })
}

/// The Jinggong mapping compiled against `pack`, in the interpreter.
fn mapped(sandbox: &Sandbox, pack: &Pack) -> MappedPlugin {
    let path = support::root().join("mappings/jinggong-parts/mapping.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mapping = conform_mapping::MappingFile::parse("mapping.toml", &text).unwrap();
    let program = conform_mapping::compile(&mapping, &text, pack).unwrap();
    let wasm = std::fs::read(support::interpreter()).unwrap();
    MappedPlugin::load(&mapping, &program, &wasm, sandbox).unwrap()
}

/// Converts `bytes` with `plugin`: the summary and what the sink got.
fn convert(
    plugin: &LoadedPlugin,
    manifest: &PluginManifest,
    options: &ConvertOptions,
    bytes: &[u8],
) -> (conform_model::FileSummary, MemorySink) {
    let mut sink = MemorySink::default();
    let summary = conform_engine::Conversion {
        pack: &fixture().pack,
        plugin,
        manifest,
        options,
    }
    .run(
        std::io::Cursor::new(bytes.to_vec()),
        "gen.csv",
        &mut sink,
        &mut |_| {},
    )
    .unwrap();
    (summary, sink)
}

const HEADER: &str =
    "零件号,名称,长度(英寸),宽度(英寸),高度(英寸),公差(英寸),重量(磅),包装,每包数量,供应商代码";

/// One data row of the Jinggong format, good or bad in one of several ways.
fn row() -> impl Strategy<Value = String> {
    let good = (1u32..99999, 1u32..500, 1u32..50).prop_map(|(n, len, mass)| {
        format!(
            "JG-{n},\"件, {n}\",{}.{},1.0,0.5,0.001,{mass}.5,纸箱,{},91370200MA3C1234X5",
            len / 10,
            len % 10,
            n % 100 + 1
        )
    });
    prop_oneof![
        4 => good,
        1 => Just("JG-1,名,N/A,1,1,0.001,1,纸箱,1,91370200MA3C1234X5".to_string()),
        1 => Just("JG-2,名,1,1,1,0.001,1,麻袋,1,91370200MA3C1234X5".to_string()),
        1 => Just("JG-3,名".to_string()),
        1 => Just(",名,1,1,1,0.001,1,纸箱,1,91370200MA3C1234X5".to_string()),
        1 => Just("JG-4,\"多行\n名称\",1,1,1,0.001,1,纸箱,0,91370200MA3C1234X5".to_string()),
        1 => Just("JG-5,名,1,1,1,0.001,1,纸箱,1,91370200MA3C1234X5,extra".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_row_is_converted_or_rejected_exactly_once(
        rows in proptest::collection::vec(row(), 0..120),
        blank_every in 0usize..7,
        batch_size in 1usize..40,
        workers in 1usize..4,
    ) {
        let fx = fixture();
        let mut text = format!("{HEADER}\r\n");
        for (i, row) in rows.iter().enumerate() {
            text += row;
            text += "\r\n";
            if blank_every > 0 && i % blank_every == 0 {
                text += "\r\n";
            }
        }
        let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
        let manifest = &fx.registry.get("jinggong-parts").unwrap().manifest;
        let options = ConvertOptions { workers, batch_size, ..ConvertOptions::default() };
        let (summary, sink) = convert(&fx.plugin, manifest, &options, &bytes);
        let (mapped_summary, mapped_sink) = convert(&fx.mapped.plugin, &fx.mapped.manifest, &options, &bytes);
        prop_assert_eq!(&mapped_sink.records, &sink.records, "the mapping makes the plugin's records");
        let outcomes = |sink: &MemorySink| -> Vec<(u64, String)> {
            sink.rejections.iter().map(|r| (r.ordinal, r.code.clone())).collect()
        };
        prop_assert_eq!(outcomes(&mapped_sink), outcomes(&sink), "the mapping rejects the plugin's rows");
        prop_assert_eq!(
            (mapped_summary.rows_in, mapped_summary.converted, mapped_summary.rejected),
            (summary.rows_in, summary.converted, summary.rejected)
        );

        prop_assert_eq!(summary.rows_in, rows.len() as u64);
        prop_assert_eq!(summary.rows_in, summary.converted + summary.rejected);
        prop_assert_eq!(summary.records_out, sink.records.len() as u64);
        prop_assert_eq!(summary.converted, sink.records.len() as u64, "one record per converted row");
        let mut rejected: Vec<u64> = sink.rejections.iter().map(|r| r.ordinal).collect();
        rejected.dedup();
        prop_assert_eq!(rejected.len() as u64, summary.rejected, "each rejected row is reported, once per row");
        prop_assert!(rejected.windows(2).all(|w| w[0] < w[1]), "rejections keep input order");
        let lines: Vec<u64> = sink.records.iter().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["source"]["line"].as_u64().unwrap()).collect();
        prop_assert!(lines.windows(2).all(|w| w[0] < w[1]), "records keep input order");
    }
}
