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

/// The most memory one compiled `match` or `split` pattern may take
/// (bytes): the host's check compiles each pattern under it, so a pattern
/// that passes the check compiles in the interpreter.
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;

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
    /// The codes with which the tables the program uses refuse a scope
    /// (an unknown supplier, grading system, carrier): such a refusal is
    /// the fault of the scope's input, not the term's.
    #[serde(default)]
    pub scope_refusals: Vec<String>,
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
    /// An expression (`expr`): its value, or its result list or object.
    Expr(Expr),
}

/// An expression of the mapping language, parsed and checked by the host:
/// tables resolved (a function whose table may be left out has it as its
/// last argument), every column, field and table it names checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    /// `"text"` or `'text'`.
    Text(String),
    /// A number, as exact decimal text.
    Number(String),
    /// `true` or `false`.
    Boolean(bool),
    /// `null`.
    Null,
    /// `it`: the item `each` is at.
    It,
    /// `function(args…)`.
    Call {
        /// The function.
        function: Function,
        /// Its arguments, in order.
        args: Vec<Expr>,
    },
    /// `value.name`: a member of an object.
    Member {
        /// The object.
        of: Box<Expr>,
        /// The member's name.
        name: String,
    },
    /// `value[n]`: an item of a list.
    Index {
        /// The list.
        of: Box<Expr>,
        /// The 0-based index.
        index: u32,
    },
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `{name: a, other: b}`, members in order.
    Object(Vec<(String, Expr)>),
}

/// The functions of the mapping language (`docs/mappings.md` says what
/// each does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// `column(name)`: the text of an input column.
    Column,
    /// `pointer(p)`: the text at a JSON pointer of the row.
    Pointer,
    /// `field(name)`: a record field made before this one.
    Field,
    /// `text(x)`: `x` as text.
    Text,
    /// `decimal(x)`: `x` as a plain decimal.
    Decimal,
    /// `integer(x)`: `x` as a whole number.
    Integer,
    /// `match(x, pattern)`: the first group (or the match) of a regular expression.
    Match,
    /// `split(x, pattern)`: the non-empty pieces between a pattern's matches.
    Split,
    /// `each(list, expr)`: `expr` for each item (`it`).
    Each,
    /// `zip(a, b)`: `[a[0], b[0]], [a[1], b[1]], …` of two lists of one length.
    Zip,
    /// `concat(a, b, …)`: texts joined.
    Concat,
    /// `unit(x, unit, catalogue)`: a quantity in the field's canonical unit.
    Unit,
    /// `code(list, term, scope?)`: a code list's code for a term.
    Code,
    /// `level(table, term, scope?)`: `{level, amount, scope}` of term levels.
    Level,
    /// `classify(table, value)`: a thresholds table's class.
    Classify,
    /// `scheme(table, input, …)`: `{class, parts: [{class, scope}]}`.
    Scheme,
    /// `scoped(term, scope)`: a scheme's input read in a scope.
    Scoped,
    /// `date(x, pattern, format)`: a date in the pack's format.
    Date,
    /// `time(x, pattern, format)`: a time in the pack's format.
    Time,
    /// `add_hours(time, hours, format)`: a time plus whole hours.
    AddHours,
}

impl Function {
    /// Every function, for messages.
    pub const ALL: [Function; 20] = [
        Function::Column,
        Function::Pointer,
        Function::Field,
        Function::Text,
        Function::Decimal,
        Function::Integer,
        Function::Match,
        Function::Split,
        Function::Each,
        Function::Zip,
        Function::Concat,
        Function::Unit,
        Function::Code,
        Function::Level,
        Function::Classify,
        Function::Scheme,
        Function::Scoped,
        Function::Date,
        Function::Time,
        Function::AddHours,
    ];

    /// The function's name in the language.
    pub fn name(self) -> &'static str {
        match self {
            Function::Column => "column",
            Function::Pointer => "pointer",
            Function::Field => "field",
            Function::Text => "text",
            Function::Decimal => "decimal",
            Function::Integer => "integer",
            Function::Match => "match",
            Function::Split => "split",
            Function::Each => "each",
            Function::Zip => "zip",
            Function::Concat => "concat",
            Function::Unit => "unit",
            Function::Code => "code",
            Function::Level => "level",
            Function::Classify => "classify",
            Function::Scheme => "scheme",
            Function::Scoped => "scoped",
            Function::Date => "date",
            Function::Time => "time",
            Function::AddHours => "add_hours",
        }
    }

    /// The function named `name`.
    pub fn named(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }
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

/// Whether `text` is a plain decimal (`-`? digits (`.` digits)?), as a
/// record's decimals are written and a number constant is kept as written.
pub fn is_plain_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && all_digits(fraction)
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
