//! Fixed-width text: one record per line, each column at its place,
//! counted in characters of the decoded line. The lines a manifest skips
//! and blank lines are not records; a line too short for a column gives
//! that column an empty cell (a missing value, as an empty CSV cell).

use std::io::Read;
use std::sync::Arc;

use conform_model::plugin::FixedWidthOptions;
use conform_model::{CellRow, RowFields};

use crate::ndjson::TextLines;
use crate::{encoding_error, DecodeError, DecodeLimits, Decoded, RawRecord};

pub(crate) struct FixedWidthRows {
    lines: TextLines,
    header: Arc<[String]>,
    /// Each column's first character (from 0) and width.
    places: Vec<(usize, usize)>,
    skip_lines: u64,
    ordinal: u64,
    flag_replacement: bool,
}

impl FixedWidthRows {
    pub(crate) fn new(
        text: Box<dyn Read + Send>,
        options: &FixedWidthOptions,
        limits: DecodeLimits,
        flag_replacement: bool,
    ) -> FixedWidthRows {
        FixedWidthRows {
            lines: TextLines::new(text, limits.max_record_bytes),
            header: options.columns.iter().map(|c| c.name.clone()).collect(),
            places: options
                .columns
                .iter()
                .map(|c| (c.start as usize - 1, c.width as usize))
                .collect(),
            skip_lines: u64::from(options.skip_lines),
            ordinal: 0,
            flag_replacement,
        }
    }

    /// The row of `text`: each column's characters, trimmed of spaces.
    fn row(&self, text: &str, ordinal: u64, line: u64) -> Decoded {
        // Where each character starts, once per line.
        let starts: Vec<usize> = text
            .char_indices()
            .map(|(at, _)| at)
            .chain(std::iter::once(text.len()))
            .collect();
        let byte_at = |char: usize| starts.get(char).copied().unwrap_or(text.len());
        let mut cells = String::with_capacity(text.len());
        let mut ends = Vec::with_capacity(self.places.len());
        for &(start, width) in &self.places {
            let cell = &text[byte_at(start)..byte_at(start + width)];
            cells.push_str(cell.trim_matches([' ', '\u{3000}']));
            match u32::try_from(cells.len()) {
                Ok(end) => ends.push(end),
                Err(_) => return Decoded::Rejected(encoding_error(ordinal, line)),
            }
        }
        match CellRow::new(self.header.clone(), cells, ends) {
            Some(cells) => Decoded::Record(RawRecord {
                ordinal,
                line,
                fields: RowFields::Cells(cells),
            }),
            None => Decoded::Rejected(encoding_error(ordinal, line)),
        }
    }
}

impl Iterator for FixedWidthRows {
    type Item = Result<Decoded, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (line, cut) = match self.lines.next_record_line(self.skip_lines)? {
            Ok(found) => found,
            Err(e) => return Some(Err(e.into())),
        };
        self.ordinal += 1;
        let ordinal = self.ordinal;
        Some(Ok(
            match self
                .lines
                .record_text(ordinal, line, cut, self.flag_replacement)
            {
                Ok(text) => self.row(text, ordinal, line),
                Err(rejected) => Decoded::Rejected(rejected),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;
    use conform_model::codes;
    use conform_model::plugin::FixedColumn;
    use conform_model::{InputFormat, TextEncoding};

    fn options(skip_lines: u32) -> InputFormat {
        let column = |name: &str, start, width| FixedColumn {
            name: name.into(),
            start,
            width,
        };
        InputFormat::FixedWidth(FixedWidthOptions {
            columns: vec![
                column("编号", 1, 8),
                column("名称", 9, 6),
                column("数量", 15, 4),
            ],
            skip_lines,
        })
    }

    fn cells(decoded: &Decoded) -> (u64, Vec<(String, String)>) {
        let Decoded::Record(record) = decoded else {
            panic!("a record: {decoded:?}")
        };
        let RowFields::Cells(cells) = &record.fields else {
            panic!("cells")
        };
        (
            record.line,
            cells
                .cells()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn columns_are_cut_by_character_and_trimmed_with_their_lines_kept() {
        let text = "零件清单（样例）\r\n编号    名称  数量\r\nJG-1    法兰盘   20\r\n\r\nJG-2    垫圈\u{3000}   500\r\nJG-3\r\n";
        let out: Vec<Decoded> = decode(
            std::io::Cursor::new(text.as_bytes().to_vec()),
            &options(2),
            TextEncoding::Utf8,
            DecodeLimits::default(),
        )
        .map(Result::unwrap)
        .collect();
        let row = |cells: [&str; 3]| -> Vec<(String, String)> {
            ["编号", "名称", "数量"]
                .iter()
                .zip(cells)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(cells(&out[0]), (3, row(["JG-1", "法兰盘", "20"])));
        assert_eq!(cells(&out[1]), (5, row(["JG-2", "垫圈", "500"])));
        // A short line: the missing columns are empty cells.
        assert_eq!(cells(&out[2]), (6, row(["JG-3", "", ""])));
    }

    #[test]
    fn a_long_line_and_bad_bytes_reject_their_row_only() {
        let mut text = b"JG-1    \xb7\xa8\xc0\xbc    20\n".to_vec();
        text.extend_from_slice(&[b'x'; 200]);
        text.extend_from_slice(b"\nJG-2    \xff\xfe    30\nJG-3    ab    40\n");
        let limits = DecodeLimits {
            max_record_bytes: 100,
            ..DecodeLimits::default()
        };
        let out: Vec<Decoded> = decode(
            std::io::Cursor::new(text),
            &options(0),
            TextEncoding::Gb18030,
            limits,
        )
        .map(Result::unwrap)
        .collect();
        assert_eq!(out.len(), 4, "{out:?}");
        assert_eq!(cells(&out[0]).1[1].1, "法兰");
        assert!(
            matches!(&out[1], Decoded::Rejected(e) if e.code == codes::RECORD_TOO_LARGE && e.line == 2)
        );
        assert!(
            matches!(&out[2], Decoded::Rejected(e) if e.code == codes::ENCODING && e.line == 3)
        );
        assert_eq!(cells(&out[3]).0, 4);
    }
}
