//! A plugin that breaks contract 0.2.0 on request, below the SDK: it writes
//! the batch result itself. Each row's `action` picks what it returns; `ok`
//! is a valid part. The host must turn every breach into a rejection of the
//! rows it concerns, and keep converting the others.

use conform_plugin_sdk::bindings::conform::plugin::tables as host;
use conform_plugin_sdk::bindings::conform::plugin::types as wit;
use conform_plugin_sdk::Node;

/// The misbehaving plugin.
pub struct Hostile;

/// A batch result being written by hand.
#[derive(Default)]
struct Out {
    text: String,
    names: Vec<String>,
    nodes: Vec<Node>,
    records: Vec<wit::OutputRecord>,
    problems: Vec<wit::Problem>,
    outcomes: Vec<wit::Outcome>,
}

impl Out {
    fn name(&mut self, name: &str) -> u32 {
        match self.names.iter().position(|n| n == name) {
            Some(i) => i as u32,
            None => {
                self.names.push(name.to_string());
                self.names.len() as u32 - 1
            }
        }
    }

    fn span(&mut self, text: &str) -> wit::Span {
        let start = self.text.len() as u32;
        self.text.push_str(text);
        wit::Span {
            start,
            len: text.len() as u32,
        }
    }

    /// A valid part's members after its `object` node.
    fn part_members(&mut self, ordinal: u64) {
        let texts = [
            ("part_no", format!("T-{ordinal:04}")),
            ("name", "test part".to_string()),
            ("supplier_code", "91370200MA3C1234X5".to_string()),
            ("packaging", "CT".to_string()),
        ];
        for (key, value) in texts {
            let key = self.name(key);
            self.nodes.push(Node::Key(key));
            let span = self.span(&value);
            self.nodes.push(Node::Text(span));
        }
        for key in [
            "length_mm",
            "width_mm",
            "height_mm",
            "tolerance_mm",
            "mass_g",
        ] {
            let key = self.name(key);
            self.nodes.push(Node::Key(key));
            let span = self.span("1.0");
            self.nodes.push(Node::Decimal(span));
        }
        let key = self.name("quantity_per_package");
        self.nodes.push(Node::Key(key));
        self.nodes.push(Node::Integer(1));
    }

    /// One record of nodes `[start..]`, as the row's outcome.
    fn converted_from(&mut self, start: usize) {
        let record_type = self.name("part");
        self.records.push(wit::OutputRecord {
            record_type,
            nodes: wit::Range {
                start: start as u32,
                len: (self.nodes.len() - start) as u32,
            },
        });
        self.outcomes.push(wit::Outcome::Converted(wit::Range {
            start: self.records.len() as u32 - 1,
            len: 1,
        }));
    }

    fn rejected(&mut self, code: &str, message: &str) {
        self.problems.push(wit::Problem {
            field: Some("action".into()),
            target: None,
            code: code.into(),
            message: message.into(),
        });
        self.outcomes.push(wit::Outcome::Rejected(wit::Range {
            start: self.problems.len() as u32 - 1,
            len: 1,
        }));
    }
}

/// The `action` cell of a row.
fn action(batch: &wit::Batch, row: &wit::Row) -> String {
    let column = batch
        .columns
        .iter()
        .position(|c| matches!(c.as_slice(), [wit::Step::Key(k)] if k == "action"));
    // Four words a cell: column, case (0 is text), span start, span len.
    let start = row.cells.start as usize * 4;
    let cells = &batch.cells[start..start + row.cells.len as usize * 4];
    cells
        .chunks_exact(4)
        .find(|c| Some(c[0] as usize) == column)
        .and_then(|c| match c {
            &[_, 0, start, len] => {
                let start = start as usize;
                Some(batch.text[start..start + len as usize].to_string())
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// A table refusal as the row's rejection.
fn refused(out: &mut Out, error: wit::ServiceError) {
    out.rejected(&error.code, &error.message);
}

impl conform_plugin_sdk::bindings::Guest for Hostile {
    fn convert(batch: wit::Batch) -> wit::BatchResult {
        let mut out = Out::default();
        let mut held = Vec::new();
        for row in &batch.rows {
            let start = out.nodes.len();
            match action(&batch, row).as_str() {
                "ok" => {
                    out.nodes.push(Node::Object(10));
                    out.part_members(row.ordinal);
                    out.converted_from(start);
                }
                "bad-span" => {
                    out.nodes.push(Node::Object(1));
                    let key = out.name("part_no");
                    out.nodes.push(Node::Key(key));
                    out.nodes.push(Node::Text(wit::Span {
                        start: 1 << 30,
                        len: 4,
                    }));
                    out.converted_from(start);
                }
                "dup-key" => {
                    out.nodes.push(Node::Object(11));
                    out.part_members(row.ordinal);
                    let key = out.name("name");
                    out.nodes.push(Node::Key(key));
                    out.nodes.push(Node::Null);
                    out.converted_from(start);
                }
                "short-count" => {
                    out.nodes.push(Node::Object(12));
                    out.part_members(row.ordinal);
                    out.converted_from(start);
                }
                "inexact" => {
                    out.nodes.push(Node::Object(10));
                    out.part_members(row.ordinal);
                    let span = out.span("0.1000000000000000055511151231257827");
                    out.nodes[start + 10] = Node::Decimal(span);
                    out.converted_from(start);
                }
                "deep" => {
                    out.nodes.push(Node::Object(1));
                    let key = out.name("part_no");
                    for _ in 0..200 {
                        out.nodes.push(Node::Key(key));
                        out.nodes.push(Node::Object(1));
                    }
                    out.nodes.push(Node::Key(key));
                    out.nodes.push(Node::Null);
                    out.converted_from(start);
                }
                "handles" => {
                    let mut refusal = None;
                    for _ in 0..2000 {
                        match host::CodeList::open("packaging") {
                            Ok(list) => held.push(list),
                            Err(e) => {
                                refusal = Some(e);
                                break;
                            }
                        }
                    }
                    match refusal {
                        Some(e) => refused(&mut out, e),
                        None => out.rejected("no-limit", "2000 handles were opened"),
                    }
                    held.clear();
                }
                "no-table" => match host::CodeList::open("no-such-table") {
                    Ok(_) => out.rejected("no-refusal", "an unknown table opened"),
                    Err(e) => refused(&mut out, e),
                },
                "wrong-kind" => match host::Thresholds::open("packaging") {
                    Ok(_) => out.rejected("no-refusal", "a code list opened as thresholds"),
                    Err(e) => refused(&mut out, e),
                },
                "bad-ends" => match host::Quantity::open("units", "part", "length_mm") {
                    Ok(q) => {
                        let answered = q.to_canonical_many(host::Measures {
                            text: "1",
                            ends: &[1, 5],
                            unit: "in",
                        });
                        out.rejected("no-refusal", &format!("{} answers", answered.answers.len()));
                    }
                    Err(e) => refused(&mut out, e),
                },
                "too-many" => match host::Quantity::open("units", "part", "length_mm") {
                    Ok(q) => {
                        let text = "1".repeat(4097);
                        let ends: Vec<u32> = (1..=4097).collect();
                        let answered = q.to_canonical_many(host::Measures {
                            text: &text,
                            ends: &ends,
                            unit: "in",
                        });
                        out.rejected("no-limit", &format!("{} answers", answered.answers.len()));
                    }
                    Err(e) => refused(&mut out, e),
                },
                "no-outcome" => {}
                other => out.rejected("unknown-action", &format!("no action `{other}`")),
            }
        }
        wit::BatchResult {
            text: out.text,
            names: out.names,
            nodes: {
                let mut words = Vec::with_capacity(out.nodes.len() * 3);
                for node in out.nodes {
                    conform_plugin_sdk::encode_node(node, &mut words);
                }
                words
            },
            records: out.records,
            problems: out.problems,
            outcomes: out.outcomes,
        }
    }
}

conform_plugin_sdk::bindings::__export_converter!(Hostile with_types_in conform_plugin_sdk::bindings);
