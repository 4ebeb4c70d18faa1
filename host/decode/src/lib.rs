//! Streaming decoders: enterprise files in, numbered records out.
//!
//! A decoder reads its input as a stream and yields one [`Decoded`] per row:
//! a [`RawRecord`] (the row as a JSON object, with its ordinal and the line
//! it starts on) or a [`RowError`] for a row that cannot be decoded (a ragged
//! CSV row, a truncated NDJSON line). A bad row never stops the rest of the
//! file, and never disappears: it is a row like any other, rejected.
//!
//! Memory is bounded by the largest record, never by the file: no decoder
//! holds more than one record (and its reader's buffer) at a time.
//!
//! Text is transcoded to UTF-8 first ([`text`]): UTF-8 with or without BOM,
//! GB18030 and GBK. A CSV plugin also reads its table saved as a workbook
//! (.xlsx, .xls, .ods; see [`open`]): one sheet, each row numbered as the
//! sheet shows it, each cell's text as the sheet shows it.

mod csv_format;
mod fixed_width;
mod json_array;
mod lines;
mod ndjson;
mod shown;
pub mod text;
mod workbook;
mod xml;

use std::io::Read;

use conform_model::plugin::InputSpec;
use conform_model::{InputFormat, RowFields, TextEncoding};

pub use text::text_reader;
pub use workbook::{read_workbook_main, ChildArgs, WorkbookOptions, WorkbookReader};

/// A decoded row: its place in the file and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// 1-based position among the file's rows.
    pub ordinal: u64,
    /// 1-based line on which the row starts.
    pub line: u64,
    /// The row's fields: a CSV row's cells, or a JSON object as text.
    pub fields: RowFields,
}

/// A row that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based position among the file's rows.
    pub ordinal: u64,
    /// 1-based line on which the row starts.
    pub line: u64,
    /// Stable code (see `conform_model::codes`).
    pub code: &'static str,
    /// What a person should fix.
    pub message: String,
}

/// One row of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A row to convert.
    Record(RawRecord),
    /// A row rejected by the decoder.
    Rejected(RowError),
}

impl Decoded {
    /// About the memory the row takes (its fields; nothing for a row
    /// rejected).
    pub fn size(&self) -> usize {
        match self {
            Decoded::Record(r) => r.fields.size(),
            Decoded::Rejected(_) => 0,
        }
    }

    /// The row's 1-based position.
    pub fn ordinal(&self) -> u64 {
        match self {
            Decoded::Record(r) => r.ordinal,
            Decoded::Rejected(r) => r.ordinal,
        }
    }
}

/// A failure that stops the whole file (the rows before it stay decoded).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Reading the input failed.
    #[error("cannot read the input: {0}")]
    Io(#[from] std::io::Error),
    /// The file's header or outer structure is unusable.
    #[error("{0}")]
    Structure(String),
    /// The file is plainly in another encoding than the one declared.
    #[error("{0}")]
    Encoding(String),
}

/// Limits that keep a hostile file from taking unbounded memory.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// The largest record, in bytes of UTF-8 text.
    pub max_record_bytes: usize,
    /// The deepest nesting of JSON or XML inside a record.
    pub max_depth: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_record_bytes: 4 * 1024 * 1024,
            max_depth: 64,
        }
    }
}

/// The stream of rows of one file.
pub type Rows = Box<dyn Iterator<Item = Result<Decoded, DecodeError>> + Send>;

/// A file opened for decoding: its rows, and for a workbook the sheet they
/// are read from.
pub struct Opened {
    /// The file's rows.
    pub rows: Rows,
    /// The sheet's name, for a workbook.
    pub sheet: Option<String>,
}

/// The signature a ZIP archive starts with (.xlsx, .ods).
const ZIP_SIGNATURE: &[u8] = b"PK\x03\x04";

/// The signature an OLE file starts with (.xls).
const OLE_SIGNATURE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Opens a file for decoding as the plugin's input options say: a CSV
/// plugin reads a workbook (.xlsx, .xls, .ods, known by its first bytes)
/// as its table, on the sheet `[input.spreadsheet]` names; any other file
/// is decoded as [`decode`] does. `workbooks` says where a workbook is
/// spooled and whether it is read in a capped child process.
pub fn open(
    input: impl Read + Send + 'static,
    spec: &InputSpec,
    limits: DecodeLimits,
    workbooks: &WorkbookOptions,
) -> Opened {
    let (head, input) = match peek(input, 8) {
        Ok(peeked) => peeked,
        Err(e) => {
            return Opened {
                rows: Box::new(std::iter::once(Err(DecodeError::Io(e)))),
                sheet: None,
            }
        }
    };
    let zip = head.starts_with(ZIP_SIGNATURE);
    if let (InputFormat::Csv(csv), true) = (&spec.format, zip || head.starts_with(OLE_SIGNATURE)) {
        let input = std::io::Cursor::new(head).chain(input);
        let options = workbook::SheetOptions {
            sheet: spec.spreadsheet.as_ref().and_then(|s| s.sheet.clone()),
            header_row: spec.sheet_header_row(),
            columns: csv.columns.clone(),
        };
        return match workbook::open(input, zip, options, limits, workbooks) {
            Ok(sheet) => Opened {
                rows: sheet.rows,
                sheet: Some(sheet.name),
            },
            Err(e) => Opened {
                rows: Box::new(std::iter::once(Err(e))),
                sheet: None,
            },
        };
    }
    Opened {
        rows: decode_peeked(head, input, &spec.format, spec.encoding, limits),
        sheet: None,
    }
}

/// The first `n` bytes of `input` (fewer at its end), and the rest.
fn peek<R: Read>(mut input: R, n: usize) -> std::io::Result<(Vec<u8>, R)> {
    let mut head = Vec::with_capacity(n);
    (&mut input).take(n as u64).read_to_end(&mut head)?;
    Ok((head, input))
}

/// The format's name for people.
fn format_name(format: &InputFormat) -> &'static str {
    match format {
        InputFormat::Csv(_) => "CSV",
        InputFormat::Xml(_) => "XML",
        InputFormat::Json => "JSON",
        InputFormat::Ndjson => "NDJSON",
        InputFormat::FixedWidth(_) => "fixed-width",
    }
}

/// The UTF-16 encoding a byte-order mark at the start names, if any.
fn utf16_bom(head: &[u8]) -> Option<&'static str> {
    match head {
        [0xFF, 0xFE, ..] => Some("UTF-16 LE"),
        [0xFE, 0xFF, ..] => Some("UTF-16 BE"),
        _ => None,
    }
}

/// The kind of binary file whose signature starts `head`, if any: never
/// text of the formats this crate reads, so such a file is refused whole
/// rather than read as rows of garbage.
fn binary_kind(head: &[u8]) -> Option<&'static str> {
    const KINDS: [(&[u8], &str); 5] = [
        (ZIP_SIGNATURE, "a ZIP archive: an Excel workbook (.xlsx), an OpenDocument spreadsheet (.ods) or another zipped file"),
        (OLE_SIGNATURE, "an Excel 97–2003 workbook (.xls) or another OLE file"),
        (b"\x1F\x8B", "gzip-compressed"),
        (b"%PDF-", "a PDF document"),
        (b"\x00asm", "a WebAssembly module"),
    ];
    KINDS
        .iter()
        .find(|(signature, _)| head.starts_with(signature))
        .map(|(_, kind)| *kind)
}

/// Opens a decoder over the text `input` for a format and encoding; a
/// binary file (a workbook, a PDF …) is refused whole.
pub fn decode(
    input: impl Read + Send + 'static,
    format: &InputFormat,
    encoding: TextEncoding,
    limits: DecodeLimits,
) -> Rows {
    match peek(input, 8) {
        Ok((head, input)) => decode_peeked(head, input, format, encoding, limits),
        Err(e) => Box::new(std::iter::once(Err(DecodeError::Io(e)))),
    }
}

/// [`decode`] of the file whose first bytes, `head`, were read off `input`.
fn decode_peeked(
    head: Vec<u8>,
    input: impl Read + Send + 'static,
    format: &InputFormat,
    encoding: TextEncoding,
    limits: DecodeLimits,
) -> Rows {
    if let Some(kind) = binary_kind(&head) {
        return Box::new(std::iter::once(Err(DecodeError::Encoding(format!(
            "the file is {kind}, not {} text: save the sheet as CSV (Excel: \"CSV UTF-8\", WPS: \"CSV\"), or use a plugin for this file's format (a CSV plugin reads workbooks too)",
            format_name(format)
        )))));
    }
    if let Some(found) = utf16_bom(&head) {
        return Box::new(std::iter::once(Err(DecodeError::Encoding(format!(
            "the file is {found} text (it starts with that byte-order mark), but this plugin reads {}: save the file as {} (Excel: \"CSV\", not \"Unicode text\") or use a plugin for it",
            encoding.label(),
            encoding.label()
        )))));
    }
    let text = text_reader(std::io::Cursor::new(head).chain(input), encoding);
    let flag_replacement = encoding != TextEncoding::Utf8;
    match format {
        InputFormat::Csv(options) => Box::new(csv_format::CsvRows::new(
            text,
            options,
            limits,
            flag_replacement,
        )),
        InputFormat::Xml(options) => Box::new(xml::XmlRows::new(
            text,
            &options.record_path,
            limits,
            flag_replacement,
        )),
        InputFormat::Json => Box::new(json_array::JsonArrayRows::new(
            text,
            limits,
            flag_replacement,
        )),
        InputFormat::Ndjson => Box::new(ndjson::NdjsonRows::new(text, limits, flag_replacement)),
        InputFormat::FixedWidth(options) => Box::new(fixed_width::FixedWidthRows::new(
            text,
            options,
            limits,
            flag_replacement,
        )),
    }
}

/// The message for a row holding bytes invalid in the declared encoding.
pub(crate) fn encoding_error(ordinal: u64, line: u64) -> RowError {
    RowError {
        ordinal,
        line,
        code: conform_model::codes::ENCODING,
        message: "the row holds bytes that are invalid in the declared encoding; re-export the file in that encoding"
            .into(),
    }
}

/// Whether decoded text shows that the source bytes were invalid (the
/// decoder writes U+FFFD for each invalid sequence).
pub(crate) fn has_replacement(text: &str) -> bool {
    text.contains('\u{FFFD}')
}

/// Why a JSON text is not a record.
pub(crate) enum NotObject {
    /// It is not JSON.
    Syntax(serde_json::Error),
    /// It is JSON but not an object.
    Other,
}

/// Checks that `text` is one JSON object, without building it: the text is
/// passed on as it is.
pub(crate) fn json_object(text: &str) -> Result<(), NotObject> {
    use serde::de::IgnoredAny;
    serde_json::from_str::<IgnoredAny>(text).map_err(NotObject::Syntax)?;
    if text.trim_start().starts_with('{') {
        Ok(())
    } else {
        Err(NotObject::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workbook_or_other_binary_file_is_refused_whole_naming_what_it_is() {
        let workbook =
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml".to_vec();
        for (format, name) in [
            (
                InputFormat::Csv(conform_model::plugin::CsvOptions::default()),
                "CSV",
            ),
            (InputFormat::Json, "JSON"),
            (InputFormat::Ndjson, "NDJSON"),
        ] {
            let out: Vec<_> = decode(
                std::io::Cursor::new(workbook.clone()),
                &format,
                TextEncoding::Utf8,
                DecodeLimits::default(),
            )
            .collect();
            assert_eq!(out.len(), 1, "{name}: one refusal, no rows");
            let err = out[0].as_ref().expect_err("refused").to_string();
            assert!(
                err.contains("Excel workbook (.xlsx)") && err.contains(&format!("not {name} text")),
                "{err}"
            );
        }
        let xls = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00".to_vec();
        let out: Vec<_> = decode(
            std::io::Cursor::new(xls),
            &InputFormat::Csv(conform_model::plugin::CsvOptions::default()),
            TextEncoding::Gb18030,
            DecodeLimits::default(),
        )
        .collect();
        assert!(matches!(&out[..], [Err(DecodeError::Encoding(e))] if e.contains("(.xls)")));
        // Text that merely starts with the same letters is text.
        let text = b"PK,name\n1,x\n".to_vec();
        let out: Vec<_> = decode(
            std::io::Cursor::new(text),
            &InputFormat::Csv(conform_model::plugin::CsvOptions::default()),
            TextEncoding::Utf8,
            DecodeLimits::default(),
        )
        .collect();
        assert_eq!(out.iter().filter(|r| r.is_ok()).count(), out.len());
    }
}
