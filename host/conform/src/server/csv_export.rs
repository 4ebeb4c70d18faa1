//! A job's NDJSON output as CSV, for spreadsheets: one row per line, one
//! column per field, nested objects flattened with dots
//! (`record.length_mm`, `source.line`), arrays as JSON text. The columns are
//! every field met in the file, in order of first appearance (a line's
//! keys in name order); a line without a field leaves its cell empty.
//!
//! The columns are found when the job ends and kept beside its output
//! ([`keep_columns`]), so a download streams its CSV from the first byte,
//! each request its own, with nothing written to disk.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use indexmap::IndexSet;

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
    for_each_line(ndjson, |cells| {
        for (key, _) in cells {
            columns.insert(key);
        }
        Ok(())
    })?;
    Ok(columns.into_iter().collect())
}

/// Writes `ndjson` as CSV with `columns` to `out`, a line at a time.
pub(crate) fn write_csv(ndjson: &Path, columns: &[String], out: impl Write) -> io::Result<()> {
    let index: IndexSet<&str> = columns.iter().map(String::as_str).collect();
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(columns)?;
    for_each_line(ndjson, |cells| {
        let mut row = vec![String::new(); index.len()];
        for (key, value) in cells {
            if let Some(i) = index.get_index_of(key.as_str()) {
                row[i] = value;
            }
        }
        writer.write_record(&row).map_err(io::Error::from)
    })?;
    writer.flush()
}

/// `ndjson` as a CSV body, written on a blocking thread as the client
/// reads it. A failure midway breaks the body off, so that a client never
/// takes a cut file for a whole one.
pub(crate) fn csv_body(ndjson: PathBuf, columns: Vec<String>) -> axum::body::Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<axum::body::Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let written = write_csv(&ndjson, &columns, &mut out).and_then(|()| out.send());
        if let Err(e) = written {
            if e.kind() != io::ErrorKind::BrokenPipe {
                tracing::error!(error = %e, "a CSV download failed midway");
                let _ = tx.blocking_send(Err(e));
            }
        }
    });
    axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}

const CHUNK: usize = 64 * 1024;

/// Bytes written in chunks into a response body.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<io::Result<axum::body::Bytes>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Ok(chunk.into()))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn for_each_line(
    path: &Path,
    mut each: impl FnMut(Vec<(String, String)>) -> io::Result<()>,
) -> io::Result<()> {
    for line in BufReader::new(File::open(path)?).lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line)?;
        let mut cells = Vec::new();
        flatten("", &value, &mut cells);
        each(cells)?;
    }
    Ok(())
}

/// Text a spreadsheet will not run as a formula: a cell starting with `=`,
/// `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's
/// advice against CSV injection; plugins choose the text of records and
/// messages). Numbers are never strings here, so `-5` stays a number.
fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
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
        Value::String(s) => out.push((prefix.to_string(), inert(s))),
        Value::Null => out.push((prefix.to_string(), String::new())),
        other => out.push((prefix.to_string(), other.to_string())),
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
        let mut csv = Vec::new();
        write_csv(&src, &columns_of(&src).unwrap(), &mut csv).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "record.id,record.mm,record_type,source.line,record.tags\n\
             A,3.18,part,2,\n\
             \"B, C\",,part,3,\"[\"\"x\"\"]\"\n"
        );
    }
}
