//! Pack format 1: the five fixed rule tables of a `[rules]` manifest, as
//! packs published before packs declared their own tables wrote them.
//! Frozen: Conform reads them as the generic kinds (`conform-pack`'s
//! `format1/`), and a new pack declares `[tables]` instead.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a pack keeps its rule tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleFiles {
    /// Units and canonical units per field (the `UnitsTable` file).
    pub units: String,
    /// Grading systems, crosswalks and size classes ([`GradingTable`]).
    pub grading: String,
    /// Service levels and carriers' terms ([`ServiceLevelTable`]).
    pub service_levels: String,
    /// Package codes and terms ([`PackagingTable`]).
    pub packaging: String,
    /// The time format (the `TimeTable` file).
    pub time: String,
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
