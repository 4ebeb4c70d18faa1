//! Measuring a workbook before calamine opens it, so that what it costs
//! is bounded by budgets rather than by what the file declares:
//!
//! - a ZIP workbook (.xlsx, .ods) has at most [`MAX_ENTRIES`] entries; each
//!   is decompressed once and counted (declared sizes are not trusted): the
//!   parts calamine reads whole (all but an .xlsx's worksheets, which are
//!   streamed) come to at most [`MAX_WHOLE_PARTS_BYTES`], and everything to
//!   at most [`MAX_EXPANSION`] times the file (or 64 MiB for a small one);
//! - an .xlsx's shared-strings count (calamine reserves room for that many
//!   strings at once) is at most the part's size in bytes;
//! - the sheets of an .ods (all read whole at open) and of an .xls hold at
//!   most [`MAX_DENSE_CELLS`] cells in all, counting the areas the files
//!   declare and the spans their cells cover (a sheet is held as the
//!   rectangle around its cells).

use std::io::{BufReader, Read, Seek, SeekFrom};

use quick_xml::events::{BytesStart, Event};
use zip::ZipArchive;

use super::{Kind, Spool};
use crate::DecodeError;

/// The most entries a ZIP workbook may have.
const MAX_ENTRIES: usize = 10_000;

/// The most bytes the parts calamine reads whole may decompress to.
pub(crate) const MAX_WHOLE_PARTS_BYTES: u64 = 64 * 1024 * 1024;

/// The most a ZIP workbook may decompress to, as a multiple of its size.
const MAX_EXPANSION: u64 = 100;

/// The most cells the sheets of an .xls or .ods may hold in all (each is
/// read whole into a rectangle of cells).
pub(crate) const MAX_DENSE_CELLS: u64 = 2_000_000;

/// Excel's last row.
const MAX_ROWS: u64 = 1_048_576;

/// Excel's last column.
const MAX_COLUMNS: u64 = 16_384;

/// A workbook refused, and why.
fn refused(why: impl std::fmt::Display) -> DecodeError {
    DecodeError::Structure(format!(
        "the workbook is refused: {why}; save the sheet as CSV (or as .xlsx, which is read as it streams)"
    ))
}

/// An unreadable ZIP or OLE structure.
fn broken(e: impl std::fmt::Display) -> DecodeError {
    DecodeError::Structure(format!(
        "the workbook cannot be read ({e}): open it in the spreadsheet program and save it again, or save the sheet as CSV"
    ))
}

/// Which workbook a ZIP archive is, by the parts it has.
pub(super) fn zip_kind(file: &mut Spool) -> Result<Kind, DecodeError> {
    file.seek(SeekFrom::Start(0))?;
    let mut archive = ZipArchive::new(&mut *file).map_err(broken)?;
    let has = |archive: &ZipArchive<&mut Spool>, name: &str| archive.index_for_name(name).is_some();
    if has(&archive, "xl/workbook.xml") {
        return Ok(Kind::Xlsx);
    }
    if has(&archive, "xl/workbook.bin") {
        return Err(DecodeError::Structure(
            "the file is an Excel binary workbook (.xlsb): save it as .xlsx (Excel Workbook) or as CSV".into(),
        ));
    }
    if has(&archive, "content.xml") {
        let mut mimetype = String::new();
        if let Ok(entry) = archive.by_name("mimetype") {
            entry.take(200).read_to_string(&mut mimetype).ok();
        }
        if mimetype.is_empty()
            || mimetype.trim() == "application/vnd.oasis.opendocument.spreadsheet"
        {
            return Ok(Kind::Ods);
        }
        return Err(DecodeError::Structure(format!(
            "the file is an OpenDocument file of type `{}`, not a spreadsheet: save the table from a spreadsheet program (.ods, .xlsx or CSV)",
            mimetype.trim()
        )));
    }
    Err(DecodeError::Structure(
        "the file is a ZIP archive but not a workbook (.xlsx or .ods): unzip it and convert the files inside, or save the sheet as CSV".into(),
    ))
}

/// Checks that the workbook of `size` bytes fits the budgets.
pub(super) fn check(file: &mut Spool, kind: Kind, size: u64) -> Result<(), DecodeError> {
    file.seek(SeekFrom::Start(0))?;
    match kind {
        Kind::Xlsx | Kind::Ods => check_zip(file, kind, size),
        Kind::Xls => check_xls(file, size),
    }
}

fn check_zip(file: &mut Spool, kind: Kind, size: u64) -> Result<(), DecodeError> {
    let mut archive = ZipArchive::new(&mut *file).map_err(broken)?;
    if archive.len() > MAX_ENTRIES {
        return Err(refused(format_args!(
            "it has {} parts, more than the {MAX_ENTRIES} a workbook is read with",
            archive.len()
        )));
    }
    let expansion_budget = (size.saturating_mul(MAX_EXPANSION)).max(MAX_WHOLE_PARTS_BYTES);
    let (mut expanded, mut whole) = (0u64, 0u64);
    let mut dense_cells = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(broken)?;
        let name = entry.name().map_err(broken)?.to_string();
        let streamed = kind == Kind::Xlsx && name.starts_with("xl/worksheets/");
        let room = if streamed {
            expansion_budget - expanded
        } else {
            (expansion_budget - expanded).min(MAX_WHOLE_PARTS_BYTES - whole)
        };
        let bytes = std::io::copy(&mut (&mut entry).take(room + 1), &mut std::io::sink())
            .map_err(broken)?;
        if bytes > room {
            return Err(refused(
                if streamed || expanded + bytes > expansion_budget {
                    format!("it unpacks to more than {MAX_EXPANSION} times its size")
                } else {
                    format!(
                        "its parts read whole unpack to more than {} MiB (`{name}` among them)",
                        MAX_WHOLE_PARTS_BYTES >> 20
                    )
                },
            ));
        }
        expanded += bytes;
        if !streamed {
            whole += bytes;
        }
        drop(entry);
        if kind == Kind::Xlsx && name.to_ascii_lowercase().ends_with("sharedstrings.xml") {
            check_shared_strings(archive.by_index(i).map_err(broken)?, bytes)?;
        }
        if kind == Kind::Ods && name == "content.xml" {
            dense_cells += ods_cells(archive.by_index(i).map_err(broken)?)?;
        }
    }
    check_dense(dense_cells)
}

fn check_dense(cells: u64) -> Result<(), DecodeError> {
    if cells > MAX_DENSE_CELLS {
        return Err(refused(format_args!(
            "its sheets span {cells} cells, more than the {MAX_DENSE_CELLS} an .ods or .xls is read with"
        )));
    }
    Ok(())
}

/// The shared-strings count must not exceed the part's size: each string
/// takes at least a byte of it.
fn check_shared_strings(part: impl Read, bytes: u64) -> Result<(), DecodeError> {
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(part));
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).map_err(broken)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "sst" => {
                for key in ["uniqueCount", "count"] {
                    if let Some(count) = number_attribute(&e, key) {
                        if count > bytes {
                            return Err(refused(format_args!(
                                "it declares {count} shared strings in {bytes} bytes"
                            )));
                        }
                    }
                }
                return Ok(());
            }
            Event::Eof => return Ok(()),
            _ => buf.clear(),
        }
    }
}

/// An attribute's number; `u64::MAX` when it is there but no number that
/// fits (a hostile count is refused, not ignored).
fn number_attribute(e: &BytesStart<'_>, key: &str) -> Option<u64> {
    let attribute = e.try_get_attribute(key).ok().flatten()?;
    Some(attribute.value.trim().parse().unwrap_or(u64::MAX))
}

/// The cells an .ods holds once read: per table, the rectangle from its
/// first row to its last row with a value (repeats counted), as wide as
/// its widest such row; or, if more, the cells its rows store before
/// their repeats are expanded.
fn ods_cells(content: impl Read) -> Result<u64, DecodeError> {
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(content));
    let mut buf = Vec::new();
    let (mut total, mut stored) = (0u64, 0u64);
    let mut table = OdsTable::default();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(broken)?;
        let (element, has_children) = match &event {
            Event::Start(e) => (Some(e), true),
            Event::Empty(e) => (Some(e), false),
            _ => (None, false),
        };
        if let Some(e) = element {
            match e.local_name().as_ref() {
                "table" if has_children => table = OdsTable::default(),
                "table-row" => {
                    table.row_repeats = number_attribute(e, "table:number-rows-repeated")
                        .unwrap_or(1)
                        .clamp(1, MAX_ROWS);
                    table.column = 0;
                    table.row_width = 0;
                    if !has_children {
                        table.end_row(&mut stored);
                    }
                }
                "table-cell" | "covered-table-cell" => {
                    let repeats = number_attribute(e, "table:number-columns-repeated")
                        .unwrap_or(1)
                        .clamp(1, MAX_COLUMNS);
                    table.column = (table.column + repeats).min(MAX_COLUMNS);
                    let has_value = e
                        .try_get_attribute("office:value-type")
                        .ok()
                        .flatten()
                        .is_some();
                    if has_value || has_children {
                        table.row_width = table.column;
                    }
                }
                _ => {}
            }
        }
        match &event {
            Event::End(e) if e.local_name().as_ref() == "table-row" => table.end_row(&mut stored),
            Event::End(e) if e.local_name().as_ref() == "table" => {
                total = total.saturating_add(table.area());
                table = OdsTable::default();
            }
            Event::Eof => break,
            _ => {}
        }
        if total.max(stored) > MAX_DENSE_CELLS {
            break;
        }
        buf.clear();
    }
    Ok(total.max(stored))
}

/// The running measure of one .ods table.
#[derive(Default)]
struct OdsTable {
    /// Rows so far, repeats counted.
    rows: u64,
    /// The end of the last row with a value.
    last_row_with_value: u64,
    /// The widest row with a value.
    width: u64,
    /// The current row's repeats, column and width with values.
    row_repeats: u64,
    column: u64,
    row_width: u64,
}

impl OdsTable {
    fn end_row(&mut self, stored: &mut u64) {
        *stored = stored.saturating_add(self.row_width);
        self.rows = (self.rows + self.row_repeats).min(MAX_ROWS);
        if self.row_width > 0 {
            self.last_row_with_value = self.rows;
            self.width = self.width.max(self.row_width);
        }
        self.row_repeats = 1;
        self.row_width = 0;
    }

    fn area(&self) -> u64 {
        self.last_row_with_value.saturating_mul(self.width)
    }
}

/// The BIFF records an .xls stores a cell in (each starts with its row
/// and column): calamine keeps a sheet as the rectangle around them.
const XLS_CELL_RECORDS: [u16; 8] = [
    0x0203, // Number
    0x0204, // Label
    0x00D6, // RString
    0x00FD, // LabelSst
    0x027E, // RK
    0x00BD, // MulRk (several columns)
    0x0205, // BoolErr
    0x0006, // Formula
];

fn check_xls(file: &mut Spool, size: u64) -> Result<(), DecodeError> {
    let mut compound = cfb::CompoundFile::open(&mut *file).map_err(broken)?;
    let name = ["/Workbook", "/Book"]
        .into_iter()
        .find(|name| compound.is_stream(name))
        .ok_or_else(|| {
            DecodeError::Structure(
                "the file is an OLE document but not an Excel workbook (.xls): save the table from a spreadsheet program".into(),
            )
        })?;
    let mut stream = Vec::new();
    compound
        .open_stream(name)
        .map_err(broken)?
        .take(size + 1)
        .read_to_end(&mut stream)
        .map_err(broken)?;
    check_dense(xls_cells(&stream)?)
}

/// One BIFF record: its type and body.
struct Record<'a> {
    kind: u16,
    body: &'a [u8],
}

/// The records from `at` on, until the stream ends or a record is cut.
fn records(stream: &[u8], mut at: usize) -> impl Iterator<Item = Record<'_>> {
    std::iter::from_fn(move || {
        let head = stream.get(at..at + 4)?;
        let kind = u16::from_le_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let body = stream.get(at + 4..at + 4 + len)?;
        at += 4 + len;
        Some(Record { kind, body })
    })
}

fn u16_at(body: &[u8], at: usize) -> u64 {
    body.get(at..at + 2)
        .map_or(0, |b| u64::from(u16::from_le_bytes([b[0], b[1]])))
}

fn u32_at(body: &[u8], at: usize) -> u64 {
    body.get(at..at + 4).map_or(0, |b| {
        u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    })
}

/// The cells calamine holds for an .xls: each sheet (read from where the
/// workbook says it starts, as calamine reads it) as the larger of the
/// area it declares and the rectangle around its cells.
fn xls_cells(stream: &[u8]) -> Result<u64, DecodeError> {
    let starts: Vec<usize> = records(stream, 0)
        .take_while(|r| r.kind != 0x000A) // the globals end at their EOF
        .filter(|r| r.kind == 0x0085) // BoundSheet8: where a sheet starts
        .map(|r| u32_at(r.body, 0) as usize)
        .collect();
    let mut total = 0u64;
    // Sheets that overlap are read as often as they are named: bound the
    // reading, too.
    let mut budget = stream.len().saturating_mul(4) + (1 << 20);
    for start in starts {
        if start >= stream.len() {
            return Err(refused("a sheet starts past the end of the file"));
        }
        let (cells, read) = xls_sheet_cells(stream, start);
        budget = budget
            .checked_sub(read)
            .ok_or_else(|| refused("its sheets overlap"))?;
        total = total.saturating_add(cells);
        if total > MAX_DENSE_CELLS {
            break;
        }
    }
    Ok(total)
}

/// One sheet's cells as calamine holds them, and the bytes read.
fn xls_sheet_cells(stream: &[u8], start: usize) -> (u64, usize) {
    let (mut depth, mut seen_bof, mut read) = (0usize, false, 0usize);
    let mut declared = 0u64;
    let (mut rows, mut columns) = ((u64::MAX, 0u64), (u64::MAX, 0u64));
    let mut any = false;
    for record in records(stream, start) {
        read += 4 + record.body.len();
        match record.kind {
            0x0809 if seen_bof => depth += 1,
            0x0809 => seen_bof = true,
            0x000A if depth == 0 => break,
            0x000A => depth -= 1,
            _ if depth > 0 => {}
            0x0200 => declared = declared.max(xls_declared_area(record.body)),
            kind if XLS_CELL_RECORDS.contains(&kind) => {
                let row = u16_at(record.body, 0);
                let first = u16_at(record.body, 2);
                let last = if kind == 0x00BD {
                    u16_at(record.body, record.body.len().saturating_sub(2))
                } else {
                    first
                };
                any = true;
                rows = (rows.0.min(row), rows.1.max(row));
                columns = (
                    columns.0.min(first.min(last)),
                    columns.1.max(first.max(last)),
                );
            }
            _ => {}
        }
    }
    let spanned = if any {
        (rows.1 - rows.0 + 1).saturating_mul(columns.1 - columns.0 + 1)
    } else {
        0
    };
    (declared.max(spanned), read)
}

/// The area a Dimensions record declares, as calamine computes it (with
/// its wrap-around when the last row is before the first).
fn xls_declared_area(body: &[u8]) -> u64 {
    let (first_row, rows_end, mut first_column, columns_end) = match body.len() {
        10 => (
            u16_at(body, 0),
            u16_at(body, 2),
            u16_at(body, 4),
            u16_at(body, 6),
        ),
        14 | 16 => (
            u32_at(body, 0),
            u32_at(body, 4),
            u16_at(body, 8),
            u16_at(body, 10),
        ),
        _ => return 0,
    };
    if first_column > 0xFF || columns_end < first_column {
        first_column = 0;
    }
    if rows_end < 1 || columns_end < 1 {
        return 1;
    }
    let span = |first: u64, end: u64| -> u64 {
        // calamine: (end - 1) - first + 1 in u32, wrapping.
        u64::from(
            ((end - 1) as u32)
                .wrapping_sub(first as u32)
                .wrapping_add(1),
        )
    };
    span(first_row, rows_end).saturating_mul(span(first_column, columns_end))
}
