//! A mapping checked against the pack it targets before it runs: every
//! field, table, unit and pattern it names, each problem with the line of
//! the mapping file where the name stands.

use std::path::Path;

use conform_model::pack::TableKind;
use conform_model::RowFields;
use conform_pack::Pack;
use serde_json::Value;
use toml::Spanned;

use crate::format::{FieldMapping, MappingFile, ValueKind};
use crate::{Located, MappingProblems};

/// Where in the file a name stands, and the text, for the messages.
struct Lines<'t> {
    text: &'t str,
}

impl Lines<'_> {
    /// The 1-based line of byte `at`.
    fn line(&self, at: usize) -> usize {
        let at = at.min(self.text.len());
        self.text.as_bytes()[..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn of<T>(&self, spanned: &Spanned<T>) -> usize {
        self.line(spanned.span().start)
    }
}

/// Parses mapping `text` (the file `file`, for messages); every problem of
/// syntax or shape is one [`Located`] problem.
pub fn parse(file: &str, text: &str) -> Result<MappingFile, MappingProblems> {
    let lines = Lines { text };
    let mut mapping = toml::from_str::<MappingFile>(text).map_err(|e| {
        let line = e.span().map_or(1, |span| lines.line(span.start));
        MappingProblems::new(
            file,
            vec![Located {
                line,
                message: e.message().trim().to_string(),
            }],
        )
    })?;
    // A record's fields are written in the file's order (the reader sorts
    // a table's keys).
    mapping
        .fields
        .sort_by_cached_key(|field, _| field.span().start);
    Ok(mapping)
}

/// The mapping's problems against `pack`: empty when it may run.
pub fn check(mapping: &MappingFile, text: &str, pack: &Pack) -> Vec<Located> {
    let lines = Lines { text };
    let mut problems = Vec::new();
    let mut problem = |line: usize, message: String| problems.push(Located { line, message });

    let name = mapping.name.get_ref();
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !plain {
        problem(
            lines.of(&mapping.name),
            format!("the name `{name}` must be 1 to 64 lowercase letters, digits or `-`"),
        );
    }
    let manifest = pack.manifest();
    if mapping.target.pack.get_ref() != &manifest.id {
        problem(
            lines.of(&mapping.target.pack),
            format!(
                "the mapping targets pack `{}`, but the pack given is `{}`",
                mapping.target.pack.get_ref(),
                manifest.id
            ),
        );
        return problems;
    }
    if !mapping.target.versions.matches(&manifest.version) {
        problem(
            lines.of(&mapping.target.pack),
            format!(
                "pack `{}` {} is not in the versions the mapping targets ({})",
                manifest.id, manifest.version, mapping.target.versions
            ),
        );
    }
    let record_type = mapping.target.record_type.get_ref();
    let Some(schema) = record_schema(pack, record_type) else {
        let known: Vec<&str> = pack.record_types().collect();
        problem(
            lines.of(&mapping.target.record_type),
            format!(
                "pack `{}` has no record type `{record_type}`; it has: {}",
                manifest.id,
                known.join(", ")
            ),
        );
        return problems;
    };
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (field, mapping) in &mapping.fields {
        let at = lines.of(field);
        let Some(property) = properties.get(field.get_ref()) else {
            let known: Vec<&str> = properties.keys().map(String::as_str).collect();
            problem(
                at,
                format!(
                    "`{}` is not a field of record type `{record_type}`; its fields: {}",
                    field.get_ref(),
                    known.join(", ")
                ),
            );
            continue;
        };
        let checker = FieldCheck {
            lines: &lines,
            pack,
            record_type,
            field: field.get_ref(),
            at,
            property,
        };
        for (line, message) in checker.check(mapping.get_ref()) {
            problem(line, message);
        }
    }
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let unmapped: Vec<&str> = required
        .iter()
        .filter_map(Value::as_str)
        .filter(|name| !mapping.fields.keys().any(|f| f.get_ref() == name))
        .collect();
    if !unmapped.is_empty() {
        problem(
            lines.of(&mapping.target.record_type),
            format!(
                "record type `{record_type}` requires fields the mapping does not make: {} (add a `[fields.<name>]` for each)",
                unmapped.join(", ")
            ),
        );
    }
    problems
}

/// The JSON Schema of `record_type` in `pack`, if it has one.
fn record_schema(pack: &Pack, record_type: &str) -> Option<Value> {
    let file = pack.manifest().record_types.get(record_type)?;
    let text = std::fs::read_to_string(pack.dir().join(file)).ok()?;
    serde_json::from_str(&text).ok()
}

/// One field's mapping checked against its schema and the pack's tables.
struct FieldCheck<'c> {
    lines: &'c Lines<'c>,
    pack: &'c Pack,
    record_type: &'c str,
    field: &'c str,
    /// The line of the field's table.
    at: usize,
    property: &'c Value,
}

impl FieldCheck<'_> {
    fn check(&self, mapping: &FieldMapping) -> Vec<(usize, String)> {
        let mut problems = Vec::new();
        let field = self.field;
        let sources = [
            mapping.column.as_ref().map(|s| self.lines.of(s)),
            mapping.pointer.as_ref().map(|s| self.lines.of(s)),
            mapping.constant.as_ref().map(|s| self.lines.of(s)),
        ];
        let given: Vec<usize> = sources.iter().flatten().copied().collect();
        match given.as_slice() {
            [] => problems.push((
                self.at,
                format!("field `{field}` has no source: give it a `column`, a `pointer` or a `constant`"),
            )),
            [_] => {}
            [_, second, ..] => problems.push((
                *second,
                format!("field `{field}` has more than one source: keep one of `column`, `pointer` and `constant`"),
            )),
        }
        if let Some(constant) = &mapping.constant {
            if matches!(
                constant.get_ref(),
                toml::Value::Array(_) | toml::Value::Table(_) | toml::Value::Datetime(_)
            ) {
                problems.push((
                    self.lines.of(constant),
                    format!("the constant of field `{field}` must be text, a number or a boolean"),
                ));
            }
        }
        if let Some(pointer) = &mapping.pointer {
            if !pointer.get_ref().starts_with('/') {
                problems.push((
                    self.lines.of(pointer),
                    format!(
                        "`{}` is not a JSON pointer: it starts with `/` (`/Size/@length`)",
                        pointer.get_ref()
                    ),
                ));
            }
        }
        if let Some(pattern) = &mapping.pattern {
            if let Err(e) = regex_syntax::Parser::new().parse(pattern.get_ref()) {
                problems.push((
                    self.lines.of(pattern),
                    format!("the `match` of field `{field}` is not a regular expression: {e}"),
                ));
            }
        }
        let conversions: Vec<(&str, usize)> = [
            ("unit", mapping.unit.as_ref().map(|s| self.lines.of(s))),
            (
                "unit_column",
                mapping.unit_column.as_ref().map(|s| self.lines.of(s)),
            ),
            (
                "code_list",
                mapping.code_list.as_ref().map(|s| self.lines.of(s)),
            ),
            (
                "term_levels",
                mapping.term_levels.as_ref().map(|s| self.lines.of(s)),
            ),
            (
                "thresholds",
                mapping.thresholds.as_ref().map(|s| self.lines.of(s)),
            ),
            ("date", mapping.date.as_ref().map(|s| self.lines.of(s))),
            ("time", mapping.time.as_ref().map(|s| self.lines.of(s))),
        ]
        .into_iter()
        .filter_map(|(name, line)| line.map(|l| (name, l)))
        .collect();
        if let [(first, _), (second, line), ..] = conversions.as_slice() {
            problems.push((
                *line,
                format!("field `{field}` has both `{first}` and `{second}`: a field takes one conversion"),
            ));
        }
        self.check_tables(mapping, &mut problems);
        self.check_kind(mapping, &mut problems);
        problems
    }

    /// The tables a field names exist with the kind it uses them as; a
    /// unit is one the catalogue converts to this field's unit.
    fn check_tables(&self, mapping: &FieldMapping, problems: &mut Vec<(usize, String)>) {
        let named = [
            (&mapping.code_list, TableKind::CodeList),
            (&mapping.term_levels, TableKind::TermLevels),
            (&mapping.thresholds, TableKind::Thresholds),
        ];
        for (name, kind) in named {
            if let Some(name) = name {
                if let Err(why) = self.table(Some(name), kind) {
                    problems.push((self.lines.of(name), why));
                }
            }
        }
        let scoped = mapping.code_list.is_some() || mapping.term_levels.is_some();
        for scope in [&mapping.scope, &mapping.scope_column]
            .into_iter()
            .flatten()
        {
            if !scoped {
                problems.push((
                    self.lines.of(scope),
                    format!(
                        "field `{}` has a scope but no `code_list` or `term_levels` to look it up in",
                        self.field
                    ),
                ));
            }
        }
        if mapping.unit.is_some() || mapping.unit_column.is_some() {
            let at = mapping.units.as_ref().map_or(self.at, |u| self.lines.of(u));
            match self.table(mapping.units.as_ref(), TableKind::UnitCatalogue) {
                Err(why) => problems.push((at, why)),
                Ok(table) => {
                    if let Some(unit) = &mapping.unit {
                        self.check_unit(&table, unit, problems);
                    }
                }
            }
        }
        if mapping.date.is_some() || mapping.time.is_some() {
            let at = mapping
                .time_format
                .as_ref()
                .map_or(self.at, |t| self.lines.of(t));
            if let Err(why) = self.table(mapping.time_format.as_ref(), TableKind::TimeFormat) {
                problems.push((at, why));
            }
        }
    }

    /// A fixed unit the catalogue converts to the field's canonical unit.
    fn check_unit(&self, table: &str, unit: &Spanned<String>, problems: &mut Vec<(usize, String)>) {
        let Some(units) = self.pack.standard().tables().units(table) else {
            return;
        };
        if let Err(e) = units.to_canonical("1", unit.get_ref(), self.record_type, self.field) {
            problems.push((
                self.lines.of(unit),
                format!("field `{}`: {}", self.field, e.message),
            ));
        }
    }

    /// The table `name` of `kind`; without a name, the pack's only table
    /// of that kind.
    fn table(&self, name: Option<&Spanned<String>>, kind: TableKind) -> Result<String, String> {
        let tables = self.pack.standard().tables();
        match name {
            Some(name) => match tables.get(name.get_ref()) {
                Some(table) if table.kind() == kind => Ok(name.get_ref().clone()),
                Some(table) => Err(format!(
                    "table `{}` is a {}, not a {}",
                    name.get_ref(),
                    table.kind().name(),
                    kind.name()
                )),
                None => Err(format!(
                    "pack `{}` has no table `{}`; its {} tables: {}",
                    self.pack.manifest().id,
                    name.get_ref(),
                    kind.name(),
                    self.of_kind(kind).join(", ")
                )),
            },
            None => match self.of_kind(kind).as_slice() {
                [only] => Ok(only.clone()),
                [] => Err(format!(
                    "field `{}` needs a {} table, and pack `{}` has none",
                    self.field,
                    kind.name(),
                    self.pack.manifest().id
                )),
                several => Err(format!(
                    "field `{}`: pack `{}` has several {} tables ({}); name one",
                    self.field,
                    self.pack.manifest().id,
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
    fn check_kind(&self, mapping: &FieldMapping, problems: &mut Vec<(usize, String)>) {
        let Some(kind) = &mapping.kind else {
            return;
        };
        let wanted = self.property.get("type").and_then(Value::as_str);
        let fits = match (kind.get_ref(), wanted) {
            (_, None) => true,
            (ValueKind::Text, Some(t)) => t == "string",
            (ValueKind::Decimal, Some(t)) => t == "number",
            (ValueKind::Integer, Some(t)) => t == "integer" || t == "number",
            (ValueKind::Boolean, Some(t)) => t == "boolean",
        };
        if !fits {
            problems.push((
                self.lines.of(kind),
                format!(
                    "field `{}` holds a {} in the record type's schema, not {}",
                    self.field,
                    wanted.unwrap_or("value"),
                    kind.get_ref().name()
                ),
            ));
        }
    }
}

/// Rows of a sample read for its columns: enough to see a key that only
/// some rows have, few enough to read any sample at once.
pub const SAMPLE_ROWS: usize = 1000;

/// The columns of `sample` (a file of the mapping's input format) its
/// first [`SAMPLE_ROWS`] rows have: a CSV file's header, the top-level
/// keys of JSON, NDJSON and XML rows. `Err` says why the sample cannot be
/// read as the mapping's input.
pub fn sample_columns(mapping: &MappingFile, sample: &Path) -> Result<Vec<String>, String> {
    let file = std::fs::File::open(sample)
        .map_err(|e| format!("cannot read the sample `{}`: {e}", sample.display()))?;
    let rows = conform_decode::decode(
        file,
        &mapping.input.format,
        mapping.input.encoding,
        conform_decode::DecodeLimits::default(),
    );
    let mut columns: Vec<String> = Vec::new();
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
        let names: Vec<String> = match &record.fields {
            RowFields::Cells(cells) => cells.header().iter().cloned().collect(),
            RowFields::Json(text) => serde_json::from_str::<serde_json::Map<String, Value>>(text)
                .map(|object| object.keys().cloned().collect())
                .unwrap_or_default(),
        };
        for name in names {
            if !columns.contains(&name) {
                columns.push(name);
            }
        }
    }
    Ok(columns)
}

/// Every column the mapping names (a field's source, its unit's or its
/// scope's column) that `columns`, a sample's, lacks: each at its line.
pub fn check_columns(
    mapping: &MappingFile,
    text: &str,
    sample: &str,
    columns: &[String],
) -> Vec<Located> {
    let lines = Lines { text };
    let mut problems = Vec::new();
    for (field, spec) in &mapping.fields {
        let spec = spec.get_ref();
        let named = [&spec.column, &spec.unit_column, &spec.scope_column];
        for column in named.into_iter().flatten() {
            if !columns.iter().any(|c| c == column.get_ref()) {
                problems.push(Located {
                    line: lines.of(column),
                    message: format!(
                        "field `{}`: the sample `{sample}` has no column `{}`; its columns: {}",
                        field.get_ref(),
                        column.get_ref(),
                        columns.join(", ")
                    ),
                });
            }
        }
    }
    problems
}
