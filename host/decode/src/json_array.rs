//! JSON arrays: `[ {…}, {…} ]`, element by element. The array is never parsed
//! whole: a scanner finds where each element ends, and only that element is
//! parsed.

use std::io::{BufReader, Bytes, Read};

use conform_model::{codes, RowFields};

use crate::{
    encoding_error, has_replacement, DecodeError, DecodeLimits, Decoded, RawRecord, RowError,
};

pub(crate) struct JsonArrayRows {
    bytes: std::iter::Peekable<Bytes<BufReader<Box<dyn Read + Send>>>>,
    line: u64,
    ordinal: u64,
    started: bool,
    done: bool,
    element: Vec<u8>,
    limits: DecodeLimits,
    flag_replacement: bool,
}

enum Scan {
    /// An element ended; the byte after it was `,` (more) or `]` (last).
    Element { more: bool },
    /// The input ended inside an element or before `]`.
    Truncated,
    /// The element is larger or deeper than the limits.
    TooLarge,
}

impl JsonArrayRows {
    pub(crate) fn new(
        text: Box<dyn Read + Send>,
        limits: DecodeLimits,
        flag_replacement: bool,
    ) -> JsonArrayRows {
        JsonArrayRows {
            bytes: BufReader::with_capacity(64 * 1024, text).bytes().peekable(),
            line: 1,
            ordinal: 0,
            started: false,
            done: false,
            element: Vec::new(),
            limits,
            flag_replacement,
        }
    }

    fn next_byte(&mut self) -> Result<Option<u8>, std::io::Error> {
        match self.bytes.next().transpose()? {
            Some(b'\n') => {
                self.line += 1;
                Ok(Some(b'\n'))
            }
            other => Ok(other),
        }
    }

    fn skip_whitespace(&mut self) -> Result<Option<u8>, std::io::Error> {
        loop {
            match self.next_byte()? {
                Some(b) if b.is_ascii_whitespace() => continue,
                other => return Ok(other),
            }
        }
    }

    /// Reads one element whose first byte is `first` into `self.element`.
    fn scan_element(&mut self, first: u8) -> Result<Scan, std::io::Error> {
        self.element.clear();
        let mut depth: usize = 0;
        let mut in_string = false;
        let mut escaped = false;
        let mut byte = first;
        loop {
            if in_string {
                if escaped {
                    escaped = false;
                } else if byte == b'\\' {
                    escaped = true;
                } else if byte == b'"' {
                    in_string = false;
                }
            } else {
                match byte {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b']' if depth == 0 => return Ok(Scan::Element { more: byte == b',' }),
                    _ => {}
                }
            }
            if depth > self.limits.max_depth || self.element.len() >= self.limits.max_record_bytes {
                return Ok(Scan::TooLarge);
            }
            self.element.push(byte);
            match self.next_byte()? {
                Some(b) => byte = b,
                None => return Ok(Scan::Truncated),
            }
        }
    }

    fn finish(&mut self, rejection: Option<RowError>) -> Option<Result<Decoded, DecodeError>> {
        self.done = true;
        rejection.map(|r| Ok(Decoded::Rejected(r)))
    }
}

impl Iterator for JsonArrayRows {
    type Item = Result<Decoded, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let io = |e: std::io::Error| Some(Err(DecodeError::Io(e)));
        if !self.started {
            self.started = true;
            match self.skip_whitespace() {
                Ok(Some(b'[')) => {}
                Ok(None) => return self.finish(None),
                Ok(Some(_)) => {
                    self.done = true;
                    return Some(Err(DecodeError::Structure(format!(
                        "line {}: the file must be one JSON array of records (`[ {{…}}, … ]`)",
                        self.line
                    ))));
                }
                Err(e) => return io(e),
            }
        }
        let first = match self.skip_whitespace() {
            Ok(Some(b']')) if self.ordinal == 0 => return self.finish(None),
            Ok(Some(b)) => b,
            Ok(None) => {
                self.ordinal += 1;
                let row = RowError {
                    ordinal: self.ordinal,
                    line: self.line,
                    code: codes::JSON_SYNTAX,
                    message: "the file ends before the array is closed with `]`".into(),
                };
                return self.finish(Some(row));
            }
            Err(e) => return io(e),
        };
        self.ordinal += 1;
        let (ordinal, start_line) = (self.ordinal, self.line);
        let reject = |code, message: String| RowError {
            ordinal,
            line: start_line,
            code,
            message,
        };
        match self.scan_element(first) {
            Err(e) => io(e),
            Ok(Scan::Truncated) => {
                self.finish(Some(reject(codes::JSON_SYNTAX, "the file ends inside this element: it is truncated".into())))
            }
            Ok(Scan::TooLarge) => self.finish(Some(reject(
                codes::RECORD_TOO_LARGE,
                format!(
                    "the element is larger than {} bytes or nested deeper than {}; the rest of the file is not read",
                    self.limits.max_record_bytes, self.limits.max_depth
                ),
            ))),
            Ok(Scan::Element { more }) => {
                if !more {
                    self.done = true;
                }
                let Ok(text) = std::str::from_utf8(&self.element) else {
                    return Some(Ok(Decoded::Rejected(encoding_error(ordinal, start_line))));
                };
                if self.flag_replacement && has_replacement(text) {
                    return Some(Ok(Decoded::Rejected(encoding_error(ordinal, start_line))));
                }
                Some(Ok(match crate::json_object(text) {
                    Ok(()) => Decoded::Record(RawRecord { ordinal, line: start_line, fields: RowFields::Json(text.trim().to_string()) }),
                    Err(crate::NotObject::Other) => {
                        Decoded::Rejected(reject(codes::JSON_NOT_OBJECT, "the element is not a JSON object".into()))
                    }
                    Err(crate::NotObject::Syntax(e)) => {
                        Decoded::Rejected(reject(codes::JSON_SYNTAX, format!("the element is not valid JSON: {e}")))
                    }
                }))
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

    fn rows(text: &str) -> Vec<Result<Decoded, DecodeError>> {
        decode(
            std::io::Cursor::new(text.as_bytes().to_vec()),
            &InputFormat::Json,
            TextEncoding::Utf8,
            DecodeLimits::default(),
        )
        .collect()
    }

    #[test]
    fn elements_with_their_lines() {
        let out = rows("[\n{\"a\":\"x,]\\\"\"},\n{\"b\":[1,{\"c\":2}]}\n]\n");
        assert_eq!(out.len(), 2);
        match out[0].as_ref().unwrap() {
            Decoded::Record(r) => {
                assert_eq!((r.ordinal, r.line), (1, 2));
                assert_eq!(
                    serde_json::from_str::<Value>(&r.fields.json()).unwrap()["a"],
                    "x,]\""
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(out[1].as_ref().unwrap(), Decoded::Record(r) if r.line == 3));
    }

    #[test]
    fn bad_elements_are_rejected_and_the_rest_goes_on() {
        let out = rows("[{\"a\":1}, 5, {\"a\" 2}, {\"a\":3}]");
        assert_eq!(out.len(), 4);
        assert!(
            matches!(out[1].as_ref().unwrap(), Decoded::Rejected(e) if e.code == codes::JSON_NOT_OBJECT)
        );
        assert!(
            matches!(out[2].as_ref().unwrap(), Decoded::Rejected(e) if e.code == codes::JSON_SYNTAX)
        );
        assert!(matches!(out[3].as_ref().unwrap(), Decoded::Record(r) if r.ordinal == 4));
    }

    #[test]
    fn empty_array_truncated_file_and_deep_nesting() {
        assert!(rows("[ ]").is_empty());
        assert!(rows("").is_empty());
        let out = rows("[{\"a\":1},{\"b\":");
        assert!(
            matches!(out[1].as_ref().unwrap(), Decoded::Rejected(e) if e.code == codes::JSON_SYNTAX)
        );
        let deep = format!("[{}{}]", "[".repeat(100_000), "]".repeat(100_000));
        let out = rows(&deep);
        assert_eq!(out.len(), 1);
        assert!(
            matches!(out[0].as_ref().unwrap(), Decoded::Rejected(e) if e.code == codes::RECORD_TOO_LARGE)
        );
        assert!(matches!(
            rows("{\"a\":1}")[0],
            Err(DecodeError::Structure(_))
        ));
    }
}
