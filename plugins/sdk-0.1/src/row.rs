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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(value: Value) -> Row {
        Row::from_value(3, 4, value)
    }

    #[test]
    fn text_is_trimmed_numbers_are_written_as_given_and_blanks_are_missing() {
        let r = row(
            json!({ "name": "  垫圈 ", "qty": 20, "weight": 0.125, "blank": " ", "none": null }),
        );
        assert_eq!(r.text("name"), Ok("垫圈".to_string()));
        assert_eq!(r.text("qty"), Ok("20".to_string()));
        assert_eq!(r.text("weight"), Ok("0.125".to_string()));
        for missing in ["blank", "none", "absent"] {
            let problem = r.text(missing).unwrap_err();
            assert_eq!(problem.code, "missing-field");
            assert_eq!(problem.field.as_deref(), Some(missing));
        }
    }

    #[test]
    fn a_list_or_object_where_text_is_wanted_is_a_wrong_type_naming_what_it_is() {
        let r = row(json!({ "tags": ["a"], "size": { "w": 1 } }));
        let problem = r.text("tags").unwrap_err();
        assert_eq!(problem.code, "wrong-type");
        assert!(problem.message.contains("a list"), "{}", problem.message);
        assert!(r.text("size").unwrap_err().message.contains("an object"));
    }

    #[test]
    fn counts_take_whole_numbers_as_numbers_or_text_only() {
        let r = row(json!({ "a": 20, "b": "7", "c": "2.5", "d": "many" }));
        assert_eq!(r.count("a"), Ok(20));
        assert_eq!(r.count("b"), Ok(7));
        for bad in ["c", "d"] {
            let problem = r.count(bad).unwrap_err();
            assert_eq!(
                (problem.code.as_str(), problem.field.as_deref()),
                ("not-a-number", Some(bad))
            );
        }
    }

    #[test]
    fn pointers_reach_attributes_list_items_and_escaped_names() {
        let r = row(json!({
            "Size": { "@length": "2.5", "items": [{ "n": "first" }] },
            "a/b": { "~x": "escaped" }
        }));
        assert_eq!(r.text_at("/Size/@length"), Ok("2.5".to_string()));
        assert_eq!(r.text_at("/Size/items/0/n"), Ok("first".to_string()));
        assert_eq!(r.text_at("/a~1b/~0x"), Ok("escaped".to_string()));
        assert!(r.pointer("/Size/items/9").is_none());
        assert!(r.pointer("no-slash").is_none());
        assert_eq!(
            r.count_at("/Size/@length").unwrap_err().field.as_deref(),
            Some("/Size/@length")
        );
    }

    #[test]
    fn the_host_text_of_a_row_must_be_an_object() {
        let parsed = Row::parse(1, 2, r#"{"no":"JG-1"}"#).unwrap();
        assert_eq!((parsed.ordinal, parsed.line), (1, 2));
        assert_eq!(parsed.text("no"), Ok("JG-1".to_string()));
        assert_eq!(
            Row::parse(1, 2, "[1]").unwrap_err().code,
            "input-not-object"
        );
        assert_eq!(Row::parse(1, 2, "{").unwrap_err().code, "input-not-object");
    }

    #[test]
    fn checks_report_every_problem_of_a_row_in_order_and_at_keeps_the_first_field() {
        let r = row(json!({ "qty": "x" }));
        let mut checks = Checks::default();
        let name = checks.take(r.text("name"));
        let qty = checks.take(r.count("qty").at("quantity"));
        let ok = checks.take(Ok::<_, Problem>(5));
        assert_eq!((name, qty, ok), (None, None, Some(5)));
        let Rejected(problems) = checks.finish().unwrap_err();
        let codes: Vec<_> = problems
            .iter()
            .map(|p| (p.code.as_str(), p.field.as_deref()))
            .collect();
        // `.at` does not overwrite the field the problem already names.
        assert_eq!(
            codes,
            [
                ("missing-field", Some("name")),
                ("not-a-number", Some("qty"))
            ]
        );
        assert!(Checks::default().finish().is_ok());
        let unnamed = Err::<(), _>(Problem::new("bad", "bad")).at("field");
        assert_eq!(unnamed.unwrap_err().field.as_deref(), Some("field"));
    }
}
