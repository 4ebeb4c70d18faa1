//! One field's value made from a row: read from its source, matched,
//! converted by the pack's tables, then read as the field's kind.

use std::borrow::Cow;

use conform_mapping::program::{is_plain_decimal, Constant, Place, ValueKind};
use conform_plugin_sdk::tables::Canonical;
use conform_plugin_sdk::{Cell, Cx, Problem, Row};
use regex::Regex;

use crate::compiled::{Convert, Field, Input};
use crate::expr::{Env, Failed, FUEL_PER_FIELD};

/// A value of the record: a field's, or one an expression made.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'b> {
    Null,
    Text(Cow<'b, str>),
    Decimal(Cow<'b, str>),
    Integer(i64),
    Boolean(bool),
    List(Vec<Value<'b>>),
    Object(Vec<(Cow<'b, str>, Value<'b>)>),
    /// A quantity in its canonical unit, as the SDK answered it: decimal
    /// text, not copied.
    Canonical(Canonical),
}

/// What the pack's tables made of a field's text.
enum Converted<'b> {
    Text(Cow<'b, str>),
    Canonical(Canonical),
}

impl Value<'_> {
    /// What the value is, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Text(_) => "text",
            Value::Decimal(_) | Value::Canonical(_) => "a number",
            Value::Integer(_) => "a whole number",
            Value::Boolean(_) => "a boolean",
            Value::List(_) => "a list",
            Value::Object(_) => "an object",
        }
    }
}

/// A scalar value as text (`true`, `12`, `3.5`); `None` for null, a list
/// or an object.
pub(crate) fn as_text<'b>(value: &Value<'b>) -> Option<Cow<'b, str>> {
    match value {
        Value::Text(text) | Value::Decimal(text) => Some(text.clone()),
        Value::Canonical(canonical) => Some(Cow::Owned(canonical.to_string())),
        Value::Integer(n) => Some(Cow::Owned(n.to_string())),
        Value::Boolean(true) => Some(Cow::Borrowed("true")),
        Value::Boolean(false) => Some(Cow::Borrowed("false")),
        Value::Null | Value::List(_) | Value::Object(_) => None,
    }
}

/// The value of `field` in `row`: `None` when the field is optional and
/// the row has no value for it. A problem names the input it comes from;
/// `Failed::Quiet` when a field the expression reads failed.
pub(crate) fn of<'b>(
    field: &'b Field,
    row: &Row<'b>,
    cx: &mut Cx,
    made: &[Result<Option<Value<'b>>, ()>],
    scope_refusals: &[String],
) -> Result<Option<Value<'b>>, Failed> {
    let (text, input): (Cow<'b, str>, Option<&str>) = match &field.input {
        Input::Constant(constant) => (Cow::Borrowed(constant_text(constant)), None),
        Input::Expr(expr) => {
            let mut env = Env {
                row,
                cx,
                made,
                it: None,
                fuel: FUEL_PER_FIELD,
                scope_refusals,
            };
            let value = expr.eval(&mut env)?;
            let simple = field.pattern.is_none() && matches!(field.conversion, Convert::None);
            match value.value {
                Value::Null if field.optional => return Ok(None),
                Value::List(_) | Value::Object(_) if simple => return Ok(Some(value.value)),
                other => match as_text(&other) {
                    Some(text) => (text, value.origin),
                    None => {
                        let problem = Problem::new(
                            "wrong-type",
                            format!(
                                "field `{}` is made of {}, which it cannot hold",
                                field.name,
                                other.kind()
                            ),
                        );
                        return Err(Failed::Problem(match value.origin {
                            Some(origin) => problem.at(origin),
                            None => problem,
                        }));
                    }
                },
            }
        }
        Input::Column(column) => {
            let cell = row.get(column);
            if field.optional && absent(cell) {
                return Ok(None);
            }
            let text = read(row, cell, column).map_err(Failed::Problem)?;
            (Cow::Borrowed(text), Some(column.as_str()))
        }
        Input::Pointer(pointer) => {
            let cell = row.pointer(pointer);
            if field.optional && absent(cell) {
                return Ok(None);
            }
            let text = read(row, cell, pointer).map_err(Failed::Problem)?;
            (Cow::Borrowed(text), Some(pointer.as_str()))
        }
    };
    let at = |problem: Problem| match (&problem.field, input) {
        (None, Some(input)) => Failed::Problem(problem.at(input)),
        _ => Failed::Problem(problem),
    };
    let text = match &field.pattern {
        Some(pattern) => Cow::Owned(first_group(pattern, &text).map_err(at)?.to_string()),
        None => text,
    };
    let value = match convert(field, row, cx, text, scope_refusals).map_err(at)? {
        // A canonical value is plain decimal text: a number as it is.
        Converted::Canonical(canonical) if matches!(field.kind, ValueKind::Decimal) => {
            Ok(Value::Canonical(canonical))
        }
        Converted::Canonical(canonical) => as_kind(field.kind, Cow::Owned(canonical.to_string())),
        Converted::Text(text) => as_kind(field.kind, text),
    };
    value.map(Some).map_err(at)
}

fn constant_text(constant: &Constant) -> &str {
    match constant {
        Constant::Text(text) | Constant::Number(text) => text,
        Constant::Boolean(true) => "true",
        Constant::Boolean(false) => "false",
    }
}

/// No value: absent, null, or blank text.
fn absent(cell: Option<Cell<'_>>) -> bool {
    match cell {
        None | Some(Cell::Null) => true,
        Some(Cell::Text(text)) => text.trim().is_empty(),
        _ => false,
    }
}

/// A cell's text as the SDK reads a required value ([`Row::text_of`]),
/// and a JSON boolean as `true` or `false`; `name` is its input.
fn read<'b>(row: &Row<'b>, cell: Option<Cell<'b>>, name: &str) -> Result<&'b str, Problem> {
    match cell {
        Some(Cell::Boolean(true)) => Ok("true"),
        Some(Cell::Boolean(false)) => Ok("false"),
        _ => row.text_of(cell, name),
    }
}

/// What `pattern` finds in `text`: its first group if it has groups (a
/// group that took no part is no match), else the whole match.
pub(crate) fn first_group<'t>(pattern: &Regex, text: &'t str) -> Result<&'t str, Problem> {
    let group = usize::from(pattern.captures_len() > 1);
    pattern
        .captures(text)
        .and_then(|captures| captures.get(group))
        .map(|m| m.as_str())
        .ok_or_else(|| {
            Problem::new(
                "no-match",
                format!("`{text}` does not match the pattern `{}`", pattern.as_str()),
            )
        })
}

/// The text of a unit or a scope.
fn place<'b>(row: &Row<'b>, place: &'b Place) -> Result<(&'b str, Option<&'b str>), Problem> {
    match place {
        Place::Fixed(text) => Ok((text, None)),
        Place::Column(column) => Ok((row.text(column)?, Some(column))),
        Place::Pointer(pointer) => Ok((row.text_at(pointer)?, Some(pointer))),
    }
}

/// What the pack's tables make of `text`.
fn convert<'b>(
    field: &'b Field,
    row: &Row<'b>,
    cx: &mut Cx,
    text: Cow<'b, str>,
    scope_refusals: &[String],
) -> Result<Converted<'b>, Problem> {
    // A scope's text and input; a refusal of the scope is its input's fault.
    let scope = |scope: &'b Option<Place>| -> Result<(Option<&'b str>, Option<&'b str>), Problem> {
        Ok(match scope {
            Some(p) => {
                let (text, input) = place(row, p)?;
                (Some(text), input)
            }
            None => (None, None),
        })
    };
    let blame = |problem: Problem, input: Option<&str>| match input {
        Some(input) if scope_refusals.contains(&problem.code) => problem.at(input),
        _ => problem,
    };
    Ok(Converted::Text(Cow::Owned(match &field.conversion {
        Convert::None => return Ok(Converted::Text(text)),
        Convert::Unit { quantity, unit } => {
            let (unit, unit_input) = place(row, unit)?;
            return match quantity.to_canonical(cx, &text, unit) {
                Ok(canonical) => Ok(Converted::Canonical(canonical)),
                // A unit the pack refuses is the unit's input's fault.
                Err(problem) if is_unit_problem(&problem) => Err(match unit_input {
                    Some(input) => problem.at(input),
                    None => problem,
                }),
                Err(problem) => Err(problem),
            };
        }
        Convert::CodeList { table, scope: s } => {
            let (within, input) = scope(s)?;
            table
                .lookup(cx, &text, within)
                .map_err(|p| blame(p, input))?
                .code
        }
        Convert::TermLevels { table, scope: s } => {
            let (within, input) = scope(s)?;
            table
                .resolve(cx, &text, within)
                .map_err(|p| blame(p, input))?
                .level
        }
        Convert::Thresholds(thresholds) => thresholds.classify(cx, &text)?,
        Convert::Date { format, pattern } => format.parse_date(cx, &text, pattern)?,
        Convert::Time { format, pattern } => format.parse_time(cx, &text, pattern)?,
    })))
}

/// A refusal of a unit (unknown, or not convertible to the field's).
pub(crate) fn is_unit_problem(problem: &Problem) -> bool {
    problem.code == "unknown-unit" || problem.code == "incompatible-unit"
}

/// `text` as the record's `kind`.
pub(crate) fn as_kind(kind: ValueKind, text: Cow<'_, str>) -> Result<Value<'_>, Problem> {
    match kind {
        ValueKind::Text => Ok(Value::Text(text)),
        ValueKind::Decimal if is_plain_decimal(&text) => Ok(Value::Decimal(text)),
        ValueKind::Decimal => Err(Problem::new(
            "not-a-number",
            format!("`{text}` is not a plain decimal number: write digits with an optional `.` decimal point, without commas, units or words"),
        )),
        ValueKind::Integer => text.parse().map(Value::Integer).map_err(|_| {
            Problem::new("not-a-number", format!("`{text}` is not a whole number"))
        }),
        ValueKind::Boolean => match text.as_ref() {
            "true" => Ok(Value::Boolean(true)),
            "false" => Ok(Value::Boolean(false)),
            _ => Err(Problem::new(
                "not-a-boolean",
                format!("`{text}` is neither `true` nor `false`"),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimals_are_told_from_other_text() {
        for good in ["0", "12", "-3.5", "0.050"] {
            assert!(is_plain_decimal(good), "{good}");
        }
        for bad in ["", "-", "1.", ".5", "1,000", "1e3", "N/A", "1.2.3", "+1"] {
            assert!(!is_plain_decimal(bad), "{bad}");
        }
    }
}
