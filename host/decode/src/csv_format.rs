//! CSV: a header row (below any title rows the manifest skips, or columns
//! the manifest names when the file has none), then one record per row.
//! Quoted fields may span lines; a row with another number of fields than
//! the header is rejected, not dropped.

use std::io::Read;
use std::sync::Arc;

use conform_model::codes;
use conform_model::plugin::CsvOptions;
use conform_model::{CellRow, RowFields};

use crate::lines::LineIndex;
use crate::{
    encoding_error, has_replacement, DecodeError, DecodeLimits, Decoded, RawRecord, RowError,
};

pub(crate) struct CsvRows {
    reader: csv::Reader<LineIndex<Box<dyn Read + Send>>>,
    header: Option<Arc<[String]>>,
    /// Where the column names come from (`header_row`, `columns`).
    naming: CsvOptions,
    record: csv::ByteRecord,
    ordinal: u64,
    limits: DecodeLimits,
    flag_replacement: bool,
    done: bool,
}

impl CsvRows {
    pub(crate) fn new(
        text: Box<dyn Read + Send>,
        options: &CsvOptions,
        limits: DecodeLimits,
        flag_replacement: bool,
    ) -> CsvRows {
        let reader = csv::ReaderBuilder::new()
            .delimiter(options.delimiter as u8)
            .quote(options.quote as u8)
            .flexible(true)
            .has_headers(false)
            .from_reader({
                let mut text = LineIndex::new(text).count_quotes(options.quote as u8);
                text.allow(read_budget(&limits));
                text
            });
        CsvRows {
            reader,
            header: None,
            naming: options.clone(),
            record: csv::ByteRecord::new(),
            ordinal: 0,
            limits,
            flag_replacement,
            done: false,
        }
    }

    fn read_header(&mut self) -> Result<bool, DecodeError> {
        if self.naming.header_row == 0 {
            self.header = Some(self.naming.columns.clone().into());
            return Ok(true);
        }
        // The rows above the header (a title, a note) are not records.
        let header_row = self.naming.header_row;
        let ends_above = |row: u32| {
            DecodeError::Structure(format!(
                "the file ends at row {row}, above row {header_row}, which the plugin's manifest says holds the column names (blank lines are not rows)"
            ))
        };
        for row in 1..header_row {
            if !self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(csv_fatal)?
            {
                return Err(ends_above(row - 1));
            }
            let budget = read_budget(&self.limits);
            self.reader.get_mut().allow(budget);
        }
        if !self
            .reader
            .read_byte_record(&mut self.record)
            .map_err(csv_fatal)?
        {
            // An empty file has no rows; a file of title rows only is not
            // the file the manifest describes.
            return match header_row {
                1 => Ok(false),
                _ => Err(ends_above(header_row - 1)),
            };
        }
        let mut names = Vec::with_capacity(self.record.len());
        for (i, field) in self.record.iter().enumerate() {
            let name = std::str::from_utf8(field)
                .map_err(|_| {
                    DecodeError::Structure(
                        "the header row is not valid UTF-8: check the file's encoding".into(),
                    )
                })?
                .trim()
                .to_string();
            if name.is_empty() {
                return Err(DecodeError::Structure(format!(
                    "column {} of the header row has no name",
                    i + 1
                )));
            }
            names.push(name);
        }
        self.header = Some(names.into());
        Ok(true)
    }

    fn row(&mut self) -> Decoded {
        self.ordinal += 1;
        let ordinal = self.ordinal;
        // The csv crate's own line count lags behind on CRLF files: map the
        // record's byte offset instead. A record never starts with a line
        // break, so a newline at the offset ends the previous row, and a CR
        // there is a blank CRLF line before this one.
        let offset = self.record.position().map_or(0, |p| p.byte());
        let line = self.reader.get_mut().record_line(offset);
        let header = self.header.as_ref().expect("header is read first");
        let text = self.reader.get_ref();
        // A row that ran to the end of the file with an odd number of
        // quotes opened a quote it never closed: the rest of the file was
        // read into it. Say so, with the lines, rather than a field count.
        if text.ended() && text.quotes_since_line_start() % 2 == 1 && text.last_line() > line {
            let last = text.last_line();
            return Decoded::Rejected(RowError {
                ordinal,
                line,
                code: codes::CSV_SYNTAX,
                message: format!(
                    "a quote opened on line {line} is never closed, so lines {line} to {last} (the rest of the file) were read as one row; close the quote, or double a quote meant inside a field"
                ),
            });
        }
        if self.record.len() != header.len() {
            let named_by = if self.naming.header_row == 0 {
                "the plugin's manifest names"
            } else {
                "the header has"
            };
            return Decoded::Rejected(RowError {
                ordinal,
                line,
                code: codes::CSV_FIELD_COUNT,
                message: format!(
                    "the row has {} fields where {named_by} {}: check for a missing or extra delimiter",
                    self.record.len(),
                    header.len()
                ),
            });
        }
        if self.record.as_slice().len() > self.limits.max_record_bytes {
            return Decoded::Rejected(RowError {
                ordinal,
                line,
                code: codes::RECORD_TOO_LARGE,
                message: format!(
                    "the row is larger than {} bytes",
                    self.limits.max_record_bytes
                ),
            });
        }
        // The cells go on as they are: one UTF-8 check over the row's
        // cells back to back (the csv reader drops the delimiters), then
        // every cell must end on a character boundary, or a character was
        // split by a delimiter and a cell is not valid UTF-8 on its own.
        let Ok(text) = simdutf8::basic::from_utf8(self.record.as_slice()) else {
            return Decoded::Rejected(encoding_error(ordinal, line));
        };
        if self.flag_replacement && has_replacement(text) {
            return Decoded::Rejected(encoding_error(ordinal, line));
        }
        let mut ends = conform_model::CellEnds::with_capacity(self.record.len());
        for i in 0..self.record.len() {
            match u32::try_from(self.record.range(i).map_or(0, |r| r.end)) {
                Ok(end) => ends.push(end),
                Err(_) => return Decoded::Rejected(encoding_error(ordinal, line)),
            }
        }
        let cells = CellRow::new(header.clone(), text.to_string(), ends);
        let Some(cells) = cells else {
            return Decoded::Rejected(encoding_error(ordinal, line));
        };
        Decoded::Record(RawRecord {
            ordinal,
            line,
            fields: RowFields::Cells(cells),
        })
    }
}

/// What may be read beyond the last record: one record and the reader's read-ahead.
fn read_budget(limits: &DecodeLimits) -> u64 {
    limits.max_record_bytes as u64 + 256 * 1024
}

fn csv_fatal(e: csv::Error) -> DecodeError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => DecodeError::Io(io),
        other => DecodeError::Structure(format!("cannot read the CSV: {other:?}")),
    }
}

impl Iterator for CsvRows {
    type Item = Result<Decoded, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.header.is_none() {
            match self.read_header() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {
                let budget = read_budget(&self.limits);
                self.reader.get_mut().allow(budget);
                Some(Ok(self.row()))
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(csv_fatal(e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;
    use conform_model::{InputFormat, TextEncoding};
    use serde_json::Value;

    fn rows(text: &str) -> Vec<Decoded> {
        rows_of(text.as_bytes())
    }

    fn rows_of(bytes: &[u8]) -> Vec<Decoded> {
        rows_with(bytes, CsvOptions::default())
    }

    fn rows_with(bytes: &[u8], options: CsvOptions) -> Vec<Decoded> {
        let input = std::io::Cursor::new(bytes.to_vec());
        decode(
            input,
            &InputFormat::Csv(options),
            TextEncoding::Utf8,
            DecodeLimits::default(),
        )
        .map(Result::unwrap)
        .collect()
    }

    /// Each row's line and its cells as `name=value`, or its rejection.
    fn shown(rows: &[Decoded]) -> Vec<String> {
        rows.iter()
            .map(|row| match row {
                Decoded::Record(r) => {
                    let RowFields::Cells(cells) = &r.fields else {
                        panic!("csv rows are cells")
                    };
                    let cells: Vec<String> = cells
                        .cells()
                        .map(|(name, value)| format!("{name}={value}"))
                        .collect();
                    format!("{} {}", r.line, cells.join(" "))
                }
                Decoded::Rejected(e) => format!("{} {}: {}", e.line, e.code, e.message),
            })
            .collect()
    }

    #[test]
    fn title_rows_above_the_header_are_skipped_and_lines_still_count() {
        let text = "Parts list, March\n\"exported by\nthe ERP\"\nsku,qty\nA-1,2\nB-2,3\n";
        let options = CsvOptions {
            header_row: 3,
            ..CsvOptions::default()
        };
        assert_eq!(
            shown(&rows_with(text.as_bytes(), options)),
            ["5 sku=A-1 qty=2", "6 sku=B-2 qty=3"]
        );
    }

    #[test]
    fn a_file_that_ends_above_its_header_row_is_refused() {
        let input = std::io::Cursor::new(b"Parts list\n\nsku,qty\n".to_vec());
        let options = CsvOptions {
            header_row: 3,
            ..CsvOptions::default()
        };
        let decoded: Vec<_> = decode(
            input,
            &InputFormat::Csv(options),
            TextEncoding::Utf8,
            DecodeLimits::default(),
        )
        .collect();
        match decoded.as_slice() {
            [Err(DecodeError::Structure(message))] => {
                assert!(message.contains("ends at row 2, above row 3"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_file_without_a_header_row_takes_the_manifests_column_names() {
        let options = CsvOptions {
            delimiter: '\t',
            header_row: 0,
            columns: vec!["sku".into(), "qty".into()],
            ..CsvOptions::default()
        };
        assert_eq!(
            shown(&rows_with(b"A-1\t2\nB-2\t3\t9\n", options)),
            [
                "1 sku=A-1 qty=2",
                "2 csv-field-count: the row has 3 fields where the plugin's manifest names 2: check for a missing or extra delimiter"
            ]
        );
    }

    #[test]
    fn a_character_split_by_a_delimiter_is_an_encoding_error_not_a_crash() {
        // `中` is E4 B8 AD: a delimiter between its bytes leaves two cells
        // that are not UTF-8 on their own, though the row's cells back to
        // back would be.
        let rows = rows_of(b"a,b\n\xE4\xB8,\xAD\nx,y\n");
        match &rows[0] {
            Decoded::Rejected(e) => assert_eq!((e.line, e.code), (2, codes::ENCODING)),
            other => panic!("{other:?}"),
        }
        assert_eq!(record(&rows[1]).2, serde_json::json!({"a": "x", "b": "y"}));
    }

    fn record(d: &Decoded) -> (u64, u64, Value) {
        match d {
            Decoded::Record(r) => (
                r.ordinal,
                r.line,
                serde_json::from_str(&r.fields.json()).unwrap(),
            ),
            Decoded::Rejected(e) => panic!("rejected: {e:?}"),
        }
    }

    #[test]
    fn a_utf16_file_stops_with_an_encoding_error_naming_what_it_is() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "a\tb\r\n1\t2\r\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let out: Vec<_> = decode(
            std::io::Cursor::new(bytes),
            &InputFormat::Csv(CsvOptions::default()),
            TextEncoding::Gb18030,
            DecodeLimits::default(),
        )
        .collect();
        assert_eq!(out.len(), 1);
        let err = out[0].as_ref().expect_err("the file stops").to_string();
        assert!(
            err.contains("UTF-16 LE") && err.contains("GB18030"),
            "{err}"
        );
        assert!(matches!(out[0], Err(DecodeError::Encoding(_))));
    }

    #[test]
    fn blank_lines_do_not_shift_the_lines_of_rows_after_them() {
        for text in [
            "a,b\r\n1,x\r\n\r\n2,y\r\n\r\n\r\n3,z\r\n",
            "a,b\n1,x\n\n2,y\n\n\n3,z\n",
        ] {
            let lines: Vec<u64> = rows(text).iter().map(|d| record(d).1).collect();
            assert_eq!(lines, [2, 4, 7], "{text:?}");
        }
    }

    #[test]
    fn quoted_fields_span_lines_and_lines_are_where_rows_start() {
        let out = rows("a,b\r\n1,\"x, \"\"y\"\"\r\nz\"\r\n2,w\r\n");
        assert_eq!(out.len(), 2);
        let (ordinal, line, value) = record(&out[0]);
        assert_eq!((ordinal, line), (1, 2));
        assert_eq!(value["b"], "x, \"y\"\r\nz");
        let (ordinal, line, _) = record(&out[1]);
        assert_eq!((ordinal, line), (2, 4));
    }

    #[test]
    fn ragged_rows_are_rejected_with_their_line() {
        let out = rows("a,b,c\n1,2,3\n4,5\n6,7,8,9\n");
        assert_eq!(out.len(), 3);
        match &out[1] {
            Decoded::Rejected(e) => {
                assert_eq!((e.ordinal, e.line, e.code), (2, 3, codes::CSV_FIELD_COUNT));
                assert!(e.message.contains("2 fields where the header has 3"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&out[2], Decoded::Rejected(e) if e.line == 4));
    }

    #[test]
    fn an_unclosed_quote_names_the_line_it_opened_and_the_lines_it_swallowed() {
        // The quote opened on line 3 runs to the end; a last row whose quoted
        // field legitimately spans lines is not mistaken for one.
        for (text, last_line) in [
            ("a,b\n1,2\n3,\"x\n5,6\n7,8\n", 5),
            ("a,b\n1,2\n3,\"x\n5,6\n7,8", 5),
            ("a,b\n1,2\n\"3,x\n5,6\n", 4),
        ] {
            let out = rows(text);
            assert_eq!(out.len(), 2, "{text:?}");
            record(&out[0]);
            match &out[1] {
                Decoded::Rejected(e) => {
                    assert_eq!(
                        (e.ordinal, e.line, e.code),
                        (2, 3, codes::CSV_SYNTAX),
                        "{text:?}"
                    );
                    assert!(
                        e.message.contains(&format!("lines 3 to {last_line}")),
                        "{text:?}: {}",
                        e.message
                    );
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let fine = rows("a,b\n1,2\n3,\"x\ny \"\"z\"\"\"\n");
        let (_, line, value) = record(&fine[1]);
        assert_eq!((line, value["b"].as_str()), (3, Some("x\ny \"z\"")));
    }

    #[test]
    fn a_row_over_the_limit_stops_the_file_without_holding_it() {
        let text = format!("a,b\n1,2\n3,\"{}\"\n5,6\n", "x".repeat(3 << 20));
        let limits = DecodeLimits {
            max_record_bytes: 1 << 20,
            ..DecodeLimits::default()
        };
        let out: Vec<_> = decode(
            std::io::Cursor::new(text.into_bytes()),
            &InputFormat::Csv(CsvOptions::default()),
            TextEncoding::Utf8,
            limits,
        )
        .collect();
        assert!(matches!(&out[0], Ok(Decoded::Record(r)) if r.line == 2));
        match &out[1] {
            Err(e) => assert!(
                e.to_string().contains("larger than this decoder accepts"),
                "{e}"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn empty_file_and_header_only_have_no_rows() {
        assert!(rows("").is_empty());
        assert!(rows("a,b\r\n").is_empty());
    }

    #[test]
    fn invalid_gb18030_bytes_reject_the_row() {
        let mut bytes = encoding_rs::GB18030
            .encode("名称,数量\r\n螺栓,1\r\n")
            .0
            .into_owned();
        bytes.extend_from_slice(b"\x81\x20,2\r\n");
        let input = std::io::Cursor::new(bytes);
        let out: Vec<_> = decode(
            input,
            &InputFormat::Csv(CsvOptions::default()),
            TextEncoding::Gb18030,
            DecodeLimits::default(),
        )
        .map(Result::unwrap)
        .collect();
        assert!(matches!(&out[0], Decoded::Record(_)));
        assert!(
            matches!(&out[1], Decoded::Rejected(e) if e.code == codes::ENCODING && e.line == 3)
        );
    }
}
