//! A mapping checked against the pack it targets before it runs: every
//! field, table, unit and pattern it names, each problem with the line of
//! the mapping file where the name stands; and, given a sample export,
//! every column it names.

use std::io::Read;
use std::path::Path;

use conform_model::pack::TableKind;
use conform_model::RowFields;
use conform_pack::{Pack, SchemaFields};
use indexmap::IndexSet;
use serde_json::Value;
use toml::Spanned;

use crate::format::{FieldMapping, Lines, MappingFile, ValueKind};
use crate::Located;

/// The longest `match` pattern (bytes): a pattern is a line, and a long
/// one of Unicode classes costs the parser memory by the kilobyte.
pub const MAX_PATTERN_BYTES: usize = 1024;

/// Why `pattern` cannot be a `match`: too long, or no regular expression.
pub(crate) fn pattern_problem(pattern: &str) -> Result<(), String> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(format!(
            "is {} bytes long, more than {MAX_PATTERN_BYTES}",
            pattern.len()
        ));
    }
    // Compiled as the interpreter compiles it, under the same size limit,
    // so that a pattern that passes here runs there.
    regex::RegexBuilder::new(pattern)
        .size_limit(crate::program::PATTERN_SIZE_LIMIT)
        .build()
        .map(drop)
        .map_err(|e| format!("is not a regular expression that can run here: {e}"))
}

/// Problems found so far, each at a line.
struct Found<'l> {
    lines: &'l Lines,
    problems: Vec<Located>,
}

impl Found<'_> {
    fn at(&mut self, line: usize, message: String) {
        self.problems.push(Located { line, message });
    }

    fn at_span<T>(&mut self, spanned: &Spanned<T>, message: String) {
        let line = self.lines.of(spanned);
        self.at(line, message);
    }

    /// Of keys that exclude one another (`given`, in the file's order),
    /// each after the first, at its line: `message(first, it)`.
    fn each_extra(&mut self, given: &[(&str, usize)], message: impl Fn(&str, &str) -> String) {
        if let [(first, _), rest @ ..] = given {
            for (extra, at) in rest {
                let line = self.lines.line(*at);
                self.at(line, message(first, extra));
            }
        }
    }
}

/// The mapping's problems against `pack`: empty when it may run.
pub fn check(mapping: &MappingFile, text: &str, pack: &Pack) -> Vec<Located> {
    let lines = Lines::of_text(text);
    let mut found = Found {
        lines: &lines,
        problems: Vec::new(),
    };
    let name = mapping.name.get_ref();
    if !conform_model::plugin::is_plain_name(name) {
        found.at_span(
            &mapping.name,
            format!("the name `{name}` must be 1 to 64 lowercase letters, digits or `-`"),
        );
    }
    match mapping.input.get_ref().check() {
        Ok(()) => {}
        Err(conform_model::ManifestError::Invalid(why)) => {
            found.at_span(&mapping.input, format!("[input]: {why}"));
        }
        Err(e) => found.at_span(&mapping.input, format!("[input]: {e}")),
    }
    let manifest = pack.manifest();
    if mapping.target.pack.get_ref() != &manifest.id {
        found.at_span(
            &mapping.target.pack,
            format!(
                "the mapping targets pack `{}`, but the pack given is `{}`",
                mapping.target.pack.get_ref(),
                manifest.id
            ),
        );
        return found.problems;
    }
    if !mapping.target.versions.get_ref().matches(&manifest.version) {
        found.at_span(
            &mapping.target.versions,
            format!(
                "pack `{}` {} is not in the versions the mapping targets ({})",
                manifest.id,
                manifest.version,
                mapping.target.versions.get_ref()
            ),
        );
    }
    let record_type = mapping.target.record_type.get_ref();
    let Some(validator) = pack.validator(record_type) else {
        let known: Vec<&str> = pack.record_types().collect();
        found.at_span(
            &mapping.target.record_type,
            format!(
                "pack `{}` has no record type `{record_type}`; it has: {}",
                manifest.id,
                known.join(", ")
            ),
        );
        return found.problems;
    };
    let schema = SchemaFields::of(validator.schema());
    let mut earlier: Vec<&str> = Vec::new();
    for (field, spec) in &mapping.fields {
        let Some(property) = schema.get(field.get_ref()) else {
            let known: Vec<&str> = schema.properties.iter().map(|(name, _)| *name).collect();
            found.at_span(
                field,
                format!(
                    "`{}` is not a field of record type `{record_type}`; its fields: {}",
                    field.get_ref(),
                    known.join(", ")
                ),
            );
            continue;
        };
        FieldCheck {
            pack,
            record_type,
            field: field.get_ref(),
            at: lines.of(field),
            property,
            required: schema.requires(field.get_ref()),
            earlier: &earlier,
        }
        .check(spec.get_ref(), &mut found);
        earlier.push(field.get_ref());
    }
    let unmapped: Vec<&str> = schema
        .required
        .iter()
        .copied()
        .filter(|name| !mapping.fields.keys().any(|f| f.get_ref() == name))
        .collect();
    if !unmapped.is_empty() {
        found.at_span(
            &mapping.target.record_type,
            format!(
                "record type `{record_type}` requires fields the mapping does not make: {} (add a `[fields.<name>]` for each)",
                unmapped.join(", ")
            ),
        );
    }
    found.problems
}

/// One field's mapping checked against its schema and the pack's tables.
pub(crate) struct FieldCheck<'c> {
    pub(crate) pack: &'c Pack,
    pub(crate) record_type: &'c str,
    pub(crate) field: &'c str,
    /// The line of the field's name.
    pub(crate) at: usize,
    pub(crate) property: &'c Value,
    /// Whether the schema requires the field.
    pub(crate) required: bool,
    /// The fields made before it (in the file's order).
    pub(crate) earlier: &'c [&'c str],
}

/// The keys given among `keys` (each with its span, if given), with the
/// byte where each stands, in the file's order.
fn given(keys: &[(&'static str, Option<std::ops::Range<usize>>)]) -> Vec<(&'static str, usize)> {
    let mut given: Vec<(&'static str, usize)> = keys
        .iter()
        .filter_map(|(name, span)| span.as_ref().map(|s| (*name, s.start)))
        .collect();
    given.sort_by_key(|(_, at)| *at);
    given
}

/// The text of a key, if given.
pub(crate) fn text_of(value: &Option<Spanned<String>>) -> Option<&str> {
    value.as_ref().map(|s| s.get_ref().as_str())
}

fn span<T>(value: &Option<Spanned<T>>) -> Option<std::ops::Range<usize>> {
    value.as_ref().map(Spanned::span)
}

impl FieldCheck<'_> {
    fn check(&self, spec: &FieldMapping, found: &mut Found<'_>) {
        let field = self.field;
        let sources = given(&[
            ("column", span(&spec.column)),
            ("pointer", span(&spec.pointer)),
            ("constant", span(&spec.constant)),
            ("expr", span(&spec.expr)),
        ]);
        if sources.is_empty() {
            found.at(
                self.at,
                format!("field `{field}` has no source: give it a `column`, a `pointer`, a `constant` or an `expr`"),
            );
        }
        found.each_extra(&sources, |first, second| {
            format!("field `{field}` has both `{first}` and `{second}`: keep one source")
        });
        let conversions = given(&[
            ("unit", span(&spec.unit)),
            ("unit_column", span(&spec.unit_column)),
            ("unit_pointer", span(&spec.unit_pointer)),
            ("code_list", span(&spec.code_list)),
            ("term_levels", span(&spec.term_levels)),
            ("thresholds", span(&spec.thresholds)),
            ("date", span(&spec.date)),
            ("time", span(&spec.time)),
        ]);
        found.each_extra(&conversions, |first, second| {
            format!(
                "field `{field}` has both `{first}` and `{second}`: a field takes one conversion"
            )
        });
        self.check_values(spec, found);
        self.check_companions(spec, found);
        self.check_tables(spec, found);
        self.check_kind(spec, found);
    }

    /// The constant, the pointer and the pattern are well formed.
    fn check_values(&self, spec: &FieldMapping, found: &mut Found<'_>) {
        let field = self.field;
        if let Some(constant) = &spec.constant {
            let why = match constant.get_ref() {
                toml::Value::Array(_) | toml::Value::Table(_) | toml::Value::Datetime(_) => {
                    Some("must be text, a number or a boolean")
                }
                toml::Value::Float(f) if !f.is_finite() => Some("must be a finite number"),
                _ => None,
            };
            if let Some(why) = why {
                found.at_span(constant, format!("the constant of field `{field}` {why}"));
            }
        }
        for pointer in [&spec.pointer, &spec.unit_pointer, &spec.scope_pointer]
            .into_iter()
            .flatten()
        {
            if !pointer.get_ref().starts_with('/') {
                found.at_span(
                    pointer,
                    format!(
                        "`{}` is not a JSON pointer: it starts with `/` (`/Size/@length`)",
                        pointer.get_ref()
                    ),
                );
            }
        }
        if let Some(expr) = &spec.expr {
            if let Err(problems) = self.expression(expr.get_ref()) {
                for why in problems {
                    found.at_span(expr, format!("the `expr` of field `{field}`: {why}"));
                }
            }
        }
        if let Some(pattern) = &spec.pattern {
            if let Err(why) = pattern_problem(pattern.get_ref()) {
                found.at_span(pattern, format!("the `match` of field `{field}` {why}"));
            }
        }
    }

    /// Keys that only mean something beside another: a catalogue without
    /// a unit, a time format without a date or time, a scope without a
    /// table to look up in, two scopes; and `optional` where the schema
    /// requires the field.
    fn check_companions(&self, spec: &FieldMapping, found: &mut Found<'_>) {
        let field = self.field;
        let unit = spec.unit_source();
        if let (Some(units), None) = (&spec.units, unit) {
            found.at_span(
                units,
                format!("field `{field}` names a unit catalogue but no `unit`, `unit_column` or `unit_pointer` (did you mean `unit`?)"),
            );
        }
        if let Some(format) = &spec.time_format {
            if spec.date.is_none() && spec.time.is_none() {
                found.at_span(
                    format,
                    format!("field `{field}` names a time format but no `date` or `time` pattern"),
                );
            }
        }
        let scoped = spec.code_list.is_some() || spec.term_levels.is_some();
        let scopes = given(&[
            ("scope", span(&spec.scope)),
            ("scope_column", span(&spec.scope_column)),
            ("scope_pointer", span(&spec.scope_pointer)),
        ]);
        if let (false, Some((_, at))) = (scoped, scopes.first()) {
            found.at(
                found.lines.line(*at),
                format!("field `{field}` has a scope but no `code_list` or `term_levels` to look it up in"),
            );
        }
        found.each_extra(&scopes, |first, second| {
            format!("field `{field}` has both `{first}` and `{second}`: keep one scope")
        });
        if let Some(optional) = &spec.optional {
            if *optional.get_ref() && self.required {
                found.at_span(
                    optional,
                    format!(
                        "field `{field}` is required by record type `{}`: it cannot be optional",
                        self.record_type
                    ),
                );
            }
        }
    }

    /// The tables a field names exist with the kind it uses them as; a
    /// fixed unit is one the catalogue converts to this field's unit.
    fn check_tables(&self, spec: &FieldMapping, found: &mut Found<'_>) {
        let named = [
            (&spec.code_list, TableKind::CodeList),
            (&spec.term_levels, TableKind::TermLevels),
            (&spec.thresholds, TableKind::Thresholds),
        ];
        for (name, kind) in named {
            if let Some(name) = name {
                if let Err(why) = self.table(Some(name.get_ref()), kind) {
                    found.at_span(name, why);
                }
            }
        }
        let unit = spec.unit_source();
        if let Some(unit) = unit {
            match self.table(text_of(&spec.units), TableKind::UnitCatalogue) {
                Err(why) => found.at_span(spec.units.as_ref().unwrap_or(unit), why),
                Ok(table) => {
                    if let Some(unit) = &spec.unit {
                        self.check_unit(&table, unit, found);
                    }
                }
            }
        }
        if let Some(pattern) = spec.date.as_ref().or(spec.time.as_ref()) {
            match self.table(text_of(&spec.time_format), TableKind::TimeFormat) {
                Err(why) => found.at_span(spec.time_format.as_ref().unwrap_or(pattern), why),
                Ok(table) => {
                    if let Err(why) = self.time_pattern(&table, pattern.get_ref()) {
                        found.at_span(pattern, why);
                    }
                }
            }
        }
    }

    /// The expression `text`, parsed, checked and its tables filled in.
    pub(crate) fn expression(&self, text: &str) -> Result<crate::program::Expr, Vec<String>> {
        let expr = crate::expr::parse(text).map_err(|e| {
            vec![format!(
                "{} (at character {} of the expression)",
                e.message,
                text[..e.at.min(text.len())].chars().count() + 1
            )]
        })?;
        crate::expr::Resolver {
            field: self,
            earlier: self.earlier,
        }
        .resolve(expr)
    }

    /// A pattern the time format `table` reads times with.
    pub(crate) fn time_pattern(&self, table: &str, pattern: &str) -> Result<(), String> {
        match self.pack.standard().tables().get(table) {
            Some(conform_pack::tables::Table::TimeFormat(format)) => format
                .check_pattern(pattern)
                .map_err(|e| format!("field `{}`: {}", self.field, e.message)),
            _ => Ok(()),
        }
    }

    /// A fixed unit the catalogue converts to the field's canonical unit.
    fn check_unit(&self, table: &str, unit: &Spanned<String>, found: &mut Found<'_>) {
        let Some(units) = self.pack.standard().tables().units(table) else {
            return;
        };
        if let Err(e) = units.to_canonical("1", unit.get_ref(), self.record_type, self.field) {
            found.at_span(unit, format!("field `{}`: {}", self.field, e.message));
        }
    }

    /// The table `name` of `kind`; without a name, the pack's only table
    /// of that kind.
    pub(crate) fn table(&self, name: Option<&str>, kind: TableKind) -> Result<String, String> {
        let tables = self.pack.standard().tables();
        let pack = &self.pack.manifest().id;
        match name {
            Some(name) => match tables.get(name) {
                Some(table) if table.kind() == kind => Ok(name.to_string()),
                Some(table) => Err(format!(
                    "table `{name}` is a {}, not a {}",
                    table.kind().name(),
                    kind.name()
                )),
                None => Err(format!(
                    "pack `{pack}` has no table `{name}`; its {} tables: {}",
                    kind.name(),
                    self.of_kind(kind).join(", ")
                )),
            },
            None => match self.of_kind(kind).as_slice() {
                [only] => Ok(only.clone()),
                [] => Err(format!(
                    "field `{}` needs a {} table, and pack `{pack}` has none",
                    self.field,
                    kind.name(),
                )),
                several => Err(format!(
                    "field `{}`: pack `{pack}` has several {} tables ({}); name one",
                    self.field,
                    kind.name(),
                    several.join(", ")
                )),
            },
        }
    }

    fn of_kind(&self, kind: TableKind) -> Vec<String> {
        self.pack
            .standard()
            .tables()
            .iter()
            .filter(|(_, table)| table.kind() == kind)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// A `type` the schema's field can hold: a decimal where it wants a
    /// number, text where it wants a string.
    fn check_kind(&self, spec: &FieldMapping, found: &mut Found<'_>) {
        let Some(kind) = &spec.kind else {
            return;
        };
        let text_from = given(&[
            ("code_list", span(&spec.code_list)),
            ("term_levels", span(&spec.term_levels)),
            ("thresholds", span(&spec.thresholds)),
            ("date", span(&spec.date)),
            ("time", span(&spec.time)),
        ]);
        if let (Some((table, _)), false) = (text_from.first(), *kind.get_ref() == ValueKind::Text) {
            found.at_span(
                kind,
                format!(
                    "field `{}`: `{table}` gives text, not {}; leave `type` out",
                    self.field,
                    kind.get_ref().name()
                ),
            );
            return;
        }
        let wanted = self.property.get("type").and_then(Value::as_str);
        let fits = match (kind.get_ref(), wanted) {
            (_, None) => true,
            (ValueKind::Text, Some(t)) => t == "string",
            (ValueKind::Decimal, Some(t)) => t == "number",
            (ValueKind::Integer, Some(t)) => t == "integer" || t == "number",
            (ValueKind::Boolean, Some(t)) => t == "boolean",
        };
        if !fits {
            found.at_span(
                kind,
                format!(
                    "field `{}` holds a {} in the record type's schema, not {}",
                    self.field,
                    wanted.unwrap_or("value"),
                    kind.get_ref().name()
                ),
            );
        }
    }
}

/// Rows of a sample read for its columns: enough to see a key that only
/// some rows have, few enough to read any sample at once.
pub const SAMPLE_ROWS: usize = 1000;

/// The most of a text sample read for its columns (bytes); a workbook is
/// read whole (a ZIP's directory is at its end), within the decoder's own
/// limit.
pub const SAMPLE_BYTES: u64 = 16 * 1024 * 1024;

/// Columns named in a message, at most: the rest are counted.
const COLUMNS_SHOWN: usize = 24;

/// The columns of `sample` (a file of the mapping's input format): a CSV
/// file's or workbook sheet's header, the top-level keys of the first [`SAMPLE_ROWS`] JSON,
/// NDJSON or XML rows, within the first [`SAMPLE_BYTES`]. `Err` says why
/// the sample cannot be read as the mapping's input.
pub fn sample_columns(mapping: &MappingFile, sample: &Path) -> Result<Vec<String>, String> {
    let file = std::fs::File::open(sample)
        .map_err(|e| format!("cannot read the sample `{}`: {e}", sample.display()))?;
    let input = mapping.input.get_ref();
    let is_workbook = sample.extension().is_some_and(|e| {
        ["xlsx", "xls", "ods"]
            .iter()
            .any(|w| e.eq_ignore_ascii_case(w))
    });
    let limit = if is_workbook { u64::MAX } else { SAMPLE_BYTES };
    let rows = conform_decode::open(
        file.take(limit),
        input,
        conform_decode::DecodeLimits::default(),
        &conform_decode::WorkbookOptions::default(),
    )
    .rows;
    let mut columns: IndexSet<String> = IndexSet::new();
    let mut records = 0;
    for row in rows.take(SAMPLE_ROWS) {
        let row = row.map_err(|e| {
            format!(
                "the sample `{}` cannot be read as the mapping's input: {e}",
                sample.display()
            )
        })?;
        let conform_decode::Decoded::Record(record) = row else {
            continue;
        };
        records += 1;
        match &record.fields {
            // Every row of a CSV file has its header: one is enough.
            RowFields::Cells(cells) => {
                columns.extend(cells.header().iter().cloned());
                break;
            }
            RowFields::Json(text) => {
                if let Ok(object) = serde_json::from_str::<serde_json::Map<String, Value>>(text) {
                    columns.extend(object.into_iter().map(|(key, _)| key));
                }
            }
        }
    }
    if records == 0 {
        return Err(format!(
            "the sample `{}` has no rows to read columns from",
            sample.display()
        ));
    }
    Ok(columns.into_iter().collect())
}

/// Every column the mapping names (a field's source, its unit's or its
/// scope's column) that `columns`, a sample's, lacks: each at its line.
pub fn check_columns(
    mapping: &MappingFile,
    text: &str,
    sample: &str,
    columns: &[String],
) -> Vec<Located> {
    let lines = Lines::of_text(text);
    let mut shown = columns
        .iter()
        .take(COLUMNS_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if columns.len() > COLUMNS_SHOWN {
        shown.push_str(&format!(" and {} more", columns.len() - COLUMNS_SHOWN));
    }
    let mut problems = Vec::new();
    for (field, spec) in &mapping.fields {
        let spec = spec.get_ref();
        let mut named: Vec<(usize, String)> = [&spec.column, &spec.unit_column, &spec.scope_column]
            .into_iter()
            .flatten()
            .map(|column| (lines.of(column), column.get_ref().clone()))
            .collect();
        if let Some(expr) = &spec.expr {
            let mut read = Vec::new();
            if let Ok(parsed) = crate::expr::parse(expr.get_ref()) {
                crate::expr::columns(&parsed, &mut read);
            }
            named.extend(read.into_iter().map(|column| (lines.of(expr), column)));
        }
        for (line, column) in named {
            if !columns.contains(&column) {
                problems.push(Located {
                    line,
                    message: format!(
                        "field `{}`: the sample `{sample}` has no column `{column}`; its columns: {shown}",
                        field.get_ref(),
                    ),
                });
            }
        }
    }
    problems
}
