//! An input row, and the problems that reject it.

use crate::batch::{Batch, Container, Key};
use crate::bindings::conform::plugin::types as wit;
use crate::text::trimmed;

/// One value of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'b> {
    /// Text as given, untrimmed.
    Text(&'b str),
    /// A number as the file wrote it.
    Number(&'b str),
    /// `true` or `false`.
    Boolean(bool),
    /// `null`.
    Null,
    /// A list (its items are values of their own).
    List,
    /// An object (its members are values of their own).
    Object,
}

/// One input row as the host decoded it.
pub struct Row<'b> {
    /// 1-based position of the row in its file.
    pub ordinal: u64,
    /// 1-based line on which the row starts.
    pub line: u64,
    batch: &'b Batch,
    /// The row's cells as the contract carries them: four words each,
    /// column, case, payload.
    cells: &'b [u32],
}

/// Words a cell takes in `batch.cells`.
const CELL_WORDS: usize = 4;

/// Why a row cannot be converted: one problem, or several.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected(pub Vec<Problem>);

impl Rejected {
    /// The problems' codes in order (`["missing-field", "not-a-number"]`),
    /// for tests of a plugin's mapping.
    pub fn codes(&self) -> Vec<&str> {
        self.0.iter().map(|p| p.code.as_str()).collect()
    }
}

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
    /// The record field concerned, as a JSON pointer (`/colour_code`).
    pub target: Option<String>,
    /// A stable kebab-case code (`missing-field`).
    pub code: String,
    /// What a person should fix.
    pub message: String,
    /// For a refusal of a call with several inputs, the input at fault.
    pub input: Option<u32>,
}

impl Problem {
    /// A problem with a code and a message.
    pub fn new(code: &str, message: impl Into<String>) -> Problem {
        Problem {
            field: None,
            target: None,
            code: code.to_string(),
            message: message.into(),
            input: None,
        }
    }

    /// The same problem, attributed to an input field.
    pub fn at(mut self, field: &str) -> Problem {
        self.field = Some(field.to_string());
        self
    }

    /// The same problem, concerning a field of the record (`/grade`).
    pub fn target(mut self, pointer: &str) -> Problem {
        self.target = Some(pointer.to_string());
        self
    }
}

impl From<wit::ServiceError> for Problem {
    fn from(e: wit::ServiceError) -> Problem {
        Problem {
            field: None,
            target: None,
            code: e.code,
            message: e.message,
            input: e.input,
        }
    }
}

/// Attributes the error of a result to an input field or a record field.
pub trait ResultExt<T> {
    /// Sets the problem's input field, unless it already has one.
    fn at(self, field: &str) -> Result<T, Problem>;
    /// Sets the record field the problem concerns, unless it already has one.
    fn target(self, pointer: &str) -> Result<T, Problem>;
}

impl<T> ResultExt<T> for Result<T, Problem> {
    fn at(self, field: &str) -> Result<T, Problem> {
        self.map_err(|p| if p.field.is_some() { p } else { p.at(field) })
    }

    fn target(self, pointer: &str) -> Result<T, Problem> {
        self.map_err(|p| {
            if p.target.is_some() {
                p
            } else {
                p.target(pointer)
            }
        })
    }
}

impl<'b> Row<'b> {
    pub(crate) fn new(batch: &'b Batch, row: &wit::Row) -> Row<'b> {
        let start = row.cells.start as usize * CELL_WORDS;
        Row {
            ordinal: row.ordinal,
            line: row.line,
            batch,
            cells: &batch.inner.cells[start..start + row.cells.len as usize * CELL_WORDS],
        }
    }

    /// The row's cells' columns, in order.
    fn columns(&self) -> impl Iterator<Item = u32> + '_ {
        self.cells.chunks_exact(CELL_WORDS).map(|cell| cell[0])
    }

    /// The index of the row's cell in `column`, if it has one.
    fn find(&self, column: u32) -> Option<usize> {
        // A CSV row has a cell in every column, in order: the cell is at
        // the column's index. Other rows are searched (columns ascend).
        let at = |i: usize| self.cells[i * CELL_WORDS];
        let count = self.cells.len() / CELL_WORDS;
        if (column as usize) < count && at(column as usize) == column {
            return Some(column as usize);
        }
        let (mut low, mut high) = (0, count);
        while low < high {
            let middle = (low + high) / 2;
            match at(middle).cmp(&column) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }

    /// The row's value in `column`, if it has one.
    fn in_column(&self, column: u32) -> Option<Cell<'b>> {
        let i = self.find(column)? * CELL_WORDS;
        let (case, a, b) = (self.cells[i + 1], self.cells[i + 2], self.cells[i + 3]);
        let batch = self.batch;
        Some(match case {
            0 => Cell::Text(batch.text_at(a, b)),
            1 => Cell::Number(batch.text_at(a, b)),
            2 => Cell::Boolean(a == 1),
            4 => Cell::Object,
            5 => Cell::List,
            _ => Cell::Null,
        })
    }

    /// The value at a path of the row's columns, if present.
    fn at_path(&self, path: &[Key]) -> Option<Cell<'b>> {
        if let Some(cell) = self.batch.column(path).and_then(|c| self.in_column(c)) {
            return Some(cell);
        }
        // A list or an object is present when one of its members is.
        let kind = self.batch.container(path)?;
        let present = self.columns().any(|column| {
            self.batch.inner.columns[column as usize]
                .iter()
                .zip(path)
                .all(|(step, key)| match (step, key) {
                    (wit::Step::Key(a), Key::Name(b)) => a == b,
                    (wit::Step::Index(a), Key::Index(b)) => a == b,
                    _ => false,
                })
                && self.batch.inner.columns[column as usize].len() > path.len()
        });
        present.then_some(match kind {
            Container::List => Cell::List,
            Container::Object => Cell::Object,
        })
    }

    /// A field's value, if present.
    pub fn get(&self, name: &str) -> Option<Cell<'b>> {
        if let Some(cell) = self.batch.top_column(name).and_then(|c| self.in_column(c)) {
            return Some(cell);
        }
        self.at_path(&[Key::Name(name.to_string())])
    }

    /// The value at a JSON pointer (`/Size/@length`, `/items/0/sku`), if present.
    pub fn pointer(&self, pointer: &str) -> Option<Cell<'b>> {
        let mut path = Vec::new();
        for part in pointer.strip_prefix('/')?.split('/') {
            let part = part.replace("~1", "/").replace("~0", "~");
            let index = match self.batch.container(&path) {
                Some(Container::List) => part.parse::<u32>().ok(),
                _ => None,
            };
            path.push(match index {
                Some(i) => Key::Index(i),
                None => Key::Name(part),
            });
        }
        self.at_path(&path)
    }

    /// A value already read ([`Row::get`], [`Row::pointer`]) as
    /// [`Row::text`] reads one: `name` is the field it came from, for the
    /// problem.
    pub fn text_of(&self, value: Option<Cell<'b>>, name: &str) -> Result<&'b str, Problem> {
        text_of(value, name)
    }

    /// A required field as text: non-blank text (trimmed), or a number as
    /// written. Anything else is a `missing-field` or `wrong-type` problem.
    pub fn text(&self, name: &str) -> Result<&'b str, Problem> {
        match self.top_text(name) {
            Some(text) => Ok(text),
            None => text_of(self.get(name), name),
        }
    }

    /// [`Row::text`] of a column found once for a whole batch
    /// ([`Row::top_column`]): the same answer, without finding the column
    /// again row by row.
    pub(crate) fn text_in(&self, column: Option<u32>, name: &str) -> Result<&'b str, Problem> {
        match column.and_then(|column| self.text_at_column(column)) {
            Some(text) => Ok(text),
            None => self.text(name),
        }
    }

    /// The batch's column of the top-level field `name`, if any row has it.
    pub(crate) fn top_column(&self, name: &str) -> Option<u32> {
        self.batch.top_column(name)
    }

    /// [`Row::text`] of a top-level column when the row's cell there is
    /// non-blank text or a number, the common case, read in one step;
    /// `None` leaves every other case to [`text_of`].
    #[inline(always)]
    fn top_text(&self, name: &str) -> Option<&'b str> {
        self.text_at_column(self.batch.top_column(name)?)
    }

    /// The non-blank text or number in the row's cell of `column` when
    /// the cell is at the column's index (every CSV row's cells are).
    #[inline(always)]
    fn text_at_column(&self, column: u32) -> Option<&'b str> {
        let at = column as usize * CELL_WORDS;
        let &[cell_column, case, start, len] = self.cells.get(at..at + CELL_WORDS)? else {
            return None;
        };
        if cell_column != column || case > 1 {
            return None;
        }
        let text = self.batch.text_at(start, len);
        match case {
            0 => Some(trimmed(text)).filter(|t| !t.is_empty()),
            _ => Some(text),
        }
    }

    /// Like [`Row::text`], for the value at a JSON pointer; problems name the pointer.
    pub fn text_at(&self, pointer: &str) -> Result<&'b str, Problem> {
        text_of(self.pointer(pointer), pointer)
    }

    /// A required whole number (`20`, `"20"`): else `not-a-number`.
    pub fn count(&self, name: &str) -> Result<i64, Problem> {
        whole(self.text(name)?, name)
    }

    /// A required whole number at a JSON pointer.
    pub fn count_at(&self, pointer: &str) -> Result<i64, Problem> {
        whole(self.text_at(pointer)?, pointer)
    }
}

fn whole(text: &str, name: &str) -> Result<i64, Problem> {
    text.parse::<i64>().map_err(|_| {
        Problem::new("not-a-number", format!("`{text}` is not a whole number")).at(name)
    })
}

fn text_of<'b>(value: Option<Cell<'b>>, name: &str) -> Result<&'b str, Problem> {
    let kind = match value {
        Some(Cell::Text(s)) => match trimmed(s) {
            "" => return Err(missing(name)),
            trimmed => return Ok(trimmed),
        },
        Some(Cell::Number(n)) => return Ok(n),
        None | Some(Cell::Null) => return Err(missing(name)),
        Some(Cell::Boolean(_)) => "a boolean",
        Some(Cell::List) => "a list",
        Some(Cell::Object) => "an object",
    };
    Err(Problem::new(
        "wrong-type",
        format!("`{name}` must be text or a number, not {kind}"),
    )
    .at(name))
}

/// The problem of a required field that is absent, null or blank.
fn missing(name: &str) -> Problem {
    Problem::new(
        "missing-field",
        format!("`{name}` is required but missing or empty"),
    )
    .at(name)
}

/// Collects the problems of several fields, so that a row reports all of them.
#[derive(Debug, Default)]
pub struct Checks(Vec<Problem>);

impl Checks {
    /// Keeps the value, or records the problem and returns `None`.
    pub fn take<T>(&mut self, result: Result<T, Problem>) -> Option<T> {
        result.map_err(|p| self.0.push(p)).ok()
    }

    /// Keeps the value, or records every problem and returns `None` (for
    /// helpers that check several fields at once, as
    /// [`crate::tables::in_one_unit`]).
    pub fn take_all<T>(&mut self, result: Result<T, Rejected>) -> Option<T> {
        result
            .map_err(|Rejected(problems)| self.0.extend(problems))
            .ok()
    }

    /// Records a problem found otherwise.
    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
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
    use super::trimmed;

    #[test]
    fn cells_are_trimmed_of_any_whitespace() {
        for (cell, text) in [
            ("R-1", "R-1"),
            ("x", "x"),
            (" 8.2 ", "8.2"),
            ("\u{3000}零件\u{3000}", "零件"),
            ("零件", "零件"),
            ("\t", ""),
            ("", ""),
            ("零件\u{3000}", "零件"),
            ("\u{2003}零件", "零件"),
            ("纸箱 ", "纸箱"),
            ("\u{a0}x\u{85}", "x"),
        ] {
            assert_eq!(trimmed(cell), text, "{cell:?}");
        }
    }

    proptest::proptest! {
        /// As `str::trim`, whatever the characters at either end.
        #[test]
        fn cells_are_trimmed_as_str_trims_them(
            text in "[ \t\u{b}\u{85}\u{a0}\u{1680}\u{2000}\u{200b}\u{2028}\u{205f}\u{3000}\u{3fff}\u{4000}\u{feff}a1零😀]{0,5}",
        ) {
            proptest::prop_assert_eq!(trimmed(&text), text.trim());
        }
    }
}
