//! A batch of rows as contract 0.2.0 carries it: every value a typed cell
//! whose text is a span of one string, each column once per batch. Built
//! here from the rows' JSON text (as the decoders give it): strings are
//! unescaped, numbers keep the digits the file wrote (never a float), and
//! a JSON object or array becomes one column per member or item.

use std::collections::HashMap;

use crate::bindings::InputRecord;
use crate::bindings_v0_2::conform::plugin::types::{Batch, Cell, CellAt, Range, Row, Span, Step};

/// Most digits an exponent is written out to (`1.5e2` → `150`); a number
/// that needs more keeps its literal.
const MAX_EXPANDED_DIGITS: usize = 40;

/// A step of a path, hashable (the contract's `step` is not).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Name(String),
    Index(u32),
}

/// Builds a batch of contract 0.2.0 from rows of JSON objects.
#[derive(Default)]
pub(crate) struct BatchBuilder {
    text: String,
    columns: Vec<Vec<Step>>,
    column_index: HashMap<Vec<Key>, u32>,
    cells: Vec<CellAt>,
    rows: Vec<Row>,
    path: Vec<Key>,
}

/// A row whose text is not a JSON object (the decoders never give one).
#[derive(Debug)]
pub(crate) struct NotAnObject;

impl BatchBuilder {
    /// The batch of `records`, in order.
    pub(crate) fn build(records: &[InputRecord]) -> Result<Batch, NotAnObject> {
        let mut builder = BatchBuilder::default();
        for record in records {
            builder.row(record)?;
        }
        Ok(Batch {
            text: builder.text,
            columns: builder.columns,
            cells: builder.cells,
            rows: builder.rows,
        })
    }

    fn row(&mut self, record: &InputRecord) -> Result<(), NotAnObject> {
        let start = self.cells.len();
        let mut json = Json {
            text: record.fields.as_bytes(),
            at: 0,
        };
        json.space();
        if json.peek() != Some(b'{') {
            return Err(NotAnObject);
        }
        self.value(&mut json, &record.fields)?;
        // Ascending column order, each column once: the last value of a
        // key given twice, as a JSON reader keeps it.
        let cells = &mut self.cells[start..];
        cells.sort_by_key(|c| c.column);
        let mut kept: Vec<CellAt> = Vec::with_capacity(cells.len());
        for cell in self.cells.drain(start..) {
            match kept.last_mut() {
                Some(last) if last.column == cell.column => *last = cell,
                _ => kept.push(cell),
            }
        }
        let len = kept.len() as u32;
        self.cells.extend(kept);
        self.rows.push(Row {
            ordinal: record.ordinal,
            line: record.line,
            cells: Range {
                start: start as u32,
                len,
            },
        });
        Ok(())
    }

    fn column(&mut self) -> u32 {
        if let Some(&index) = self.column_index.get(&self.path) {
            return index;
        }
        let index = self.columns.len() as u32;
        self.columns.push(
            self.path
                .iter()
                .map(|k| match k {
                    Key::Name(name) => Step::Key(name.clone()),
                    Key::Index(i) => Step::Index(*i),
                })
                .collect(),
        );
        self.column_index.insert(self.path.clone(), index);
        index
    }

    fn cell(&mut self, value: Cell) {
        let column = self.column();
        self.cells.push(CellAt { column, value });
    }

    fn span(&mut self, text: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(text);
        Span {
            start,
            len: text.len() as u32,
        }
    }

    /// Reads one value at `json`'s position into cells under the current path.
    fn value(&mut self, json: &mut Json<'_>, source: &str) -> Result<(), NotAnObject> {
        json.space();
        match json.peek().ok_or(NotAnObject)? {
            b'{' => {
                json.at += 1;
                json.space();
                if json.eat(b'}') {
                    if !self.path.is_empty() {
                        self.cell(Cell::EmptyObject);
                    }
                    return Ok(());
                }
                loop {
                    json.space();
                    let key = json.string(source)?;
                    json.space();
                    if !json.eat(b':') {
                        return Err(NotAnObject);
                    }
                    self.path.push(Key::Name(key));
                    self.value(json, source)?;
                    self.path.pop();
                    json.space();
                    if json.eat(b',') {
                        continue;
                    }
                    return if json.eat(b'}') {
                        Ok(())
                    } else {
                        Err(NotAnObject)
                    };
                }
            }
            b'[' => {
                json.at += 1;
                json.space();
                if json.eat(b']') {
                    self.cell(Cell::EmptyArray);
                    return Ok(());
                }
                let mut index = 0;
                loop {
                    self.path.push(Key::Index(index));
                    self.value(json, source)?;
                    self.path.pop();
                    index += 1;
                    json.space();
                    if json.eat(b',') {
                        continue;
                    }
                    return if json.eat(b']') {
                        Ok(())
                    } else {
                        Err(NotAnObject)
                    };
                }
            }
            b'"' => {
                let text = json.string(source)?;
                let span = self.span(&text);
                self.cell(Cell::Text(span));
                Ok(())
            }
            b't' if json.word("true") => {
                self.cell(Cell::Boolean(true));
                Ok(())
            }
            b'f' if json.word("false") => {
                self.cell(Cell::Boolean(false));
                Ok(())
            }
            b'n' if json.word("null") => {
                self.cell(Cell::Null);
                Ok(())
            }
            _ => {
                let literal = json.number(source).ok_or(NotAnObject)?;
                let written = plain_number(literal);
                let span = self.span(&written);
                self.cell(Cell::Number(span));
                Ok(())
            }
        }
    }
}

/// A JSON number as plain decimal text: the literal as written, or, for an
/// exponent, its exact decimal expansion where that is at most
/// [`MAX_EXPANDED_DIGITS`] digits.
fn plain_number(literal: &str) -> String {
    if !literal.contains(['e', 'E']) {
        return literal.to_string();
    }
    match rust_decimal::Decimal::from_scientific(literal) {
        Ok(d) => {
            let text = d.normalize().to_string();
            if text.len() <= MAX_EXPANDED_DIGITS {
                text
            } else {
                literal.to_string()
            }
        }
        Err(_) => literal.to_string(),
    }
}

/// A reader over well-formed JSON text.
struct Json<'a> {
    text: &'a [u8],
    at: usize,
}

impl Json<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn word(&mut self, word: &str) -> bool {
        let found = self.text[self.at..].starts_with(word.as_bytes());
        if found {
            self.at += word.len();
        }
        found
    }

    /// A string at the position, unescaped.
    fn string(&mut self, source: &str) -> Result<String, NotAnObject> {
        let start = self.at;
        if !self.eat(b'"') {
            return Err(NotAnObject);
        }
        let mut escaped = false;
        loop {
            match self.peek().ok_or(NotAnObject)? {
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                b'"' => {
                    self.at += 1;
                    break;
                }
                _ => self.at += 1,
            }
        }
        let literal = source.get(start..self.at).ok_or(NotAnObject)?;
        if escaped {
            serde_json::from_str(literal).map_err(|_| NotAnObject)
        } else {
            Ok(literal[1..literal.len() - 1].to_string())
        }
    }

    /// A number literal at the position.
    fn number<'s>(&mut self, source: &'s str) -> Option<&'s str> {
        let start = self.at;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.at += 1;
        }
        (self.at > start).then(|| &source[start..self.at])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ordinal: u64, fields: &str) -> InputRecord {
        InputRecord {
            ordinal,
            line: ordinal + 1,
            fields: fields.into(),
        }
    }

    fn shown(batch: &Batch, row: usize) -> Vec<String> {
        let r = &batch.rows[row];
        batch.cells[r.cells.start as usize..(r.cells.start + r.cells.len) as usize]
            .iter()
            .map(|c| {
                let path: Vec<String> = batch.columns[c.column as usize]
                    .iter()
                    .map(|s| match s {
                        Step::Key(k) => k.clone(),
                        Step::Index(i) => i.to_string(),
                    })
                    .collect();
                let text = |s: &Span| &batch.text[s.start as usize..(s.start + s.len) as usize];
                let value = match &c.value {
                    Cell::Text(s) => format!("text {}", text(s)),
                    Cell::Number(s) => format!("number {}", text(s)),
                    Cell::Boolean(b) => format!("boolean {b}"),
                    Cell::Null => "null".into(),
                    Cell::EmptyObject => "{}".into(),
                    Cell::EmptyArray => "[]".into(),
                };
                format!("{} = {value}", path.join("/"))
            })
            .collect()
    }

    #[test]
    fn rows_become_typed_cells_with_columns_once_per_batch() {
        let batch = BatchBuilder::build(&[
            record(1, r#"{"宽幅": "147.5", "density": {"value": 20.108863008, "unit": "oz/yd\u00b2"}, "tags": ["a", 1e2], "ok": true, "none": null, "e": {}, "l": []}"#),
            record(2, r#"{ "density" : {"unit":"gsm","value":1.50}, "宽幅":"x\"y", "宽幅": "z" }"#),
        ])
        .unwrap();
        assert_eq!(
            shown(&batch, 0),
            [
                "宽幅 = text 147.5",
                "density/value = number 20.108863008",
                "density/unit = text oz/yd²",
                "tags/0 = text a",
                "tags/1 = number 100",
                "ok = boolean true",
                "none = null",
                "e = {}",
                "l = []",
            ]
        );
        // Columns are shared; a key given twice keeps its last value; the
        // number keeps the digits written.
        assert_eq!(
            shown(&batch, 1),
            [
                "宽幅 = text z",
                "density/value = number 1.50",
                "density/unit = text gsm"
            ]
        );
        assert_eq!(batch.columns.len(), 9);
        assert_eq!((batch.rows[1].ordinal, batch.rows[1].line), (2, 3));
    }

    #[test]
    fn exponents_are_written_out_exactly_within_reason() {
        assert_eq!(plain_number("1.5e2"), "150");
        assert_eq!(plain_number("-2E-3"), "-0.002");
        assert_eq!(plain_number("1e300"), "1e300");
        assert_eq!(plain_number("0.1000"), "0.1000");
    }
}
