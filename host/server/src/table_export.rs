//! A job's NDJSON output as a table, for spreadsheets: CSV or XLSX. One
//! row per line, one column per field, nested objects flattened with dots
//! (`record.length_mm`, `source.line`), arrays as JSON text. The columns are
//! every field met in the file, in order of first appearance (a line's
//! keys in name order); a line without a field leaves its cell empty.
//!
//! The columns are found when the job ends and kept beside its output
//! ([`keep_columns`]), so a CSV download streams from the first byte,
//! each request its own, with nothing written to disk. An XLSX download
//! is written to a temporary file first ([`write_xlsx`]: a ZIP archive is
//! finished at its end), at most [`crate::xlsx_out::MAX_ROWS`] rows.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use indexmap::IndexSet;

use crate::xlsx_out::{Cell, XlsxWriter};

/// The file next to `ndjson` that keeps its CSV columns, written when the
/// job ends so that a CSV download starts with its first byte.
pub(crate) fn columns_file(ndjson: &Path) -> PathBuf {
    ndjson.with_extension("columns.json")
}

/// Finds the CSV columns of `ndjson` (one pass) and keeps them in its
/// [`columns_file`].
pub(crate) fn keep_columns(ndjson: &Path) -> io::Result<()> {
    let columns = find_columns(ndjson)?;
    let target = columns_file(ndjson);
    let part = target.with_extension("json.part");
    std::fs::write(&part, serde_json::to_vec(&columns)?)?;
    std::fs::rename(&part, &target)
}

/// The CSV columns of `ndjson`: kept when its job ended, or found now (a
/// job finished by an older version).
pub(crate) fn columns_of(ndjson: &Path) -> io::Result<Vec<String>> {
    match std::fs::read(columns_file(ndjson)) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes)?),
        Err(e) if e.kind() == io::ErrorKind::NotFound => find_columns(ndjson),
        Err(e) => Err(e),
    }
}

fn find_columns(ndjson: &Path) -> io::Result<Vec<String>> {
    let mut columns: IndexSet<String> = IndexSet::new();
    for line in BufReader::new(File::open(ndjson)?).lines() {
        for (key, _) in cells(&line?)? {
            columns.insert(key);
        }
    }
    Ok(columns.into_iter().collect())
}

/// `ndjson` as a CSV body, made a chunk at a time as the client takes
/// them: each chunk on a blocking thread, none held while the client is
/// slow. A failure midway breaks the body off, so that a client never takes
/// a cut file for a whole one.
pub(crate) fn csv_body(ndjson: PathBuf, columns: Vec<String>) -> axum::body::Body {
    let chunks = futures_util::stream::try_unfold(Some((ndjson, columns, None)), |state| async {
        let Some((ndjson, columns, reader)) = state else {
            return Ok(None);
        };
        tokio::task::spawn_blocking(move || next_csv_chunk(ndjson, columns, reader))
            .await
            .map_err(io::Error::other)?
    });
    axum::body::Body::from_stream(chunks)
}

/// Where a CSV download stands: the output, its columns, and the open
/// reader (`None` before the header is written).
type CsvState = Option<(PathBuf, Vec<String>, Option<BufReader<File>>)>;

/// The next chunk of about [`CHUNK`] bytes (the header first), and the state
/// after it; `None` at the end.
fn next_csv_chunk(
    ndjson: PathBuf,
    columns: Vec<String>,
    reader: Option<BufReader<File>>,
) -> io::Result<Option<(axum::body::Bytes, CsvState)>> {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(CHUNK + 1024));
    let mut reader = match reader {
        Some(reader) => reader,
        None => {
            writer.write_record(&columns)?;
            BufReader::new(File::open(&ndjson)?)
        }
    };
    let index: IndexSet<&str> = columns.iter().map(String::as_str).collect();
    let mut line = String::new();
    let mut ended = false;
    while writer.get_ref().len() < CHUNK {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            ended = true;
            break;
        }
        if let Some(row) = csv_row(line.trim_end_matches(['\n', '\r']), &index)? {
            writer.write_record(&row)?;
        }
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    let next = (!ended).then(|| (ndjson, columns, Some(reader)));
    if bytes.is_empty() && ended {
        return Ok(None);
    }
    Ok(Some((bytes.into(), next)))
}

const CHUNK: usize = 64 * 1024;

/// One NDJSON line as a CSV row of `columns` (`None` for a blank line).
fn csv_row(line: &str, columns: &IndexSet<&str>) -> io::Result<Option<Vec<String>>> {
    if line.is_empty() {
        return Ok(None);
    }
    Ok(table_row(line, columns)?.map(|row| row.into_iter().map(csv_text).collect()))
}

/// One NDJSON line as a row of `columns` (`None` for a blank line).
fn table_row(line: &str, columns: &IndexSet<&str>) -> io::Result<Option<Vec<Cell>>> {
    if line.is_empty() {
        return Ok(None);
    }
    let mut row = vec![Cell::Text(String::new()); columns.len()];
    for (key, value) in cells(line)? {
        if let Some(i) = columns.get_index_of(key.as_str()) {
            row[i] = value;
        }
    }
    Ok(Some(row))
}

/// A cell's CSV text: text a spreadsheet would run made inert.
fn csv_text(cell: Cell) -> String {
    match cell {
        Cell::Text(text) => inert(&text),
        Cell::Number(text) => text,
    }
}

/// Why an output cannot be given as XLSX.
#[derive(Debug, thiserror::Error)]
pub(crate) enum XlsxExportError {
    /// More rows than a sheet holds.
    #[error("{0} rows are more than one sheet holds ({max}): download the CSV instead", max = crate::xlsx_out::MAX_ROWS)]
    TooManyRows(u64),
    /// Reading the output failed.
    #[error("cannot read the output: {0}")]
    Io(#[from] io::Error),
    /// Writing the workbook failed.
    #[error("cannot write the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// Writes `ndjson` as an .xlsx workbook to `out`: its `columns`, one row
/// per line, on a sheet named `sheet`.
pub(crate) fn write_xlsx(
    ndjson: &Path,
    columns: &[String],
    sheet: &str,
    out: &Path,
) -> Result<(), XlsxExportError> {
    let lines = BufReader::new(File::open(ndjson)?)
        .lines()
        .try_fold(0u64, |n, line| line.map(|l| n + u64::from(!l.is_empty())))?;
    if lines > crate::xlsx_out::MAX_ROWS {
        return Err(XlsxExportError::TooManyRows(lines));
    }
    let index: IndexSet<&str> = columns.iter().map(String::as_str).collect();
    let mut writer = XlsxWriter::new(sheet, columns)?;
    for line in BufReader::new(File::open(ndjson)?).lines() {
        if let Some(row) = table_row(line?.trim_end_matches('\r'), &index)? {
            writer.row(&row)?;
        }
    }
    writer.save(out)?;
    Ok(())
}

/// One NDJSON line's cells, flattened: (dotted name, cell); none for a
/// blank line.
fn cells(line: &str) -> io::Result<Vec<(String, Cell)>> {
    let mut cells = Vec::new();
    if !line.is_empty() {
        let value: serde_json::Value = serde_json::from_str(line)?;
        flatten("", &value, &mut cells);
    }
    Ok(cells)
}

/// Text a spreadsheet will not run as a formula: a cell starting with `=`,
/// `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's
/// advice against CSV injection; plugins choose the text of records and
/// messages). Numbers are never strings here, so `-5` stays a number.
pub(crate) fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, Cell)>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&name, inner, out);
            }
        }
        Value::String(s) => out.push((prefix.to_string(), Cell::Text(s.clone()))),
        Value::Null => out.push((prefix.to_string(), Cell::Text(String::new()))),
        Value::Number(n) => out.push((prefix.to_string(), Cell::Number(n.to_string()))),
        other => out.push((prefix.to_string(), Cell::Text(other.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_a_spreadsheet_would_run_is_made_inert() {
        assert_eq!(
            inert("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(inert("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert("JG-10023"), "JG-10023");
    }

    #[test]
    fn nested_fields_become_dotted_columns_and_missing_cells_stay_empty() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("r.ndjson");
        std::fs::write(
            &src,
            concat!(
                r#"{"record_type":"part","record":{"id":"A","mm":3.18},"source":{"line":2}}"#,
                "\n",
                r#"{"record_type":"part","record":{"id":"B, C","tags":["x"]},"source":{"line":3}}"#,
                "\n"
            ),
        )
        .unwrap();
        keep_columns(&src).unwrap();
        let (mut csv, mut state) = (
            Vec::new(),
            Some((src.clone(), columns_of(&src).unwrap(), None)),
        );
        while let Some((ndjson, columns, reader)) = state.take() {
            if let Some((chunk, next)) = next_csv_chunk(ndjson, columns, reader).unwrap() {
                csv.extend_from_slice(&chunk);
                state = next;
            }
        }
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "record.id,record.mm,record_type,source.line,record.tags\n\
             A,3.18,part,2,\n\
             \"B, C\",,part,3,\"[\"\"x\"\"]\"\n"
        );
    }
}
