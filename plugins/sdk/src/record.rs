//! Records of the standard, built field by field as a tree of typed values:
//! the host validates and writes them without reading any text, and a
//! decimal stays the digits the tables gave (`3.18`, `1134.0`).

/// A value of a record, in pre-order: containers count their children.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Draft {
    Null,
    Boolean(bool),
    Integer(i64),
    Decimal(String),
    Text(String),
    Array(u32),
    Object(u32),
    Key(String),
}

/// A record of one of the pack's record types.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub(crate) record_type: String,
    pub(crate) nodes: Vec<Draft>,
}

/// The members of an object being written.
pub struct Object<'r> {
    nodes: &'r mut Vec<Draft>,
    at: usize,
}

/// The items of a list being written.
pub struct Array<'r> {
    nodes: &'r mut Vec<Draft>,
    at: usize,
}

fn grow(nodes: &mut [Draft], at: usize) {
    match &mut nodes[at] {
        Draft::Object(n) | Draft::Array(n) => *n += 1,
        _ => unreachable!("a container is an object or an array"),
    }
}

/// Whether `text` is plain decimal text: `-`? digits (`.` digits)?.
fn is_plain_decimal(text: &str) -> bool {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac)
}

macro_rules! writers {
    ($($owner:ty),*) => {$(
        impl $owner {
            fn member(&mut self, key: &str, value: Draft) -> &mut Self {
                self.begin(key);
                self.nodes.push(value);
                self
            }

            /// Text.
            pub fn text(&mut self, key: &str, value: &str) -> &mut Self {
                self.member(key, Draft::Text(value.to_string()))
            }

            /// A decimal as plain text (`3.18`), kept exact; text that is not
            /// a plain decimal is written as text, for the schema to refuse.
            pub fn decimal(&mut self, key: &str, value: &str) -> &mut Self {
                if is_plain_decimal(value) {
                    self.member(key, Draft::Decimal(value.to_string()))
                } else {
                    self.member(key, Draft::Text(value.to_string()))
                }
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
                let at = self.nodes.len();
                self.nodes.push(Draft::Object(0));
                fill(&mut Object { nodes: self.nodes_mut(), at });
                self
            }

            /// A list, written by `fill`.
            pub fn array(&mut self, key: &str, fill: impl FnOnce(&mut Array<'_>)) -> &mut Self {
                self.begin(key);
                let at = self.nodes.len();
                self.nodes.push(Draft::Array(0));
                fill(&mut Array { nodes: self.nodes_mut(), at });
                self
            }
        }
    )*};
}

impl Record {
    /// An empty record of `record_type`.
    pub fn new(record_type: &str) -> Record {
        Record {
            record_type: record_type.to_string(),
            nodes: vec![Draft::Object(0)],
        }
    }

    /// The record's type.
    pub fn record_type(&self) -> &str {
        &self.record_type
    }

    /// The record as JSON, for tests of a plugin's mapping (decimals as
    /// numbers, as the host writes them).
    pub fn to_json(&self) -> serde_json::Value {
        let mut at = 0;
        to_json(&self.nodes, &mut at)
    }

    fn begin(&mut self, key: &str) {
        grow(&mut self.nodes, 0);
        self.nodes.push(Draft::Key(key.to_string()));
    }

    fn nodes_mut(&mut self) -> &mut Vec<Draft> {
        &mut self.nodes
    }
}

impl Object<'_> {
    fn begin(&mut self, key: &str) {
        grow(self.nodes, self.at);
        self.nodes.push(Draft::Key(key.to_string()));
    }

    fn nodes_mut(&mut self) -> &mut Vec<Draft> {
        self.nodes
    }
}

writers!(Record, Object<'_>);

impl Array<'_> {
    fn item(&mut self, value: Draft) -> &mut Self {
        grow(self.nodes, self.at);
        self.nodes.push(value);
        self
    }

    /// Text.
    pub fn text(&mut self, value: &str) -> &mut Self {
        self.item(Draft::Text(value.to_string()))
    }

    /// A decimal as plain text, kept exact.
    pub fn decimal(&mut self, value: &str) -> &mut Self {
        if is_plain_decimal(value) {
            self.item(Draft::Decimal(value.to_string()))
        } else {
            self.item(Draft::Text(value.to_string()))
        }
    }

    /// A whole number.
    pub fn integer(&mut self, value: i64) -> &mut Self {
        self.item(Draft::Integer(value))
    }

    /// An object, written by `fill`.
    pub fn object(&mut self, fill: impl FnOnce(&mut Object<'_>)) -> &mut Self {
        grow(self.nodes, self.at);
        let at = self.nodes.len();
        self.nodes.push(Draft::Object(0));
        fill(&mut Object {
            nodes: self.nodes,
            at,
        });
        self
    }
}

fn to_json(nodes: &[Draft], at: &mut usize) -> serde_json::Value {
    use serde_json::Value;
    let node = nodes[*at].clone();
    *at += 1;
    match node {
        Draft::Null => Value::Null,
        Draft::Boolean(b) => Value::Bool(b),
        Draft::Integer(i) => Value::from(i),
        Draft::Decimal(d) => d
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::String(d), Value::Number),
        Draft::Text(t) => Value::String(t),
        Draft::Array(n) => Value::Array((0..n).map(|_| to_json(nodes, at)).collect()),
        Draft::Object(n) => {
            let mut map = serde_json::Map::new();
            for _ in 0..n {
                let Draft::Key(key) = nodes[*at].clone() else {
                    unreachable!("members start with a key")
                };
                *at += 1;
                map.insert(key, to_json(nodes, at));
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
    }
}
