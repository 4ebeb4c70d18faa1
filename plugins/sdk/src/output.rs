//! A batch's results as the contract carries them: one text for every
//! string, each name once, the records' nodes in one list.

use rustc_hash::FxHashMap as HashMap;

use crate::bindings::conform::plugin::types as wit;
use crate::record::Draft;
use crate::row::Problem;
use crate::text::{same, same_bytes};
use crate::Records;

/// The results of a batch being written.
#[derive(Default)]
pub(crate) struct Output {
    text: String,
    names: Vec<String>,
    name_index: HashMap<String, u32>,
    /// The last record's keys ([`Record::keys`]) and their names, in node
    /// order: a record most often has the keys of the one before, found
    /// then by one comparison of them all.
    recent_keys: Vec<u8>,
    recent_names: Vec<u32>,
    /// Nodes as the contract carries them: three words each.
    nodes: Vec<u32>,
    records: Vec<wit::OutputRecord>,
    problems: Vec<wit::Problem>,
    outcomes: Vec<wit::Outcome>,
}

impl Output {
    fn name(&mut self, name: &str) -> u32 {
        if let Some(&index) = self.name_index.get(name) {
            return index;
        }
        let index = self.names.len() as u32;
        self.names.push(name.to_string());
        self.name_index.insert(name.to_string(), index);
        index
    }

    /// The name of a record type: the last record's when it is the same.
    fn record_type(&mut self, record_type: &str) -> u32 {
        match self.records.last() {
            Some(last) if same(&self.names[last.record_type as usize], record_type) => {
                last.record_type
            }
            _ => self.name(record_type),
        }
    }

    /// A converted row.
    pub(crate) fn converted(&mut self, converted: Records) {
        let first = self.records.len() as u32;
        let records = converted.records();
        for record in records {
            let record_type = self.record_type(record.record_type());
            let start = (self.nodes.len() / 3) as u32;
            // The record's text (after its type) lands in one copy at `base`;
            // its spans move with it.
            let (text, type_len) = (record.text.as_str(), record.record_type().len() as u32);
            let base = self.text.len() as u32;
            self.text.push_str(&text[type_len as usize..]);
            // How far the record's spans move.
            let shift = base.wrapping_sub(type_len);
            // The keys of the record before, each at its place: their
            // names are known.
            let known = same_bytes(&record.keys, &self.recent_keys);
            if !known {
                self.recent_keys.clear();
                self.recent_keys.extend_from_slice(&record.keys);
                self.recent_names.clear();
            }
            let mut keys = 0;
            // The record's words are written in place: one resize, no
            // capacity check a node.
            let at = self.nodes.len();
            self.nodes.resize(at + record.nodes.len() * 3, 0);
            let mut words = std::mem::take(&mut self.nodes);
            for (node, slot) in record.nodes.iter().zip(words[at..].chunks_exact_mut(3)) {
                // A span of the record's text, where it lands.
                let moved = |(from, to): (u32, u32)| wit::Span {
                    start: from.wrapping_add(shift),
                    len: to - from,
                };
                let node = match *node {
                    Draft::Null => Node::Null,
                    Draft::Boolean(b) => Node::Boolean(b),
                    Draft::Integer(i) => Node::Integer(i),
                    Draft::Decimal(span) => Node::Decimal(moved(span)),
                    Draft::Text(span) => Node::Text(moved(span)),
                    Draft::Array(n) => Node::Array(n),
                    Draft::Object(n) => Node::Object(n),
                    Draft::Key(span) => {
                        let index = if known {
                            self.recent_names[keys]
                        } else {
                            let index = self.name(record.key_at(span));
                            self.recent_names.push(index);
                            index
                        };
                        keys += 1;
                        Node::Key(index)
                    }
                };
                slot.copy_from_slice(&node.words());
            }
            self.nodes = words;
            self.records.push(wit::OutputRecord {
                record_type,
                nodes: wit::Range {
                    start,
                    len: (self.nodes.len() / 3) as u32 - start,
                },
            });
        }
        self.outcomes.push(wit::Outcome::Converted(wit::Range {
            start: first,
            len: records.len() as u32,
        }));
        converted.recycle();
    }

    /// A rejected row.
    pub(crate) fn rejected(&mut self, problems: Vec<Problem>) {
        let start = self.problems.len() as u32;
        let len = problems.len() as u32;
        self.problems
            .extend(problems.into_iter().map(|p| wit::Problem {
                field: p.field,
                target: p.target,
                code: p.code,
                message: p.message,
            }));
        self.outcomes
            .push(wit::Outcome::Rejected(wit::Range { start, len }));
    }

    /// The batch's result.
    pub(crate) fn finish(self) -> wit::BatchResult {
        wit::BatchResult {
            text: self.text,
            names: self.names,
            nodes: self.nodes,
            records: self.records,
            problems: self.problems,
            outcomes: self.outcomes,
        }
    }
}

/// A node of an output record: the cases of the contract's `node`, which
/// crosses the boundary as three words ([`encode_node`]).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum Node {
    Null,
    Boolean(bool),
    Integer(i64),
    Decimal(wit::Span),
    Text(wit::Span),
    Array(u32),
    Object(u32),
    Key(u32),
}

impl Node {
    /// The node as the contract carries it: its case, then two words of
    /// payload (`batch-result.nodes` in the WIT).
    #[inline(always)]
    fn words(self) -> [u32; 3] {
        match self {
            Node::Null => [0, 0, 0],
            Node::Boolean(b) => [1, u32::from(b), 0],
            Node::Integer(i) => [2, i as u32, (i >> 32) as u32],
            Node::Decimal(s) => [3, s.start, s.len],
            Node::Text(s) => [4, s.start, s.len],
            Node::Array(n) => [5, n, 0],
            Node::Object(n) => [6, n, 0],
            Node::Key(k) => [7, k, 0],
        }
    }
}

/// Appends `node` to `words` as the contract carries it
/// ([`Node::words`]).
#[doc(hidden)]
pub fn encode_node(node: Node, words: &mut Vec<u32>) {
    words.extend_from_slice(&node.words());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Record;

    /// Each record's keys as the batch's result names them, in node order.
    fn keys_named(result: &wit::BatchResult) -> Vec<Vec<&str>> {
        result
            .records
            .iter()
            .map(|record| {
                let words = &result.nodes[record.nodes.start as usize * 3..]
                    [..record.nodes.len as usize * 3];
                words
                    .chunks_exact(3)
                    .filter(|node| node[0] == 7)
                    .map(|node| result.names[node[1] as usize].as_str())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn keys_are_named_whether_or_not_they_are_the_last_records() {
        let mut output = Output::default();
        let written: [&[&str]; 5] = [
            &["a", "b"],
            &["a", "b"],
            // The same bytes back to back, cut elsewhere.
            &["ab"],
            &["a", "b", "c"],
            &["a", "b"],
        ];
        for keys in written {
            let mut record = Record::new("part");
            for key in keys {
                record.text(key, "x");
            }
            record.object("nested", |inner| {
                inner.integer("n", 1);
            });
            output.converted(crate::Records::one(record));
        }
        let result = output.finish();
        let named = keys_named(&result);
        for (keys, named) in written.iter().zip(&named) {
            let expected: Vec<&str> = keys.iter().copied().chain(["nested", "n"]).collect();
            assert_eq!(named, &expected);
        }
    }
}
