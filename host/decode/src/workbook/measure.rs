//! Measuring a workbook before calamine opens it, so that what it costs
//! is bounded by budgets rather than by what the file declares:
//!
//! - a ZIP workbook (.xlsx, .ods) has at most [`MAX_ENTRIES`] entries; each
//!   is decompressed once and counted (declared sizes are not trusted): the
//!   parts calamine reads whole (all but an .xlsx's worksheets, which are
//!   streamed) come to at most [`MAX_WHOLE_PARTS_BYTES`], and everything to
//!   at most [`MAX_EXPANSION`] times the file (or 64 MiB for a small one);
//! - an .xlsx has the usual layout (its workbook at `xl/workbook.xml`, so
//!   that calamine reads the parts this measures), and its shared-strings
//!   count (calamine reserves room for that many strings at once) is at
//!   most the part's size in bytes;
//! - the sheets of an .ods (all read whole at open) and of an .xls hold at
//!   most [`MAX_DENSE_CELLS`] cells in all, counting the areas the files
//!   declare and the spans their cells cover (a sheet is held as the
//!   rectangle around its cells), and their cells' text, as calamine
//!   copies it into every repeated or referring cell, comes to at most
//!   [`MAX_WHOLE_PARTS_BYTES`].

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
    if kind == Kind::Xlsx {
        check_xlsx_layout(&mut archive)?;
    }
    let expansion_budget = (size.saturating_mul(MAX_EXPANSION)).max(MAX_WHOLE_PARTS_BYTES);
    let (mut expanded, mut whole) = (0u64, 0u64);
    let mut dense = Dense::default();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(broken)?;
        let name = entry.name().map_err(broken)?.to_string();
        let streamed = kind == Kind::Xlsx && is_worksheet_part(&name);
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
            dense.add(ods_cells(archive.by_index(i).map_err(broken)?)?);
        }
    }
    dense.check()
}

/// What calamine holds of a workbook it reads whole: cells, and the bytes
/// of their text.
#[derive(Debug, Default, Clone, Copy)]
struct Dense {
    cells: u64,
    text_bytes: u64,
}

impl Dense {
    fn add(&mut self, other: Dense) {
        self.cells = self.cells.saturating_add(other.cells);
        self.text_bytes = self.text_bytes.saturating_add(other.text_bytes);
    }

    fn over(&self) -> bool {
        self.cells > MAX_DENSE_CELLS || self.text_bytes > MAX_WHOLE_PARTS_BYTES
    }

    fn check(&self) -> Result<(), DecodeError> {
        if self.cells > MAX_DENSE_CELLS {
            return Err(refused(format_args!(
                "its sheets span {} cells, more than the {MAX_DENSE_CELLS} an .ods or .xls is read with",
                self.cells
            )));
        }
        if self.text_bytes > MAX_WHOLE_PARTS_BYTES {
            return Err(refused(format_args!(
                "its cells' text, repeated where the file repeats it, comes to more than {} MiB",
                MAX_WHOLE_PARTS_BYTES >> 20
            )));
        }
        Ok(())
    }
}

/// Whether `name` is a worksheet part calamine streams rather than reads
/// whole: `xl/worksheets/sheetN.xml`.
fn is_worksheet_part(name: &str) -> bool {
    name.strip_prefix("xl/worksheets/sheet")
        .and_then(|rest| rest.strip_suffix(".xml"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The package's main document must be `xl/workbook.xml`: calamine takes
/// the folder of its parts from it, and the budgets here are for that
/// layout (every writer of .xlsx uses it).
fn check_xlsx_layout(archive: &mut ZipArchive<&mut Spool>) -> Result<(), DecodeError> {
    let rels = archive.by_name("_rels/.rels").map_err(broken)?;
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(rels.take(1 << 20)));
    let mut buf = Vec::new();
    let mut target = None;
    loop {
        match reader.read_event_into(&mut buf).map_err(broken)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "Relationship" => {
                let attribute = |key: &str| {
                    e.try_get_attribute(key)
                        .ok()
                        .flatten()
                        .map(|a| a.value.to_string())
                };
                if attribute("Type").is_some_and(|t| t.ends_with("/relationships/officeDocument")) {
                    target = attribute("Target");
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    match target.as_deref().map(|t| t.trim_start_matches('/')) {
        Some("xl/workbook.xml") => Ok(()),
        other => Err(refused(format_args!(
            "its main part is `{}`, not `xl/workbook.xml` as spreadsheet programs write it",
            other.unwrap_or("missing")
        ))),
    }
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

/// What an .ods holds once calamine has read it: per table, the rectangle
/// from its first row to its last row with a value (repeats counted), as
/// wide as its widest such row, or, if more, the cells its rows store
/// before their repeats are expanded; and the bytes of text calamine makes
/// (each cell's text, spaces `<text:s text:c="N"/>` stands for included,
/// copied into every repeat of the cell and of its row).
fn ods_cells(content: impl Read) -> Result<Dense, DecodeError> {
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(content));
    let mut buf = Vec::new();
    let (mut area, mut stored, mut text_bytes) = (0u64, 0u64, 0u64);
    let mut table = OdsTable::default();
    // The open cell: its repeats, where it started, the spaces inside.
    let mut cell: Option<(u64, u64, u64)> = None;
    loop {
        let before = reader.buffer_position();
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
                    table.row_text = 0;
                    if !has_children {
                        table.end_row(&mut stored, &mut text_bytes);
                    }
                }
                "table-cell" | "covered-table-cell" => {
                    let repeats = number_attribute(e, "table:number-columns-repeated")
                        .unwrap_or(1)
                        .clamp(1, MAX_COLUMNS);
                    table.column = (table.column + repeats).min(MAX_COLUMNS);
                    let valued = has_value(e);
                    if has_children || valued {
                        table.row_width = table.column;
                    }
                    if has_children {
                        cell = Some((repeats, before, 0));
                    } else if valued {
                        // A value in attributes: at most their bytes.
                        let bytes = reader.buffer_position() - before;
                        table.row_text =
                            table.row_text.saturating_add(repeats.saturating_mul(bytes));
                    }
                }
                "s" => {
                    if let Some((_, _, spaces)) = cell.as_mut() {
                        let count = number_attribute(e, "text:c").unwrap_or(1);
                        *spaces = spaces.saturating_add(count);
                    }
                }
                _ => {}
            }
        }
        match &event {
            Event::End(e)
                if matches!(e.local_name().as_ref(), "table-cell" | "covered-table-cell") =>
            {
                if let Some((repeats, start, spaces)) = cell.take() {
                    let bytes = (reader.buffer_position() - start).saturating_add(spaces);
                    table.row_text = table.row_text.saturating_add(repeats.saturating_mul(bytes));
                }
            }
            Event::End(e) if e.local_name().as_ref() == "table-row" => {
                table.end_row(&mut stored, &mut text_bytes)
            }
            Event::End(e) if e.local_name().as_ref() == "table" => {
                area = area.saturating_add(table.area());
                table = OdsTable::default();
            }
            Event::Eof => break,
            _ => {}
        }
        let dense = Dense {
            cells: area.max(stored),
            text_bytes,
        };
        if dense.over() {
            return Ok(dense);
        }
        buf.clear();
    }
    Ok(Dense {
        cells: area.max(stored),
        text_bytes,
    })
}

/// Whether an .ods cell has a value calamine keeps: any attribute but its
/// style, its repeats and its spans (`office:value`, `office:value-type`,
/// `office:string-value`, `table:formula` …).
fn has_value(e: &BytesStart<'_>) -> bool {
    e.attributes().with_checks(false).flatten().any(|a| {
        !matches!(
            a.key.as_ref(),
            "table:style-name"
                | "table:number-columns-repeated"
                | "table:number-columns-spanned"
                | "table:number-rows-spanned"
        )
    })
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
    /// The current row's repeats, column, width with values and text.
    row_repeats: u64,
    column: u64,
    row_width: u64,
    row_text: u64,
}

impl OdsTable {
    fn end_row(&mut self, stored: &mut u64, text_bytes: &mut u64) {
        *stored = stored.saturating_add(self.row_width);
        *text_bytes =
            text_bytes.saturating_add(self.row_repeats.max(1).saturating_mul(self.row_text));
        self.rows = (self.rows + self.row_repeats).min(MAX_ROWS);
        if self.row_width > 0 {
            self.last_row_with_value = self.rows;
            self.width = self.width.max(self.row_width);
        }
        self.row_repeats = 1;
        self.row_width = 0;
        self.row_text = 0;
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

/// The stream calamine reads an .xls from: the first directory entry
/// named `Workbook` (any case, anywhere), else `Book`; calamine falls back
/// to `Book` when `Workbook` fails, so a file with both, or with a name
/// twice, is refused rather than measured on the wrong one.
fn xls_stream(compound: &cfb::CompoundFile<&mut Spool>) -> Result<std::path::PathBuf, DecodeError> {
    let named = |wanted: &str| -> Vec<(std::path::PathBuf, bool)> {
        compound
            .walk()
            .filter(|e| e.name().eq_ignore_ascii_case(wanted))
            .map(|e| (e.path().to_path_buf(), e.is_stream()))
            .collect()
    };
    let (workbook, book) = (named("Workbook"), named("Book"));
    match (&workbook[..], &book[..]) {
        ([(path, true)], []) | ([], [(path, true)]) => Ok(path.clone()),
        ([], []) => Err(DecodeError::Structure(
            "the file is an OLE document but not an Excel workbook (.xls): save the table from a spreadsheet program".into(),
        )),
        _ => Err(refused("it holds its workbook stream more than once")),
    }
}

fn check_xls(file: &mut Spool, size: u64) -> Result<(), DecodeError> {
    let mut compound = cfb::CompoundFile::open(&mut *file).map_err(broken)?;
    let name = xls_stream(&compound)?;
    let mut stream = Vec::new();
    compound
        .open_stream(&name)
        .map_err(broken)?
        .take(size + 1)
        .read_to_end(&mut stream)
        .map_err(broken)?;
    xls_dense(&stream)?.check()
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

/// What calamine holds for an .xls: each sheet (read from where the
/// workbook says it starts, as calamine reads it) as the larger of the
/// area it declares and the rectangle around its cells; and the text its
/// cells copy from the shared strings.
fn xls_dense(stream: &[u8]) -> Result<Dense, DecodeError> {
    let globals: Vec<Record<'_>> = records(stream, 0)
        .take_while(|r| r.kind != 0x000A) // the globals end at their EOF
        .collect();
    let starts: Vec<usize> = globals
        .iter()
        .filter(|r| r.kind == 0x0085) // BoundSheet8: where a sheet starts
        .map(|r| u32_at(r.body, 0) as usize)
        .collect();
    let shared = shared_string_sizes(&globals);
    let mut total = Dense::default();
    // Sheets that overlap are read as often as they are named: bound the
    // reading, too.
    let mut budget = stream.len().saturating_mul(4) + (1 << 20);
    for start in starts {
        if start >= stream.len() {
            return Err(refused("a sheet starts past the end of the file"));
        }
        let (sheet, read) = xls_sheet(stream, start, &shared);
        budget = budget
            .checked_sub(read)
            .ok_or_else(|| refused("its sheets overlap"))?;
        total.add(sheet);
        if total.over() {
            break;
        }
    }
    Ok(total)
}

/// The UTF-8 bytes each shared string (SST) becomes at most: its
/// characters, 3 bytes each when stored as UTF-16, 2 when compressed.
fn shared_string_sizes(globals: &[Record<'_>]) -> Vec<u64> {
    let Some(at) = globals.iter().position(|r| r.kind == 0x00FC) else {
        return Vec::new();
    };
    // The SST and the Continue records after it.
    let parts: Vec<&[u8]> = std::iter::once(globals[at].body)
        .chain(
            globals[at + 1..]
                .iter()
                .take_while(|r| r.kind == 0x003C)
                .map(|r| r.body),
        )
        .collect();
    let mut reader = SstReader {
        parts: &parts,
        part: 0,
        at: 8, // cstTotal, cstUnique
    };
    let unique = u32_at(parts[0], 4);
    let mut sizes = Vec::new();
    while (sizes.len() as u64) < unique {
        let Some(size) = reader.string_size() else {
            break;
        };
        sizes.push(size);
    }
    sizes
}

/// Reads through the shared strings across their Continue records.
struct SstReader<'a> {
    parts: &'a [&'a [u8]],
    part: usize,
    at: usize,
}

impl SstReader<'_> {
    fn left(&self) -> usize {
        self.parts
            .get(self.part)
            .map_or(0, |p| p.len().saturating_sub(self.at))
    }

    /// Moves to the next part when this one is used up.
    fn next_part_if_done(&mut self) -> Option<()> {
        while self.left() == 0 {
            self.part += 1;
            self.at = 0;
            self.parts.get(self.part)?;
        }
        Some(())
    }

    fn byte(&mut self) -> Option<u8> {
        self.next_part_if_done()?;
        let b = self.parts[self.part][self.at];
        self.at += 1;
        Some(b)
    }

    fn skip(&mut self, mut n: usize) -> Option<()> {
        while n > 0 {
            self.next_part_if_done()?;
            let step = n.min(self.left());
            self.at += step;
            n -= step;
        }
        Some(())
    }

    /// One string's size in UTF-8 at most, and past it.
    fn string_size(&mut self) -> Option<u64> {
        let chars = usize::from(u16::from_le_bytes([self.byte()?, self.byte()?]));
        let flags = self.byte()?;
        let mut wide = flags & 0x1 != 0;
        let runs = if flags & 0x8 != 0 {
            usize::from(u16::from_le_bytes([self.byte()?, self.byte()?]))
        } else {
            0
        };
        let extension = if flags & 0x4 != 0 {
            u32::from_le_bytes([self.byte()?, self.byte()?, self.byte()?, self.byte()?]) as usize
        } else {
            0
        };
        let (mut left, mut size) = (chars, 0u64);
        while left > 0 {
            if self.left() == 0 {
                // Characters go on in the next Continue record, which
                // starts with their width again.
                self.next_part_if_done()?;
                wide = self.byte()? & 0x1 != 0;
            }
            let width = if wide { 2 } else { 1 };
            let here = left.min(self.left() / width).max(1).min(left);
            self.skip(here * width)?;
            size += here as u64 * if wide { 3 } else { 2 };
            left -= here;
        }
        self.skip(runs * 4)?;
        self.skip(extension)?;
        Some(size)
    }
}

/// One sheet as calamine holds it (cells, and the shared text its cells
/// copy), and the bytes read.
fn xls_sheet(stream: &[u8], start: usize, shared: &[u64]) -> (Dense, usize) {
    let (mut depth, mut seen_bof, mut read) = (0usize, false, 0usize);
    let mut declared = 0u64;
    let mut text_bytes = 0u64;
    let (mut rows, mut columns) = ((u64::MAX, 0u64), (u64::MAX, 0u64));
    let mut any = false;
    // Where a formula's string result (the String record after it) lands:
    // calamine puts it at the last formula's cell, (0, 0) before any.
    let mut formula_at = (0u64, 0u64);
    let mut mark = |row: u64, first: u64, last: u64| {
        any = true;
        rows = (rows.0.min(row), rows.1.max(row));
        columns = (
            columns.0.min(first.min(last)),
            columns.1.max(first.max(last)),
        );
    };
    for record in records(stream, start) {
        read += 4 + record.body.len();
        match record.kind {
            0x0809 if seen_bof => depth += 1,
            0x0809 => seen_bof = true,
            0x000A if depth == 0 => break,
            0x000A => depth -= 1,
            _ if depth > 0 => {}
            0x0200 => declared = declared.max(xls_declared_area(record.body)),
            0x0207 => {
                mark(formula_at.0, formula_at.1, formula_at.1);
                text_bytes = text_bytes.saturating_add(record.body.len() as u64 * 2);
            }
            kind if XLS_CELL_RECORDS.contains(&kind) => {
                let row = u16_at(record.body, 0);
                let first = u16_at(record.body, 2);
                let last = if kind == 0x00BD {
                    u16_at(record.body, record.body.len().saturating_sub(2))
                } else {
                    first
                };
                mark(row, first, last);
                if kind == 0x0006 {
                    formula_at = (row, first);
                }
                text_bytes = text_bytes.saturating_add(match kind {
                    0x00FD => shared
                        .get(u32_at(record.body, 6) as usize)
                        .copied()
                        .unwrap_or(0),
                    _ => record.body.len() as u64 * 2,
                });
            }
            _ => {}
        }
    }
    let spanned = if any {
        (rows.1 - rows.0 + 1).saturating_mul(columns.1 - columns.0 + 1)
    } else {
        0
    };
    (
        Dense {
            cells: declared.max(spanned),
            text_bytes,
        },
        read,
    )
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
