//! A program made ready to run: patterns compiled, tables named, every
//! field's record pointer built once per instance.

use conform_mapping::program::{
    Constant, Conversion, FieldProgram, Place, Program, Source, ValueKind, PATTERN_SIZE_LIMIT,
};
use conform_plugin_sdk::tables::{CodeList, Quantity, TermLevels, Thresholds, TimeFormat};
use conform_plugin_sdk::{Array, Cx, Object, Problem, Record, Records, Rejected, Row};
use regex::Regex;
use smallvec::SmallVec;

use crate::expr::{self, Failed};
use crate::value::{self, Value};

/// A mapping program, compiled.
pub struct Compiled {
    record_type: &'static str,
    fields: Vec<Field>,
    /// The codes with which the program's tables refuse a scope.
    scope_refusals: Vec<String>,
}

/// One record field, compiled.
pub(crate) struct Field {
    /// The record field.
    pub(crate) name: &'static str,
    /// Its pointer in the record (`/length_mm`), for problems.
    pub(crate) target: String,
    /// Where its value comes from.
    pub(crate) input: Input,
    /// The `match` it must pass.
    pub(crate) pattern: Option<Regex>,
    /// What the pack's tables make of it.
    pub(crate) conversion: Convert,
    /// What the record holds.
    pub(crate) kind: ValueKind,
    /// Whether a row without it is converted without the field.
    pub(crate) optional: bool,
}

/// Where a field's value comes from, compiled.
pub(crate) enum Input {
    Column(String),
    Pointer(String),
    Constant(Constant),
    Expr(expr::Compiled),
}

/// A conversion with its table named as the SDK names tables.
pub(crate) enum Convert {
    None,
    Unit {
        quantity: Quantity,
        unit: Place,
    },
    CodeList {
        table: CodeList,
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
/// by `&'static str`, and a program is compiled once per instance (the
/// memory goes with the instance).
pub(crate) fn leak(name: &str) -> &'static str {
    Box::leak(name.to_owned().into_boxed_str())
}

/// A `match` or `split` pattern, compiled under the host's size limit.
pub(crate) fn regex(pattern: &str, field: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("a pattern of field `{field}` cannot run: {e}"))
}

impl Compiled {
    /// Compiles the program the host wrote (JSON).
    pub fn from_json(text: &str) -> Result<Compiled, String> {
        Compiled::new(Program::from_json(text)?)
    }

    /// Compiles `program`.
    pub fn new(program: Program) -> Result<Compiled, String> {
        let record_type = leak(&program.record_type);
        let mut earlier: Vec<&'static str> = Vec::new();
        let mut fields = Vec::with_capacity(program.fields.len());
        for field in program.fields {
            let field = compile_field(record_type, &earlier, field)?;
            earlier.push(field.name);
            fields.push(field);
        }
        Ok(Compiled {
            record_type,
            fields,
            scope_refusals: program.scope_refusals,
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
            match &field.input {
                Input::Column(column) => {
                    quantity.prefetch(cx, rows.iter().filter_map(|r| r.text(column).ok()), unit)
                }
                Input::Pointer(pointer) => quantity.prefetch(
                    cx,
                    rows.iter().filter_map(|r| r.text_at(pointer).ok()),
                    unit,
                ),
                Input::Constant(_) | Input::Expr(_) => {}
            }
        }
    }

    /// Converts one row into one record, or rejects it with every problem
    /// its fields have (a problem several fields share, such as one bad
    /// unit column, once).
    pub fn convert(&self, row: &Row<'_>, cx: &mut Cx) -> Result<Records, Rejected> {
        // Most records have a few fields: their values stay on the stack.
        let mut made: SmallVec<[Result<Option<Value<'_>>, ()>; 16]> =
            SmallVec::with_capacity(self.fields.len());
        let mut problems: Vec<Problem> = Vec::new();
        for field in &self.fields {
            match value::of(field, row, cx, &made, &self.scope_refusals) {
                Ok(value) => made.push(Ok(value)),
                Err(failed) => {
                    made.push(Err(()));
                    if let Failed::Problem(problem) = failed {
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
        }
        if !problems.is_empty() {
            return Err(Rejected(problems));
        }
        let mut record = Record::new(self.record_type);
        for (field, value) in self.fields.iter().zip(made) {
            if let Ok(Some(value)) = value {
                write_member(&mut record.root(), field.name, &value);
            }
        }
        Ok(Records::one(record))
    }
}

/// Writes `value` as the member `key` of `object`.
fn write_member(object: &mut Object<'_>, key: &str, value: &Value<'_>) {
    match value {
        Value::Null => {
            object.null(key);
        }
        Value::Text(text) => {
            object.text(key, text);
        }
        Value::Decimal(text) => {
            object.decimal(key, text);
        }
        Value::Canonical(canonical) => {
            object.decimal(key, canonical);
        }
        Value::Integer(n) => {
            object.integer(key, *n);
        }
        Value::Boolean(b) => {
            object.boolean(key, *b);
        }
        Value::List(items) => {
            object.array(key, |array| {
                items.iter().for_each(|item| write_item(array, item))
            });
        }
        Value::Object(members) => {
            object.object(key, |inner| {
                members.iter().for_each(|(k, v)| write_member(inner, k, v))
            });
        }
    }
}

/// Writes `value` as the next item of `array`.
fn write_item(array: &mut Array<'_>, value: &Value<'_>) {
    match value {
        Value::Null => {
            array.null();
        }
        Value::Text(text) => {
            array.text(text);
        }
        Value::Decimal(text) => {
            array.decimal(text);
        }
        Value::Canonical(canonical) => {
            array.decimal(canonical);
        }
        Value::Integer(n) => {
            array.integer(*n);
        }
        Value::Boolean(b) => {
            array.boolean(*b);
        }
        Value::List(items) => {
            array.array(|inner| items.iter().for_each(|item| write_item(inner, item)));
        }
        Value::Object(members) => {
            array.object(|object| members.iter().for_each(|(k, v)| write_member(object, k, v)));
        }
    }
}

/// Two problems a person would read as one: the same code and input, and
/// the same message or a refused unit (its message names each field).
fn same(a: &Problem, b: &Problem) -> bool {
    a.code == b.code && a.field == b.field && (a.message == b.message || value::is_unit_problem(a))
}

fn compile_field(
    record_type: &'static str,
    earlier: &[&'static str],
    field: FieldProgram,
) -> Result<Field, String> {
    let name = leak(&field.name);
    let pattern = field
        .pattern
        .as_deref()
        .map(|pattern| regex(pattern, name))
        .transpose()?;
    let conversion = match field.conversion {
        Conversion::None => Convert::None,
        Conversion::Unit { table, unit } => Convert::Unit {
            quantity: Quantity::named(leak(&table), record_type, name),
            unit,
        },
        Conversion::CodeList { table, scope } => Convert::CodeList {
            table: CodeList::named(leak(&table)),
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
    let input = match field.source {
        Source::Column(column) => Input::Column(column),
        Source::Pointer(pointer) => Input::Pointer(pointer),
        Source::Constant(constant) => Input::Constant(constant),
        Source::Expr(expr) => Input::Expr(expr::Compiled::new(
            expr,
            &expr::Scope {
                record_type,
                field: name,
                earlier,
            },
        )?),
    };
    Ok(Field {
        name,
        target: format!("/{name}"),
        input,
        pattern,
        conversion,
        kind: field.kind,
        optional: field.optional,
    })
}
