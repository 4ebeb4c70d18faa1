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
    /// The sheet the row is on, for a workbook.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sheet: Option<String>,
    /// 1-based line on which the row starts (a workbook's: the row's
    /// number as the sheet shows it).
    pub line: u64,
    /// 1-based position of the row in its file.
    pub ordinal: u64,
    /// A stable, machine-readable code (see [`codes`] for the host's own).
    pub code: String,
    /// The field at fault: an input field, or a JSON pointer into the output
    /// record for schema violations (`/length_mm`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
    /// The record field the problem concerns, as a JSON pointer
    /// (`/colour_code`), where the plugin says so and it differs from `field`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub target: Option<String>,
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
    /// The sheet its rows were read from, for a workbook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
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

/// Every code the host itself gives a rejected row or a stopped file: the
/// one source of these strings. Plugins add their own kebab-case codes
/// (`missing-field`, `not-a-number`, …); these are reserved. [`codes`] names
/// each as a `&str` constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostCode {
    /// A CSV row has another number of fields than the header.
    CsvFieldCount,
    /// A CSV row cannot be parsed (e.g. an unclosed quote).
    CsvSyntax,
    /// An NDJSON line or JSON array element is not valid JSON.
    JsonSyntax,
    /// A JSON record is not an object.
    JsonNotObject,
    /// The XML around a record is malformed.
    XmlSyntax,
    /// A record is larger than the decoder accepts.
    RecordTooLarge,
    /// The bytes are not valid in the declared encoding.
    Encoding,
    /// A workbook cell shows a formula's error (`#DIV/0!`, `#N/A` …)
    /// instead of a value.
    CellError,
    /// A workbook row has a value right of the header's last column.
    CellOutsideTable,
    /// An output record breaks its record type's JSON Schema.
    SchemaViolation,
    /// The plugin trapped (panicked, hit `unreachable`) while converting the row.
    PluginTrap,
    /// The plugin ran out of its time per batch.
    PluginTimeout,
    /// The plugin tried to grow its memory past its limit.
    PluginMemory,
    /// The plugin returned something the contract does not allow: wrong
    /// count, invalid JSON, an undeclared record type, too many bytes or records.
    PluginOutput,
    /// A plugin gave a problem a code that is not kebab-case (or too long);
    /// its message is kept.
    PluginInvalidCode,
    /// A row had more problems than one row lists; this one says how many
    /// were left out.
    MoreProblems,
    /// The error report lists the first rejections of each code; this line
    /// says how many more rows were rejected with `field` = that code.
    ReportTruncated,
    /// The input could not be read on, or its outer structure is unusable
    /// (a file's `error_code`).
    InputUnreadable,
    /// The file has more rows than one conversion may take (a file's
    /// `error_code`).
    RowsLimit,
    /// The conversion ran longer than it may (a file's `error_code`).
    TimeLimit,
}

impl HostCode {
    /// Every host code, rows' first.
    pub const ALL: [HostCode; 20] = [
        HostCode::CsvFieldCount,
        HostCode::CsvSyntax,
        HostCode::JsonSyntax,
        HostCode::JsonNotObject,
        HostCode::XmlSyntax,
        HostCode::RecordTooLarge,
        HostCode::Encoding,
        HostCode::CellError,
        HostCode::CellOutsideTable,
        HostCode::SchemaViolation,
        HostCode::PluginTrap,
        HostCode::PluginTimeout,
        HostCode::PluginMemory,
        HostCode::PluginOutput,
        HostCode::PluginInvalidCode,
        HostCode::MoreProblems,
        HostCode::ReportTruncated,
        HostCode::InputUnreadable,
        HostCode::RowsLimit,
        HostCode::TimeLimit,
    ];

    /// The code as it is written in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            HostCode::CsvFieldCount => "csv-field-count",
            HostCode::CsvSyntax => "csv-syntax",
            HostCode::JsonSyntax => "json-syntax",
            HostCode::JsonNotObject => "json-not-object",
            HostCode::XmlSyntax => "xml-syntax",
            HostCode::RecordTooLarge => "record-too-large",
            HostCode::Encoding => "encoding",
            HostCode::CellError => "cell-error",
            HostCode::CellOutsideTable => "cell-outside-table",
            HostCode::SchemaViolation => "schema-violation",
            HostCode::PluginTrap => "plugin-trap",
            HostCode::PluginTimeout => "plugin-timeout",
            HostCode::PluginMemory => "plugin-memory",
            HostCode::PluginOutput => "plugin-output",
            HostCode::PluginInvalidCode => "plugin-invalid-code",
            HostCode::MoreProblems => "more-problems",
            HostCode::ReportTruncated => "report-truncated",
            HostCode::InputUnreadable => "input-unreadable",
            HostCode::RowsLimit => "rows-limit",
            HostCode::TimeLimit => "time-limit",
        }
    }

    /// Whether the code says why a whole file stopped (a summary's
    /// `error_code`) rather than why a row was rejected. `encoding` is both.
    pub const fn stops_file(self) -> bool {
        matches!(
            self,
            HostCode::InputUnreadable | HostCode::RowsLimit | HostCode::TimeLimit
        )
    }

    /// The host code written `text`, if it is one.
    pub fn parse(text: &str) -> Option<HostCode> {
        HostCode::ALL.into_iter().find(|code| code.as_str() == text)
    }
}

/// The host's codes as strings, each from [`HostCode`].
pub mod codes {
    use super::HostCode;

    /// See [`HostCode::CsvFieldCount`].
    pub const CSV_FIELD_COUNT: &str = HostCode::CsvFieldCount.as_str();
    /// See [`HostCode::CsvSyntax`].
    pub const CSV_SYNTAX: &str = HostCode::CsvSyntax.as_str();
    /// See [`HostCode::JsonSyntax`].
    pub const JSON_SYNTAX: &str = HostCode::JsonSyntax.as_str();
    /// See [`HostCode::JsonNotObject`].
    pub const JSON_NOT_OBJECT: &str = HostCode::JsonNotObject.as_str();
    /// See [`HostCode::XmlSyntax`].
    pub const XML_SYNTAX: &str = HostCode::XmlSyntax.as_str();
    /// See [`HostCode::RecordTooLarge`].
    pub const RECORD_TOO_LARGE: &str = HostCode::RecordTooLarge.as_str();
    /// See [`HostCode::Encoding`].
    pub const ENCODING: &str = HostCode::Encoding.as_str();
    /// See [`HostCode::CellError`].
    pub const CELL_ERROR: &str = HostCode::CellError.as_str();
    /// See [`HostCode::CellOutsideTable`].
    pub const CELL_OUTSIDE_TABLE: &str = HostCode::CellOutsideTable.as_str();
    /// See [`HostCode::SchemaViolation`].
    pub const SCHEMA_VIOLATION: &str = HostCode::SchemaViolation.as_str();
    /// See [`HostCode::PluginTrap`].
    pub const PLUGIN_TRAP: &str = HostCode::PluginTrap.as_str();
    /// See [`HostCode::PluginTimeout`].
    pub const PLUGIN_TIMEOUT: &str = HostCode::PluginTimeout.as_str();
    /// See [`HostCode::PluginMemory`].
    pub const PLUGIN_MEMORY: &str = HostCode::PluginMemory.as_str();
    /// See [`HostCode::PluginOutput`].
    pub const PLUGIN_OUTPUT: &str = HostCode::PluginOutput.as_str();
    /// See [`HostCode::PluginInvalidCode`].
    pub const PLUGIN_INVALID_CODE: &str = HostCode::PluginInvalidCode.as_str();
    /// See [`HostCode::MoreProblems`].
    pub const MORE_PROBLEMS: &str = HostCode::MoreProblems.as_str();
    /// See [`HostCode::ReportTruncated`].
    pub const REPORT_TRUNCATED: &str = HostCode::ReportTruncated.as_str();

    /// The codes of a plugin's own failures, as `/metrics` counts them.
    pub const PLUGIN_FAULTS: [&str; 4] =
        [PLUGIN_TRAP, PLUGIN_TIMEOUT, PLUGIN_MEMORY, PLUGIN_OUTPUT];

    // Why a whole file stopped early (`error_code` of a file summary).

    /// See [`HostCode::InputUnreadable`].
    pub const INPUT_UNREADABLE: &str = HostCode::InputUnreadable.as_str();
    /// See [`HostCode::RowsLimit`].
    pub const ROWS_LIMIT: &str = HostCode::RowsLimit.as_str();
    /// See [`HostCode::TimeLimit`].
    pub const TIME_LIMIT: &str = HostCode::TimeLimit.as_str();
}

#[cfg(test)]
mod code_tests {
    use super::HostCode;

    /// The README's paragraph of host codes, in order.
    fn readme_host_codes() -> Vec<String> {
        let readme = std::path::Path::new(
            &std::env::var("CARGO_MANIFEST_DIR").expect("cargo runs the tests"),
        )
        .join("../../README.md");
        let text = std::fs::read_to_string(readme).unwrap();
        let start = text
            .find("Host codes:")
            .expect("the README lists the host codes");
        let paragraph = &text[start..start + text[start..].find(". The").unwrap()];
        paragraph
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_readme_lists_every_row_code_and_no_other() {
        let rows: Vec<String> = HostCode::ALL
            .into_iter()
            .filter(|code| !code.stops_file())
            .map(|code| code.as_str().to_string())
            .collect();
        assert_eq!(readme_host_codes(), rows);
    }

    #[test]
    fn codes_are_kebab_case_distinct_and_parse_back() {
        for code in HostCode::ALL {
            let text = code.as_str();
            assert!(
                text.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{text}"
            );
            assert_eq!(HostCode::parse(text), Some(code));
        }
        let mut texts: Vec<_> = HostCode::ALL.iter().map(|c| c.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), HostCode::ALL.len());
        assert_eq!(HostCode::parse("missing-field"), None);
    }
}
