//! A job's NDJSON output as CSV, for spreadsheets: one row per line, one
//! column per field, nested objects flattened with dots
//! (`record.length_mm`, `source.line`), arrays as JSON text. The columns are
//! every field met in the file, in order of first appearance (a line's
//! keys in name order); a line
//! without a field leaves its cell empty.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use indexmap::IndexSet;

/// Writes `ndjson` as CSV to `csv`. Two passes over the file: the first
/// finds the columns, the second writes the rows; memory holds one line.
pub(crate) fn ndjson_to_csv(ndjson: &Path, csv: &Path) -> io::Result<()> {
    let mut columns: IndexSet<String> = IndexSet::new();
    for_each_line(ndjson, |cells| {
        for (key, _) in cells {
            columns.insert(key);
        }
    })?;
    let mut writer = csv::Writer::from_path(csv)?;
    writer.write_record(&columns)?;
    let mut failure = None;
    for_each_line(ndjson, |cells| {
        let mut row = vec![String::new(); columns.len()];
        for (key, value) in cells {
            if let Some(i) = columns.get_index_of(&key) {
                row[i] = value;
            }
        }
        if let Err(e) = writer.write_record(&row) {
            failure.get_or_insert(e);
        }
    })?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    writer.flush()
}

fn for_each_line(path: &Path, mut each: impl FnMut(Vec<(String, String)>)) -> io::Result<()> {
    for line in BufReader::new(File::open(path)?).lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line)?;
        let mut cells = Vec::new();
        flatten("", &value, &mut cells);
        each(cells);
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
        let (src, dst) = (dir.path().join("r.ndjson"), dir.path().join("r.csv"));
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
        ndjson_to_csv(&src, &dst).unwrap();
        assert_eq!(
            std::fs::read_to_string(&dst).unwrap(),
            "record.id,record.mm,record_type,source.line,record.tags\n\
             A,3.18,part,2,\n\
             \"B, C\",,part,3,\"[\"\"x\"\"]\"\n"
        );
    }
}
