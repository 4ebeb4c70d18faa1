//! A batch of rows as contract 0.2.0 carries it: every value a typed cell
//! whose text is a span of one string, each column once per batch. A CSV
//! row's cells go in as they are, its header's columns found once per
//! batch; other rows come as JSON text: strings are unescaped, numbers
//! keep the digits the file wrote (never a float), and a JSON object or
//! array becomes one column per member or item.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use conform_model::{CellRow, RowFields};

use crate::bindings_v0_2::conform::plugin::types::{Batch, Cell, Range, Row, Span, Step};
use crate::input::InputRecord;

/// Most digits an exponent is written out to (`1.5e2` → `150`); a number
/// that needs more keeps its literal.
const MAX_EXPANDED_DIGITS: usize = 40;

/// A value and its column (an index into the batch's columns), as the
/// builder keeps it until the batch's cells become words ([`cell_words`]).
#[derive(Debug, Clone, Copy)]
struct CellAt {
    column: u32,
    value: Cell,
}

/// Cells as the contract carries them (`batch.cells` in the WIT): four
/// words each, the column, the case, then the payload (a span's start and
/// len, a boolean as 0 or 1, else zeros).
fn cell_words(cells: &[CellAt]) -> Vec<u32> {
    let mut words = Vec::with_capacity(cells.len() * 4);
    for cell in cells {
        let (case, a, b) = match cell.value {
            Cell::Text(span) => (0, span.start, span.len),
            Cell::Number(span) => (1, span.start, span.len),
            Cell::Boolean(b) => (2, u32::from(b), 0),
            Cell::Null => (3, 0, 0),
            Cell::EmptyObject => (4, 0, 0),
            Cell::EmptyArray => (5, 0, 0),
        };
        words.extend_from_slice(&[cell.column, case, a, b]);
    }
    words
}

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
    /// The columns of top-level members, by name: the common case, found
    /// without building a path.
    top: HashMap<String, u32>,
    cells: Vec<CellAt>,
    rows: Vec<Row>,
    path: Vec<Key>,
    /// What new columns the row being read may still add, in bytes of
    /// their paths: a row's columns cost the host a bounded multiple of
    /// the row's own size.
    budget: usize,
    /// Whether the row being read spent its budget.
    over: bool,
    /// The CSV header the last cell row had, with its columns.
    header: Option<(Arc<[String]>, HeaderColumns)>,
}

/// Each column of a CSV header with the header position whose cell it
/// takes, in column order.
type HeaderColumns = Vec<(u32, usize)>;

/// Bytes of new column paths a row may add beyond four times its size.
const COLUMN_BUDGET_BASE: usize = 4096;

/// A row whose text is not a JSON object (the decoders never give one).
#[derive(Debug)]
pub(crate) struct NotAnObject;

impl BatchBuilder {
    /// The batch of `records`, in order, and the indices of the records
    /// left out of it: rows whose members would take more columns than a
    /// bounded multiple of their size (a plugin cannot be handed them).
    pub(crate) fn build(records: &[InputRecord]) -> Result<(Batch, Vec<usize>), NotAnObject> {
        let mut builder = BatchBuilder::default();
        // Sized once from the rows' own text: no buffer grows and copies
        // itself row after row.
        let (mut text, mut cells) = (0, 0);
        for record in records {
            match &record.fields {
                RowFields::Cells(row) => {
                    text += row.text().len();
                    cells += row.header().len();
                }
                RowFields::Json(json) => text += json.len(),
            }
        }
        builder.text.reserve(text);
        builder.cells.reserve(cells);
        builder.rows.reserve(records.len());
        let mut left_out = Vec::new();
        for (index, record) in records.iter().enumerate() {
            if !builder.row(record)? {
                left_out.push(index);
            }
        }
        let batch = Batch {
            text: builder.text,
            columns: builder.columns,
            cells: cell_words(&builder.cells),
            rows: builder.rows,
        };
        Ok((batch, left_out))
    }

    /// Adds a row; `false` when it spent its budget of columns and was left out.
    fn row(&mut self, record: &InputRecord) -> Result<bool, NotAnObject> {
        match &record.fields {
            RowFields::Cells(cells) => {
                self.cell_row(record, cells);
                Ok(true)
            }
            RowFields::Json(text) => self.json_row(record, text),
        }
    }

    /// Adds a CSV row: its text once, a cell per column. A header name
    /// given twice is one column holding the later cell, as in JSON.
    fn cell_row(&mut self, record: &InputRecord, row: &CellRow) {
        let known = self
            .header
            .as_ref()
            .is_some_and(|(header, _)| Arc::ptr_eq(header, row.header()));
        if !known {
            let order = self.header_columns(row.header());
            self.header = Some((row.header().clone(), order));
        }
        let (_, order) = self
            .header
            .as_ref()
            .expect("the header's columns were found");
        let start = self.cells.len();
        let base = self.text.len() as u32;
        self.text.push_str(row.text());
        for &(column, position) in order {
            let (from, to) = row
                .span(position)
                .expect("a CSV row has a cell per header name");
            self.cells.push(CellAt {
                column,
                value: Cell::Text(Span {
                    start: base + from,
                    len: to - from,
                }),
            });
        }
        self.rows.push(Row {
            ordinal: record.ordinal,
            line: record.line,
            cells: Range {
                start: start as u32,
                len: (self.cells.len() - start) as u32,
            },
        });
    }

    /// Each column of a CSV header with the (last) position naming it, in
    /// column order. The header is no larger than a row may be, and a row
    /// has a cell per name, so its columns need no budget of their own.
    fn header_columns(&mut self, header: &[String]) -> HeaderColumns {
        self.budget = usize::MAX;
        let columns: Vec<u32> = header.iter().map(|name| self.top_column(name)).collect();
        let mut last = vec![usize::MAX; self.columns.len()];
        for (position, &column) in columns.iter().enumerate() {
            last[column as usize] = position;
        }
        last.iter()
            .enumerate()
            .filter(|(_, &position)| position != usize::MAX)
            .map(|(column, &position)| (column as u32, position))
            .collect()
    }

    /// Adds a row given as a JSON object's text.
    fn json_row(&mut self, record: &InputRecord, fields: &str) -> Result<bool, NotAnObject> {
        let start = self.cells.len();
        self.budget = fields.len().saturating_mul(4) + COLUMN_BUDGET_BASE;
        self.over = false;
        let mut json = Json {
            text: fields.as_bytes(),
            at: 0,
        };
        json.space();
        if json.peek() != Some(b'{') {
            return Err(NotAnObject);
        }
        self.value(&mut json, fields)?;
        if self.over {
            self.cells.truncate(start);
            return Ok(false);
        }
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
        Ok(true)
    }

    /// Charges a new column's path to the row's budget; `false` when it
    /// does not fit.
    fn charge(&mut self, path_bytes: usize) -> bool {
        match self.budget.checked_sub(path_bytes) {
            Some(left) => {
                self.budget = left;
                true
            }
            None => {
                self.over = true;
                false
            }
        }
    }

    fn column(&mut self) -> u32 {
        if let Some(&index) = self.column_index.get(&self.path) {
            return index;
        }
        if let [Key::Name(name)] = self.path.as_slice() {
            let name = name.clone();
            return self.top_column(&name);
        }
        let bytes: usize = self
            .path
            .iter()
            .map(|k| match k {
                Key::Name(name) => name.len() + 8,
                Key::Index(_) => 8,
            })
            .sum();
        if !self.charge(bytes) {
            return u32::MAX;
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

    /// The column of the top-level member `name`.
    fn top_column(&mut self, name: &str) -> u32 {
        if let Some(&index) = self.top.get(name) {
            return index;
        }
        if !self.charge(name.len() + 8) {
            return u32::MAX;
        }
        let index = self.columns.len() as u32;
        self.columns.push(vec![Step::Key(name.to_string())]);
        self.column_index
            .insert(vec![Key::Name(name.to_string())], index);
        self.top.insert(name.to_string(), index);
        index
    }

    fn cell(&mut self, value: Cell) {
        let column = self.column();
        self.cells.push(CellAt { column, value });
    }

    /// Reads a member's value: a scalar of the top level straight into its
    /// column, anything else under its path.
    fn member(
        &mut self,
        json: &mut Json<'_>,
        source: &str,
        key: Cow<'_, str>,
    ) -> Result<(), NotAnObject> {
        json.space();
        let nested = matches!(json.peek(), Some(b'{' | b'['));
        if self.path.is_empty() && !nested {
            let column = self.top_column(&key);
            let value = self.scalar(json, source)?;
            self.cells.push(CellAt { column, value });
            return Ok(());
        }
        self.path.push(Key::Name(key.into_owned()));
        self.value(json, source)?;
        self.path.pop();
        Ok(())
    }

    /// A scalar value at `json`'s position.
    fn scalar(&mut self, json: &mut Json<'_>, source: &str) -> Result<Cell, NotAnObject> {
        Ok(match json.peek().ok_or(NotAnObject)? {
            b'"' => {
                let text = json.string(source)?;
                Cell::Text(self.span(&text))
            }
            b't' if json.word("true") => Cell::Boolean(true),
            b'f' if json.word("false") => Cell::Boolean(false),
            b'n' if json.word("null") => Cell::Null,
            _ => {
                let literal = json.number(source).ok_or(NotAnObject)?;
                let written = plain_number(literal);
                Cell::Number(self.span(&written))
            }
        })
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
                    self.member(json, source, key)?;
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
            _ => {
                let value = self.scalar(json, source)?;
                self.cell(value);
                Ok(())
            }
        }
    }
}

/// A JSON number as plain decimal text: the literal as written, or, for an
/// exponent, its exact decimal expansion where that is at most
/// [`MAX_EXPANDED_DIGITS`] digits.
fn plain_number(literal: &str) -> String {
    expand_exponent(literal).unwrap_or_else(|| literal.to_string())
}

/// `literal` with its exponent written out by moving the decimal point in
/// the text (no arithmetic, so no rounding), if that takes at most
/// [`MAX_EXPANDED_DIGITS`] characters.
fn expand_exponent(literal: &str) -> Option<String> {
    let (mantissa, exponent) = literal.split_once(['e', 'E'])?;
    let exponent: i64 = exponent.parse().ok()?;
    if exponent.unsigned_abs() > MAX_EXPANDED_DIGITS as u64 {
        return None;
    }
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + exponent;
    let plain = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    };
    let (whole, fraction) = plain.split_once('.').unwrap_or((&plain, ""));
    let whole = match whole.trim_start_matches('0') {
        "" => "0",
        trimmed => trimmed,
    };
    let written = if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    };
    (written.len() <= MAX_EXPANDED_DIGITS).then_some(written)
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

    /// A string at the position, unescaped (borrowed when it has no escape).
    fn string<'s>(&mut self, source: &'s str) -> Result<Cow<'s, str>, NotAnObject> {
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
            serde_json::from_str(literal)
                .map(Cow::Owned)
                .map_err(|_| NotAnObject)
        } else {
            Ok(Cow::Borrowed(&literal[1..literal.len() - 1]))
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
            fields: RowFields::Json(fields.into()),
        }
    }

    /// A CSV row of `cells` under `header`.
    fn cell_record(ordinal: u64, header: &Arc<[String]>, cells: &[&str]) -> InputRecord {
        let mut text = String::new();
        let mut ends = Vec::new();
        for cell in cells {
            text.push_str(cell);
            ends.push(text.len() as u32);
        }
        InputRecord {
            ordinal,
            line: ordinal + 1,
            fields: RowFields::Cells(CellRow::new(header.clone(), text, ends).unwrap()),
        }
    }

    #[test]
    fn csv_cells_make_the_batch_their_json_makes() {
        let header: Arc<[String]> = ["名称", "qty", "名称", "note"]
            .iter()
            .map(|n| n.to_string())
            .collect();
        let rows = [
            cell_record(1, &header, &["零件1", "3", "零件一", ""]),
            cell_record(2, &header, &["", "4.50", "x\"y", "a,b"]),
        ];
        let as_json: Vec<InputRecord> = rows
            .iter()
            .map(|r| record(r.ordinal, &r.fields.json()))
            .collect();
        let (cells, left_out) = BatchBuilder::build(&rows).unwrap();
        let (json, _) = BatchBuilder::build(&as_json).unwrap();
        assert!(left_out.is_empty());
        assert_eq!(cells.columns.len(), json.columns.len());
        for row in 0..2 {
            assert_eq!(shown(&cells, row), shown(&json, row));
        }
        assert_eq!(
            shown(&cells, 1),
            ["名称 = text x\"y", "qty = text 4.50", "note = text a,b"]
        );
    }

    /// The cells of a row read back from the batch's words.
    fn cells_of(batch: &Batch, row: usize) -> Vec<CellAt> {
        let r = &batch.rows[row];
        let words =
            &batch.cells[r.cells.start as usize * 4..(r.cells.start + r.cells.len) as usize * 4];
        words
            .chunks_exact(4)
            .map(|w| {
                let span = Span {
                    start: w[2],
                    len: w[3],
                };
                let value = match w[1] {
                    0 => Cell::Text(span),
                    1 => Cell::Number(span),
                    2 => Cell::Boolean(w[2] == 1),
                    3 => Cell::Null,
                    4 => Cell::EmptyObject,
                    5 => Cell::EmptyArray,
                    case => panic!("no cell case {case}"),
                };
                if !matches!(value, Cell::Text(_) | Cell::Number(_)) {
                    assert_eq!(w[3], 0, "an unused word is 0");
                }
                CellAt {
                    column: w[0],
                    value,
                }
            })
            .collect()
    }

    fn shown(batch: &Batch, row: usize) -> Vec<String> {
        cells_of(batch, row)
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
        let (batch, left_out) = BatchBuilder::build(&[
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
        assert!(left_out.is_empty());
        assert_eq!((batch.rows[1].ordinal, batch.rows[1].line), (2, 3));
    }

    #[test]
    fn a_row_whose_columns_would_outgrow_it_is_left_out() {
        // A long key over many items: each item a column whose path repeats
        // the key. The row is left out; the rows around it are not.
        let key = "k".repeat(10_000);
        let items = vec!["0"; 2_000].join(",");
        let (batch, left_out) = BatchBuilder::build(&[
            record(1, r#"{"a": "1"}"#),
            record(2, &format!(r#"{{"{key}": [{items}]}}"#)),
            record(3, r#"{"a": "3", "b": {"c": [1, 2]}}"#),
        ])
        .unwrap();
        assert_eq!(left_out, [1]);
        assert_eq!(batch.rows.len(), 2);
        let path_bytes: usize = batch
            .columns
            .iter()
            .flatten()
            .map(|step| match step {
                Step::Key(k) => k.len(),
                Step::Index(_) => 4,
            })
            .sum();
        assert!(path_bytes < 4 * 30_000 + 4096, "{path_bytes}");
        assert_eq!(
            shown(&batch, 1),
            ["a = text 3", "b/c/0 = number 1", "b/c/1 = number 2"]
        );
    }

    #[test]
    fn a_key_given_as_an_object_and_as_text_is_one_column() {
        let (batch, _) =
            BatchBuilder::build(&[record(1, r#"{"e": {}}"#), record(2, r#"{"e": 5}"#)]).unwrap();
        assert_eq!(batch.columns.len(), 1);
        assert_eq!(shown(&batch, 0), ["e = {}"]);
        assert_eq!(shown(&batch, 1), ["e = number 5"]);
    }

    #[test]
    fn exponents_are_written_out_exactly_within_reason() {
        assert_eq!(plain_number("1.5e2"), "150");
        assert_eq!(plain_number("-2E-3"), "-0.002");
        assert_eq!(plain_number("1e300"), "1e300");
        assert_eq!(plain_number("0.1000"), "0.1000");
        assert_eq!(plain_number("1.25e+1"), "12.5");
        assert_eq!(plain_number("12e-1"), "1.2");
        // Digits past a decimal type's 28 are kept, not rounded.
        assert_eq!(
            plain_number("1.00000000000000000000000000001e0"),
            "1.00000000000000000000000000001"
        );
    }
}
