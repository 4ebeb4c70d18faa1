//! A job's upload given back row by row with a column saying what is wrong
//! with each: what a person fixes in their own file, without matching line
//! numbers by hand.
//!
//! When a job ends, the plugin's input options and the file's summary are
//! kept beside its outputs ([`keep`]). The annotated file is made on
//! request ([`write`]): the upload is decoded again as the job decoded it,
//! and each row gets its line, its cells (a table's columns, or a JSON
//! row's text) and its problems — the error report's lines for its
//! ordinal; nothing for a converted row; a note for a row whose reasons
//! the report left out, or that the conversion never reached.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use conform_decode::{DecodeLimits, Decoded};
use conform_model::plugin::InputSpec;
use conform_model::{FileSummary, Rejection, RowFields};
use serde::{Deserialize, Serialize};

use crate::xlsx_out::{Cell, XlsxWriter, MAX_ROWS};

/// The file beside a job's outputs that keeps what annotating needs.
const KEPT: &str = "annotate.json";

/// What annotating a job's upload needs, kept when the job ends.
#[derive(Debug, Serialize, Deserialize)]
struct Kept {
    /// How the plugin read the upload.
    input: InputSpec,
    /// The counts, where the file stopped and the sheet read.
    summary: FileSummary,
}

/// Keeps the plugin's input options and the summary beside a job's outputs.
pub(crate) fn keep(folder: &Path, input: &InputSpec, summary: &FileSummary) -> io::Result<()> {
    let kept = Kept {
        input: input.clone(),
        summary: summary.clone(),
    };
    let part = folder.join(format!("{KEPT}.part"));
    std::fs::write(&part, serde_json::to_vec(&kept)?)?;
    std::fs::rename(part, folder.join(KEPT))
}

/// The formats of an annotated file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// UTF-8 CSV with a byte-order mark (so that a spreadsheet reads it as
    /// UTF-8), text a spreadsheet would run made inert.
    Csv,
    /// An .xlsx workbook.
    Xlsx,
}

/// Why a job's upload cannot be annotated.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AnnotateError {
    /// The job ended before annotated rows were offered.
    #[error("this job keeps no annotated rows (it ended before they were offered): convert the file again")]
    NotKept,
    /// More rows than a sheet holds.
    #[error("the file has more rows than one sheet holds ({MAX_ROWS}): ask for `format=csv`")]
    TooManyRows,
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Writing the workbook failed.
    #[error("cannot write the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// The format a job's annotated file has unless asked otherwise: a
/// workbook for a workbook's upload, CSV for the rest.
pub(crate) fn default_format(folder: &Path) -> Format {
    match read_kept(folder) {
        Ok(kept) if kept.summary.sheet.is_some() => Format::Xlsx,
        _ => Format::Csv,
    }
}

fn read_kept(folder: &Path) -> Result<Kept, AnnotateError> {
    let bytes = match std::fs::read(folder.join(KEPT)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(AnnotateError::NotKept),
        Err(e) => return Err(e.into()),
    };
    serde_json::from_slice(&bytes).map_err(|e| AnnotateError::Io(e.into()))
}

/// The header of the added columns.
const LINE: &str = "行号 line";
const PROBLEMS: &str = "问题 problems";
const ROW_TEXT: &str = "原始行 row";

/// Writes the upload in `folder`, annotated, to `out`; a workbook's upload
/// is read as `workbooks` says.
pub(crate) fn write(
    folder: &Path,
    format: Format,
    out: &Path,
    workbooks: &conform_decode::WorkbookOptions,
) -> Result<(), AnnotateError> {
    let kept = read_kept(folder)?;
    if format == Format::Xlsx && kept.summary.rows_in > MAX_ROWS {
        return Err(AnnotateError::TooManyRows);
    }
    let upload = File::open(folder.join("upload"))?;
    let rows = conform_decode::open(upload, &kept.input, DecodeLimits::default(), workbooks).rows;
    let mut outcomes = Outcomes::open(folder, &kept.summary)?;
    let mut table: Option<Box<dyn TableSink>> = None;
    // Rows before the first record (rejected by the decoder) wait for the
    // header, at most this many.
    const WAITING: usize = 1000;
    let mut waiting: Vec<(Decoded, String)> = Vec::new();
    let mut width = 0;
    for row in rows {
        // A failure that stopped the file stopped the job there too.
        let Ok(row) = row else { break };
        let problems = outcomes.problems_of(&row)?;
        if table.is_none() {
            let header = match &row {
                Decoded::Record(record) => Some(columns_of(&record.fields)),
                Decoded::Rejected(_) if waiting.len() >= WAITING => {
                    Some([LINE, ROW_TEXT, PROBLEMS].map(String::from).to_vec())
                }
                Decoded::Rejected(_) => None,
            };
            match header {
                Some(header) => {
                    width = header.len();
                    let mut opened = open_table(format, &header, out)?;
                    for (row, problems) in waiting.drain(..) {
                        opened.row(&cells_of(&row, &problems, width))?;
                    }
                    table = Some(opened);
                }
                None => {
                    waiting.push((row, problems));
                    continue;
                }
            }
        }
        let table = table.as_mut().expect("opened above");
        table.row(&cells_of(&row, &problems, width))?;
    }
    let mut table = match table {
        Some(table) => table,
        None => {
            let header = [LINE, ROW_TEXT, PROBLEMS].map(String::from);
            width = header.len();
            open_table(format, &header, out)?
        }
    };
    for (row, problems) in waiting.drain(..) {
        table.row(&cells_of(&row, &problems, width))?;
    }
    table.finish()
}

/// The columns: the line, the row's own columns, the problems.
fn columns_of(fields: &RowFields) -> Vec<String> {
    let mut columns = vec![LINE.to_string()];
    match fields {
        RowFields::Cells(cells) => columns.extend(cells.header().iter().cloned()),
        RowFields::Json(_) => columns.push(ROW_TEXT.to_string()),
    }
    columns.push(PROBLEMS.to_string());
    columns
}

/// A row's cells under the `width` columns of [`columns_of`], the problems
/// last: a rejected row the decoder could not read has no cells of its own.
fn cells_of(row: &Decoded, problems: &str, width: usize) -> Vec<Cell> {
    let mut cells = Vec::new();
    match row {
        Decoded::Record(record) => {
            cells.push(Cell::Number(record.line.to_string()));
            match &record.fields {
                RowFields::Cells(row) => {
                    cells.extend(row.cells().map(|(_, text)| Cell::Text(text.to_string())));
                }
                RowFields::Json(text) => cells.push(Cell::Text(text.to_string())),
            }
        }
        Decoded::Rejected(error) => cells.push(Cell::Number(error.line.to_string())),
    }
    cells.resize(
        width.saturating_sub(1).max(cells.len()),
        Cell::Text(String::new()),
    );
    cells.push(Cell::Text(problems.to_string()));
    cells
}

/// The error report's rejections in row order (a line that is not one is
/// skipped).
type Rejections = std::iter::Peekable<Box<dyn Iterator<Item = io::Result<Rejection>>>>;

/// What happened to each row, read from the job's outputs in row order.
struct Outcomes {
    summary: FileSummary,
    /// The error report's rejections, the next one peeked.
    errors: Rejections,
    /// The lines of the records, read only when the report left some
    /// rejections out (else a row without a listed one was converted).
    records: Option<io::Lines<BufReader<File>>>,
    next_record_line: Option<u64>,
}

impl Outcomes {
    fn open(folder: &Path, summary: &FileSummary) -> io::Result<Outcomes> {
        let lines = |name: &str| -> io::Result<io::Lines<BufReader<File>>> {
            Ok(BufReader::new(File::open(folder.join(name))?).lines())
        };
        let rejections = lines("errors.ndjson")?.filter_map(|line| match line {
            Ok(text) => serde_json::from_str::<Rejection>(&text).ok().map(Ok),
            Err(e) => Some(Err(e)),
        });
        let boxed: Box<dyn Iterator<Item = io::Result<Rejection>>> = Box::new(rejections);
        let mut outcomes = Outcomes {
            summary: summary.clone(),
            errors: boxed.peekable(),
            records: if summary.rejections_omitted > 0 {
                Some(lines("records.ndjson")?)
            } else {
                None
            },
            next_record_line: None,
        };
        outcomes.next_record_line = outcomes.read_record_line()?;
        Ok(outcomes)
    }

    fn read_record_line(&mut self) -> io::Result<Option<u64>> {
        let Some(records) = self.records.as_mut() else {
            return Ok(None);
        };
        for line in records.by_ref() {
            let line = line?;
            if line.is_empty() {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(&line)?;
            return Ok(value["source"]["line"].as_u64());
        }
        Ok(None)
    }

    /// The problems of `row`, as one text; empty for a converted row.
    fn problems_of(&mut self, row: &Decoded) -> io::Result<String> {
        let (ordinal, line) = match row {
            Decoded::Record(r) => (r.ordinal, r.line),
            Decoded::Rejected(r) => (r.ordinal, r.line),
        };
        if ordinal > self.summary.rows_in {
            let why = self.summary.error.as_deref().unwrap_or("it stopped");
            return Ok(format!(
                "未处理：转换在此行之前停止 / not converted: the conversion stopped before this row ({why})"
            ));
        }
        let mut listed = Vec::new();
        while let Some(rejection) = self
            .errors
            .next_if(|r| r.as_ref().map_or(true, |r| r.ordinal <= ordinal))
        {
            let rejection = rejection?;
            if rejection.ordinal == ordinal {
                listed.push(format!("{}: {}", rejection.code, rejection.message));
            }
        }
        if !listed.is_empty() {
            return Ok(listed.join("\n"));
        }
        if self.summary.rejections_omitted == 0 {
            return Ok(String::new());
        }
        while self.next_record_line.is_some_and(|l| l < line) {
            self.next_record_line = self.read_record_line()?;
        }
        Ok(if self.next_record_line == Some(line) {
            String::new()
        } else {
            "被拒绝，原因未列出（报告只列出每种代码的前若干条）/ rejected; the reason is not listed (the report lists the first rejections of each code)".into()
        })
    }
}

/// Where annotated rows go.
trait TableSink {
    fn row(&mut self, cells: &[Cell]) -> Result<(), AnnotateError>;
    fn finish(self: Box<Self>) -> Result<(), AnnotateError>;
}

fn open_table(
    format: Format,
    columns: &[String],
    out: &Path,
) -> Result<Box<dyn TableSink>, AnnotateError> {
    Ok(match format {
        Format::Csv => {
            let mut file = io::BufWriter::new(File::create(out)?);
            file.write_all("\u{FEFF}".as_bytes())?;
            let mut writer = csv::Writer::from_writer(file);
            writer.write_record(columns).map_err(io::Error::from)?;
            Box::new(CsvTable { writer })
        }
        Format::Xlsx => Box::new(XlsxTable {
            writer: XlsxWriter::new("annotated", columns)?,
            rows: 0,
            out: out.to_path_buf(),
        }),
    })
}

struct CsvTable {
    writer: csv::Writer<io::BufWriter<File>>,
}

impl TableSink for CsvTable {
    fn row(&mut self, cells: &[Cell]) -> Result<(), AnnotateError> {
        let texts = cells.iter().map(|cell| match cell {
            Cell::Text(text) => crate::table_export::inert(text),
            Cell::Number(text) => text.clone(),
        });
        self.writer.write_record(texts).map_err(io::Error::from)?;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), AnnotateError> {
        let file = self.writer.into_inner().map_err(|e| e.into_error())?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(())
    }
}

struct XlsxTable {
    writer: XlsxWriter,
    rows: u64,
    out: std::path::PathBuf,
}

impl TableSink for XlsxTable {
    fn row(&mut self, cells: &[Cell]) -> Result<(), AnnotateError> {
        self.rows += 1;
        if self.rows > MAX_ROWS {
            return Err(AnnotateError::TooManyRows);
        }
        self.writer.row(cells)?;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), AnnotateError> {
        self.writer.save(&self.out)?;
        Ok(())
    }
}
