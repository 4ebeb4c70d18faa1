//! A checked mapping as the interpreter runs it: every name resolved (the
//! table of each conversion, the kind of each value), nothing left to look
//! up in the pack. The host makes it from a mapping file that passed the
//! check ([`crate::compile`]) and hands it, as JSON, to the interpreter
//! component in the sandbox through the `conform:mapping/program` import.
//!
//! This module needs only serde, so that the interpreter (built for
//! `wasm32-unknown-unknown`) shares these types with the host: build the
//! crate with `default-features = false` there.

use serde::{Deserialize, Serialize};

/// The version of the program's JSON form; an interpreter refuses others.
pub const PROGRAM_VERSION: u32 = 1;

/// A mapping ready to run: one record of `record_type` per row, its fields
/// made in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// [`PROGRAM_VERSION`].
    pub version: u32,
    /// The mapping's name, for messages.
    pub mapping: String,
    /// The record type each converted row becomes.
    pub record_type: String,
    /// The record's fields, in the order they are written.
    pub fields: Vec<FieldProgram>,
}

/// How one record field is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldProgram {
    /// The record field.
    pub name: String,
    /// Where the value comes from.
    pub source: Source,
    /// A regular expression the value must match; its first capture group
    /// (or the whole match) goes on.
    pub pattern: Option<String>,
    /// What the pack's tables make of the value.
    pub conversion: Conversion,
    /// What the record holds.
    pub kind: ValueKind,
    /// A row without the value is converted without the field.
    pub optional: bool,
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An input column (a CSV header, an XML element or attribute, a
    /// top-level JSON key).
    Column(String),
    /// A JSON pointer into the row (`/Size/@length`).
    Pointer(String),
    /// A fixed value.
    Constant(Constant),
}

/// A fixed value of a mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constant {
    /// Text.
    Text(String),
    /// A number, as exact decimal text.
    Number(String),
    /// A boolean.
    Boolean(bool),
}

/// Where a companion value (a unit, a scope) comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// Written in the mapping.
    Fixed(String),
    /// An input column.
    Column(String),
    /// A JSON pointer into the row.
    Pointer(String),
}

/// What the pack's tables make of a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conversion {
    /// The value as it is, read as the field's kind.
    None,
    /// A quantity in `unit`, converted by the unit catalogue `table` to
    /// the field's canonical unit.
    Unit {
        /// The unit catalogue.
        table: String,
        /// The value's unit.
        unit: Place,
    },
    /// A term of the code list `table`; the record gets its code.
    CodeList {
        /// The code list.
        table: String,
        /// The scope whose crosswalk applies.
        scope: Option<Place>,
    },
    /// A term of the term levels `table`; the record gets its level.
    TermLevels {
        /// The term-levels table.
        table: String,
        /// The scope the term is read in.
        scope: Option<Place>,
    },
    /// A quantity classified by the thresholds `table`; the record gets
    /// the class.
    Thresholds {
        /// The thresholds table.
        table: String,
    },
    /// A date in `pattern`, written as the time format `table` says.
    Date {
        /// The time-format table.
        table: String,
        /// The strftime pattern the value is written in.
        pattern: String,
    },
    /// A date and time of day in `pattern`, written as `table` says.
    Time {
        /// The time-format table.
        table: String,
        /// The strftime pattern the value is written in.
        pattern: String,
    },
}

/// What a value becomes in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    /// Text, trimmed.
    Text,
    /// A decimal number, kept exactly as written or converted.
    Decimal,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
}

impl ValueKind {
    /// The kind as a mapping writes it.
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::Text => "text",
            ValueKind::Decimal => "decimal",
            ValueKind::Integer => "integer",
            ValueKind::Boolean => "boolean",
        }
    }
}

impl Program {
    /// The program as the interpreter reads it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a program serializes")
    }

    /// Reads a program the host wrote; `Err` says why it is not one this
    /// interpreter runs.
    pub fn from_json(text: &str) -> Result<Program, String> {
        let program: Program =
            serde_json::from_str(text).map_err(|e| format!("not a mapping program: {e}"))?;
        if program.version != PROGRAM_VERSION {
            return Err(format!(
                "mapping program version {} is not {PROGRAM_VERSION}: the interpreter and the host differ",
                program.version
            ));
        }
        Ok(program)
    }
}
