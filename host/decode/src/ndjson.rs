//! NDJSON: one JSON object per line. Blank lines are not rows; a line that is
//! not JSON is rejected with its line and the rest of the file goes on.

use std::io::{BufRead, BufReader, Read};

use conform_model::{codes, RowFields};

use crate::{
    encoding_error, has_replacement, DecodeError, DecodeLimits, Decoded, RawRecord, RowError,
};

pub(crate) struct NdjsonRows {
    lines: TextLines,
    ordinal: u64,
    flag_replacement: bool,
}

impl NdjsonRows {
    pub(crate) fn new(
        text: Box<dyn Read + Send>,
        limits: DecodeLimits,
        flag_replacement: bool,
    ) -> NdjsonRows {
        NdjsonRows {
            lines: TextLines::new(text, limits.max_record_bytes),
            ordinal: 0,
            flag_replacement,
        }
    }
}

/// A text's lines, one at a time, each kept to a byte limit (the rest of a
/// longer line is skipped and the line said to be cut).
pub(crate) struct TextLines {
    reader: BufReader<Box<dyn Read + Send>>,
    buf: Vec<u8>,
    max_bytes: usize,
    /// Lines read so far.
    number: u64,
    /// The end of input was met, or a read failed.
    done: bool,
}

impl TextLines {
    pub(crate) fn new(text: Box<dyn Read + Send>, max_bytes: usize) -> TextLines {
        TextLines {
            reader: BufReader::with_capacity(64 * 1024, text),
            buf: Vec::new(),
            max_bytes,
            number: 0,
            done: false,
        }
    }

    /// The next line that may hold a record, past blank lines and the
    /// first `skip` lines of the text: its 1-based number and whether it
    /// was cut (its text in [`TextLines::line`]). `None` at the end; after
    /// a failed read, the error and then `None`.
    pub(crate) fn next_record_line(&mut self, skip: u64) -> Option<std::io::Result<(u64, bool)>> {
        while !self.done {
            let cut = match self.read_line() {
                Ok(Some(cut)) => cut,
                Ok(None) => break,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            self.number += 1;
            let blank = !cut && self.buf.iter().all(u8::is_ascii_whitespace);
            if self.number > skip && !blank {
                return Some(Ok((self.number, cut)));
            }
        }
        self.done = true;
        None
    }

    /// The text of the line [`TextLines::next_record_line`] found, row
    /// `ordinal` on `line`: a cut line is `record-too-large`; bytes invalid
    /// in the encoding (decoded to U+FFFD, when `flag_replacement`) are
    /// `encoding`.
    pub(crate) fn record_text(
        &self,
        ordinal: u64,
        line: u64,
        cut: bool,
        flag_replacement: bool,
    ) -> Result<&str, RowError> {
        if cut {
            return Err(RowError {
                ordinal,
                line,
                code: codes::RECORD_TOO_LARGE,
                message: format!("the line is longer than {} bytes", self.max_bytes),
            });
        }
        match std::str::from_utf8(&self.buf) {
            Ok(text) if !(flag_replacement && has_replacement(text)) => Ok(text),
            _ => Err(encoding_error(ordinal, line)),
        }
    }

    /// Reads the next line, keeping at most the limit and skipping the
    /// rest: `None` at the end of input, else whether the line was cut.
    fn read_line(&mut self) -> std::io::Result<Option<bool>> {
        self.buf.clear();
        let mut any = false;
        let mut cut = false;
        loop {
            let available = self.reader.fill_buf()?;
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, found) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], Some(i)),
                None => (available, None),
            };
            let room = (self.max_bytes + 1).saturating_sub(self.buf.len());
            if chunk.len() > room {
                cut = true;
            }
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let used = found.map_or(available.len(), |i| i + 1);
            self.reader.consume(used);
            if found.is_some() {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(cut || self.buf.len() > self.max_bytes))
    }
}

impl Iterator for NdjsonRows {
    type Item = Result<Decoded, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (line, cut) = match self.lines.next_record_line(0)? {
            Ok(found) => found,
            Err(e) => return Some(Err(e.into())),
        };
        self.ordinal += 1;
        let ordinal = self.ordinal;
        let text = match self
            .lines
            .record_text(ordinal, line, cut, self.flag_replacement)
        {
            Ok(text) => text,
            Err(rejected) => return Some(Ok(Decoded::Rejected(rejected))),
        };
        let reject = |code, message: String| {
            Some(Ok(Decoded::Rejected(RowError {
                ordinal,
                line,
                code,
                message,
            })))
        };
        match crate::json_object(text) {
            Ok(()) => Some(Ok(Decoded::Record(RawRecord {
                ordinal,
                line,
                fields: RowFields::Json(text.trim().to_string()),
            }))),
            Err(crate::NotObject::Other) => reject(
                codes::JSON_NOT_OBJECT,
                "the line is JSON but not an object".into(),
            ),
            Err(crate::NotObject::Syntax(e)) => reject(
                codes::JSON_SYNTAX,
                format!("the line is not valid JSON ({e}): fix or remove it"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;
    use conform_model::{InputFormat, TextEncoding};

    fn rows(text: &str, limits: DecodeLimits) -> Vec<Decoded> {
        decode(
            std::io::Cursor::new(text.as_bytes().to_vec()),
            &InputFormat::Ndjson,
            TextEncoding::Utf8,
            limits,
        )
        .map(Result::unwrap)
        .collect()
    }

    #[test]
    fn blank_lines_are_skipped_and_bad_lines_rejected() {
        let out = rows(
            "{\"a\":1}\n{\"a\":\n\n  \n{\"a\":3}\r\n[1]\n",
            DecodeLimits::default(),
        );
        assert_eq!(out.len(), 4);
        assert!(matches!(&out[0], Decoded::Record(r) if r.line == 1 && r.ordinal == 1));
        assert!(
            matches!(&out[1], Decoded::Rejected(e) if e.line == 2 && e.code == codes::JSON_SYNTAX)
        );
        assert!(matches!(&out[2], Decoded::Record(r) if r.line == 5 && r.ordinal == 3));
        assert!(matches!(&out[3], Decoded::Rejected(e) if e.code == codes::JSON_NOT_OBJECT));
    }

    #[test]
    fn overlong_lines_are_rejected_and_skipped() {
        let long = format!("{{\"a\":\"{}\"}}\n{{\"b\":1}}\n", "x".repeat(200));
        let out = rows(
            &long,
            DecodeLimits {
                max_record_bytes: 64,
                ..DecodeLimits::default()
            },
        );
        assert!(matches!(&out[0], Decoded::Rejected(e) if e.code == codes::RECORD_TOO_LARGE));
        assert!(matches!(&out[1], Decoded::Record(r) if r.line == 2));
    }
}
