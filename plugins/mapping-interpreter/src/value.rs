//! One field's value made from a row: read from its source, matched,
//! converted by the pack's tables, then read as the field's kind.

use std::borrow::Cow;

use conform_mapping::program::{Constant, Place, Source, ValueKind};
use conform_plugin_sdk::{Cell, Cx, Problem, Row};

use crate::compiled::{Convert, Field};

/// A field's value, as the record holds it.
pub(crate) enum Value<'b> {
    Text(Cow<'b, str>),
    Decimal(Cow<'b, str>),
    Integer(i64),
    Boolean(bool),
}

/// The value of `field` in `row`: `None` when the field is optional and
/// the row has no value for it. A problem names the input it comes from.
pub(crate) fn of<'b>(
    field: &'b Field,
    row: &Row<'b>,
    cx: &mut Cx,
) -> Result<Option<Value<'b>>, Problem> {
    let (text, input) = match &field.source {
        Source::Constant(constant) => (constant_text(constant), None),
        Source::Column(column) => {
            let cell = row.get(column);
            if field.optional && absent(cell) {
                return Ok(None);
            }
            (read(cell, || row.text(column))?, Some(column.as_str()))
        }
        Source::Pointer(pointer) => {
            let cell = row.pointer(pointer);
            if field.optional && absent(cell) {
                return Ok(None);
            }
            (read(cell, || row.text_at(pointer))?, Some(pointer.as_str()))
        }
    };
    let at = |problem: Problem| match (&problem.field, input) {
        (None, Some(input)) => problem.at(input),
        _ => problem,
    };
    let text = matched(field, text).map_err(at)?;
    let converted = convert(field, row, cx, text).map_err(at)?;
    as_kind(field.kind, converted).map(Some).map_err(at)
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

/// A cell's text as the SDK reads a required value (`text`), and a JSON
/// boolean as `true` or `false`.
fn read<'b>(
    cell: Option<Cell<'b>>,
    text: impl FnOnce() -> Result<&'b str, Problem>,
) -> Result<&'b str, Problem> {
    match cell {
        Some(Cell::Boolean(true)) => Ok("true"),
        Some(Cell::Boolean(false)) => Ok("false"),
        _ => text(),
    }
}

/// The value after the field's `match`: its first capture group, or the
/// whole match.
fn matched<'b>(field: &Field, text: &'b str) -> Result<&'b str, Problem> {
    let Some(pattern) = &field.pattern else {
        return Ok(text);
    };
    let Some(captures) = pattern.captures(text) else {
        return Err(Problem::new(
            "no-match",
            format!(
                "`{text}` does not match the pattern `{}` of field `{}`",
                pattern.as_str(),
                field.name
            ),
        ));
    };
    Ok(captures
        .get(1)
        .or_else(|| captures.get(0))
        .map_or("", |m| m.as_str()))
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
    text: &'b str,
) -> Result<Cow<'b, str>, Problem> {
    let scope = |scope: &'b Option<Place>| -> Result<Option<&'b str>, Problem> {
        scope
            .as_ref()
            .map(|p| place(row, p).map(|(text, _)| text))
            .transpose()
    };
    Ok(Cow::Owned(match &field.conversion {
        Convert::None => return Ok(Cow::Borrowed(text)),
        Convert::Unit { quantity, unit } => {
            let (unit, unit_input) = place(row, unit)?;
            return match quantity.to_canonical(cx, text, unit) {
                Ok(canonical) => Ok(Cow::Owned(canonical.as_str().to_owned())),
                // A unit the pack refuses is the unit's input's fault.
                Err(problem) if is_unit_problem(&problem) => Err(match unit_input {
                    Some(input) => problem.at(input),
                    None => problem,
                }),
                Err(problem) => Err(problem),
            };
        }
        Convert::CodeList { list, scope: s } => list.lookup(cx, text, scope(s)?)?.code,
        Convert::TermLevels { table, scope: s } => table.resolve(cx, text, scope(s)?)?.level,
        Convert::Thresholds(thresholds) => thresholds.classify(cx, text)?,
        Convert::Date { format, pattern } => format.parse_date(cx, text, pattern)?,
        Convert::Time { format, pattern } => format.parse_time(cx, text, pattern)?,
    }))
}

fn is_unit_problem(problem: &Problem) -> bool {
    problem.code == "unknown-unit" || problem.code == "incompatible-unit"
}

/// `text` as the record's `kind`.
fn as_kind(kind: ValueKind, text: Cow<'_, str>) -> Result<Value<'_>, Problem> {
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

/// `-`? digits (`.` digits)?, as the record's decimals are written.
fn is_plain_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && all_digits(fraction)
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
