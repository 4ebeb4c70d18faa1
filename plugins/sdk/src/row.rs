//! An input row, and the problems that reject it.

use serde_json::{Map, Value};

use crate::bindings::conform::plugin::types as wit;

/// One input row as the host decoded it.
#[derive(Debug, Clone)]
pub struct Row {
    /// 1-based position of the row in its file.
    pub ordinal: u64,
    /// 1-based line on which the row starts.
    pub line: u64,
    fields: Map<String, Value>,
}

/// Why a row cannot be converted: one problem, or several.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected(pub Vec<Problem>);

impl From<Problem> for Rejected {
    fn from(problem: Problem) -> Rejected {
        Rejected(vec![problem])
    }
}

/// One reason a row cannot be converted.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The input field at fault, named as in the input.
    pub field: Option<String>,
    /// A stable kebab-case code (`missing-field`).
    pub code: String,
    /// What a person should fix.
    pub message: String,
}

impl Problem {
    /// A problem with a code and a message.
    pub fn new(code: &str, message: impl Into<String>) -> Problem {
        Problem {
            field: None,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// The same problem, attributed to an input field.
    pub fn at(mut self, field: &str) -> Problem {
        self.field = Some(field.to_string());
        self
    }

    pub(crate) fn into_wit(self) -> wit::Problem {
        wit::Problem {
            field: self.field,
            code: self.code,
            message: self.message,
        }
    }
}

/// Attributes the error of a result to an input field.
pub trait ResultExt<T> {
    /// Sets the problem's field, unless it already has one.
    fn at(self, field: &str) -> Result<T, Problem>;
}

impl<T> ResultExt<T> for Result<T, Problem> {
    fn at(self, field: &str) -> Result<T, Problem> {
        self.map_err(|p| if p.field.is_some() { p } else { p.at(field) })
    }
}

impl Row {
    /// Parses the host's JSON text of a row.
    pub fn parse(ordinal: u64, line: u64, fields: &str) -> Result<Row, Problem> {
        match serde_json::from_str::<Value>(fields) {
            Ok(Value::Object(fields)) => Ok(Row {
                ordinal,
                line,
                fields,
            }),
            _ => Err(Problem::new(
                "input-not-object",
                "the host passed a row that is not a JSON object",
            )),
        }
    }

    /// A row built in memory, for tests of a plugin's mapping.
    pub fn from_value(ordinal: u64, line: u64, value: Value) -> Row {
        let fields = match value {
            Value::Object(map) => map,
            other => Map::from_iter([("#text".to_string(), other)]),
        };
        Row {
            ordinal,
            line,
            fields,
        }
    }

    /// The value at a JSON pointer (`/Size/@length`), if present.
    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        let mut parts = pointer.strip_prefix('/')?.split('/');
        let first = parts.next()?;
        let mut value = self.fields.get(&unescape(first))?;
        for part in parts {
            value = match value {
                Value::Object(map) => map.get(&unescape(part))?,
                Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value)
    }

    /// A field's raw value, if present.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// A required field as text: a non-blank string (trimmed), or a number
    /// as written. Anything else is a `missing-field` or `wrong-type` problem.
    pub fn text(&self, name: &str) -> Result<String, Problem> {
        text_of(self.fields.get(name), name)
    }

    /// Like [`Row::text`], for the value at a JSON pointer; problems name the pointer.
    pub fn text_at(&self, pointer: &str) -> Result<String, Problem> {
        text_of(self.pointer(pointer), pointer)
    }

    /// A required whole number ≥ 0 (`20`, `"20"`): else `not-a-number`.
    pub fn count(&self, name: &str) -> Result<i64, Problem> {
        let text = self.text(name)?;
        text.parse::<i64>().map_err(|_| {
            Problem::new("not-a-number", format!("`{text}` is not a whole number")).at(name)
        })
    }

    /// A required whole number at a JSON pointer.
    pub fn count_at(&self, pointer: &str) -> Result<i64, Problem> {
        let text = self.text_at(pointer)?;
        text.parse::<i64>().map_err(|_| {
            Problem::new("not-a-number", format!("`{text}` is not a whole number")).at(pointer)
        })
    }
}

fn text_of(value: Option<&Value>, name: &str) -> Result<String, Problem> {
    match value {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        None | Some(Value::Null) | Some(Value::String(_)) => Err(Problem::new(
            "missing-field",
            format!("`{name}` is required but missing or empty"),
        )
        .at(name)),
        Some(other) => Err(Problem::new(
            "wrong-type",
            format!("`{name}` must be text or a number, not {}", kind(other)),
        )
        .at(name)),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn unescape(part: &str) -> String {
    part.replace("~1", "/").replace("~0", "~")
}

/// Collects the problems of several fields, so that a row reports all of them.
#[derive(Debug, Default)]
pub struct Checks(Vec<Problem>);

impl Checks {
    /// Keeps the value, or records the problem and returns `None`.
    pub fn take<T>(&mut self, result: Result<T, Problem>) -> Option<T> {
        result.map_err(|p| self.0.push(p)).ok()
    }

    /// `Ok` when no problem was recorded.
    pub fn finish(self) -> Result<(), Rejected> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Rejected(self.0))
        }
    }
}
