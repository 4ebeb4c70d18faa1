//! Records of the standard, built field by field as a tree of typed values:
//! the host validates and writes them without reading any text, and a
//! decimal stays the digits the tables gave (`3.18`, `1134.0`).

use std::cell::RefCell;

/// Bytes `[start, end)` of a record's text.
pub(crate) type Span = (u32, u32);

/// A value of a record, in pre-order: containers count their children;
/// text lives in the record's one string, so a field costs no allocation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Draft {
    Null,
    Boolean(bool),
    Integer(i64),
    Decimal(Span),
    Text(Span),
    Array(u32),
    Object(u32),
    /// A member's key: bytes of the record's `keys`.
    Key(Span),
}

/// A record of one of the pack's record types.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record type, then every value written, back to back.
    pub(crate) text: String,
    /// Bytes of `text` the record type takes.
    type_len: usize,
    pub(crate) nodes: Vec<Draft>,
    /// Every key written, each after its length (four bytes): records
    /// written by the same code have the same `keys`, compared at once.
    pub(crate) keys: Vec<u8>,
}

/// A record's buffers: text, nodes, keys.
type Buffered = (String, Vec<Draft>, Vec<u8>);

thread_local! {
    /// Buffers of records already handed to the host, for the next
    /// records: a row's record then costs no allocation.
    static SPARE: RefCell<Vec<Buffered>> = const { RefCell::new(Vec::new()) };
}

/// The most spare buffers kept.
const MAX_SPARE: usize = 16;

/// Where a record's writers put what they write.
pub(crate) struct Buffers<'r> {
    text: &'r mut String,
    nodes: &'r mut Vec<Draft>,
    keys: &'r mut Vec<u8>,
}

impl Buffers<'_> {
    fn span(&mut self, value: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(value);
        (start, self.text.len() as u32)
    }

    fn push(&mut self, node: Draft) {
        self.nodes.push(node);
    }

    /// The span of `key` in the keys, written after its length.
    fn key(&mut self, key: &str) -> Span {
        self.keys
            .extend_from_slice(&(key.len() as u32).to_le_bytes());
        let start = self.keys.len() as u32;
        self.keys.extend_from_slice(key.as_bytes());
        (start, self.keys.len() as u32)
    }

    /// Pushes an empty container node and lends the buffers to its writer,
    /// with the container's index (whose count the writer raises).
    fn open(&mut self, container: Draft) -> (Buffers<'_>, usize) {
        let at = self.nodes.len();
        self.nodes.push(container);
        let out = Buffers {
            text: self.text,
            nodes: self.nodes,
            keys: self.keys,
        };
        (out, at)
    }
}

/// The members of an object being written.
pub struct Object<'r> {
    out: Buffers<'r>,
    at: usize,
}

/// The items of a list being written.
pub struct Array<'r> {
    out: Buffers<'r>,
    at: usize,
}

fn grow(nodes: &mut [Draft], at: usize) {
    match &mut nodes[at] {
        Draft::Object(n) | Draft::Array(n) => *n += 1,
        _ => unreachable!("a container is an object or an array"),
    }
}

/// Whether `text` is plain decimal text: `-`? digits (`.` digits)?, read
/// in one pass.
fn is_plain_decimal(text: &str) -> bool {
    let body = match text.as_bytes() {
        [b'-', body @ ..] => body,
        body => body,
    };
    let mut point = None;
    for (i, &b) in body.iter().enumerate() {
        match b {
            b'0'..=b'9' => {}
            b'.' if point.is_none() => point = Some(i),
            _ => return false,
        }
    }
    match point {
        Some(point) => point > 0 && point + 1 < body.len(),
        None => !body.is_empty(),
    }
}

/// The text or decimal node of `value` (a decimal only when it is plain
/// decimal text; else text, for the schema to refuse).
fn valued(out: &mut Buffers<'_>, value: &str, decimal: bool) -> Draft {
    let span = out.span(value);
    if decimal && is_plain_decimal(value) {
        Draft::Decimal(span)
    } else {
        Draft::Text(span)
    }
}

impl Object<'_> {
    fn begin(&mut self, key: &str) {
        grow(self.out.nodes, self.at);
        let key = self.out.key(key);
        self.out.push(Draft::Key(key));
    }

    fn member(&mut self, key: &str, value: Draft) -> &mut Self {
        self.begin(key);
        self.out.push(value);
        self
    }

    /// Text.
    pub fn text(&mut self, key: &str, value: &str) -> &mut Self {
        self.begin(key);
        let node = valued(&mut self.out, value, false);
        self.out.push(node);
        self
    }

    /// A decimal as plain text (`3.18`), kept exact; text that is not a
    /// plain decimal is written as text, for the schema to refuse.
    pub fn decimal(&mut self, key: &str, value: &str) -> &mut Self {
        self.begin(key);
        let node = valued(&mut self.out, value, true);
        self.out.push(node);
        self
    }

    /// A whole number.
    pub fn integer(&mut self, key: &str, value: i64) -> &mut Self {
        self.member(key, Draft::Integer(value))
    }

    /// `true` or `false`.
    pub fn boolean(&mut self, key: &str, value: bool) -> &mut Self {
        self.member(key, Draft::Boolean(value))
    }

    /// `null`.
    pub fn null(&mut self, key: &str) -> &mut Self {
        self.member(key, Draft::Null)
    }

    /// An object, written by `fill`.
    pub fn object(&mut self, key: &str, fill: impl FnOnce(&mut Object<'_>)) -> &mut Self {
        self.begin(key);
        let (out, at) = self.out.open(Draft::Object(0));
        fill(&mut Object { out, at });
        self
    }

    /// A list, written by `fill`.
    pub fn array(&mut self, key: &str, fill: impl FnOnce(&mut Array<'_>)) -> &mut Self {
        self.begin(key);
        let (out, at) = self.out.open(Draft::Array(0));
        fill(&mut Array { out, at });
        self
    }
}

impl Record {
    /// An empty record of `record_type`.
    pub fn new(record_type: &str) -> Record {
        let (mut text, mut nodes, mut keys) = SPARE
            .with(|spare| spare.borrow_mut().pop())
            .unwrap_or_else(|| {
                (
                    String::with_capacity(256),
                    Vec::with_capacity(32),
                    Vec::with_capacity(256),
                )
            });
        text.clear();
        nodes.clear();
        keys.clear();
        text.push_str(record_type);
        nodes.push(Draft::Object(0));
        Record {
            text,
            type_len: record_type.len(),
            nodes,
            keys,
        }
    }

    /// The record's type.
    pub fn record_type(&self) -> &str {
        &self.text[..self.type_len]
    }

    /// Gives the record's buffers to the next record.
    pub(crate) fn recycle(self) {
        SPARE.with(|spare| {
            let mut spare = spare.borrow_mut();
            if spare.len() < MAX_SPARE {
                spare.push((self.text, self.nodes, self.keys));
            }
        });
    }

    /// The value at a JSON pointer (`/length_mm`, `/composition/0/fibre`),
    /// as written: for tests of a plugin's mapping.
    pub fn at(&self, pointer: &str) -> Option<Written<'_>> {
        let mut at = 0;
        if !pointer.is_empty() {
            for step in pointer.strip_prefix('/')?.split('/') {
                let step = step.replace("~1", "/").replace("~0", "~");
                at = self.child(at, &step)?;
            }
        }
        self.written(at)
    }

    /// A top-level field's value, as written (`record.get("sku")`).
    pub fn get(&self, key: &str) -> Option<Written<'_>> {
        self.written(self.child(0, key)?)
    }

    /// The value whose node is at `at`.
    fn written(&self, at: usize) -> Option<Written<'_>> {
        let slice = |(start, end): Span| &self.text[start as usize..end as usize];
        Some(match self.nodes[at] {
            Draft::Null => Written::Null,
            Draft::Boolean(b) => Written::Boolean(b),
            Draft::Integer(i) => Written::Integer(i),
            Draft::Decimal(d) => Written::Decimal(slice(d)),
            Draft::Text(t) => Written::Text(slice(t)),
            Draft::Array(n) => Written::Array(n as usize),
            Draft::Object(n) => Written::Object(n as usize),
            Draft::Key(_) => return None,
        })
    }

    /// The names of the top-level fields, in the order written.
    pub fn keys(&self) -> Vec<&str> {
        let Draft::Object(n) = self.nodes[0] else {
            return Vec::new();
        };
        let mut keys = Vec::with_capacity(n as usize);
        let mut at = 1;
        for _ in 0..n {
            if let Draft::Key(span) = self.nodes[at] {
                keys.push(self.key_at(span));
            }
            at = skip(&self.nodes, at + 1);
        }
        keys
    }

    /// The node of the member `step` of the container at `at`: a key of
    /// an object, an index of an array.
    fn child(&self, at: usize, step: &str) -> Option<usize> {
        match self.nodes[at] {
            Draft::Object(n) => {
                let mut member = at + 1;
                for _ in 0..n {
                    let Draft::Key(span) = self.nodes[member] else {
                        return None;
                    };
                    if self.key_at(span) == step {
                        return Some(member + 1);
                    }
                    member = skip(&self.nodes, member + 1);
                }
                None
            }
            Draft::Array(n) => {
                let index: u32 = step.parse().ok().filter(|i| *i < n)?;
                let mut element = at + 1;
                for _ in 0..index {
                    element = skip(&self.nodes, element);
                }
                Some(element)
            }
            _ => None,
        }
    }

    /// The record as JSON, for tests of a plugin's mapping (decimals as
    /// numbers, as the host writes them).
    pub fn to_json(&self) -> serde_json::Value {
        let mut at = 0;
        to_json(self, &mut at)
    }

    /// The key written at `span` of the keys.
    pub(crate) fn key_at(&self, (start, end): Span) -> &str {
        std::str::from_utf8(&self.keys[start as usize..end as usize])
            .expect("a key is written from a str")
    }

    /// The writer of the record's top-level members, for code that writes
    /// records and their nested values alike.
    pub fn root(&mut self) -> Object<'_> {
        Object {
            out: Buffers {
                text: &mut self.text,
                nodes: &mut self.nodes,
                keys: &mut self.keys,
            },
            at: 0,
        }
    }

    /// Text.
    pub fn text(&mut self, key: &str, value: &str) -> &mut Self {
        self.root().text(key, value);
        self
    }

    /// A decimal as plain text (`3.18`), kept exact; text that is not a
    /// plain decimal is written as text, for the schema to refuse.
    pub fn decimal(&mut self, key: &str, value: &str) -> &mut Self {
        self.root().decimal(key, value);
        self
    }

    /// A whole number.
    pub fn integer(&mut self, key: &str, value: i64) -> &mut Self {
        self.root().integer(key, value);
        self
    }

    /// `true` or `false`.
    pub fn boolean(&mut self, key: &str, value: bool) -> &mut Self {
        self.root().boolean(key, value);
        self
    }

    /// `null`.
    pub fn null(&mut self, key: &str) -> &mut Self {
        self.root().null(key);
        self
    }

    /// An object, written by `fill`.
    pub fn object(&mut self, key: &str, fill: impl FnOnce(&mut Object<'_>)) -> &mut Self {
        self.root().object(key, fill);
        self
    }

    /// A list, written by `fill`.
    pub fn array(&mut self, key: &str, fill: impl FnOnce(&mut Array<'_>)) -> &mut Self {
        self.root().array(key, fill);
        self
    }
}

impl Array<'_> {
    fn item(&mut self, value: Draft) -> &mut Self {
        grow(self.out.nodes, self.at);
        self.out.push(value);
        self
    }

    /// Text.
    pub fn text(&mut self, value: &str) -> &mut Self {
        let node = valued(&mut self.out, value, false);
        self.item(node)
    }

    /// A decimal as plain text, kept exact.
    pub fn decimal(&mut self, value: &str) -> &mut Self {
        let node = valued(&mut self.out, value, true);
        self.item(node)
    }

    /// A whole number.
    pub fn integer(&mut self, value: i64) -> &mut Self {
        self.item(Draft::Integer(value))
    }

    /// `true` or `false`.
    pub fn boolean(&mut self, value: bool) -> &mut Self {
        self.item(Draft::Boolean(value))
    }

    /// `null`.
    pub fn null(&mut self) -> &mut Self {
        self.item(Draft::Null)
    }

    /// An object, written by `fill`.
    pub fn object(&mut self, fill: impl FnOnce(&mut Object<'_>)) -> &mut Self {
        grow(self.out.nodes, self.at);
        let (out, at) = self.out.open(Draft::Object(0));
        fill(&mut Object { out, at });
        self
    }

    /// A list, written by `fill`.
    pub fn array(&mut self, fill: impl FnOnce(&mut Array<'_>)) -> &mut Self {
        grow(self.out.nodes, self.at);
        let (out, at) = self.out.open(Draft::Array(0));
        fill(&mut Array { out, at });
        self
    }
}

/// A value of a record as written, for tests of a plugin's mapping: a
/// decimal is the digits written (`"76.20"`), never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written<'r> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean(bool),
    /// A whole number.
    Integer(i64),
    /// A decimal, its digits as written.
    Decimal(&'r str),
    /// Text.
    Text(&'r str),
    /// An array of this many elements (read them with [`Record::at`]).
    Array(usize),
    /// An object of this many members.
    Object(usize),
}

impl<'r> Written<'r> {
    /// The text of a text value, or the digits of a decimal.
    pub fn as_str(&self) -> Option<&'r str> {
        match *self {
            Written::Text(t) | Written::Decimal(t) => Some(t),
            _ => None,
        }
    }
}

/// The index after the value whose node is at `at`.
fn skip(nodes: &[Draft], at: usize) -> usize {
    match nodes[at] {
        Draft::Array(n) => (0..n).fold(at + 1, |next, _| skip(nodes, next)),
        Draft::Object(n) => (0..n).fold(at + 1, |next, _| skip(nodes, next + 1)),
        _ => at + 1,
    }
}

fn to_json(record: &Record, at: &mut usize) -> serde_json::Value {
    use serde_json::Value;
    let (text, nodes) = (&record.text, &record.nodes);
    let slice = |(start, end): Span| &text[start as usize..end as usize];
    let node = nodes[*at];
    *at += 1;
    match node {
        Draft::Null => Value::Null,
        Draft::Boolean(b) => Value::Bool(b),
        Draft::Integer(i) => Value::from(i),
        Draft::Decimal(d) => slice(d)
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::String(slice(d).to_string()), Value::Number),
        Draft::Text(t) => Value::String(slice(t).to_string()),
        Draft::Array(n) => Value::Array((0..n).map(|_| to_json(record, at)).collect()),
        Draft::Object(n) => {
            let mut map = serde_json::Map::new();
            for _ in 0..n {
                let Draft::Key(key) = nodes[*at] else {
                    unreachable!("members start with a key")
                };
                *at += 1;
                map.insert(record.key_at(key).to_string(), to_json(record, at));
            }
            Value::Object(map)
        }
        Draft::Key(_) => unreachable!("keys start members"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_is_written_as_a_tree() {
        let mut roll = Record::new("fabric_roll");
        roll.text("roll_id", "R-1")
            .decimal("width_cm", "147.5")
            .decimal("odd", "1e3")
            .integer("n", 2)
            .array("composition", |c| {
                c.object(|o| {
                    o.text("fibre", "PES").integer("percent", 65);
                })
                .object(|o| {
                    o.text("fibre", "CO").integer("percent", 35);
                });
            })
            .object("source_grade", |o| {
                o.text("system", "cn-quality").null("value");
            });
        assert_eq!(
            roll.to_json(),
            json!({
                "roll_id": "R-1", "width_cm": 147.5, "odd": "1e3", "n": 2,
                "composition": [{"fibre": "PES", "percent": 65}, {"fibre": "CO", "percent": 35}],
                "source_grade": {"system": "cn-quality", "value": null}
            })
        );
        assert_eq!(roll.nodes[0], Draft::Object(6));
        // Read back as written, by key and by pointer.
        assert_eq!(
            roll.keys(),
            [
                "roll_id",
                "width_cm",
                "odd",
                "n",
                "composition",
                "source_grade"
            ]
        );
        assert_eq!(roll.get("width_cm"), Some(Written::Decimal("147.5")));
        assert_eq!(roll.get("width_cm").and_then(|w| w.as_str()), Some("147.5"));
        assert_eq!(roll.get("n"), Some(Written::Integer(2)));
        assert_eq!(roll.get("composition"), Some(Written::Array(2)));
        assert_eq!(roll.at("/composition/1/fibre"), Some(Written::Text("CO")));
        assert_eq!(
            roll.at("/composition/1/percent"),
            Some(Written::Integer(35))
        );
        assert_eq!(roll.at("/source_grade/value"), Some(Written::Null));
        assert_eq!(roll.at("/source_grade"), Some(Written::Object(2)));
        assert_eq!(roll.at(""), Some(Written::Object(6)));
        for absent in [
            "/composition/2",
            "/composition/x",
            "/n/0",
            "/nope",
            "composition",
        ] {
            assert_eq!(roll.at(absent), None, "{absent}");
        }
        assert_eq!(roll.get("fibre"), None);
    }

    #[test]
    fn only_plain_decimal_text_is_a_decimal() {
        for plain in ["0", "-1", "147.5", "0.000", "12"] {
            assert!(is_plain_decimal(plain), "{plain}");
        }
        for other in ["", "-", ".5", "5.", "1e3", "1.2.3", "+1", " 1", "1,5", "１"] {
            assert!(!is_plain_decimal(other), "{other}");
        }
    }
}
