//! The lines of a conversion's output, its error report and its summary.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where an output record came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Source {
    /// The input file's name.
    pub file: String,
    /// 1-based line on which the input row starts.
    pub line: u64,
}

/// One line of the records output (NDJSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OutputLine {
    /// The pack's record type.
    pub record_type: String,
    /// The record, valid against the record type's schema.
    pub record: serde_json::Value,
    /// The input row it came from.
    pub source: Source,
}

/// One line of the error report (NDJSON): an input row that was not converted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Rejection {
    /// The input file's name.
    pub file: String,
    /// 1-based line on which the row starts.
    pub line: u64,
    /// 1-based position of the row in its file.
    pub ordinal: u64,
    /// A stable, machine-readable code (see [`codes`] for the host's own).
    pub code: String,
    /// The field at fault: an input field, or a JSON pointer into the output
    /// record for schema violations (`/length_mm`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
    /// What a person should fix.
    pub message: String,
}

/// Counts for one converted file. `rows_in = converted + rejected` always.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FileSummary {
    /// The input file's name.
    pub file: String,
    /// The plugin that converted it.
    pub plugin: String,
    /// Rows read from the file.
    pub rows_in: u64,
    /// Rows that became records.
    pub converted: u64,
    /// Rows rejected, each in the error report.
    pub rejected: u64,
    /// Records written (a row may become several).
    pub records_out: u64,
    /// Why the file stopped early, if it did; the counts cover the rows before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The stable code of `error` (`input-unreadable`, `rows-limit`,
    /// `time-limit`, or the server's `body-too-large`, `upload-too-slow` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Rejection lines left out of the error report because their code
    /// already had the most lines one report lists; a `report-truncated`
    /// line per such code says how many. The rows are counted in `rejected`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rejections_omitted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The most problems one rejected row lists; a `more-problems` line says
/// how many more there were.
pub const MAX_PROBLEMS_PER_ROW: usize = 16;

/// How many of a row's `total` problems are listed as they are: all of
/// them up to [`MAX_PROBLEMS_PER_ROW`]; over it, one fewer, the last place
/// going to the `more-problems` line that counts the rest.
pub fn problems_listed(total: usize) -> usize {
    if total > MAX_PROBLEMS_PER_ROW {
        MAX_PROBLEMS_PER_ROW - 1
    } else {
        total
    }
}

/// The longest message a rejection or a plugin's log line carries.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// The longest `field` a rejection carries.
pub const MAX_FIELD_BYTES: usize = 200;

/// `text` cut to at most `max` bytes at a character boundary, with `…`
/// added when anything was cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

/// Counts for a whole conversion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Rows read from all files.
    pub rows_in: u64,
    /// Rows converted.
    pub converted: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Per file, in the order converted.
    pub files: Vec<FileSummary>,
    /// Files that could not be converted at all, with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<FailedFile>,
    /// Entries of an input folder that are not regular files (named pipes,
    /// devices, sockets, dangling or looping symbolic links), with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<FailedFile>,
}

/// A file that was not converted at all (no plugin claims it, it cannot be read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FailedFile {
    /// The input file's name.
    pub file: String,
    /// Why, and what to do.
    pub message: String,
}

impl Summary {
    /// Adds a file's counts to the totals.
    pub fn add(&mut self, file: FileSummary) {
        self.rows_in += file.rows_in;
        self.converted += file.converted;
        self.rejected += file.rejected;
        self.files.push(file);
    }
}

/// The codes the host itself gives rejections. Plugins add their own
/// (`missing-field`, `not-a-number`, …); these are reserved.
pub mod codes {
    /// A CSV row has another number of fields than the header.
    pub const CSV_FIELD_COUNT: &str = "csv-field-count";
    /// A CSV row cannot be parsed (e.g. an unclosed quote).
    pub const CSV_SYNTAX: &str = "csv-syntax";
    /// An NDJSON line or JSON array element is not valid JSON.
    pub const JSON_SYNTAX: &str = "json-syntax";
    /// A JSON record is not an object.
    pub const JSON_NOT_OBJECT: &str = "json-not-object";
    /// The XML around a record is malformed.
    pub const XML_SYNTAX: &str = "xml-syntax";
    /// A record is larger than the decoder accepts.
    pub const RECORD_TOO_LARGE: &str = "record-too-large";
    /// The bytes are not valid in the declared encoding.
    pub const ENCODING: &str = "encoding";
    /// An output record breaks its record type's JSON Schema.
    pub const SCHEMA_VIOLATION: &str = "schema-violation";
    /// The plugin trapped (panicked, hit `unreachable`) while converting the row.
    pub const PLUGIN_TRAP: &str = "plugin-trap";
    /// The plugin ran out of its time per batch.
    pub const PLUGIN_TIMEOUT: &str = "plugin-timeout";
    /// The plugin tried to grow its memory past its limit.
    pub const PLUGIN_MEMORY: &str = "plugin-memory";
    /// The plugin returned something the contract does not allow: wrong
    /// count, invalid JSON, an undeclared record type, too many bytes or records.
    pub const PLUGIN_OUTPUT: &str = "plugin-output";
    /// A row had more problems than one row lists; this one says how many
    /// were left out.
    pub const MORE_PROBLEMS: &str = "more-problems";
    /// The error report lists the first rejections of each code; this line
    /// says how many more rows were rejected with `field` = that code.
    pub const REPORT_TRUNCATED: &str = "report-truncated";

    /// The codes of a plugin's own failures, as `/metrics` counts them.
    pub const PLUGIN_FAULTS: [&str; 4] =
        [PLUGIN_TRAP, PLUGIN_TIMEOUT, PLUGIN_MEMORY, PLUGIN_OUTPUT];

    // Why a whole file stopped early (`error_code` of a file summary).

    /// The input could not be read on, or its outer structure is unusable.
    pub const INPUT_UNREADABLE: &str = "input-unreadable";
    /// The file has more rows than one conversion may take.
    pub const ROWS_LIMIT: &str = "rows-limit";
    /// The conversion ran longer than it may.
    pub const TIME_LIMIT: &str = "time-limit";
}
