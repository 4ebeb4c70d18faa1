//! The mapping file (`mapping.toml`) as written: a plugin manifest's head
//! (name, version, provider, `[input]`, `[target]`, `[limits]`) and one
//! `[fields.<name>]` table per record field, each with where its value
//! comes from and what the pack's tables make of it. Every name a check
//! may refuse keeps its place in the file, so a problem names its line.

use conform_model::plugin::{ComponentRef, InputSpec, PluginLimits, PluginManifest, TargetSpec};
use indexmap::IndexMap;
use semver::{Version, VersionReq};
use serde::Deserialize;
use toml::Spanned;

pub use crate::program::ValueKind;

/// A mapping file, parsed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// The mapping's name, as a plugin's: lowercase letters, digits and `-`.
    pub name: Spanned<String>,
    /// Its own version (semver).
    pub version: Version,
    /// Who wrote and maintains it.
    pub provider: String,
    /// What it converts, for people.
    #[serde(default)]
    pub description: String,
    /// The enterprise format it reads, as a plugin manifest's `[input]`.
    pub input: Spanned<InputSpec>,
    /// The pack and the one record type it maps onto.
    pub target: MappingTarget,
    /// Limits, as a plugin manifest's (the interpreter runs under them).
    #[serde(default)]
    pub limits: PluginLimits,
    /// The record's fields, by name, in the file's order.
    #[serde(default)]
    pub fields: IndexMap<Spanned<String>, Spanned<FieldMapping>>,
}

/// The pack a mapping targets and the record type it makes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingTarget {
    /// The pack's id.
    pub pack: Spanned<String>,
    /// The pack versions it works with (`^1.0`).
    pub versions: Spanned<VersionReq>,
    /// The record type each converted row becomes.
    pub record_type: Spanned<String>,
}

/// How one record field is made from a row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// The value of this input column (a CSV header, an XML element or
    /// attribute name, a top-level JSON key).
    pub column: Option<Spanned<String>>,
    /// The value at this JSON pointer of the row (`/Size/@length`).
    pub pointer: Option<Spanned<String>>,
    /// A fixed value.
    pub constant: Option<Spanned<toml::Value>>,
    /// An expression of the mapping language (`docs/mappings.md`):
    /// `level("service-levels", column("服务"), "EASTROUTE").level`.
    pub expr: Option<Spanned<String>>,
    /// A regular expression the value must match; its first capture group
    /// (or the whole match) is the value from then on.
    #[serde(rename = "match")]
    pub pattern: Option<Spanned<String>>,
    /// What the value becomes in the record; by default what the field's
    /// schema says (`text`, `decimal`, `integer`, `boolean`).
    #[serde(rename = "type")]
    pub kind: Option<Spanned<ValueKind>>,
    /// The value is a quantity in this unit, converted to the field's
    /// canonical unit by the pack's unit catalogue.
    pub unit: Option<Spanned<String>>,
    /// The value is a quantity in the unit this column gives.
    pub unit_column: Option<Spanned<String>>,
    /// The value is a quantity in the unit at this JSON pointer of the row
    /// (`/Size/@unit`).
    pub unit_pointer: Option<Spanned<String>>,
    /// The unit catalogue to convert with, when the pack has several.
    pub units: Option<Spanned<String>>,
    /// The value is a term of this code list; the record gets its code.
    pub code_list: Option<Spanned<String>>,
    /// The value is a term of these term levels; the record gets its level.
    pub term_levels: Option<Spanned<String>>,
    /// The value is classified by these thresholds; the record gets the class.
    pub thresholds: Option<Spanned<String>>,
    /// The scope a code list or term levels answer in (a supplier, a carrier).
    pub scope: Option<Spanned<String>>,
    /// The scope is the value of this column.
    pub scope_column: Option<Spanned<String>>,
    /// The scope is the value at this JSON pointer of the row.
    pub scope_pointer: Option<Spanned<String>>,
    /// The value is a date in this pattern (`%Y年%m月%d日`), written in
    /// the pack's time format.
    pub date: Option<Spanned<String>>,
    /// The value is a date and time of day in this pattern
    /// (`%Y/%m/%d %H:%M`), written in the pack's time format.
    pub time: Option<Spanned<String>>,
    /// The time-format table to read dates and times with, when the pack
    /// has several.
    pub time_format: Option<Spanned<String>>,
    /// `true`: a row without the value is converted without the field
    /// (allowed only where the schema does not require the field, and the
    /// default there).
    pub optional: Option<Spanned<bool>>,
}

impl FieldMapping {
    /// Where the value's unit comes from, if it is a quantity: the fixed
    /// unit, the unit's column or its pointer (the first given).
    pub fn unit_source(&self) -> Option<&Spanned<String>> {
        self.unit
            .as_ref()
            .or(self.unit_column.as_ref())
            .or(self.unit_pointer.as_ref())
    }
}

/// Where in a file each line starts, to name the line of a byte.
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    /// The line starts of `text`.
    pub(crate) fn of_text(text: &str) -> Lines {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        Lines { starts }
    }

    /// The 1-based line of byte `at`.
    pub(crate) fn line(&self, at: usize) -> usize {
        self.starts.partition_point(|&start| start <= at).max(1)
    }

    /// The line where `spanned` starts.
    pub(crate) fn of<T>(&self, spanned: &Spanned<T>) -> usize {
        self.line(spanned.span().start)
    }
}

impl MappingFile {
    /// The plugin manifest the mapping runs as: its name, version, input
    /// and limits, its record type, and `component` (the interpreter's).
    pub fn plugin_manifest(&self, component: ComponentRef) -> PluginManifest {
        PluginManifest {
            name: self.name.get_ref().clone(),
            version: self.version.clone(),
            provider: self.provider.clone(),
            description: self.description.clone(),
            component,
            input: self.input.get_ref().clone(),
            target: TargetSpec {
                pack: self.target.pack.get_ref().clone(),
                versions: self.target.versions.get_ref().clone(),
                record_types: vec![self.target.record_type.get_ref().clone()],
                tables: Default::default(),
            },
            limits: self.limits,
        }
    }

    /// Parses mapping `text` (the file `file`, for messages); a problem of
    /// syntax or shape is one problem at its line.
    pub fn parse(file: &str, text: &str) -> Result<MappingFile, crate::MappingProblems> {
        let mut mapping = toml::from_str::<MappingFile>(text).map_err(|e| {
            let line = e
                .span()
                .map_or(1, |span| Lines::of_text(text).line(span.start));
            crate::MappingProblems::new(
                file,
                vec![crate::Located {
                    line,
                    message: e.message().trim().to_string(),
                }],
            )
        })?;
        // A record's fields are written in the file's order (the reader
        // sorts a table's keys).
        mapping
            .fields
            .sort_by_cached_key(|field, _| field.span().start);
        Ok(mapping)
    }
}
