//! The pack manifest and the shapes of its rule tables.
//!
//! A pack is a folder: `pack.toml` (this manifest), one JSON Schema per record
//! type, and one TOML file per rule table. These types only describe the
//! documents; `conform-pack` loads and checks them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use semver::Version;
use serde::{Deserialize, Serialize};

use crate::ManifestError;

/// The most record types one pack may have.
pub const MAX_RECORD_TYPES: usize = 256;

/// The manifest of a schema pack (`pack.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackManifest {
    /// The pack's id: lowercase letters, digits and `-`.
    pub id: String,
    /// The pack's version (semver).
    #[schemars(with = "String")]
    pub version: Version,
    /// The standards body that publishes the pack.
    pub publisher: String,
    /// What the pack is, for people.
    #[serde(default)]
    pub description: String,
    /// The record rules JSON Schema cannot state (a sum over an array, no
    /// item twice), checked after the schema: a file relative to the pack
    /// folder. Format 2 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_rules: Option<String>,
    /// Record type name → JSON Schema file, relative to the pack folder.
    pub record_types: BTreeMap<String, String>,
    /// Format 1: the five rule tables of the first sample standard. A pack
    /// has these or [`PackManifest::tables`], not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<RuleFiles>,
    /// Format 2: the pack's own tables, by name, each of a generic kind.
    /// None is required.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tables: BTreeMap<String, TableRef>,
    /// Format 2: which table serves each service of an older plugin
    /// contract, by contract version (`"0.1.0"`). A format-1 pack serves
    /// 0.1.0 implicitly.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub contract: BTreeMap<String, ContractTables>,
}

/// The most tables one pack may declare.
pub const MAX_TABLES: usize = 256;

/// A table a pack declares: its kind and its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableRef {
    /// What kind of table it is, which says what its file holds and what
    /// plugins may ask of it.
    pub kind: TableKind,
    /// The table's file, relative to the pack folder.
    pub file: String,
}

/// The generic kinds of table a pack can declare (see `docs/contract-0.2.0.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TableKind {
    /// Codes with names and aliases, and crosswalks per source.
    CodeList,
    /// Ordered classes, best first.
    ClassSet,
    /// A quantity classified by bounds, with a direction.
    Thresholds,
    /// Classifications combined ("the lower of").
    Scheme,
    /// Units, compound units, and the canonical unit and decimals per field.
    UnitCatalogue,
    /// Terms per scope → an amount → a level (carriers' service terms).
    TermLevels,
    /// The standard's time format.
    TimeFormat,
}

impl TableKind {
    /// The kind as a manifest writes it (`code-list`).
    pub fn name(self) -> &'static str {
        match self {
            TableKind::CodeList => "code-list",
            TableKind::ClassSet => "class-set",
            TableKind::Thresholds => "thresholds",
            TableKind::Scheme => "scheme",
            TableKind::UnitCatalogue => "unit-catalogue",
            TableKind::TermLevels => "term-levels",
            TableKind::TimeFormat => "time-format",
        }
    }

    /// Every kind, in the order declared.
    pub const ALL: [TableKind; 7] = [
        TableKind::CodeList,
        TableKind::ClassSet,
        TableKind::Thresholds,
        TableKind::Scheme,
        TableKind::UnitCatalogue,
        TableKind::TermLevels,
        TableKind::TimeFormat,
    ];
}

use crate::pack_format1::RuleFiles;

/// The tables that serve the 0.1.0 contract's services, for a format-2
/// pack that still serves 0.1.0 plugins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ContractTables {
    /// The unit catalogue of `to-canonical`.
    pub to_canonical: Option<String>,
    /// The scheme of `grade`.
    pub grade: Option<String>,
    /// The term levels of `service-level`.
    pub service_level: Option<String>,
    /// The code list of `package-code`.
    pub package_code: Option<String>,
    /// The time format of `parse-time`, `parse-date` and `add-hours`.
    pub time: Option<String>,
}

impl PackManifest {
    /// Parses and checks a pack manifest from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ManifestError> {
        let manifest: PackManifest = toml::from_str(text)?;
        if !is_pack_id(&manifest.id) {
            return Err(ManifestError::Invalid(format!(
                "pack id `{}` must be lowercase letters, digits or `-`",
                manifest.id
            )));
        }
        if manifest.record_types.len() > MAX_RECORD_TYPES {
            return Err(ManifestError::Invalid(format!(
                "record_types names {} record types, more than the {MAX_RECORD_TYPES} a pack may have",
                manifest.record_types.len()
            )));
        }
        if manifest.record_types.is_empty() {
            return Err(ManifestError::Invalid(
                "record_types must name at least one record type".into(),
            ));
        }
        manifest.check_format()?;
        Ok(manifest)
    }
}

impl PackManifest {
    /// Whether the pack declares its own tables (format 2) rather than the
    /// five rule tables of format 1.
    pub fn is_format_2(&self) -> bool {
        self.rules.is_none()
    }

    /// One format, table names a file system and a plugin can carry,
    /// contract sections only where they mean something.
    fn check_format(&self) -> Result<(), ManifestError> {
        let invalid = |m: String| Err(ManifestError::Invalid(m));
        if self.rules.is_some() && (!self.tables.is_empty() || self.record_rules.is_some()) {
            return invalid("a pack has either `[rules]` (format 1) or `[tables]` and `record_rules` (format 2), not both; move the rule files into `[tables]`".into());
        }
        if self.rules.is_some() && !self.contract.is_empty() {
            return invalid("`[contract]` belongs to format 2: a pack with `[rules]` serves contract 0.1.0 already".into());
        }
        if self.tables.len() > MAX_TABLES {
            return invalid(format!(
                "`[tables]` declares {} tables, more than the {MAX_TABLES} a pack may have",
                self.tables.len()
            ));
        }
        if let Some(bad) = self.tables.keys().find(|name| !is_table_name(name)) {
            return invalid(format!("table name `{bad}` must start with a lowercase letter and hold only lowercase letters, digits and `-` (64 at most)"));
        }
        for (version, served) in &self.contract {
            if version != "0.1.0" {
                return invalid(format!("`[contract.\"{version}\"]`: only contract 0.1.0 is served through `[contract]`; newer plugins name tables themselves"));
            }
            let named = [
                (
                    "to-canonical",
                    &served.to_canonical,
                    TableKind::UnitCatalogue,
                ),
                ("grade", &served.grade, TableKind::Scheme),
                (
                    "service-level",
                    &served.service_level,
                    TableKind::TermLevels,
                ),
                ("package-code", &served.package_code, TableKind::CodeList),
                ("time", &served.time, TableKind::TimeFormat),
            ];
            for (service, table, kind) in named {
                let Some(table) = table else { continue };
                match self.tables.get(table) {
                    Some(declared) if declared.kind == kind => {}
                    Some(declared) => {
                        return invalid(format!("`[contract.\"{version}\"]` {service} = `{table}`: that table is a {}, and {service} needs a {}", declared.kind.name(), kind.name()));
                    }
                    None => {
                        return invalid(format!("`[contract.\"{version}\"]` {service} = `{table}`: no such table in `[tables]`"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whether `id` may be a pack's id: lowercase letters, digits or `-` (it
/// names the pack's folder).
pub fn is_pack_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A table name: a lowercase letter, then lowercase letters, digits and `-`,
/// 64 characters at most.
fn is_table_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The units table: units the pack adds to the built-in SI and imperial set,
/// and the canonical unit and decimals of every quantity field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitsTable {
    /// Base units the pack adds beside the built-in metre and kilogram:
    /// symbol → the quantity it counts, for messages (`point = "defect
    /// count"`). At most six.
    #[serde(default)]
    pub bases: BTreeMap<String, String>,
    /// Names of compound quantities, for messages: name → a unit of that
    /// quantity (`"areal density" = "g/m2"`).
    #[serde(default)]
    pub quantities: BTreeMap<String, String>,
    /// Unit symbol → its exact definition in another unit.
    #[serde(default)]
    pub units: BTreeMap<String, UnitDefinition>,
    /// Record type → field → canonical unit and decimals.
    #[serde(default)]
    pub fields: BTreeMap<String, BTreeMap<String, CanonicalUnit>>,
    /// The table's refusals as the pack words them (`unknown-unit`, …).
    #[serde(default)]
    pub errors: BTreeMap<String, ErrorWording>,
}

/// A unit defined as an exact multiple of another (`斤` = 0.5 `kg`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitDefinition {
    /// The multiple: a decimal (`0.5`) or a fraction (`1/30`).
    pub factor: String,
    /// The unit it multiplies: built in or defined in the table, with an
    /// optional power from 1 to 4 (`yd^2`).
    pub unit: String,
    /// The unit it is divided by, with an optional power (`m^2` in `g/m2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
}

/// The canonical unit of a field and the decimals its values are rounded to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CanonicalUnit {
    /// The unit symbol (`mm`, `g`, `kg`).
    pub unit: String,
    /// Decimals after rounding half to even (GB/T 8170).
    pub decimals: u32,
}

/// The time format table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeTable {
    /// The offset every time is written in, and that local times are read in
    /// (`+08:00`).
    pub offset: String,
    /// What the offset's zone is called, for people.
    #[serde(default)]
    pub zone_name: String,
}

/// How a table compares a term with its entries. Both sides are first
/// trimmed of Unicode white space (U+3000 IDEOGRAPHIC SPACE included); then
/// they must be equal as written (`exact`), equal once ASCII letters are
/// folded (`ascii-case`: `Navy` = `navy`, other scripts as written), or
/// equal once lowercased by Unicode's rules (`unicode-lowercase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Matching {
    /// Equal as written, once trimmed.
    Exact,
    /// Equal once trimmed and ASCII letters folded.
    AsciiCase,
    /// Equal once trimmed and lowercased.
    UnicodeLowercase,
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn every_table_kind_is_documented_for_publishers() {
        let path = std::path::Path::new(
            &std::env::var("CARGO_MANIFEST_DIR").expect("cargo runs the tests"),
        )
        .join("../../standards/README.md");
        let guide = std::fs::read_to_string(path).unwrap();
        for kind in TableKind::ALL {
            let heading = format!("### `{}`", kind.name());
            assert!(
                guide.contains(&heading),
                "standards/README.md lacks {heading}"
            );
            let serialized = serde_json::to_value(kind).unwrap();
            assert_eq!(serialized.as_str(), Some(kind.name()));
        }
    }

    const HEAD: &str = "id = \"sample-textile\"\nversion = \"1.0.0\"\npublisher = \"Sample Textile Cluster Association (sample)\"\n";

    fn manifest(rest: &str) -> Result<PackManifest, ManifestError> {
        PackManifest::from_toml(&format!("{HEAD}{rest}"))
    }

    #[test]
    fn a_format_2_pack_names_its_tables_and_their_kinds() {
        let m = manifest(
            r#"record_rules = "rules/record-rules.toml"
[record_types]
fabric_roll = "schemas/fabric_roll.schema.json"
[tables]
units = { kind = "unit-catalogue", file = "rules/units.toml" }
colours = { kind = "code-list", file = "rules/colours.toml" }
fibres = { kind = "code-list", file = "rules/fibres.toml" }
fabric-grades = { kind = "class-set", file = "rules/fabric-grades.toml" }
declared-grades = { kind = "code-list", file = "rules/declared-grades.toml" }
defects = { kind = "thresholds", file = "rules/defects.toml" }
grade = { kind = "scheme", file = "rules/grade.toml" }
time = { kind = "time-format", file = "rules/time.toml" }
"#,
        )
        .unwrap();
        assert!(m.is_format_2());
        assert_eq!(m.tables.len(), 8);
        assert_eq!(m.tables["defects"].kind, TableKind::Thresholds);
        assert_eq!(m.record_rules.as_deref(), Some("rules/record-rules.toml"));
    }

    #[test]
    fn no_table_is_required() {
        let m = manifest("[record_types]\npart = \"schemas/part.schema.json\"\n").unwrap();
        assert!(m.is_format_2() && m.tables.is_empty());
    }

    #[test]
    fn a_format_2_pack_may_serve_contract_0_1_0_through_named_tables() {
        let m = manifest(
            r#"[record_types]
part = "schemas/part.schema.json"
[tables]
units = { kind = "unit-catalogue", file = "rules/units.toml" }
packaging = { kind = "code-list", file = "rules/packaging.toml" }
[contract."0.1.0"]
to-canonical = "units"
package-code = "packaging"
"#,
        )
        .unwrap();
        assert_eq!(
            m.contract["0.1.0"].package_code.as_deref(),
            Some("packaging")
        );
    }

    #[test]
    fn mixed_formats_bad_names_and_wrong_contract_tables_are_refused_saying_what_to_do() {
        let refused = |rest: &str| manifest(rest).unwrap_err().to_string();
        let both = refused(
            "[record_types]\np = \"s.json\"\n[rules]\nunits = \"u\"\ngrading = \"g\"\nservice_levels = \"s\"\npackaging = \"p\"\ntime = \"t\"\n[tables]\nunits = { kind = \"unit-catalogue\", file = \"u\" }\n",
        );
        assert!(both.contains("not both"), "{both}");
        let name = refused("[record_types]\np = \"s.json\"\n[tables]\nColours = { kind = \"code-list\", file = \"c\" }\n");
        assert!(name.contains("table name `Colours`"), "{name}");
        let kind = refused("[record_types]\np = \"s.json\"\n[tables]\nunits = { kind = \"code-list\", file = \"u\" }\n[contract.\"0.1.0\"]\nto-canonical = \"units\"\n");
        assert!(
            kind.contains("is a code-list, and to-canonical needs a unit-catalogue"),
            "{kind}"
        );
        let missing = refused(
            "[record_types]\np = \"s.json\"\n[contract.\"0.1.0\"]\ngrade = \"apple-grade\"\n",
        );
        assert!(missing.contains("no such table"), "{missing}");
        let version = refused("[record_types]\np = \"s.json\"\n[contract.\"0.2.0\"]\n");
        assert!(version.contains("only contract 0.1.0"), "{version}");
        let unknown_kind = refused(
            "[record_types]\np = \"s.json\"\n[tables]\nx = { kind = \"lookup\", file = \"x\" }\n",
        );
        assert!(unknown_kind.contains("unknown variant"), "{unknown_kind}");
    }
}

/// The file of a `code-list` table: codes, the names and terms that stand
/// for them, and crosswalks per scope (a supplier, a grading system).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeListTable {
    /// How terms are matched.
    #[serde(rename = "match")]
    pub matching: Matching,
    /// Whether a code stands for itself as a term (default: yes).
    #[serde(default = "default_true")]
    pub code_is_term: bool,
    /// The table whose values are this list's codes (a class set), instead
    /// of `[codes]`; checked where the two meet (a scheme).
    #[serde(default)]
    pub codes_from: Option<String>,
    /// How scope ids and names are matched (default: exact).
    #[serde(default)]
    pub scope_match: Option<Matching>,
    /// Whether every lookup must name a known scope.
    #[serde(default)]
    pub scope_required: bool,
    /// Code → its label (a text, not a term) or its label and names.
    #[serde(default)]
    pub codes: BTreeMap<String, CodeEntry>,
    /// Unscoped terms → codes.
    #[serde(default)]
    pub terms: BTreeMap<String, String>,
    /// Scope id → its other names and its own terms.
    #[serde(default)]
    pub scopes: BTreeMap<String, CodeScope>,
    /// The table's refusals as the pack words them, by case
    /// (`unknown-term`, `unknown-scope`, `scope-required`).
    #[serde(default)]
    pub errors: BTreeMap<String, ErrorWording>,
}

fn default_true() -> bool {
    true
}

/// A code of a code list: its label alone, or its names (the first is the
/// label unless one is given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CodeEntry {
    /// A label for people; not a term.
    Label(String),
    /// Names that stand for the code, and an optional label.
    Named(NamedCode),
}

/// The names of a code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedCode {
    /// The label, if not the first name.
    #[serde(default)]
    pub label: Option<String>,
    /// Terms that stand for the code.
    #[serde(default)]
    pub names: Vec<String>,
}

/// A scope of a code list: its other names, and terms that mean a code only
/// within it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeScope {
    /// Other names of the scope.
    #[serde(default)]
    pub names: Vec<String>,
    /// Term → code, within this scope.
    #[serde(default)]
    pub terms: BTreeMap<String, String>,
}

/// The file `record_rules` names: rules a record must keep that JSON Schema
/// cannot state, checked by the host on every record after its schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordRulesFile {
    /// The rules, each checked in file order.
    #[serde(default)]
    pub rule: Vec<RecordRule>,
}

/// One record rule. Pointers are RFC 6901 JSON pointers: `array` from the
/// record, `value` and `key` from each of its items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RecordRule {
    /// The items' values add up to a total, exactly (a composition's
    /// percentages make 100).
    SumEquals {
        /// The record type the rule applies to.
        record_type: String,
        /// The array whose items are summed (`/composition`).
        array: String,
        /// Each item's number (`/percent`).
        value: String,
        /// The total, as decimal text (`"100"`).
        total: String,
        /// The rejection's code (default `sum-mismatch`).
        #[serde(default)]
        code: Option<String>,
        /// The message, with `{sum}`, `{total}` and `{array}`.
        #[serde(default)]
        message: Option<String>,
    },
    /// No two items share a value (a fibre listed twice).
    UniqueBy {
        /// The record type the rule applies to.
        record_type: String,
        /// The array whose items are compared (`/composition`).
        array: String,
        /// Each item's value that must be unique (`/fibre`).
        key: String,
        /// The rejection's code (default `duplicate-item`).
        #[serde(default)]
        code: Option<String>,
        /// The message, with `{key}` (the repeated value) and `{array}`.
        #[serde(default)]
        message: Option<String>,
    },
}

/// How a table words one of its refusals: a code of the pack's own and a
/// message template (either may be left to the kind's default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorWording {
    /// A kebab-case code.
    #[serde(default)]
    pub code: Option<String>,
    /// A message with the case's placeholders (`{term}`, `{known}`, …).
    #[serde(default)]
    pub message: Option<String>,
}

/// The file of a `class-set` table: the standard's classes, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassSetTable {
    /// The classes, best first (`R1`, `R2`, `R3`, `OUT`).
    pub classes: Vec<String>,
}

/// Which way a quantity is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// A larger value earns a better class (fruit diameter).
    HigherIsBetter,
    /// A smaller value earns a better class (defect points).
    LowerIsBetter,
}

/// The file of a `thresholds` table: a quantity classified by bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsTable {
    /// The class set whose classes the bounds give.
    pub classes: String,
    /// Which way the quantity is better.
    pub direction: Direction,
    /// What the quantity is called in messages (`diameter`).
    pub quantity: String,
    /// The bounds, best class first: the first bound a value meets gives
    /// its class. Inclusive.
    pub bounds: Vec<Bound>,
    /// The class of a value that meets no bound.
    pub otherwise: String,
    /// Round the value to a field's decimals (half to even) before
    /// classifying it, as the record will show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounding: Option<Rounding>,
    /// The table's refusals as the pack words them (`not-a-number`).
    #[serde(default)]
    pub errors: BTreeMap<String, ErrorWording>,
}

/// The field whose decimals a classified value is rounded to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rounding {
    /// The unit-catalogue table that gives the field its decimals.
    pub table: String,
    /// The field, as `record_type.field`.
    pub field: String,
}

/// A bound of a thresholds table: `at_least` for a quantity where higher is
/// better, `at_most` where lower is better, as decimal text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bound {
    /// The least value that earns the class.
    #[serde(default)]
    pub at_least: Option<String>,
    /// The greatest value that earns the class.
    #[serde(default)]
    pub at_most: Option<String>,
    /// The class earned.
    pub class: String,
}

/// How a scheme combines its parts' classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Combine {
    /// The worst of the parts' classes ("the lower of").
    Lowest,
    /// The best of the parts' classes.
    Highest,
}

/// The file of a `scheme` table: classifications combined into one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemeTable {
    /// The class set of the result and of every part.
    pub classes: String,
    /// How the parts' classes combine.
    pub combine: Combine,
    /// The parts, by table name, in the order of a plugin's inputs: code
    /// lists whose codes are classes of the set, and thresholds over it.
    pub parts: Vec<String>,
}

/// The file of a `term-levels` table: terms (per scope, such as a
/// carrier's service terms) → an amount (hours) → the standard's level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TermLevelsTable {
    /// How terms are matched.
    #[serde(rename = "match")]
    pub matching: Matching,
    /// How scope ids and names are matched (default: exact).
    #[serde(default)]
    pub scope_match: Option<Matching>,
    /// Whether every lookup must name a known scope.
    #[serde(default)]
    pub scope_required: bool,
    /// Level → its amount; no two levels share one.
    pub levels: BTreeMap<String, u32>,
    /// Unscoped terms → amounts.
    #[serde(default)]
    pub terms: BTreeMap<String, u32>,
    /// Scope id → its other names and its own terms.
    #[serde(default)]
    pub scopes: BTreeMap<String, TermScope>,
    /// The table's refusals as the pack words them (`unknown-term`,
    /// `unknown-scope`, `scope-required`).
    #[serde(default)]
    pub errors: BTreeMap<String, ErrorWording>,
}

/// A scope of a term-levels table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TermScope {
    /// Other names of the scope.
    #[serde(default)]
    pub names: Vec<String>,
    /// Term → amount, within this scope.
    #[serde(default)]
    pub terms: BTreeMap<String, u32>,
}
