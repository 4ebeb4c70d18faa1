//! Workbooks: one sheet of an .xlsx, .ods or .xls file read as a CSV
//! plugin's table, each row numbered as the sheet shows it.
//!
//! A workbook cannot be read front to back (a ZIP's directory is at its
//! end, an OLE file is read by sectors), so it is spooled first: in memory
//! up to 8 MiB, in a temporary file beyond, at most
//! [`MAX_WORKBOOK_BYTES`]. Before calamine opens it, the workbook is
//! measured ([`measure`]), so that a small hostile file cannot make the
//! process allocate without bound: what calamine reads whole must fit a
//! fixed budget, and the cells of the formats it reads whole (.xls, .ods)
//! must fit `measure::MAX_DENSE_CELLS`. A panic inside calamine (it
//! indexes into records a file can cut short) refuses the file. An .xlsx sheet is then streamed cell by
//! cell; an .xls or .ods sheet is read whole.
//!
//! Cells become text as the sheet shows them ([`crate::shown`]).

mod child;
mod measure;

use std::io::{Read, Seek, SeekFrom};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use calamine::{Data, DataRef, Ods, Reader, Xls, Xlsx};
use conform_model::plugin::SheetRef;
use conform_model::{codes, CellRow, RowFields};
use tempfile::SpooledTempFile;

use crate::{shown, DecodeError, DecodeLimits, Decoded, RawRecord, RowError, Rows};

pub use child::{read_workbook_main, ChildArgs};

/// The largest workbook read.
pub(crate) const MAX_WORKBOOK_BYTES: u64 = 256 * 1024 * 1024;

/// What of a workbook is spooled in memory before a temporary file.
const SPOOL_IN_MEMORY: usize = 8 * 1024 * 1024;

/// How many sheet rows wait between the reading thread and the decoder.
const ROWS_IN_FLIGHT: usize = 64;

/// The widest sheet read: Excel's own last column, XFD.
const MAX_COLUMNS: u32 = 16_384;

/// Where the table is in a workbook.
#[derive(Debug, Clone)]
pub(crate) struct SheetOptions {
    /// The sheet; the first when `None`.
    pub(crate) sheet: Option<SheetRef>,
    /// The sheet row holding the column names (0: `columns` name them).
    pub(crate) header_row: u32,
    /// The columns' names when there is no header row.
    pub(crate) columns: Vec<String>,
}

/// The kinds of workbook read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Xlsx,
    Ods,
    Xls,
}

/// A workbook's file, spooled.
type Spool = SpooledTempFile;

/// A sheet's rows, and the sheet's name.
pub(crate) struct OpenedSheet {
    pub(crate) name: String,
    pub(crate) rows: Rows,
}

/// How workbooks are read.
#[derive(Debug, Clone, Default)]
pub enum WorkbookReader {
    /// In the calling process (tests, and tools that trust their input).
    #[default]
    InProcess,
    /// In a child process, `program args…`, which must run
    /// [`read_workbook_main`]: its data memory and CPU time capped, so
    /// that a hostile workbook that gets past the measure costs at most
    /// those, and never the process that asked.
    Subprocess {
        /// The program (the `conform` binary).
        program: std::path::PathBuf,
        /// The arguments that select its workbook command.
        args: Vec<String>,
        /// The child's data memory, in MiB.
        memory_mib: u64,
        /// The child's CPU time, in seconds.
        cpu_seconds: u64,
    },
}

/// Where and how workbooks are read.
#[derive(Debug, Clone, Default)]
pub struct WorkbookOptions {
    /// Where a workbook over 8 MiB is spooled (default: the system's
    /// temporary folder).
    pub spool_dir: Option<std::path::PathBuf>,
    /// In this process or a capped child.
    pub reader: WorkbookReader,
}

/// Opens the sheet `options` names of the workbook `input` (its first
/// bytes `zip`: a ZIP archive, otherwise an OLE file).
pub(crate) fn open(
    input: impl Read + Send + 'static,
    zip: bool,
    options: SheetOptions,
    limits: DecodeLimits,
    workbooks: &WorkbookOptions,
) -> Result<OpenedSheet, DecodeError> {
    let wanted = options.sheet.as_ref();
    let (name, receiver) = match &workbooks.reader {
        WorkbookReader::InProcess => {
            read_sheet(input, zip, wanted, limits, workbooks.spool_dir.as_deref())?
        }
        WorkbookReader::Subprocess {
            program,
            args,
            memory_mib,
            cpu_seconds,
        } => child::read_sheet(
            input,
            child::Request {
                zip,
                wanted,
                limits,
            },
            child::Caps {
                spool_dir: workbooks.spool_dir.as_deref(),
                program,
                args,
                memory_mib: *memory_mib,
                cpu_seconds: *cpu_seconds,
            },
        )?,
    };
    Ok(OpenedSheet {
        rows: Box::new(SheetRows::new(receiver, name.clone(), options, limits)),
        name,
    })
}

/// The rows of a sheet, as they are read.
type RowReceiver = Receiver<Result<SheetRow, DecodeError>>;

/// Spools and measures the workbook `input`, opens its sheet `wanted` and
/// starts reading it on a thread: the sheet's name and its rows.
fn read_sheet(
    input: impl Read,
    zip: bool,
    wanted: Option<&SheetRef>,
    limits: DecodeLimits,
    spool_dir: Option<&std::path::Path>,
) -> Result<(String, RowReceiver), DecodeError> {
    let (mut file, size) = spool(input, spool_dir)?;
    let kind = if zip {
        measure::zip_kind(&mut file)?
    } else {
        Kind::Xls
    };
    measure::check(&mut file, kind, size)?;
    file.seek(SeekFrom::Start(0))?;
    let (sender, receiver) = sync_channel(ROWS_IN_FLIGHT);
    // calamine indexes into records a hostile file can cut short: a panic
    // in it is the file's fault, refused like any unreadable workbook.
    let name = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        open_sheet(file, kind, wanted, sender, limits)
    }))
    .unwrap_or_else(|_| Err(unreadable("the reader failed on its structure")))?;
    Ok((name, receiver))
}

/// Opens the sheet `wanted` of the workbook and starts sending its rows to
/// `sender`; the sheet's name.
fn open_sheet(
    file: Spool,
    kind: Kind,
    wanted: Option<&SheetRef>,
    sender: RowSender,
    limits: DecodeLimits,
) -> Result<String, DecodeError> {
    Ok(match kind {
        Kind::Xlsx => {
            let mut book: Xlsx<Spool> =
                calamine::open_workbook_from_rs(file).map_err(unreadable)?;
            let name = sheet_name(&book.sheet_names(), wanted)?;
            let sheet = name.clone();
            spawn_reader(sender, move |sender| {
                stream_xlsx(&mut book, &sheet, sender, limits)
            });
            name
        }
        Kind::Ods => read_whole::<Ods<Spool>>(file, wanted, sender)?,
        Kind::Xls => read_whole::<Xls<Spool>>(file, wanted, sender)?,
    })
}

/// Reads the sheet `wanted` of a workbook calamine reads whole (.ods,
/// .xls) and starts sending its rows; the sheet's name.
fn read_whole<B>(
    file: Spool,
    wanted: Option<&SheetRef>,
    sender: RowSender,
) -> Result<String, DecodeError>
where
    B: Reader<Spool>,
    B::Error: std::fmt::Display,
{
    let mut book: B = calamine::open_workbook_from_rs(file).map_err(unreadable)?;
    let name = sheet_name(&book.sheet_names(), wanted)?;
    let range = book.worksheet_range(&name).map_err(unreadable)?;
    spawn_reader(sender, move |sender| send_range(&range, sender));
    Ok(name)
}

/// Runs `read` on a thread of its own; it ends when the sheet does or when
/// the rows' reader is dropped (its next send fails). A panic in it (in
/// calamine, on a hostile file) stops the file with an error, never
/// passing for the sheet's end.
fn spawn_reader(sender: RowSender, read: impl FnOnce(&RowSender) + Send + 'static) {
    std::thread::Builder::new()
        .name("conform-workbook".into())
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&sender)));
            if outcome.is_err() {
                let _ = sender.send(Err(unreadable("the reader failed on its structure")));
            }
        })
        .expect("a thread can be started");
}

/// The whole input in a spool (a temporary file in `dir` beyond
/// [`SPOOL_IN_MEMORY`]), and its size.
fn spool(input: impl Read, dir: Option<&std::path::Path>) -> Result<(Spool, u64), DecodeError> {
    let mut file = match dir {
        Some(dir) => SpooledTempFile::new_in(SPOOL_IN_MEMORY, dir),
        None => SpooledTempFile::new(SPOOL_IN_MEMORY),
    };
    let size = std::io::copy(&mut input.take(MAX_WORKBOOK_BYTES + 1), &mut file)?;
    if size > MAX_WORKBOOK_BYTES {
        return Err(DecodeError::Structure(format!(
            "the workbook is larger than {} MiB: save the sheet as CSV, which is read as it streams",
            MAX_WORKBOOK_BYTES >> 20
        )));
    }
    file.seek(SeekFrom::Start(0))?;
    Ok((file, size))
}

/// A calamine failure, for people.
fn unreadable(e: impl std::fmt::Display) -> DecodeError {
    let text = e.to_string();
    if text.to_ascii_lowercase().contains("password") {
        return DecodeError::Structure(
            "the workbook is protected by a password: save it without one, or save the sheet as CSV"
                .into(),
        );
    }
    DecodeError::Structure(format!(
        "the workbook cannot be read ({text}): open it in the spreadsheet program and save it again, or save the sheet as CSV"
    ))
}

/// The sheet `wanted` names among `names` (the first when `None`).
fn sheet_name(names: &[String], wanted: Option<&SheetRef>) -> Result<String, DecodeError> {
    let found = match wanted {
        None => names.first(),
        Some(SheetRef::Index(i)) => names.get((*i as usize).wrapping_sub(1)),
        Some(SheetRef::Name(name)) => names.iter().find(|n| *n == name),
    };
    found.cloned().ok_or_else(|| {
        let listed: Vec<String> = names.iter().take(20).map(|n| format!("\"{n}\"")).collect();
        let which = wanted.map_or("a sheet".to_string(), ToString::to_string);
        DecodeError::Structure(format!(
            "the workbook has no {which}; its sheets are {}: rename the sheet, or fix `[input.spreadsheet] sheet` in the plugin's manifest",
            if listed.is_empty() { "none".to_string() } else { listed.join(", ") }
        ))
    })
}

/// A cell's text, or the error a formula left in it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum Cell {
    Text(String),
    Error(String),
}

/// A sheet row: its number as the sheet shows it (from 1) and its
/// non-empty cells by column (from 0), left to right.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct SheetRow {
    number: u32,
    cells: Vec<(u32, Cell)>,
    /// The bytes of its cells' text.
    bytes: usize,
    /// Over the cells or bytes a row may have: its cells are dropped.
    too_large: bool,
}

type RowSender = SyncSender<Result<SheetRow, DecodeError>>;

/// Streams an .xlsx sheet's cells, a row at a time. A row is held to
/// [`MAX_COLUMNS`] cells and the largest record's bytes: beyond, its cells
/// are dropped and the row goes on marked too large.
fn stream_xlsx(book: &mut Xlsx<Spool>, sheet: &str, sender: &RowSender, limits: DecodeLimits) {
    let mut reader = match book.worksheet_cells_reader(sheet) {
        Ok(reader) => reader,
        Err(e) => {
            let _ = sender.send(Err(unreadable(e)));
            return;
        }
    };
    let formats: Vec<Option<String>> = reader
        .styles()
        .iter()
        .map(|style| style.number_format.as_ref().map(|f| f.format_code.clone()))
        .collect();
    let mut row = SheetRow::default();
    loop {
        let (cell, style) = match reader.next_cell_with_style_id() {
            Ok(Some(next)) => next,
            Ok(None) => break,
            Err(e) => {
                let _ = sender.send(Err(unreadable(e)));
                return;
            }
        };
        let (r, c) = cell.get_position();
        if r + 1 != row.number {
            let has_content = !row.cells.is_empty() || row.too_large;
            if has_content && sender.send(Ok(std::mem::take(&mut row))).is_err() {
                return;
            }
            row = SheetRow {
                number: r + 1,
                ..SheetRow::default()
            };
        }
        // A text over the row's room is not copied at all: a shared string
        // can be as long as the file allows, and every row may name it.
        let stored = match cell.get_value() {
            DataRef::SharedString(s) => s.len(),
            DataRef::String(s) => s.len(),
            _ => 0,
        };
        if row.bytes.saturating_add(stored) > limits.max_record_bytes {
            row.too_large = true;
            row.cells = Vec::new();
        }
        if row.too_large {
            continue;
        }
        let format = formats.get(style).and_then(|f| f.as_deref());
        if let Some(text) = data_ref_text(cell.get_value(), format) {
            row.bytes += match &text {
                Cell::Text(t) | Cell::Error(t) => t.len(),
            };
            row.cells.push((c, text));
            if row.cells.len() > MAX_COLUMNS as usize || row.bytes > limits.max_record_bytes {
                row.too_large = true;
                row.cells = Vec::new();
            }
        }
    }
    if !row.cells.is_empty() || row.too_large {
        let _ = sender.send(Ok(row));
    }
}

/// Sends a sheet read whole, row by row.
fn send_range(range: &calamine::Range<Data>, sender: &RowSender) {
    let Some((first_row, first_column)) = range.start() else {
        return;
    };
    for (i, cells) in range.rows().enumerate() {
        let cells: Vec<(u32, Cell)> = cells
            .iter()
            .enumerate()
            .filter_map(|(j, value)| Some((first_column + j as u32, data_text(value)?)))
            .collect();
        if cells.is_empty() {
            continue;
        }
        let row = SheetRow {
            number: first_row + i as u32 + 1,
            cells,
            ..SheetRow::default()
        };
        if sender.send(Ok(row)).is_err() {
            return;
        }
    }
}

/// An .xlsx cell's text by its number format; `None` for an empty cell.
fn data_ref_text(value: &DataRef<'_>, format: Option<&str>) -> Option<Cell> {
    let format = format.filter(|f| !is_locale_dependent_date(f));
    Some(match value {
        DataRef::Empty => return None,
        DataRef::String(s) => Cell::Text(s.clone()),
        DataRef::SharedString(s) => Cell::Text((*s).to_string()),
        DataRef::Float(f) => Cell::Text(shown::number(*f, format)),
        DataRef::Int(i) => Cell::Text(shown::number(*i as f64, format)),
        DataRef::Bool(b) => Cell::Text(if *b { "TRUE" } else { "FALSE" }.into()),
        DataRef::DateTime(d) => Cell::Text(date_text(d, format)),
        DataRef::DateTimeIso(s) => Cell::Text(shown::iso_text(s)),
        DataRef::DurationIso(s) => Cell::Text(shown::duration_text(s)),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    })
    .filter(|cell| !matches!(cell, Cell::Text(t) if t.is_empty()))
}

/// An .xls or .ods cell's text (their number formats are not read: a
/// number in the General look, a date in ISO 8601, a time as `h:mm:ss`);
/// `None` when empty.
fn data_text(value: &Data) -> Option<Cell> {
    Some(match value {
        Data::Empty => return None,
        Data::String(s) if s.is_empty() => return None,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Float(f) => Cell::Text(shown::number(*f, None)),
        Data::Int(i) => Cell::Text(shown::number(*i as f64, None)),
        Data::Bool(b) => Cell::Text(if *b { "TRUE" } else { "FALSE" }.into()),
        Data::DateTime(d) => Cell::Text(date_text(d, None)),
        Data::DateTimeIso(s) => Cell::Text(shown::iso_text(s)),
        Data::DurationIso(s) => Cell::Text(shown::duration_text(s)),
        Data::Error(e) => Cell::Error(e.to_string()),
    })
}

/// The built-in date formats a spreadsheet shows in the reader's own
/// language (the short date, id 14, and date with time, id 22): shown as
/// ISO 8601, which reads the same everywhere.
fn is_locale_dependent_date(format: &str) -> bool {
    matches!(format, "mm-dd-yy" | "m/d/yy h:mm")
}

/// A date or elapsed time cell's text.
fn date_text(value: &calamine::ExcelDateTime, format: Option<&str>) -> String {
    if value.is_duration() {
        return value
            .as_duration()
            .map(shown::duration)
            .unwrap_or_else(|| shown::number(value.as_f64(), None));
    }
    match value.as_datetime() {
        Some(at) => shown::date_time(at, format),
        None => shown::number(value.as_f64(), None),
    }
}

/// A sheet's rows as records: rows above the header row skipped, the
/// header's names, then a record per non-empty row.
struct SheetRows {
    receiver: RowReceiver,
    sheet: String,
    options: SheetOptions,
    limits: DecodeLimits,
    header: Option<Arc<[String]>>,
    ordinal: u64,
    done: bool,
}

impl SheetRows {
    fn new(
        receiver: RowReceiver,
        sheet: String,
        options: SheetOptions,
        limits: DecodeLimits,
    ) -> SheetRows {
        SheetRows {
            receiver,
            sheet,
            options,
            limits,
            header: None,
            ordinal: 0,
            done: false,
        }
    }

    /// The column names: the manifest's, or the header row's cells.
    fn read_header(&mut self) -> Result<Option<Arc<[String]>>, DecodeError> {
        if self.options.header_row == 0 {
            return Ok(Some(self.options.columns.clone().into()));
        }
        let wanted = self.options.header_row;
        let header = loop {
            match self.receiver.recv() {
                Ok(Ok(row)) if row.number < wanted => continue,
                Ok(Ok(row)) if row.number == wanted => break row,
                Ok(Err(e)) => return Err(e),
                // A later row or the end: the header row is empty.
                _ => {
                    return Err(DecodeError::Structure(format!(
                        "row {wanted} of sheet \"{}\", which the plugin's manifest says holds the column names, is empty: put the names there, or fix `header_row`",
                        self.sheet
                    )))
                }
            }
        };
        let mut names = Vec::new();
        for (column, cell) in header.cells {
            let name = match cell {
                Cell::Text(text) => text.trim().to_string(),
                Cell::Error(e) => e,
            };
            if column as usize != names.len() || name.is_empty() {
                return Err(DecodeError::Structure(format!(
                    "column {} of the header row (row {wanted} of sheet \"{}\") has no name",
                    column_letters(names.len() as u32),
                    self.sheet
                )));
            }
            names.push(name);
        }
        Ok(Some(names.into()))
    }

    /// A sheet row as a record, or why it is rejected.
    fn record(&self, header: &Arc<[String]>, row: SheetRow, ordinal: u64) -> Decoded {
        let line = u64::from(row.number);
        let reject = |code: &'static str, message: String| {
            Decoded::Rejected(RowError {
                ordinal,
                line,
                code,
                message,
            })
        };
        if row.too_large {
            return reject(
                codes::RECORD_TOO_LARGE,
                format!(
                    "the row has more than {MAX_COLUMNS} cells or {} bytes of text",
                    self.limits.max_record_bytes
                ),
            );
        }
        let mut text = String::new();
        let mut ends = Vec::with_capacity(header.len());
        let mut cells = row.cells.into_iter().peekable();
        for column in 0..header.len() as u32 {
            if let Some((_, cell)) = cells.next_if(|(c, _)| *c == column) {
                match cell {
                    Cell::Text(t) => text.push_str(&t),
                    Cell::Error(e) => {
                        return reject(
                            codes::CELL_ERROR,
                            format!(
                                "cell {}{line} ({}) shows the error {e}: fix its formula, or type the value",
                                column_letters(column),
                                header[column as usize]
                            ),
                        )
                    }
                }
            }
            if text.len() > self.limits.max_record_bytes {
                return reject(
                    codes::RECORD_TOO_LARGE,
                    format!(
                        "the row is larger than {} bytes",
                        self.limits.max_record_bytes
                    ),
                );
            }
            ends.push(text.len() as u32);
        }
        if let Some((column, _)) = cells.next() {
            return reject(
                codes::CELL_OUTSIDE_TABLE,
                format!(
                    "cell {}{line} holds a value right of the table, whose last column is {} ({}): delete it or move it into the table",
                    column_letters(column),
                    column_letters(header.len() as u32 - 1),
                    header[header.len() - 1]
                ),
            );
        }
        match CellRow::new(header.clone(), text, ends) {
            Some(cells) => Decoded::Record(RawRecord {
                ordinal,
                line,
                fields: RowFields::Cells(cells),
            }),
            None => reject(
                codes::RECORD_TOO_LARGE,
                "the row is too large to read".into(),
            ),
        }
    }
}

impl Iterator for SheetRows {
    type Item = Result<Decoded, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let header = match &self.header {
            Some(header) => header.clone(),
            None => match self.read_header() {
                Ok(Some(header)) => {
                    self.header = Some(header.clone());
                    header
                }
                Ok(None) => return None,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            },
        };
        match self.receiver.recv() {
            Ok(Ok(row)) => {
                self.ordinal += 1;
                Some(Ok(self.record(&header, row, self.ordinal)))
            }
            Ok(Err(e)) => {
                self.done = true;
                Some(Err(e))
            }
            Err(_) => {
                self.done = true;
                None
            }
        }
    }
}

/// A column's letters as the sheet shows them: 0 → A, 26 → AA.
fn column_letters(column: u32) -> String {
    let mut n = column.min(MAX_COLUMNS - 1) + 1;
    let mut letters = Vec::new();
    while n > 0 {
        letters.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).expect("ASCII letters")
}

#[cfg(test)]
mod tests;
