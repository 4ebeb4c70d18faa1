//! Tables written as .xlsx workbooks, for people who open their downloads
//! in a spreadsheet: one sheet, a bold header row, numbers as numbers
//! (as text where a spreadsheet's 15 significant digits would change
//! them), everything else as text, never as a formula.
//!
//! The workbook is written in rust_xlsxwriter's constant-memory mode: a
//! row is flushed to a temporary file once the next one starts, so memory
//! does not grow with the rows. A sheet holds at most [`MAX_ROWS`] rows
//! beside its header; the callers refuse a longer table (before writing
//! when they know its length), pointing to the CSV download.

use std::path::Path;

use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// The most rows under the header one sheet holds (Excel's 1 048 576 rows).
pub(crate) const MAX_ROWS: u64 = 1_048_575;

/// Excel's most characters in a cell.
const MAX_CELL_CHARS: usize = 32_767;

/// A cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Text, written as text.
    Text(String),
    /// A number as JSON wrote it: written as a number when a spreadsheet
    /// holds it exactly enough, else as its text.
    Number(String),
}

/// Writes a table to an .xlsx file.
pub(crate) struct XlsxWriter {
    book: Workbook,
    rows: u32,
    bold: Format,
}

impl XlsxWriter {
    /// A workbook with one sheet named `sheet` and the header `columns`.
    pub(crate) fn new(sheet: &str, columns: &[String]) -> Result<XlsxWriter, XlsxError> {
        let mut book = Workbook::new();
        book.add_worksheet_with_constant_memory().set_name(sheet)?;
        let mut writer = XlsxWriter {
            book,
            rows: 0,
            bold: Format::new().set_bold(),
        };
        let header: Vec<Cell> = columns.iter().cloned().map(Cell::Text).collect();
        writer.write_row(&header, true)?;
        Ok(writer)
    }

    /// Appends a row under the header.
    pub(crate) fn row(&mut self, cells: &[Cell]) -> Result<(), XlsxError> {
        self.write_row(cells, false)
    }

    fn write_row(&mut self, cells: &[Cell], header: bool) -> Result<(), XlsxError> {
        let row = self.rows;
        let sheet = self.book.worksheet_from_index(0)?;
        for (column, cell) in cells.iter().enumerate() {
            let Ok(column) = u16::try_from(column) else {
                break; // beyond a sheet's 16 384 columns
            };
            match cell {
                Cell::Text(text) if text.is_empty() => {}
                Cell::Text(text) if header => {
                    sheet.write_string_with_format(row, column, cut(text), &self.bold)?;
                }
                Cell::Text(text) => {
                    sheet.write_string(row, column, cut(text))?;
                }
                Cell::Number(text) => match exact_number(text) {
                    Some(number) => {
                        sheet.write_number(row, column, number)?;
                    }
                    None => {
                        sheet.write_string(row, column, cut(text))?;
                    }
                },
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Writes the workbook to `path`.
    pub(crate) fn save(mut self, path: &Path) -> Result<(), XlsxError> {
        self.book.save(path)
    }
}

/// `text` cut to the characters a cell holds.
fn cut(text: &str) -> &str {
    match text.char_indices().nth(MAX_CELL_CHARS) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// The number JSON wrote as `text`, if a spreadsheet holds it as written:
/// at most 15 significant digits, within a double's range.
fn exact_number(text: &str) -> Option<f64> {
    let mantissa = text
        .split(['e', 'E'])
        .next()
        .unwrap_or(text)
        .trim_start_matches('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    let number: f64 = text.parse().ok()?;
    (significant.len() <= 15 && number.is_finite()).then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_a_spreadsheet_would_change_stay_text() {
        assert_eq!(exact_number("3.18"), Some(3.18));
        assert_eq!(exact_number("-0.002"), Some(-0.002));
        assert_eq!(exact_number("1e3"), Some(1000.0));
        assert_eq!(exact_number("1234567890123456789"), None);
        assert_eq!(exact_number("0.12345678901234567"), None);
        assert_eq!(cut(&"字".repeat(40_000)).chars().count(), MAX_CELL_CHARS);
    }
}
