//! The JSON Schemas of Conform's documents, as published in `schemas/`.

use schemars::{schema_for, JsonSchema};
use serde_json::Value;

use crate::pack::{
    ClassSetTable, CodeListTable, RecordRulesFile, SchemeTable, TermLevelsTable, ThresholdsTable,
    TimeTable, UnitsTable,
};
use crate::pack_format1::{GradingTable, PackagingTable, ServiceLevelTable};
use crate::{FileSummary, OutputLine, PackManifest, PluginManifest, Rejection, Summary};

fn schema<T: JsonSchema>() -> Value {
    serde_json::to_value(schema_for!(T)).expect("schemas serialize")
}

/// Every schema with its file name in `schemas/`.
pub fn all() -> Vec<(&'static str, Value)> {
    vec![
        ("plugin-manifest.schema.json", schema::<PluginManifest>()),
        ("pack-manifest.schema.json", schema::<PackManifest>()),
        ("pack-units.schema.json", schema::<UnitsTable>()),
        ("pack-grading.schema.json", schema::<GradingTable>()),
        (
            "pack-service-levels.schema.json",
            schema::<ServiceLevelTable>(),
        ),
        ("pack-packaging.schema.json", schema::<PackagingTable>()),
        ("pack-time.schema.json", schema::<TimeTable>()),
        ("pack-code-list.schema.json", schema::<CodeListTable>()),
        ("pack-class-set.schema.json", schema::<ClassSetTable>()),
        ("pack-thresholds.schema.json", schema::<ThresholdsTable>()),
        ("pack-scheme.schema.json", schema::<SchemeTable>()),
        ("pack-term-levels.schema.json", schema::<TermLevelsTable>()),
        ("pack-record-rules.schema.json", schema::<RecordRulesFile>()),
        ("output-line.schema.json", schema::<OutputLine>()),
        ("rejection.schema.json", schema::<Rejection>()),
        ("file-summary.schema.json", schema::<FileSummary>()),
        ("summary.schema.json", schema::<Summary>()),
        ("api-error.schema.json", schema::<crate::api::ErrorBody>()),
    ]
}

#[cfg(test)]
mod tests {
    /// The committed schemas match the types (`cargo xtask schemas` regenerates them).
    #[test]
    fn committed_schemas_are_fresh() {
        let dir = std::path::Path::new(
            &std::env::var("CARGO_MANIFEST_DIR").expect("cargo runs the tests"),
        )
        .join("../../schemas");
        for (name, schema) in super::all() {
            let expected = format!("{}\n", serde_json::to_string_pretty(&schema).unwrap());
            let actual = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
            assert!(
                actual == expected,
                "schemas/{name} is stale: run `cargo xtask schemas`"
            );
        }
    }
}
