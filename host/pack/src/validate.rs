//! Validation of output records against their record type's JSON Schema.

use std::path::Path;

use jsonschema::Validator;
use serde_json::Value;

use crate::flat_schema::FlatSchema;
use crate::tree::{Place, TreeJson, TreeRecord};
use crate::PackError;

/// One way a record breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the record (`/length_mm`; empty for the whole record).
    pub instance_path: String,
    /// The validator's message.
    pub message: String,
}

/// The most bytes a compiled `pattern` may take: patterns run on the
/// linear-time `regex` engine, and this bounds their size as well.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// A record type's compiled schema, formats asserted.
pub struct RecordValidator {
    validator: Validator,
    /// The same schema over records as trees (contract 0.2.0).
    tree_validator: Validator<TreeJson>,
    /// The schema in one loop, when it is flat: most valid records are
    /// known valid without `tree_validator`.
    flat: Option<FlatSchema>,
    /// The schema, for questions about its shape ([`Self::declares_array`]).
    schema: Value,
    properties: Vec<String>,
    /// Where the schema asks for an integer: written as one.
    integer_paths: Vec<Vec<Step>>,
}

/// One step of a path into a record, as the schema describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A property of an object.
    Property(String),
    /// Every property of an object (`patternProperties`,
    /// `additionalProperties`).
    AnyProperty,
    /// Every item of an array.
    Items,
}

impl RecordValidator {
    /// Compiles the schema `text`, read from `path`.
    pub(crate) fn load(
        path: &Path,
        text: &str,
        record_type: &str,
    ) -> Result<RecordValidator, PackError> {
        let schema: Value = serde_json::from_str(text).map_err(|source| PackError::SchemaJson {
            path: path.to_path_buf(),
            source,
        })?;
        Self::compile(&schema).map_err(|message| PackError::SchemaCompile {
            path: path.to_path_buf(),
            record_type: record_type.to_string(),
            message,
        })
    }

    /// Compiles a schema held in memory.
    pub fn compile(schema: &Value) -> Result<RecordValidator, String> {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .with_pattern_options(patterns())
            .build(schema)
            .map_err(|e| e.to_string())?;
        let tree_validator = jsonschema::options_for::<TreeJson>()
            .should_validate_formats(true)
            .with_pattern_options(patterns())
            .build(schema)
            .map_err(|e| e.to_string())?;
        let flat = FlatSchema::compile(schema, |keyword| {
            jsonschema::options_for::<TreeJson>()
                .should_validate_formats(true)
                .with_pattern_options(patterns())
                .build(keyword)
                .ok()
        });
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let mut integer_paths = Vec::new();
        let mut budget = MAX_SCHEMA_VISITS;
        collect_integer_paths(
            schema,
            schema,
            &mut Vec::new(),
            &mut integer_paths,
            0,
            &mut budget,
        );
        if budget == 0 || integer_paths.len() > MAX_INTEGER_PATHS {
            return Err(format!(
                "the schema's `$ref`s and combinators expand to more than {MAX_SCHEMA_VISITS} sub-schemas or {MAX_INTEGER_PATHS} integer fields: define each shape once and refer to it fewer times"
            ));
        }
        Ok(RecordValidator {
            validator,
            tree_validator,
            flat,
            schema: schema.clone(),
            properties,
            integer_paths,
        })
    }

    /// Writes integral numbers where the schema asks for an integer as
    /// integers (`20.0` → `20`), so that the text written is an integer
    /// wherever the standard promises one.
    pub fn normalize(&self, record: &mut Value) {
        for path in &self.integer_paths {
            normalize_at(record, path);
        }
    }

    /// Whether a record given as a tree is valid: the same verdict
    /// [`Self::validate`] gives its value, without building the value.
    pub fn is_valid_tree(&self, record: &TreeRecord) -> bool {
        self.flat.as_ref().is_some_and(|f| f.surely_valid(record))
            || self.tree_validator.is_valid(record.node())
    }

    /// Whether [`Self::write_tree`] writes this schema's records: each
    /// integral decimal is held to every place the schema wants an integer
    /// at, so a schema with many such places has its records normalized as
    /// values instead (whose cost does not multiply by the record's size).
    pub fn writes_trees(&self) -> bool {
        self.integer_paths.len() <= MAX_TREE_INTEGER_PATHS
    }

    /// Writes a valid record given as a tree as the JSON text its value
    /// has once [normalized](Self::normalize).
    pub fn write_tree(&self, record: &TreeRecord, out: &mut Vec<u8>) {
        record.write_json(out, &|places| {
            self.integer_paths
                .iter()
                .any(|path| path.len() == places.len() && path.iter().zip(places).all(step_is))
        });
    }

    /// The schema the records are validated against, for tools that read
    /// its shape (the mapping checker's fields and required fields).
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// Whether the schema declares a top-level property of that name.
    pub fn has_property(&self, name: &str) -> bool {
        self.properties.iter().any(|p| p == name)
    }

    /// Whether the schema says the value at `pointer` (through `properties`
    /// and local `$ref`s) is an array.
    pub fn declares_array(&self, pointer: &str) -> bool {
        let Some(mut at) = resolve(&self.schema, &self.schema, 0) else {
            return false;
        };
        for step in pointer.split('/').skip(1) {
            let step = step.replace("~1", "/").replace("~0", "~");
            match at
                .get("properties")
                .and_then(|p| p.get(&step))
                .and_then(|s| resolve(s, &self.schema, 0))
            {
                Some(next) => at = next,
                None => return false,
            }
        }
        match at.get("type") {
            Some(Value::String(t)) => t == "array",
            Some(Value::Array(types)) => types.iter().all(|t| t == "array"),
            _ => false,
        }
    }

    /// Validates a record; on failure, every violation, in the validator's order.
    pub fn validate(&self, record: &Value) -> Result<(), Vec<Violation>> {
        if self.validator.is_valid(record) {
            return Ok(());
        }
        Err(self
            .validator
            .iter_errors(record)
            .map(|e| Violation {
                instance_path: e.instance_path().as_str().to_string(),
                message: e.to_string(),
            })
            .collect())
    }
}

/// How `pattern`s compile: `regex`, not the backtracking `fancy-regex`, so
/// that a pattern runs in time linear in its input, and a pattern that needs
/// backtracking (look-around, back-references) does not compile.
fn patterns() -> jsonschema::PatternOptions<jsonschema::Regex> {
    jsonschema::PatternOptions::regex()
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT)
}

/// Whether a step of an integer path is where a record's value lies.
fn step_is((step, place): (&Step, &Place<'_>)) -> bool {
    match (step, place) {
        (Step::Property(name), Place::Member(member)) => name == member,
        (Step::AnyProperty, Place::Member(_)) | (Step::Items, Place::Item) => true,
        _ => false,
    }
}

/// `schema`, or what its local `$ref` (into `root`) points to, followed
/// at most [`MAX_SCHEMA_DEPTH`] times.
fn resolve<'a>(schema: &'a Value, root: &'a Value, depth: usize) -> Option<&'a Value> {
    match schema.get("$ref").and_then(Value::as_str) {
        None => Some(schema),
        Some(_) if depth >= MAX_SCHEMA_DEPTH => None,
        Some(reference) => {
            let target = root.pointer(reference.strip_prefix('#')?)?;
            resolve(target, root, depth + 1)
        }
    }
}

/// Deepest schema nesting (and `$ref` chain) followed when looking for
/// integer fields.
const MAX_SCHEMA_DEPTH: usize = 32;
/// The most sub-schemas visited when looking for integer fields: `$ref`s
/// that fan out can make the walk exponential in the schema's size.
const MAX_SCHEMA_VISITS: usize = 100_000;
/// The most places a record type may hold integers at for its records to
/// be written as trees.
const MAX_TREE_INTEGER_PATHS: usize = 32;
/// The most places a record type may hold integers at.
const MAX_INTEGER_PATHS: usize = 4096;

/// Every place in a record where `schema` (whose document is `root`) says
/// a value is an integer: through `properties`, `patternProperties`,
/// `additionalProperties`, `items`, `prefixItems`, `allOf`/`anyOf`/`oneOf`,
/// `if`/`then`/`else` and local `$ref`s.
fn collect_integer_paths(
    schema: &Value,
    root: &Value,
    at: &mut Vec<Step>,
    found: &mut Vec<Vec<Step>>,
    depth: usize,
    budget: &mut usize,
) {
    if depth > MAX_SCHEMA_DEPTH || *budget == 0 || found.len() > MAX_INTEGER_PATHS {
        return;
    }
    *budget -= 1;
    let is_integer = match schema.get("type") {
        Some(Value::String(t)) => t == "integer",
        Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
        _ => false,
    };
    if is_integer && !at.is_empty() && !found.contains(at) {
        found.push(at.clone());
    }
    let here = |sub: &Value, found: &mut Vec<Vec<Step>>, at: &mut Vec<Step>, budget: &mut usize| {
        collect_integer_paths(sub, root, at, found, depth + 1, budget)
    };
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
    {
        here(target, found, at, budget);
    }
    for keyword in ["allOf", "anyOf", "oneOf"] {
        for sub in schema
            .get(keyword)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            here(sub, found, at, budget);
        }
    }
    for keyword in ["if", "then", "else"] {
        if let Some(sub) = schema.get(keyword) {
            here(sub, found, at, budget);
        }
    }
    let mut below = |step: Step, sub: &Value, found: &mut Vec<Vec<Step>>| {
        at.push(step);
        collect_integer_paths(sub, root, at, found, depth + 1, budget);
        at.pop();
    };
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, sub) in properties {
            below(Step::Property(name.clone()), sub, found);
        }
    }
    if let Some(patterns) = schema.get("patternProperties").and_then(Value::as_object) {
        for sub in patterns.values() {
            below(Step::AnyProperty, sub, found);
        }
    }
    if let Some(sub) = schema.get("additionalProperties").filter(|s| s.is_object()) {
        below(Step::AnyProperty, sub, found);
    }
    match schema.get("items") {
        Some(sub @ Value::Object(_)) => below(Step::Items, sub, found),
        Some(Value::Array(tuple)) => {
            for sub in tuple {
                below(Step::Items, sub, found);
            }
        }
        _ => {}
    }
    for sub in schema
        .get("prefixItems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        below(Step::Items, sub, found);
    }
}

fn normalize_at(value: &mut Value, path: &[Step]) {
    let Some((step, rest)) = path.split_first() else {
        if let Some(integer) = value
            .as_f64()
            .filter(|_| value.is_f64())
            .and_then(exact_integer)
        {
            *value = Value::from(integer);
        }
        return;
    };
    match (step, value) {
        (Step::Property(name), Value::Object(object)) => {
            if let Some(v) = object.get_mut(name) {
                normalize_at(v, rest);
            }
        }
        (Step::AnyProperty, Value::Object(object)) => {
            for v in object.values_mut() {
                normalize_at(v, rest);
            }
        }
        (Step::Items, Value::Array(items)) => {
            for item in items {
                normalize_at(item, rest);
            }
        }
        _ => {}
    }
}

/// `x` as an integer when it is one and a float holds it exactly.
pub(crate) fn exact_integer(x: f64) -> Option<i64> {
    // Within ±2⁵³ the cast is exact for whole numbers and truncates any
    // other, so a round trip tells them apart (NaN never compares equal).
    let whole = x as i64;
    (x.abs() < 9_007_199_254_740_992.0 && whole as f64 == x).then_some(whole)
}

/// A record schema's top-level fields as tools read them: each property
/// with its schema, in the schema's order, and the names it requires.
#[derive(Debug, Clone, Default)]
pub struct SchemaFields<'s> {
    /// The properties, in the schema's order.
    pub properties: Vec<(&'s str, &'s Value)>,
    /// The names `required` lists.
    pub required: Vec<&'s str>,
}

impl<'s> SchemaFields<'s> {
    /// The fields of `schema` (none where it declares none).
    pub fn of(schema: &'s Value) -> SchemaFields<'s> {
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.iter().map(|(name, v)| (name.as_str(), v)).collect())
            .unwrap_or_default();
        let required = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        SchemaFields {
            properties,
            required,
        }
    }

    /// The schema of property `name`, if declared.
    pub fn get(&self, name: &str) -> Option<&'s Value> {
        self.properties
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// Whether the schema requires `name`.
    pub fn requires(&self, name: &str) -> bool {
        self.required.contains(&name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_schema_with_many_integer_places_has_its_records_normalized_as_values() {
        let with = |n: usize| {
            let properties: serde_json::Map<String, Value> = (0..n)
                .map(|i| (format!("n{i}"), json!({ "type": "integer" })))
                .collect();
            RecordValidator::compile(&json!({ "type": "object", "properties": properties }))
                .unwrap()
        };
        assert!(with(MAX_TREE_INTEGER_PATHS).writes_trees());
        assert!(!with(MAX_TREE_INTEGER_PATHS + 1).writes_trees());
    }

    #[test]
    fn integral_numbers_of_integer_fields_are_written_as_integers() {
        let validator = RecordValidator::compile(&json!({
            "type": "object",
            "properties": {
                "count": { "type": "integer" },
                "mass": { "type": "number" },
                "lines": { "type": "array", "items": { "type": "object", "properties": { "n": { "type": ["integer", "null"] } } } }
            }
        }))
        .unwrap();
        let mut record =
            json!({ "count": 20.0, "mass": 20.0, "lines": [{ "n": 3.0 }, { "n": null }] });
        validator.validate(&record).unwrap();
        validator.normalize(&mut record);
        assert_eq!(
            record.to_string(),
            r#"{"count":20,"lines":[{"n":3},{"n":null}],"mass":20.0}"#
        );
    }

    #[test]
    fn references_that_fan_out_are_refused_not_walked() {
        // Each level's four properties all refer to the level below: 4^30
        // paths if walked.
        let mut defs = serde_json::Map::new();
        for level in 0..30 {
            let below = if level == 29 {
                json!({"type": "integer"})
            } else {
                json!({"$ref": format!("#/$defs/l{}", level + 1)})
            };
            defs.insert(
                format!("l{level}"),
                json!({"type": "object", "properties": {"a": below, "b": below, "c": below, "d": below}}),
            );
        }
        let schema = json!({"$defs": defs, "$ref": "#/$defs/l0"});
        let started = std::time::Instant::now();
        let err = RecordValidator::compile(&schema).err().expect("refused");
        assert!(err.contains("expand to more than"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn patterns_run_in_linear_time_and_backtracking_ones_are_refused() {
        let validator = RecordValidator::compile(&json!({
            "type": "object",
            "properties": { "code": { "type": "string", "pattern": "^(a+)+$" } }
        }))
        .unwrap();
        let evil = format!("{}b", "a".repeat(10_000));
        let started = std::time::Instant::now();
        assert!(validator.validate(&json!({ "code": evil })).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        let err = RecordValidator::compile(&json!({
            "type": "object",
            "properties": { "code": { "type": "string", "pattern": "^(a)\\1$" } }
        }));
        assert!(err.is_err(), "a back-reference needs backtracking");
    }
}
