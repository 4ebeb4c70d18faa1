//! A record a record type's schema accepts, made up from the schema alone:
//! the sample row `conform plugin new` writes, the record it must become,
//! and how the scaffold reads each field. Values are the plainest the
//! schema allows (an enum's first member, a pattern's shortest match, a
//! number just above its minimum); the scaffold then validates the record
//! against the pack, so the expected output it writes is the pack's word.

use serde_json::Value;

use crate::AuthorError;

/// How a field's value is read from its column and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text, trimmed.
    Text,
    /// A decimal number, kept as written.
    Decimal,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
}

impl FieldKind {
    /// The SDKs' record method that writes a field of this kind (the
    /// same name in the Rust and the Python SDK).
    pub(crate) fn record_method(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Decimal => "decimal",
            FieldKind::Integer => "integer",
            FieldKind::Boolean => "boolean",
        }
    }
}

/// One field of the sample record.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleField {
    /// The field's name in the record, and the sample column's.
    pub name: String,
    /// How it is read.
    pub kind: FieldKind,
    /// Whether the schema requires it.
    pub required: bool,
    /// Its sample value.
    pub value: Value,
}

impl SampleField {
    /// The value as the sample file's cell shows it.
    pub fn cell(&self) -> String {
        match &self.value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// The fields of a record type's schema with a sample value each, in the
/// schema's order of properties; refused when a field is of a shape one
/// column cannot hold (an object, a list), naming it.
pub fn sample_fields(record_type: &str, schema: &Value) -> Result<Vec<SampleField>, AuthorError> {
    let cannot = |field: &str, why: &str| {
        AuthorError::Scaffold {
        message: format!(
            "record type `{record_type}`: the scaffold cannot map field `{field}` from one column ({why}); choose another record type, or write that field's mapping by hand from a scaffold of a simpler one"
        ),
    }
    };
    let schema_fields = conform_pack::SchemaFields::of(schema);
    let mut fields = Vec::new();
    for (name, property) in schema_fields.properties.iter().copied() {
        let is_required = schema_fields.requires(name);
        let (kind, value) = match sample_value(property) {
            Ok(sampled) => sampled,
            Err(why) if is_required => return Err(cannot(name, &why)),
            Err(_) => continue,
        };
        fields.push(SampleField {
            name: name.to_string(),
            kind,
            required: is_required,
            value,
        });
    }
    if fields.is_empty() {
        return Err(cannot("(none)", "its schema lists no properties"));
    }
    Ok(fields)
}

/// A property's kind and sample value, or why it has none.
fn sample_value(property: &Value) -> Result<(FieldKind, Value), String> {
    let of_kind = |value: &Value| match value {
        Value::String(_) => Ok(FieldKind::Text),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(FieldKind::Integer),
        Value::Number(_) => Ok(FieldKind::Decimal),
        Value::Bool(_) => Ok(FieldKind::Boolean),
        _ => Err("its values are objects or lists".to_string()),
    };
    if let Some(value) = property.get("const") {
        return Ok((of_kind(value)?, value.clone()));
    }
    if let Some(first) = property
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return Ok((of_kind(first)?, first.clone()));
    }
    let types: Vec<&str> = match property.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let is = |t: &str| types.contains(&t);
    if is("string") {
        sample_text(property).map(|t| (FieldKind::Text, Value::String(t)))
    } else if is("integer") {
        Ok((FieldKind::Integer, Value::from(sample_integer(property))))
    } else if is("number") {
        Ok((FieldKind::Decimal, sample_decimal(property)))
    } else if is("boolean") {
        Ok((FieldKind::Boolean, Value::Bool(true)))
    } else if is("object") || is("array") {
        Err(format!(
            "it is {}",
            if is("object") { "an object" } else { "a list" }
        ))
    } else {
        Err("its schema names no plain type".into())
    }
}

fn sample_text(property: &Value) -> Result<String, String> {
    let number = |key: &str| property.get(key).and_then(Value::as_u64);
    let by_format = match property.get("format").and_then(Value::as_str) {
        Some("date") => Some("2026-01-05"),
        Some("date-time") => Some("2026-01-05T08:30:00+08:00"),
        Some("time") => Some("08:30:00+08:00"),
        _ => None,
    };
    if let Some(text) = by_format {
        return Ok(text.into());
    }
    if let Some(pattern) = property.get("pattern").and_then(Value::as_str) {
        return shortest_match(pattern);
    }
    let (min, max) = (number("minLength").unwrap_or(0), number("maxLength"));
    let text = if min <= 6 && max.is_none_or(|m| m >= 6) {
        "sample".to_string()
    } else {
        "x".repeat(min.max(1) as usize)
    };
    Ok(text)
}

fn sample_integer(property: &Value) -> i64 {
    let bound = |key: &str| property.get(key).and_then(Value::as_f64);
    let low = match (bound("minimum"), bound("exclusiveMinimum")) {
        (Some(m), _) => m.ceil() as i64,
        (None, Some(e)) => e.floor() as i64 + 1,
        (None, None) => 1,
    };
    low.max(1)
        .min(bound("maximum").map_or(i64::MAX, |m| m.floor() as i64))
}

/// A number with a fraction, so that the scaffold shows a decimal kept
/// as written: the lower bound's whole part plus 1.5, or inside the
/// bounds when that is beyond them.
fn sample_decimal(property: &Value) -> Value {
    let bound = |key: &str| property.get(key).and_then(Value::as_f64);
    let low = bound("minimum")
        .or(bound("exclusiveMinimum"))
        .unwrap_or(0.0);
    let high = bound("maximum").or(bound("exclusiveMaximum"));
    let mut value = low.floor() + 1.5;
    if let Some(high) = high.filter(|&h| value >= h) {
        value = (low + high) / 2.0;
    }
    Value::from(value)
}

/// The shortest text `pattern` matches, made of each class's first
/// letter or digit (else its first character): `^[A-Z0-9][A-Z0-9-]{2,31}$`
/// gives `AAA`.
pub(crate) fn shortest_match(pattern: &str) -> Result<String, String> {
    use regex_syntax::hir::{Class, HirKind};
    fn walk(hir: &regex_syntax::hir::Hir, out: &mut String) -> Result<(), String> {
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(literal) => out.push_str(
                std::str::from_utf8(&literal.0).map_err(|_| "a pattern of bytes".to_string())?,
            ),
            HirKind::Class(Class::Unicode(class)) => {
                let holds = |c: char| {
                    class
                        .ranges()
                        .iter()
                        .any(|r| r.start() <= c && c <= r.end())
                };
                let first = class
                    .ranges()
                    .first()
                    .ok_or("a class that matches nothing")?
                    .start();
                // A letter or digit reads better than punctuation.
                out.push(
                    ['A', 'a', '0']
                        .into_iter()
                        .find(|&c| holds(c))
                        .unwrap_or(first),
                );
            }
            HirKind::Class(Class::Bytes(_)) => return Err("a pattern of bytes".into()),
            HirKind::Repetition(repetition) => {
                for _ in 0..repetition.min {
                    walk(&repetition.sub, out)?;
                }
            }
            HirKind::Capture(capture) => walk(&capture.sub, out)?,
            HirKind::Concat(parts) => {
                for part in parts {
                    walk(part, out)?;
                }
            }
            HirKind::Alternation(choices) => walk(&choices[0], out)?,
        }
        Ok(())
    }
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .map_err(|e| format!("its pattern does not parse: {e}"))?;
    let mut out = String::new();
    walk(&hir, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_give_their_shortest_match() {
        assert_eq!(shortest_match("^[A-Z0-9][A-Z0-9-]{2,31}$").unwrap(), "AAA");
        assert_eq!(shortest_match("^[-.0-9]{2}$").unwrap(), "00");
        assert_eq!(shortest_match("^[-.]$").unwrap(), "-");
        assert_eq!(shortest_match("^(CT|BX)-[0-9]{2}$").unwrap(), "CT-00");
    }

    #[test]
    fn each_plain_field_gets_a_value_its_schema_accepts() {
        let schema = json!({
            "type": "object",
            "required": ["code", "mass_g", "count", "grade"],
            "properties": {
                "code": {"type": "string", "pattern": "^[A-Z]{2}$"},
                "mass_g": {"type": "number", "exclusiveMinimum": 0},
                "count": {"type": "integer", "minimum": 3},
                "grade": {"enum": ["A", "B"]},
                "note": {"type": "string"},
                "extra": {"type": "object"}
            }
        });
        let fields = sample_fields("lot", &schema).unwrap();
        let shown: Vec<(&str, FieldKind, bool, String)> = fields
            .iter()
            .map(|f| (f.name.as_str(), f.kind, f.required, f.cell()))
            .collect();
        assert_eq!(
            shown,
            [
                ("code", FieldKind::Text, true, "AA".into()),
                ("count", FieldKind::Integer, true, "3".into()),
                ("grade", FieldKind::Text, true, "A".into()),
                ("mass_g", FieldKind::Decimal, true, "1.5".into()),
                ("note", FieldKind::Text, false, "sample".into()),
            ]
        );
    }

    #[test]
    fn a_required_list_is_refused_by_name() {
        let schema = json!({"required": ["parts"], "properties": {"parts": {"type": "array"}}});
        let error = sample_fields("lot", &schema).unwrap_err().to_string();
        assert!(
            error.contains("field `parts`") && error.contains("a list"),
            "{error}"
        );
    }
}
