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
    /// Record type name → JSON Schema file, relative to the pack folder.
    pub record_types: BTreeMap<String, String>,
    /// The rule table files, relative to the pack folder.
    pub rules: RuleFiles,
}

/// Where a pack keeps its rule tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleFiles {
    /// Units and canonical units per field ([`UnitsTable`]).
    pub units: String,
    /// Grading systems, crosswalks and size classes ([`GradingTable`]).
    pub grading: String,
    /// Service levels and carriers' terms ([`ServiceLevelTable`]).
    pub service_levels: String,
    /// Package codes and terms ([`PackagingTable`]).
    pub packaging: String,
    /// The time format ([`TimeTable`]).
    pub time: String,
}

impl PackManifest {
    /// Parses and checks a pack manifest from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ManifestError> {
        let manifest: PackManifest = toml::from_str(text)?;
        let id_ok = !manifest.id.is_empty()
            && manifest
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !id_ok {
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
        Ok(manifest)
    }
}

/// The units table: units the pack adds to the built-in SI and imperial set,
/// and the canonical unit and decimals of every quantity field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitsTable {
    /// Unit symbol → its exact definition in another unit.
    #[serde(default)]
    pub units: BTreeMap<String, UnitDefinition>,
    /// Record type → field → canonical unit and decimals.
    pub fields: BTreeMap<String, BTreeMap<String, CanonicalUnit>>,
}

/// A unit defined as an exact multiple of another (`斤` = 0.5 `kg`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitDefinition {
    /// The multiple: a decimal (`0.5`) or a fraction (`1/30`).
    pub factor: String,
    /// The unit it multiplies: built in or defined earlier in the table.
    pub unit: String,
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

/// The grading table: classes best first, size classes and the crosswalks of
/// other grading systems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GradingTable {
    /// The product the table grades (`apple`).
    pub product: String,
    /// The standard's classes, best first.
    pub classes: Vec<String>,
    /// Classes by minimum fruit diameter.
    pub diameter: DiameterClasses,
    /// Grading system id → its names and crosswalk.
    pub systems: BTreeMap<String, GradingSystem>,
}

/// Classes by minimum fruit diameter in millimetres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiameterClasses {
    /// Thresholds: a diameter at or above `min_mm` earns `class`, the first match
    /// in order of descending `min_mm`.
    pub thresholds: Vec<DiameterThreshold>,
    /// The class of a diameter below every threshold.
    pub below: String,
}

/// One size threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiameterThreshold {
    /// Minimum diameter in mm, as decimal text.
    pub min_mm: String,
    /// The class earned.
    pub class: String,
}

/// A grading system known to the pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GradingSystem {
    /// Names enterprises use for the system (`GB/T 10651`), besides its id.
    #[serde(default)]
    pub names: Vec<String>,
    /// Grade as given → the standard's class.
    pub crosswalk: BTreeMap<String, String>,
}

/// The service level table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceLevelTable {
    /// Service level code → hours within which delivery is promised.
    pub levels: BTreeMap<String, u32>,
    /// Carrier code → its own service term → the hours it promises.
    pub carriers: BTreeMap<String, BTreeMap<String, u32>>,
}

/// The packaging table (UN/ECE Recommendation 21 codes in the sample pack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackagingTable {
    /// Package code → what it means.
    pub codes: BTreeMap<String, String>,
    /// Term as enterprises write it → package code. Matching ignores ASCII case.
    pub terms: BTreeMap<String, String>,
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
