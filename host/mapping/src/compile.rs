//! A mapping file made into the [`Program`] the interpreter runs: checked
//! first, then every name resolved against the pack (the table a
//! conversion uses when the file leaves it to the pack, the kind the
//! schema gives a field).

use conform_model::pack::TableKind;
use conform_pack::{Pack, SchemaFields};
use serde_json::Value;
use toml::Spanned;

use crate::check::{check, text_of, FieldCheck};
use crate::format::{FieldMapping, MappingFile};
use crate::program::{
    is_plain_decimal, Constant, Conversion, FieldProgram, Place, Program, Source, ValueKind,
    PROGRAM_VERSION,
};
use crate::Located;

/// The program of `mapping` (the file's `text`) against `pack`, or every
/// problem the check found.
pub fn compile(mapping: &MappingFile, text: &str, pack: &Pack) -> Result<Program, Vec<Located>> {
    let problems = check(mapping, text, pack);
    if !problems.is_empty() {
        return Err(problems);
    }
    let record_type = mapping.target.record_type.get_ref();
    let validator = pack
        .validator(record_type)
        .expect("the check found the record type");
    let schema = SchemaFields::of(validator.schema());
    let mut earlier: Vec<&str> = Vec::new();
    let mut fields = Vec::with_capacity(mapping.fields.len());
    for (name, spec) in &mapping.fields {
        let field = name.get_ref();
        let resolver = FieldCheck {
            pack,
            record_type,
            field,
            at: 0,
            property: schema.get(field).expect("the check found the field"),
            required: schema.requires(field),
            earlier: &earlier,
        };
        fields.push(field_program(&resolver, spec.get_ref(), text));
        earlier.push(field);
    }
    Ok(Program {
        version: PROGRAM_VERSION,
        mapping: mapping.name.get_ref().clone(),
        record_type: record_type.clone(),
        fields,
        scope_refusals: scope_refusals(pack),
    })
}

/// The codes with which the pack's tables refuse a scope, each once.
fn scope_refusals(pack: &Pack) -> Vec<String> {
    let mut codes: Vec<String> = pack
        .standard()
        .tables()
        .iter()
        .flat_map(|(_, table)| table.scope_refusals())
        .map(str::to_string)
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

/// One field's program (`text`: the mapping file's, for constants as written).
fn field_program(field: &FieldCheck<'_>, spec: &FieldMapping, text: &str) -> FieldProgram {
    let conversion = conversion(field, spec);
    FieldProgram {
        name: field.field.to_string(),
        source: source(field, spec, text),
        pattern: spec.pattern.as_ref().map(|p| p.get_ref().clone()),
        kind: kind(field.property, spec, &conversion),
        conversion,
        // Optional by default where the schema does not require the field.
        optional: spec
            .optional
            .as_ref()
            .map_or(!field.required, |o| *o.get_ref()),
    }
}

/// Where the field's value comes from; a number constant as the file
/// writes it (`0.050` stays exact), unless written otherwise than as a
/// plain decimal (`1e3`, `1_000`).
fn source(field: &FieldCheck<'_>, spec: &FieldMapping, text: &str) -> Source {
    if let Some(expr) = &spec.expr {
        return Source::Expr(
            field
                .expression(expr.get_ref())
                .expect("the check resolved the expression"),
        );
    }
    if let Some(column) = &spec.column {
        return Source::Column(column.get_ref().clone());
    }
    if let Some(pointer) = &spec.pointer {
        return Source::Pointer(pointer.get_ref().clone());
    }
    let constant = spec.constant.as_ref().expect("the check found a source");
    let written = text.get(constant.span()).unwrap_or_default().trim();
    Source::Constant(match constant.get_ref() {
        toml::Value::String(text) => Constant::Text(text.clone()),
        toml::Value::Integer(n) => Constant::Number(n.to_string()),
        toml::Value::Float(_) if is_plain_decimal(written) => Constant::Number(written.to_string()),
        toml::Value::Float(f) => Constant::Number(f.to_string()),
        toml::Value::Boolean(b) => Constant::Boolean(*b),
        _ => unreachable!("the check refuses other constants"),
    })
}

/// The place of the first of a fixed value, a column and a pointer given.
fn place(
    fixed: &Option<Spanned<String>>,
    column: &Option<Spanned<String>>,
    pointer: &Option<Spanned<String>>,
) -> Option<Place> {
    let text = |s: &Spanned<String>| s.get_ref().clone();
    fixed
        .as_ref()
        .map(|s| Place::Fixed(text(s)))
        .or_else(|| column.as_ref().map(|s| Place::Column(text(s))))
        .or_else(|| pointer.as_ref().map(|s| Place::Pointer(text(s))))
}

/// Whether the conversion's answer is text, whatever the schema wants.
fn gives_text(conversion: &Conversion) -> bool {
    !matches!(conversion, Conversion::None | Conversion::Unit { .. })
}

fn conversion(field: &FieldCheck<'_>, spec: &FieldMapping) -> Conversion {
    let table = |name: &Option<Spanned<String>>, kind| {
        field
            .table(text_of(name), kind)
            .expect("the check resolved the table")
    };
    let scope = || place(&spec.scope, &spec.scope_column, &spec.scope_pointer);
    if let Some(unit) = place(&spec.unit, &spec.unit_column, &spec.unit_pointer) {
        return Conversion::Unit {
            table: table(&spec.units, TableKind::UnitCatalogue),
            unit,
        };
    }
    if spec.code_list.is_some() {
        return Conversion::CodeList {
            table: table(&spec.code_list, TableKind::CodeList),
            scope: scope(),
        };
    }
    if spec.term_levels.is_some() {
        return Conversion::TermLevels {
            table: table(&spec.term_levels, TableKind::TermLevels),
            scope: scope(),
        };
    }
    if spec.thresholds.is_some() {
        return Conversion::Thresholds {
            table: table(&spec.thresholds, TableKind::Thresholds),
        };
    }
    if let Some(pattern) = &spec.date {
        return Conversion::Date {
            table: table(&spec.time_format, TableKind::TimeFormat),
            pattern: pattern.get_ref().clone(),
        };
    }
    if let Some(pattern) = &spec.time {
        return Conversion::Time {
            table: table(&spec.time_format, TableKind::TimeFormat),
            pattern: pattern.get_ref().clone(),
        };
    }
    Conversion::None
}

/// The kind the mapping gives; else text where a table answers with text
/// (a code, a level, a class, a date); else the schema's; else a quantity
/// is a decimal.
fn kind(property: &Value, spec: &FieldMapping, conversion: &Conversion) -> ValueKind {
    if let Some(kind) = &spec.kind {
        return *kind.get_ref();
    }
    if gives_text(conversion) {
        return ValueKind::Text;
    }
    match property.get("type").and_then(Value::as_str) {
        Some("string") => ValueKind::Text,
        Some("number") => ValueKind::Decimal,
        Some("integer") => ValueKind::Integer,
        Some("boolean") => ValueKind::Boolean,
        _ => match (conversion, &spec.constant) {
            (Conversion::Unit { .. }, _) => ValueKind::Decimal,
            (_, Some(constant)) if constant.get_ref().is_bool() => ValueKind::Boolean,
            (_, Some(constant)) if constant.get_ref().is_integer() => ValueKind::Integer,
            (_, Some(constant)) if constant.get_ref().is_float() => ValueKind::Decimal,
            _ => ValueKind::Text,
        },
    }
}
