//! A program made ready to run: patterns compiled, tables named, every
//! field's record pointer built once per instance.

use conform_mapping::program::{Conversion, FieldProgram, Place, Program, Source, ValueKind};
use conform_plugin_sdk::tables::{CodeList, Quantity, TermLevels, Thresholds, TimeFormat};
use conform_plugin_sdk::{Cx, Problem, Record, Records, Rejected, Row};
use regex::Regex;

use crate::value::{self, Value};

/// The most memory one compiled `match` pattern may take (bytes).
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// A mapping program, compiled.
pub struct Compiled {
    record_type: &'static str,
    fields: Vec<Field>,
}

/// One record field, compiled.
pub(crate) struct Field {
    /// The record field.
    pub(crate) name: &'static str,
    /// Its pointer in the record (`/length_mm`), for problems.
    pub(crate) target: String,
    pub(crate) source: Source,
    pub(crate) pattern: Option<Regex>,
    pub(crate) conversion: Convert,
    pub(crate) kind: ValueKind,
    pub(crate) optional: bool,
}

/// A conversion with its table named as the SDK names tables.
pub(crate) enum Convert {
    None,
    Unit {
        quantity: Quantity,
        unit: Place,
    },
    CodeList {
        list: CodeList,
        scope: Option<Place>,
    },
    TermLevels {
        table: TermLevels,
        scope: Option<Place>,
    },
    Thresholds(Thresholds),
    Date {
        format: TimeFormat,
        pattern: String,
    },
    Time {
        format: TimeFormat,
        pattern: String,
    },
}

/// A name that lives as long as the instance: the SDK's tables are named
/// by `&'static str`, and a program is compiled once per instance.
fn leak(name: &str) -> &'static str {
    Box::leak(name.to_owned().into_boxed_str())
}

impl Compiled {
    /// Compiles the program the host wrote (JSON).
    pub fn from_json(text: &str) -> Result<Compiled, String> {
        Compiled::new(Program::from_json(text)?)
    }

    /// Compiles `program`.
    pub fn new(program: Program) -> Result<Compiled, String> {
        let record_type = leak(&program.record_type);
        let fields = program
            .fields
            .into_iter()
            .map(|field| compile_field(record_type, field))
            .collect::<Result<_, _>>()?;
        Ok(Compiled {
            record_type,
            fields,
        })
    }

    /// Asks the host about whole columns of a batch at once: the values of
    /// each field converted from a fixed unit.
    pub fn prefetch(&self, rows: &[Row<'_>], cx: &mut Cx) {
        for field in &self.fields {
            let (
                Convert::Unit {
                    quantity,
                    unit: Place::Fixed(unit),
                },
                None,
            ) = (&field.conversion, &field.pattern)
            else {
                continue;
            };
            match &field.source {
                Source::Column(column) => {
                    quantity.prefetch(cx, rows.iter().filter_map(|r| r.text(column).ok()), unit)
                }
                Source::Pointer(pointer) => quantity.prefetch(
                    cx,
                    rows.iter().filter_map(|r| r.text_at(pointer).ok()),
                    unit,
                ),
                Source::Constant(_) => {}
            }
        }
    }

    /// Converts one row into one record, or rejects it with every problem
    /// its fields have (a problem several fields share, such as one bad
    /// unit column, once).
    pub fn convert(&self, row: &Row<'_>, cx: &mut Cx) -> Result<Records, Rejected> {
        let mut values = Vec::with_capacity(self.fields.len());
        let mut problems: Vec<Problem> = Vec::new();
        for field in &self.fields {
            match value::of(field, row, cx) {
                Ok(value) => values.push(value),
                Err(problem) => {
                    let problem = Problem {
                        target: problem.target.or_else(|| Some(field.target.clone())),
                        ..problem
                    };
                    if !problems.iter().any(|p| same(p, &problem)) {
                        problems.push(problem);
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(Rejected(problems));
        }
        let mut record = Record::new(self.record_type);
        for (field, value) in self.fields.iter().zip(values) {
            match value {
                None => {}
                Some(Value::Text(text)) => {
                    record.text(field.name, &text);
                }
                Some(Value::Decimal(text)) => {
                    record.decimal(field.name, &text);
                }
                Some(Value::Integer(n)) => {
                    record.integer(field.name, n);
                }
                Some(Value::Boolean(b)) => {
                    record.boolean(field.name, b);
                }
            }
        }
        Ok(Records::one(record))
    }
}

/// Two problems a person would read as one: same code, input and message.
fn same(a: &Problem, b: &Problem) -> bool {
    a.code == b.code && a.field == b.field && a.message == b.message
}

fn compile_field(record_type: &'static str, field: FieldProgram) -> Result<Field, String> {
    let name = leak(&field.name);
    let pattern = field
        .pattern
        .as_deref()
        .map(|pattern| {
            regex::RegexBuilder::new(pattern)
                .size_limit(PATTERN_SIZE_LIMIT)
                .build()
                .map_err(|e| format!("the `match` of field `{name}` cannot run: {e}"))
        })
        .transpose()?;
    let conversion = match field.conversion {
        Conversion::None => Convert::None,
        Conversion::Unit { table, unit } => Convert::Unit {
            quantity: Quantity::named(leak(&table), record_type, name),
            unit,
        },
        Conversion::CodeList { table, scope } => Convert::CodeList {
            list: CodeList::named(leak(&table)),
            scope,
        },
        Conversion::TermLevels { table, scope } => Convert::TermLevels {
            table: TermLevels::named(leak(&table)),
            scope,
        },
        Conversion::Thresholds { table } => Convert::Thresholds(Thresholds::named(leak(&table))),
        Conversion::Date { table, pattern } => Convert::Date {
            format: TimeFormat::named(leak(&table)),
            pattern,
        },
        Conversion::Time { table, pattern } => Convert::Time {
            format: TimeFormat::named(leak(&table)),
            pattern,
        },
    };
    Ok(Field {
        name,
        target: format!("/{name}"),
        source: field.source,
        pattern,
        conversion,
        kind: field.kind,
        optional: field.optional,
    })
}
