//! The plugin manifest: what a provider declares about a converter plugin.

use schemars::JsonSchema;
use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::ManifestError;

/// The manifest shipped beside a plugin's component (`plugin.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginManifest {
    /// The plugin's name: lowercase letters, digits and `-`.
    pub name: String,
    /// The plugin's own version (semver).
    #[schemars(with = "String")]
    pub version: Version,
    /// Who wrote and maintains the plugin.
    pub provider: String,
    /// What the plugin converts, for people.
    #[serde(default)]
    pub description: String,
    /// The WebAssembly component and its digest.
    pub component: ComponentRef,
    /// The enterprise format the plugin reads.
    pub input: InputSpec,
    /// The pack and record types the plugin emits.
    pub target: TargetSpec,
    /// Limits the plugin asks for; the host caps each with its own maximum.
    #[serde(default)]
    pub limits: PluginLimits,
}

/// The component file of a plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentRef {
    /// File name of the component, relative to the manifest.
    pub file: String,
    /// Lowercase hex SHA-256 of the component's bytes.
    pub sha256: String,
}

/// How the host decodes the plugin's input files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Character encoding of the files.
    #[serde(default)]
    pub encoding: TextEncoding,
    /// Glob patterns of file names this plugin claims when converting a folder.
    #[serde(default)]
    pub files: Vec<String>,
    /// The file format and its options.
    pub format: InputFormat,
    /// How a workbook (.xlsx, .xls, .ods) given to a CSV plugin is read:
    /// which sheet, which row names the columns. A CSV plugin reads a
    /// workbook without it too (the first sheet, the CSV's header row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spreadsheet: Option<SpreadsheetOptions>,
}

/// Which sheet of a workbook holds the table, and where its header is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpreadsheetOptions {
    /// The sheet: its name as its tab shows it (`"出货明细"`), or its place
    /// among the tabs counted from 1. Default: the first sheet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<SheetRef>,
    /// The sheet row (numbered as the sheet numbers it, from 1) holding the
    /// column names; the rows above it are not records. `0`: no header
    /// row, the CSV format's `columns` name the columns. Default: the CSV
    /// format's `header_row`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u32>,
}

/// A sheet of a workbook, by name or by its place among the tabs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SheetRef {
    /// The sheet's place among the tabs, from 1.
    Index(u32),
    /// The sheet's name.
    Name(String),
}

impl std::fmt::Display for SheetRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SheetRef::Index(i) => write!(f, "sheet {i}"),
            SheetRef::Name(name) => write!(f, "sheet \"{name}\""),
        }
    }
}

/// Character encodings the host decodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TextEncoding {
    /// UTF-8, with or without a byte-order mark.
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// GB18030, the default of Chinese-locale spreadsheet programs (a UTF-8
    /// BOM, if any, wins; a UTF-16 one stops the file with `encoding`).
    Gb18030,
    /// GBK, the two-byte subset of GB18030.
    Gbk,
}

impl TextEncoding {
    /// The encoding's name for people.
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Gb18030 => "GB18030",
            TextEncoding::Gbk => "GBK",
        }
    }
}

/// A file format with its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum InputFormat {
    /// Delimited text: a header row (or columns named in the manifest),
    /// then one record per row.
    Csv(CsvOptions),
    /// XML with one record per element at a path.
    Xml(XmlOptions),
    /// One JSON array whose elements are the records.
    Json,
    /// One JSON value per line; blank lines are not records.
    Ndjson,
    /// Fixed-width text: one record per line, each column at its place.
    #[serde(rename = "fixed-width")]
    FixedWidth(FixedWidthOptions),
}

/// Options of the fixed-width format: where each column stands in a line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixedWidthOptions {
    /// The columns, each with its place.
    pub columns: Vec<FixedColumn>,
    /// Lines at the top that are not records (a title, a header line).
    #[serde(default)]
    pub skip_lines: u32,
}

/// A column of a fixed-width file. Places count characters of the decoded
/// line (a Chinese character is one), from 1; the cell is trimmed of spaces
/// (and U+3000, the ideographic space) at both ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixedColumn {
    /// The column's name (as a CSV header names a column).
    pub name: String,
    /// Its first character, counted from 1.
    pub start: u32,
    /// How many characters it takes.
    pub width: u32,
}

/// The most columns a fixed-width format may name.
pub const MAX_FIXED_COLUMNS: usize = 1024;
/// The furthest character a fixed-width column may reach.
pub const MAX_FIXED_POSITION: u32 = 100_000;

/// Options of the CSV format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// The field delimiter, one ASCII character.
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// The quote character, one ASCII character.
    #[serde(default = "default_quote")]
    pub quote: char,
    /// The row (counted from 1; blank lines are not rows, a quoted cell
    /// over several lines is one row) holding the column names; the rows
    /// above it (a title, a note) are not records, and a file that ends
    /// above it is refused. `0`: the file has no header row,
    /// and `columns` names the columns.
    #[serde(default = "default_header_row")]
    pub header_row: u32,
    /// The columns' names in order, for a file without a header row
    /// (`header_row = 0`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: default_delimiter(),
            quote: default_quote(),
            header_row: default_header_row(),
            columns: Vec::new(),
        }
    }
}

/// The most rows above the header a manifest may skip.
pub const MAX_HEADER_ROW: u32 = 100;

fn default_header_row() -> u32 {
    1
}

fn default_delimiter() -> char {
    ','
}

fn default_quote() -> char {
    '"'
}

/// Options of the XML format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct XmlOptions {
    /// Element names from the root to the record element, joined by `/`
    /// (`PartCatalog/Part`).
    pub record_path: String,
}

/// The pack a plugin targets and what it emits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// The pack's id.
    pub pack: String,
    /// The pack versions the plugin works with (a semver requirement, `^1.0`).
    #[schemars(with = "String")]
    pub versions: VersionReq,
    /// The record types the plugin emits; anything else is refused.
    pub record_types: Vec<String>,
    /// The pack's tables the plugin opens, by name, with the kind it needs
    /// (`colours = "code-list"`): a pack without one of them, or with one
    /// of another kind, is refused when the plugin loads rather than row by
    /// row. Optional (contract 0.2.0).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tables: std::collections::BTreeMap<String, crate::pack::TableKind>,
}

/// The most memory any plugin instance may have, whatever the configuration (MiB).
pub const MAX_MEMORY_MIB: u32 = 512;

/// Resource limits of a plugin. Missing values take the defaults below; the
/// host caps every value at its own maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PluginLimits {
    /// Linear memory of one instance, in MiB (default 64).
    pub memory_mib: u32,
    /// Wall time of one batch call, in milliseconds (default 2000).
    pub batch_millis: u32,
    /// Bytes of output the plugin may return per input record (default 64 KiB).
    pub output_bytes_per_record: u32,
    /// Records the plugin may emit per input record (default 16).
    pub records_per_input: u32,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            memory_mib: 64,
            batch_millis: 2000,
            output_bytes_per_record: 64 * 1024,
            records_per_input: 16,
        }
    }
}

impl PluginLimits {
    /// Each limit lowered to `cap`'s where `cap` is stricter.
    pub fn capped_by(self, cap: PluginLimits) -> PluginLimits {
        PluginLimits {
            memory_mib: self.memory_mib.min(cap.memory_mib),
            batch_millis: self.batch_millis.min(cap.batch_millis),
            output_bytes_per_record: self
                .output_bytes_per_record
                .min(cap.output_bytes_per_record),
            records_per_input: self.records_per_input.min(cap.records_per_input),
        }
    }
}

impl PluginManifest {
    /// Parses and checks a manifest from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ManifestError> {
        let manifest: PluginManifest = toml::from_str(text)?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Checks the rules serde cannot express.
    pub fn check(&self) -> Result<(), ManifestError> {
        if !is_plain_name(&self.name) {
            return Err(ManifestError::Invalid(format!(
                "plugin name `{}` must be 1 to 64 lowercase letters, digits or `-`",
                self.name
            )));
        }
        let sha_ok = self.component.sha256.len() == 64
            && self
                .component
                .sha256
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
        if !sha_ok {
            return Err(ManifestError::Invalid(format!(
                "component.sha256 `{}` must be 64 lowercase hex digits",
                self.component.sha256
            )));
        }
        if self.component.file.contains('/')
            || self.component.file.contains('\\')
            || self.component.file.starts_with('.')
        {
            return Err(ManifestError::Invalid(format!(
                "component.file `{}` must be a plain file name beside the manifest",
                self.component.file
            )));
        }
        // The folder's own files: the manifest, and a published mapping.
        if ["plugin.toml", "mapping.toml"].contains(&self.component.file.as_str()) {
            return Err(ManifestError::Invalid(format!(
                "component.file `{}` is a name the plugin's folder keeps for itself: name the .wasm file",
                self.component.file
            )));
        }
        if self.target.record_types.is_empty() {
            return Err(ManifestError::Invalid(
                "target.record_types must name at least one record type".into(),
            ));
        }
        self.input.check()
    }
}

/// Whether `name` may name a plugin or a mapping: 1 to 64 lowercase
/// letters, digits or `-` (it becomes a folder and a URL segment).
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl InputSpec {
    /// Checks the input options serde cannot: one-byte CSV delimiter and
    /// quote, a header row near the top or named columns, an XML record
    /// path of element names.
    pub fn check(&self) -> Result<(), ManifestError> {
        if let InputFormat::Csv(csv) = &self.format {
            for (what, c) in [("delimiter", csv.delimiter), ("quote", csv.quote)] {
                if !c.is_ascii() {
                    return Err(ManifestError::Invalid(format!(
                        "csv {what} `{c}` must be one ASCII character"
                    )));
                }
            }
            check_csv_header(csv)?;
        }
        if let InputFormat::Xml(xml) = &self.format {
            if xml.record_path.split('/').any(str::is_empty) {
                return Err(ManifestError::Invalid(format!(
                    "xml record_path `{}` must be element names joined by `/`",
                    xml.record_path
                )));
            }
        }
        if let InputFormat::FixedWidth(fixed) = &self.format {
            check_fixed_width(fixed)?;
        }
        if let Some(spreadsheet) = &self.spreadsheet {
            check_spreadsheet(spreadsheet, &self.format)?;
        }
        Ok(())
    }

    /// The sheet row holding the column names when a workbook is read
    /// (0: none, the CSV format's `columns` name them).
    pub fn sheet_header_row(&self) -> u32 {
        let csv_header = match &self.format {
            InputFormat::Csv(csv) => csv.header_row,
            _ => default_header_row(),
        };
        self.spreadsheet
            .as_ref()
            .and_then(|s| s.header_row)
            .unwrap_or(csv_header)
    }
}

/// `[input.spreadsheet]` is for CSV plugins, names a sheet plainly and a
/// header row near the top, and has `columns` to name when it has none.
fn check_spreadsheet(
    spreadsheet: &SpreadsheetOptions,
    format: &InputFormat,
) -> Result<(), ManifestError> {
    let bad = |why: String| Err(ManifestError::Invalid(format!("spreadsheet {why}")));
    let InputFormat::Csv(csv) = format else {
        return bad(
            "options are for CSV plugins: a CSV plugin also reads the table saved as a workbook"
                .into(),
        );
    };
    match &spreadsheet.sheet {
        Some(SheetRef::Index(0)) => return bad("sheet counts from 1 (the first tab)".into()),
        Some(SheetRef::Name(name)) if name.trim().is_empty() || name.chars().count() > 100 => {
            return bad(format!("sheet name `{name}` must be 1 to 100 characters"));
        }
        _ => {}
    }
    match spreadsheet.header_row {
        Some(row) if row > MAX_HEADER_ROW => bad(format!(
            "header_row {row} is past row {MAX_HEADER_ROW}: the header must be near the top"
        )),
        Some(0) if csv.columns.is_empty() => bad(
            "header_row = 0 (no header row) needs the csv format's `columns`, the columns' names in order".into(),
        ),
        _ => Ok(()),
    }
}

/// Fixed-width columns: named once each, at places within a line.
fn check_fixed_width(fixed: &FixedWidthOptions) -> Result<(), ManifestError> {
    let bad = |why: String| Err(ManifestError::Invalid(format!("fixed-width {why}")));
    if fixed.columns.is_empty() || fixed.columns.len() > MAX_FIXED_COLUMNS {
        return bad(format!(
            "columns: name 1 to {MAX_FIXED_COLUMNS} columns, each with `name`, `start` and `width`"
        ));
    }
    if fixed.skip_lines > MAX_HEADER_ROW {
        return bad(format!(
            "skip_lines {} is more than the {MAX_HEADER_ROW} lines a file may start with",
            fixed.skip_lines
        ));
    }
    for (i, column) in fixed.columns.iter().enumerate() {
        if column.name.trim().is_empty() {
            return bad(format!("column {} has no name", i + 1));
        }
        if fixed.columns[..i].iter().any(|c| c.name == column.name) {
            return bad(format!("column `{}` is named twice", column.name));
        }
        let end = u64::from(column.start) + u64::from(column.width);
        if column.start == 0 || column.width == 0 || end > u64::from(MAX_FIXED_POSITION) {
            return bad(format!(
                "column `{}`: `start` counts from 1, `width` is at least 1, and the column ends by character {MAX_FIXED_POSITION}",
                column.name
            ));
        }
    }
    Ok(())
}

/// `header_row` and `columns` agree: names come from one place only.
fn check_csv_header(csv: &CsvOptions) -> Result<(), ManifestError> {
    if csv.header_row > MAX_HEADER_ROW {
        return Err(ManifestError::Invalid(format!(
            "csv header_row {} is past row {MAX_HEADER_ROW}: the header must be near the top",
            csv.header_row
        )));
    }
    match (csv.header_row, csv.columns.is_empty()) {
        (0, true) => Err(ManifestError::Invalid(
            "csv header_row = 0 (no header row) needs `columns`, the columns' names in order"
                .into(),
        )),
        (1.., false) => Err(ManifestError::Invalid(format!(
            "csv columns are for a file without a header row: set header_row = 0, or drop columns to take the names from row {}",
            csv.header_row
        ))),
        _ => {
            let mut seen = std::collections::BTreeSet::new();
            for name in &csv.columns {
                if name.trim().is_empty() || name.trim() != name {
                    return Err(ManifestError::Invalid(format!(
                        "csv column name `{name}` must be non-empty, without spaces around it"
                    )));
                }
                if !seen.insert(name) {
                    return Err(ManifestError::Invalid(format!(
                        "csv column `{name}` is named twice"
                    )));
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "demo"
version = "0.1.0"
provider = "Example"
[component]
file = "demo.wasm"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
[input]
format = "ndjson"
[target]
pack = "sample-regional"
versions = "^1"
record_types = ["part"]
"#;

    #[test]
    fn minimal_manifest_takes_defaults() {
        let m = PluginManifest::from_toml(MINIMAL).unwrap();
        assert_eq!(m.input.encoding, TextEncoding::Utf8);
        assert_eq!(m.input.format, InputFormat::Ndjson);
        assert_eq!(m.limits, PluginLimits::default());
    }

    #[test]
    fn unknown_field_is_an_error_naming_it() {
        let text = MINIMAL.replace(
            "provider = \"Example\"",
            "provider = \"Example\"\nauthor = \"x\"",
        );
        let err = PluginManifest::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("unknown field `author`"), "{err}");
    }

    #[test]
    fn csv_options_parse() {
        let text = MINIMAL.replace(
            "format = \"ndjson\"",
            "encoding = \"gb18030\"\n[input.format.csv]\ndelimiter = \";\"",
        );
        let m = PluginManifest::from_toml(&text).unwrap();
        assert_eq!(m.input.encoding, TextEncoding::Gb18030);
        assert_eq!(
            m.input.format,
            InputFormat::Csv(CsvOptions {
                delimiter: ';',
                quote: '"',
                header_row: 1,
                columns: Vec::new(),
            })
        );
    }

    #[test]
    fn csv_header_options_agree_or_are_refused() {
        let with = |options: &str| {
            PluginManifest::from_toml(&MINIMAL.replace(
                "format = \"ndjson\"",
                &format!("[input.format.csv]\n{options}"),
            ))
        };
        let m = with("header_row = 0\ncolumns = [\"sku\", \"名称\"]").unwrap();
        let InputFormat::Csv(csv) = m.input.format else {
            panic!("csv")
        };
        assert_eq!((csv.header_row, csv.columns.len()), (0, 2));
        assert_eq!(
            with("header_row = 3").map(|m| m.input.format).ok(),
            Some(InputFormat::Csv(CsvOptions {
                header_row: 3,
                ..CsvOptions::default()
            }))
        );
        for (options, why) in [
            ("header_row = 0", "needs `columns`"),
            ("columns = [\"a\"]", "set header_row = 0"),
            ("header_row = 0\ncolumns = [\"a\", \"a\"]", "named twice"),
            ("header_row = 0\ncolumns = [\" a\"]", "without spaces"),
            ("header_row = 101", "near the top"),
        ] {
            let err = with(options).unwrap_err().to_string();
            assert!(err.contains(why), "{options}: {err}");
        }
    }

    #[test]
    fn fixed_width_columns_parse_and_are_checked() {
        let fixed = MINIMAL.replace(
            "format = \"ndjson\"",
            "[input.format.fixed-width]\nskip_lines = 1\ncolumns = [{ name = \"编号\", start = 1, width = 8 }, { name = \"名称\", start = 9, width = 6 }]",
        );
        let m = PluginManifest::from_toml(&fixed).unwrap();
        let InputFormat::FixedWidth(options) = &m.input.format else {
            panic!("fixed-width: {:?}", m.input.format)
        };
        assert_eq!((options.columns.len(), options.skip_lines), (2, 1));
        for (bad, words) in [
            ("{ name = \"名称\", start = 9, width = 6 }", "named twice"),
            ("{ name = \"数量\", start = 0, width = 6 }", "counts from 1"),
            ("{ name = \"数量\", start = 9, width = 0 }", "at least 1"),
            ("{ name = \" \", start = 9, width = 2 }", "has no name"),
        ] {
            let text = fixed.replace(
                "{ name = \"名称\", start = 9, width = 6 }",
                &format!("{{ name = \"名称\", start = 9, width = 6 }}, {bad}"),
            );
            let err = PluginManifest::from_toml(&text).unwrap_err().to_string();
            assert!(err.contains(words), "{bad}: {err}");
        }
    }

    #[test]
    fn bad_digest_and_name_are_refused() {
        let text = MINIMAL.replace(
            "0000000000000000000000000000000000000000000000000000000000000000",
            "abc",
        );
        assert!(PluginManifest::from_toml(&text)
            .unwrap_err()
            .to_string()
            .contains("sha256"));
        let text = MINIMAL.replace("name = \"demo\"", "name = \"Demo Plugin\"");
        assert!(PluginManifest::from_toml(&text)
            .unwrap_err()
            .to_string()
            .contains("plugin name"));
    }

    #[test]
    fn limits_are_capped() {
        let asked = PluginLimits {
            memory_mib: 4096,
            batch_millis: 10,
            ..PluginLimits::default()
        };
        let capped = asked.capped_by(PluginLimits::default());
        assert_eq!(capped.memory_mib, 64);
        assert_eq!(capped.batch_millis, 10);
    }
}
