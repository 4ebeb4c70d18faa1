//! What a contract 0.2.0 plugin returns, checked: one outcome per row,
//! every range and span in bounds, record trees well formed, decimals
//! exact. Records come back as trees of typed nodes, so the host builds
//! the value it validates and writes without parsing any text.

use serde_json::{Map, Number, Value};

use crate::bindings_v0_2::conform::plugin::types::{
    BatchResult, Node, Outcome, OutputRecord as WitRecord, Problem as WitProblem, Range, Span,
};

/// The deepest a record tree may nest.
pub(crate) const MAX_DEPTH: usize = 64;
/// The longest decimal text a record may hold.
pub(crate) const MAX_DECIMAL_CHARS: usize = 40;

/// One row's outcome as the plugin gave it, its records built.
pub(crate) enum Checked {
    /// Records: (record type, value, bytes the record took).
    Converted(Vec<(String, Value, usize)>),
    /// Problems, as given.
    Rejected(Vec<WitProblem>),
    /// The outcome broke the contract: why.
    Broken(String),
}

/// What one row may return, from the plugin's limits: checked while the
/// records are built, so that no row costs the host more than its limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowLimits {
    /// Records one row may become.
    pub records: usize,
    /// Bytes one row's records may hold (text, names, 8 per node).
    pub bytes: usize,
}

/// The rows' outcomes, or why the whole result breaks the contract. Each
/// record and each problem is named by one outcome at most, and records'
/// nodes follow one another, so the work is linear in what the plugin sent.
pub(crate) fn check(
    result: BatchResult,
    rows: usize,
    limits: RowLimits,
) -> Result<Vec<Checked>, String> {
    if result.outcomes.len() != rows {
        return Err(format!(
            "it returned {} outcomes for {rows} records",
            result.outcomes.len()
        ));
    }
    let BatchResult {
        text,
        names,
        nodes,
        records,
        mut problems,
        outcomes,
    } = result;
    let parts = Parts {
        text: &text,
        names: &names,
        nodes: &nodes,
    };
    let mut checked = Vec::with_capacity(rows);
    // Problems are moved out as their ranges are taken, each range once;
    // records are taken once too, their nodes in order.
    let mut problem_slots: Vec<Option<WitProblem>> = problems.drain(..).map(Some).collect();
    let mut record_used = vec![false; records.len()];
    let mut nodes_done = 0usize;
    for outcome in outcomes {
        checked.push(match outcome {
            Outcome::Converted(range) if range.len as usize > limits.records => {
                Checked::Broken(format!(
                    "it emitted {} records for one row, more than its limit of {}",
                    range.len, limits.records
                ))
            }
            Outcome::Converted(range) => {
                let start = range.start as usize;
                let end = start.saturating_add(range.len as usize);
                match record_used.get_mut(start..end) {
                    None => Checked::Broken(
                        "a converted row names records beyond those returned".into(),
                    ),
                    Some(used) if used.iter().any(|u| *u) => {
                        Checked::Broken("two rows name the same records".into())
                    }
                    Some(used) => {
                        used.iter_mut().for_each(|u| *u = true);
                        let mut budget = limits.bytes;
                        records[start..end]
                            .iter()
                            .map(|r| parts.record(r, &mut nodes_done, &mut budget))
                            .collect::<Result<Vec<_>, String>>()
                            .map_or_else(Checked::Broken, Checked::Converted)
                    }
                }
            }
            Outcome::Rejected(range) => {
                let start = range.start as usize;
                let end = start.saturating_add(range.len as usize);
                match problem_slots.get_mut(start..end) {
                    Some(slots) if slots.iter().all(Option::is_some) => {
                        Checked::Rejected(slots.iter_mut().filter_map(Option::take).collect())
                    }
                    Some(_) => Checked::Broken("two rows name the same problems".into()),
                    None => Checked::Broken(
                        "a rejected row names problems beyond those returned".into(),
                    ),
                }
            }
        });
    }
    Ok(checked)
}

fn slice<T>(items: &[T], range: Range) -> Option<&[T]> {
    let start = range.start as usize;
    items.get(start..start.checked_add(range.len as usize)?)
}

/// The flat lists a result's records point into.
struct Parts<'a> {
    text: &'a str,
    names: &'a [String],
    nodes: &'a [Node],
}

impl Parts<'_> {
    fn text(&self, span: Span) -> Result<&str, String> {
        let start = span.start as usize;
        let end = start.saturating_add(span.len as usize);
        self.text
            .get(start..end)
            .ok_or_else(|| "a span lies outside the result's text or splits a character".into())
    }

    fn name(&self, index: u32) -> Result<&str, String> {
        self.names
            .get(index as usize)
            .map(String::as_str)
            .ok_or_else(|| format!("name {index} is not one of the result's names"))
    }
    /// A record: its type, its value, and its size (text and names it
    /// holds, and 8 bytes per node), within `budget` bytes. Its nodes must
    /// start at or after `nodes_done`, the end of the records built before.
    fn record(
        &self,
        record: &WitRecord,
        nodes_done: &mut usize,
        budget: &mut usize,
    ) -> Result<(String, Value, usize), String> {
        let record_type = self.name(record.record_type)?.to_string();
        if (record.nodes.start as usize) < *nodes_done {
            return Err("a record's nodes overlap another record's".into());
        }
        let nodes =
            slice(self.nodes, record.nodes).ok_or("a record's nodes lie beyond those returned")?;
        *nodes_done = record.nodes.start as usize + nodes.len();
        if !matches!(nodes.first(), Some(Node::Object(_))) {
            return Err("a record's first node must be an object".into());
        }
        let mut tree = Tree {
            parts: self,
            nodes,
            at: 0,
            bytes: 0,
            budget: *budget,
        };
        let value = tree.value(0)?;
        *budget = budget.saturating_sub(tree.bytes);
        if tree.at != nodes.len() {
            return Err(format!(
                "a record's {} nodes hold {} more than its tree uses",
                nodes.len(),
                nodes.len() - tree.at
            ));
        }
        Ok((record_type, value, tree.bytes))
    }
}

/// A record's nodes read in pre-order, within a budget of bytes.
struct Tree<'p, 'a> {
    parts: &'p Parts<'a>,
    nodes: &'p [Node],
    at: usize,
    bytes: usize,
    budget: usize,
}

impl Tree<'_, '_> {
    /// Counts `bytes` more, or refuses once the row's budget is spent.
    fn spend(&mut self, bytes: usize) -> Result<(), String> {
        self.bytes += bytes;
        if self.bytes > self.budget {
            return Err(format!(
                "it returned more than the bytes of records one row may hold ({})",
                self.budget
            ));
        }
        Ok(())
    }

    fn next(&mut self) -> Result<Node, String> {
        let node = self
            .nodes
            .get(self.at)
            .cloned()
            .ok_or("a record's tree ends before its counts are consumed")?;
        self.at += 1;
        self.spend(8)?;
        Ok(node)
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("a record nests deeper than {MAX_DEPTH} levels"));
        }
        Ok(match self.next()? {
            Node::Null => Value::Null,
            Node::Boolean(b) => Value::Bool(b),
            Node::Integer(i) => Value::Number(i.into()),
            Node::Decimal(span) => {
                let text = self.parts.text(span)?;
                self.spend(text.len())?;
                Value::Number(exact_decimal(text)?)
            }
            Node::Text(span) => {
                let text = self.parts.text(span)?;
                self.spend(text.len())?;
                Value::String(text.to_string())
            }
            Node::Array(n) => {
                let mut items = Vec::with_capacity((n as usize).min(64));
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            Node::Object(n) => {
                let mut members = Map::new();
                for _ in 0..n {
                    let Node::Key(index) = self.next()? else {
                        return Err("an object's member does not start with a key".into());
                    };
                    let key = self.parts.name(index)?;
                    self.spend(key.len())?;
                    let value = self.value(depth + 1)?;
                    if members.insert(key.to_string(), value).is_some() {
                        return Err(format!(
                            "an object holds the key `{}` twice",
                            conform_model::truncate(key, 64)
                        ));
                    }
                }
                Value::Object(members)
            }
            Node::Key(_) => return Err("a key stands where a value belongs".into()),
        })
    }
}

/// A decimal node's number: plain decimal text (`-`? digits (`.` digits)?)
/// of at most [`MAX_DECIMAL_CHARS`], which the float the record holds
/// prints back as the same value, so nothing is rounded unseen.
fn exact_decimal(text: &str) -> Result<Number, String> {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if text.len() > MAX_DECIMAL_CHARS || !digits(int) || !digits(frac) {
        return Err(format!(
            "`{}` is not plain decimal text",
            conform_model::truncate(text, 48)
        ));
    }
    let float: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    // The float's shortest decimal form against the text, both without
    // sign, leading zeros or trailing zeros: equal digits, equal value.
    // Up to 15 significant digits (and 40 characters) every decimal is
    // held exactly, so the common case needs no printing.
    if significant_digits(text) > f64::DIGITS as usize
        && canonical_digits(text) != canonical_digits(&float.abs().to_string())
    {
        return Err(format!(
            "the decimal `{text}` cannot be held exactly as a number of the record; round it to fewer digits"
        ));
    }
    Number::from_f64(float).ok_or_else(|| format!("`{text}` is not a finite number"))
}

/// How many significant digits plain decimal text has.
fn significant_digits(text: &str) -> usize {
    match canonical_digits(text) {
        ("", frac) => frac.trim_start_matches('0').len(),
        (int, frac) => int.len() + frac.len(),
    }
}

/// Plain decimal text as (integer digits, fraction digits), without sign,
/// leading zeros of the integer or trailing zeros of the fraction.
fn canonical_digits(text: &str) -> (&str, &str) {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    (int.trim_start_matches('0'), frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(text: &str, names: &[&str], nodes: Vec<Node>, outcomes: Vec<Outcome>) -> BatchResult {
        BatchResult {
            text: text.into(),
            names: names.iter().map(|n| n.to_string()).collect(),
            records: vec![WitRecord {
                record_type: 0,
                nodes: Range {
                    start: 0,
                    len: nodes.len() as u32,
                },
            }],
            nodes,
            problems: vec![],
            outcomes,
        }
    }

    const LIMITS: RowLimits = RowLimits {
        records: 4,
        bytes: 4096,
    };

    fn span(start: u32, len: u32) -> Span {
        Span { start, len }
    }

    fn converted() -> Vec<Outcome> {
        vec![Outcome::Converted(Range { start: 0, len: 1 })]
    }

    fn one(r: BatchResult) -> Result<Value, String> {
        match check(r, 1, LIMITS)?.pop().unwrap() {
            Checked::Converted(mut records) => Ok(records.pop().unwrap().1),
            Checked::Broken(why) => Err(why),
            Checked::Rejected(_) => Err("rejected".into()),
        }
    }

    #[test]
    fn a_tree_becomes_the_record_it_describes() {
        let nodes = vec![
            Node::Object(3),
            Node::Key(1),
            Node::Decimal(span(0, 4)),
            Node::Key(2),
            Node::Array(2),
            Node::Integer(7),
            Node::Text(span(4, 6)),
            Node::Key(3),
            Node::Null,
        ];
        let value = one(result(
            "3.18纸箱",
            &["part", "length_mm", "tags", "note"],
            nodes,
            converted(),
        ))
        .unwrap();
        assert_eq!(
            value,
            serde_json::json!({"length_mm": 3.18, "tags": [7, "纸箱"], "note": null})
        );
    }

    #[test]
    fn broken_trees_are_refused_with_a_reason() {
        let cases: Vec<(Vec<Node>, &str)> = vec![
            (vec![Node::Array(0)], "first node must be an object"),
            (
                vec![Node::Object(2), Node::Key(1), Node::Null],
                "ends before",
            ),
            (
                vec![Node::Object(1), Node::Key(1), Node::Null, Node::Null],
                "more than its tree uses",
            ),
            (
                vec![
                    Node::Object(2),
                    Node::Key(1),
                    Node::Null,
                    Node::Key(1),
                    Node::Null,
                ],
                "twice",
            ),
            (vec![Node::Object(1), Node::Key(9), Node::Null], "name 9"),
            (
                vec![Node::Object(1), Node::Key(1), Node::Text(span(4, 2))],
                "splits a character",
            ),
            (
                vec![Node::Object(1), Node::Null],
                "does not start with a key",
            ),
            (
                vec![Node::Object(1), Node::Key(1), Node::Decimal(span(0, 3))],
                "not plain decimal",
            ),
        ];
        for (nodes, why) in cases {
            let err = one(result("1e5纸", &["part", "a"], nodes, converted())).unwrap_err();
            assert!(err.contains(why), "{why}: {err}");
        }
        let deep: Vec<Node> = std::iter::once(Node::Object(1))
            .chain((0..100).flat_map(|_| [Node::Key(1), Node::Object(1)]))
            .collect();
        assert!(one(result("", &["part", "a"], deep, converted()))
            .unwrap_err()
            .contains("deeper"));
        let err = check(
            result("", &["part"], vec![Node::Object(0)], vec![]),
            1,
            LIMITS,
        )
        .err()
        .unwrap();
        assert!(err.contains("0 outcomes for 1"), "{err}");
    }

    #[test]
    fn records_and_nodes_are_used_once_and_rows_keep_to_their_limits() {
        let record = |start: u32, len: u32| WitRecord {
            record_type: 0,
            nodes: Range { start, len },
        };
        let nodes = vec![Node::Object(1), Node::Key(1), Node::Text(span(0, 4))];
        let shared = BatchResult {
            text: "abcd".into(),
            names: vec!["part".into(), "a".into()],
            nodes: nodes.clone(),
            records: vec![record(0, 3), record(0, 3)],
            problems: vec![],
            outcomes: vec![
                Outcome::Converted(Range { start: 0, len: 1 }),
                Outcome::Converted(Range { start: 0, len: 1 }),
                Outcome::Converted(Range { start: 1, len: 1 }),
            ],
        };
        let why: Vec<String> = check(shared, 3, LIMITS)
            .unwrap()
            .into_iter()
            .map(|c| match c {
                Checked::Converted(_) => "converted".into(),
                Checked::Broken(why) => why,
                Checked::Rejected(_) => "rejected".into(),
            })
            .collect();
        assert_eq!(why[0], "converted");
        assert!(why[1].contains("same records"), "{why:?}");
        assert!(why[2].contains("overlap"), "{why:?}");

        // Past the row's bytes: refused while building, not after.
        let big = "x".repeat(5000);
        let over = result(
            &big,
            &["part", "a"],
            vec![Node::Object(1), Node::Key(1), Node::Text(span(0, 5000))],
            converted(),
        );
        assert!(one(over).unwrap_err().contains("bytes"));
        // Past the row's records: refused before building any.
        let many = BatchResult {
            outcomes: vec![Outcome::Converted(Range { start: 0, len: 5 })],
            ..result("", &["part"], vec![Node::Object(0)], vec![])
        };
        match check(many, 1, LIMITS).unwrap().pop().unwrap() {
            Checked::Broken(why) => assert!(why.contains("limit of 4"), "{why}"),
            _ => panic!("five records for one row pass a limit of four"),
        }
    }

    #[test]
    fn decimals_must_be_held_exactly() {
        assert_eq!(exact_decimal("3.18").unwrap().to_string(), "3.18");
        assert_eq!(exact_decimal("1134.0").unwrap().to_string(), "1134.0");
        assert_eq!(exact_decimal("-0.5").unwrap().to_string(), "-0.5");
        assert!(exact_decimal("0.1000000000000000055511151231257827").is_err());
        // Past 28 fractional digits a decimal type would round; digits do not.
        assert!(exact_decimal("0.10000000000000000000000000001").is_err());
        assert_eq!(exact_decimal("007.50").unwrap().to_string(), "7.5");
        assert!(exact_decimal("12345678901234567890").is_err());
        for bad in ["1.", ".5", "+1", "1e3", "NaN", ""] {
            assert!(exact_decimal(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        /// The shortcut for up to 15 significant digits takes nothing the
        /// float could not print back.
        #[test]
        fn fifteen_significant_digits_are_held_exactly(
            digits in "[1-9][0-9]{0,14}",
            point in 0usize..=15,
            zeros in 0usize..=20,
            negative in proptest::bool::ANY,
        ) {
            let point = point.min(digits.len());
            let (int, frac) = digits.split_at(digits.len() - point);
            let text = match (int, frac) {
                ("", frac) => format!("0.{}{frac}", "0".repeat(zeros)),
                (int, "") => format!("{int}{}", "0".repeat(zeros.min(5))),
                (int, frac) => format!("{int}.{frac}"),
            };
            let text = if negative { format!("-{text}") } else { text };
            if text.len() <= MAX_DECIMAL_CHARS {
                let number = exact_decimal(&text).unwrap();
                let printed = number.as_f64().unwrap().abs().to_string();
                proptest::prop_assert_eq!(canonical_digits(&text), canonical_digits(&printed));
            }
        }
    }
}
