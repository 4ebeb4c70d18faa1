//! A record schema of the common flat kind — an object whose properties
//! are scalars with a type, bounds, lengths, a pattern, a format or a
//! list of values — checked in one loop over the record's members (a
//! pattern of the code kind matched by `class_pattern`, other patterns and
//! formats by the full validator's own keyword validators). It answers
//! only "valid for sure": anything else (a broken record, or a value it is
//! not sure of) is left to the full validator, which gives the verdict and
//! its reasons. A schema with any keyword not read here is not compiled
//! this way at all. A property test holds the two to each other.

use std::cmp::Ordering::{Greater, Less};

use jsonschema::json::{Node, Object};
use jsonschema::Validator;
use serde_json::{Map, Value};

use crate::class_pattern::ClassPattern;
use crate::tree::{unique_id, TreeJson, TreeNode, TreeRecord, TreeValue};

/// The draft whose keywords are read here; a schema of another is left to
/// the full validator.
const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// Keywords that assert nothing.
const ANNOTATIONS: [&str; 8] = [
    "title",
    "description",
    "$comment",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// The most properties a flat schema has (one bit each for `required`).
const MAX_PROPERTIES: usize = 64;

/// Bounds are compared exactly only within ±2⁵³ (every such integer is
/// also a float).
const MAX_EXACT_BOUND: u64 = 1 << 53;

/// A flat record schema, compiled.
pub(crate) struct FlatSchema {
    /// Unique in the process (of `tree::unique_id`).
    id: u64,
    /// In byte order of their names.
    properties: Vec<Property>,
    /// Bit `i` set: `properties[i]` is required.
    required: u64,
    /// Whether members the schema does not name are refused.
    closed: bool,
}

/// The instance type a property's `type` names (`Any` without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Any,
    String,
    Number,
    Integer,
    Boolean,
    Null,
}

/// A numeric bound: the value must be at least (above, if `exclusive`) or
/// at most (below) it.
#[derive(Debug, Clone, Copy)]
struct Bound {
    value: i64,
    exclusive: bool,
}

/// One property's schema.
struct Property {
    name: String,
    kind: Kind,
    min_length: Option<u64>,
    max_length: Option<u64>,
    /// The strictest of `minimum` and `exclusiveMinimum`.
    lower: Option<Bound>,
    /// The strictest of `maximum` and `exclusiveMaximum`.
    upper: Option<Bound>,
    /// `enum`, when every value in it is a string.
    one_of: Option<Vec<String>>,
    /// `pattern`s of the code kind, matched here.
    patterns: Vec<ClassPattern>,
    /// Other `pattern`s and `format`, each run by the full validator itself.
    delegated: Vec<Validator<TreeJson>>,
}

impl FlatSchema {
    /// The schema compiled, if it is flat and every keyword in it is read
    /// here; `delegate` compiles a one-keyword schema (`{"pattern": …}`,
    /// `{"format": …}`) as the full validator is compiled.
    pub(crate) fn compile(
        schema: &Value,
        delegate: impl Fn(&Value) -> Option<Validator<TreeJson>>,
    ) -> Option<FlatSchema> {
        let schema = schema.as_object()?;
        let mut properties = Vec::new();
        let (mut required_names, mut closed) = (Vec::new(), false);
        for (keyword, value) in schema {
            match keyword.as_str() {
                "$schema" if value == DRAFT_2020_12 => {}
                "$id" if value.is_string() => {}
                "type" if value == "object" => {}
                "additionalProperties" => closed = !value.as_bool()?,
                "required" => {
                    for name in value.as_array()? {
                        required_names.push(name.as_str()?);
                    }
                }
                "properties" => {
                    for (name, schema) in value.as_object()? {
                        properties.push(Property::compile(name, schema.as_object()?, &delegate)?);
                    }
                }
                other if ANNOTATIONS.contains(&other) => {}
                _ => return None,
            }
        }
        if properties.len() > MAX_PROPERTIES {
            return None;
        }
        let mut required = 0u64;
        for name in required_names {
            let at = properties.iter().position(|p| p.name == name)?;
            required |= 1 << at;
        }
        Some(FlatSchema {
            id: unique_id(),
            properties,
            required,
            closed,
        })
    }

    /// Whether `record` is valid for sure; `false` says only "ask the
    /// full validator".
    pub(crate) fn surely_valid(&self, record: &TreeRecord) -> bool {
        let Some(members) = record.node().as_object() else {
            return false;
        };
        let parts = record.parts();
        PROPERTY_OF.with_borrow_mut(|slots| {
            let known = PropertyOf::slot(slots, parts.id(), self.id);
            let mut seen = 0u64;
            for (name, value) in members.members().by_name_index() {
                let found = known.property(name, || {
                    let name = parts.name(name);
                    self.properties.iter().position(|p| p.name == name)
                });
                match found {
                    Some(at) => {
                        if !self.properties[at].holds(value) {
                            return false;
                        }
                        seen |= 1 << at;
                    }
                    None if self.closed => return false,
                    None => {}
                }
            }
            seen & self.required == self.required
        })
    }
}

/// Which property each of a batch's names is, for one schema: a name is
/// looked for among the properties once a batch, not once a record.
struct PropertyOf {
    batch: u64,
    schema: u64,
    /// By the name's index in the batch: the property's index plus one,
    /// [`NOT_A_PROPERTY`], or 0 while not looked for.
    by_name: Vec<u8>,
}

/// A name no property has.
const NOT_A_PROPERTY: u8 = u8::MAX;

/// How many batch and schema pairs a thread keeps: a batch whose records
/// are of a few types keeps each type's.
const SLOTS: usize = 4;

impl PropertyOf {
    /// The slot of batch `batch` and schema `schema` among `slots`: the one
    /// kept, or the oldest emptied for it.
    fn slot(slots: &mut Vec<PropertyOf>, batch: u64, schema: u64) -> &mut PropertyOf {
        let at = match slots
            .iter()
            .position(|s| s.batch == batch && s.schema == schema)
        {
            Some(at) => at,
            None => {
                if slots.len() == SLOTS {
                    slots.remove(0);
                }
                slots.push(PropertyOf {
                    batch,
                    schema,
                    by_name: Vec::new(),
                });
                slots.len() - 1
            }
        };
        &mut slots[at]
    }

    /// The property of name `name`, found by `find` the first time.
    fn property(&mut self, name: u32, find: impl FnOnce() -> Option<usize>) -> Option<usize> {
        let name = name as usize;
        if name >= self.by_name.len() {
            self.by_name.resize(name + 1, 0);
        }
        match self.by_name[name] {
            0 => {
                let found = find();
                self.by_name[name] = found.map_or(NOT_A_PROPERTY, |at| at as u8 + 1);
                found
            }
            NOT_A_PROPERTY => None,
            known => Some(usize::from(known - 1)),
        }
    }
}

thread_local! {
    /// The last batches' and schemas' names, on this thread.
    static PROPERTY_OF: std::cell::RefCell<Vec<PropertyOf>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

impl Property {
    fn compile(
        name: &str,
        schema: &Map<String, Value>,
        delegate: &impl Fn(&Value) -> Option<Validator<TreeJson>>,
    ) -> Option<Property> {
        let mut property = Property {
            name: name.to_string(),
            kind: Kind::Any,
            min_length: None,
            max_length: None,
            lower: None,
            upper: None,
            one_of: None,
            patterns: Vec::new(),
            delegated: Vec::new(),
        };
        for (keyword, value) in schema {
            match keyword.as_str() {
                "type" => {
                    property.kind = match value.as_str()? {
                        "string" => Kind::String,
                        "number" => Kind::Number,
                        "integer" => Kind::Integer,
                        "boolean" => Kind::Boolean,
                        "null" => Kind::Null,
                        _ => return None,
                    }
                }
                "minLength" => property.min_length = Some(value.as_u64()?),
                "maxLength" => property.max_length = Some(value.as_u64()?),
                "minimum" => {
                    property.lower = stricter(property.lower, bound(value, false)?, Greater)
                }
                "exclusiveMinimum" => {
                    property.lower = stricter(property.lower, bound(value, true)?, Greater)
                }
                "maximum" => property.upper = stricter(property.upper, bound(value, false)?, Less),
                "exclusiveMaximum" => {
                    property.upper = stricter(property.upper, bound(value, true)?, Less)
                }
                "enum" => {
                    let values = value.as_array()?;
                    let strings = values.iter().map(|v| v.as_str().map(str::to_string));
                    property.one_of = Some(strings.collect::<Option<Vec<String>>>()?);
                }
                "pattern" | "format" => {
                    let text = value.as_str()?;
                    match ClassPattern::parse(text).filter(|_| keyword == "pattern") {
                        Some(pattern) => property.patterns.push(pattern),
                        None => {
                            let one = serde_json::json!({ keyword: text });
                            property.delegated.push(delegate(&one)?);
                        }
                    }
                }
                other if ANNOTATIONS.contains(&other) => {}
                _ => return None,
            }
        }
        Some(property)
    }

    /// Whether `value` surely meets this property's schema.
    fn holds(&self, value: TreeValue<'_>) -> bool {
        self.own_keywords_hold(value) && self.delegated.iter().all(|v| v.is_valid(value))
    }

    /// [`Self::holds`] but for the delegated keywords.
    fn own_keywords_hold(&self, value: TreeValue<'_>) -> bool {
        let Some((parts, _, node)) = value.node() else {
            return false;
        };
        match (self.kind, node) {
            (Kind::Any | Kind::String, TreeNode::Text(start, end)) => {
                self.text_holds(parts.text(start, end))
            }
            (Kind::Any | Kind::Number | Kind::Integer, TreeNode::Integer(i)) => {
                self.one_of.is_none() && self.within(i128::from(i), i128::from)
            }
            (Kind::Any | Kind::Number, TreeNode::Decimal { value, .. }) => {
                value.is_finite() && self.one_of.is_none() && self.within(value, |b| b as f64)
            }
            (Kind::Any | Kind::Boolean, TreeNode::Boolean(_))
            | (Kind::Any | Kind::Null, TreeNode::Null) => self.one_of.is_none(),
            _ => false,
        }
    }

    /// Lengths (in characters) and the list of values, for text.
    fn text_holds(&self, text: &str) -> bool {
        // A character takes one to four bytes: most texts are measured
        // without counting them.
        let bytes = text.len() as u64;
        let chars = || text.chars().count() as u64;
        let long_enough = self
            .min_length
            .is_none_or(|min| bytes >= min && (bytes >= min.saturating_mul(4) || chars() >= min));
        let short_enough = self
            .max_length
            .is_none_or(|max| bytes <= max || chars() <= max);
        let listed = self
            .one_of
            .as_ref()
            .is_none_or(|values| values.iter().any(|v| v == text));
        let matched = self.patterns.iter().all(|p| p.is_match(text));
        long_enough && short_enough && listed && matched
    }

    /// Whether `number` meets both bounds, each made a number by `of`
    /// (exactly: bounds are at most 2⁵³).
    fn within<N: PartialOrd>(&self, number: N, of: impl Fn(i64) -> N) -> bool {
        let above = self.lower.is_none_or(|b| {
            let b_ = of(b.value);
            number > b_ || (!b.exclusive && number == b_)
        });
        let below = self.upper.is_none_or(|b| {
            let b_ = of(b.value);
            number < b_ || (!b.exclusive && number == b_)
        });
        above && below
    }
}

/// The stricter of a bound so far and a new one: of two lower bounds the
/// one ordered `Greater` (`higher`), of two upper bounds the one ordered
/// `Less`; at the same value, the exclusive one.
fn stricter(so_far: Option<Bound>, new: Bound, higher: std::cmp::Ordering) -> Option<Bound> {
    Some(match so_far {
        Some(old) if old.value.cmp(&new.value) == higher => old,
        Some(old) if old.value == new.value => Bound {
            value: old.value,
            exclusive: old.exclusive || new.exclusive,
        },
        _ => new,
    })
}

/// A bound that is a whole number compared exactly with any value.
fn bound(value: &Value, exclusive: bool) -> Option<Bound> {
    let value = value.as_i64()?;
    (value.unsigned_abs() <= MAX_EXACT_BOUND).then_some(Bound { value, exclusive })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::tests::tree_of;
    use crate::RecordValidator;
    use proptest::prelude::*;
    use serde_json::json;

    fn schema_of(name: &str) -> Value {
        let path = format!(
            "{}/../../standards/sample-regional/schemas/{name}.schema.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn compiled(schema: &Value) -> Option<FlatSchema> {
        FlatSchema::compile(schema, |keyword| {
            jsonschema::options_for::<TreeJson>()
                .should_validate_formats(true)
                .build(keyword)
                .ok()
        })
    }

    #[test]
    fn flat_schemas_compile_and_others_are_left_to_the_full_validator() {
        assert!(compiled(&schema_of("part")).is_some());
        assert!(compiled(&schema_of("shipment")).is_some());
        assert!(
            compiled(&schema_of("produce_lot")).is_none(),
            "nested objects"
        );
        for other in [
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "minProperties": 1}),
            json!({"properties": {"a": {"type": ["string", "null"]}}}),
            json!({"properties": {"a": {"minimum": 0.5}}}),
            json!({"properties": {"a": {"enum": ["x", 1]}}}),
            json!({"$schema": "http://json-schema.org/draft-04/schema#", "properties": {}}),
            json!({"required": ["b"], "properties": {"a": {}}}),
        ] {
            assert!(compiled(&other).is_none(), "{other}");
        }
    }

    /// A value for a member of the part or shipment schema: often one the
    /// schema takes, often one at or past a bound, sometimes anything.
    fn member_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            "[A-Z0-9][A-Z0-9-]{1,33}".prop_map(Value::from),
            "[0-9A-HJ-NPQRTUWXY]{17,19}".prop_map(Value::from),
            "[0-9]{6}|[0-9]{5,7}".prop_map(Value::from),
            "(SL24|SL48|CT|BX|NE|ct|)".prop_map(Value::from),
            "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\+08:00"
                .prop_map(Value::from),
            ".{0,3}".prop_map(Value::from),
            "[a-z é]{190,210}".prop_map(Value::from),
            (-3i64..4).prop_map(Value::from),
            proptest::num::i64::ANY.prop_map(Value::from),
            prop_oneof![
                Just(0.0),
                Just(-0.0),
                Just(1e-300),
                Just(-1.5),
                Just(2.5),
                Just(1e300)
            ]
            .prop_map(Value::from),
            proptest::num::f64::NORMAL.prop_map(Value::from),
            proptest::bool::ANY.prop_map(Value::from),
            Just(Value::Null),
        ]
    }

    /// A valid record of each flat sample schema.
    fn valid(which: &str) -> Value {
        match which {
            "part" => json!({
                "part_no": "JG-1001", "name": "法兰", "supplier_code": "91330200MA2H3K4L5P",
                "length_mm": 317.5, "width_mm": 12.7, "height_mm": 1, "tolerance_mm": 0,
                "mass_g": 1134.0, "packaging": "CT", "quantity_per_package": 20
            }),
            _ => json!({
                "shipment_id": "ER-1", "carrier_code": "EXPR", "service_level": "SL24",
                "source_service": "次日达", "dispatched_at": "2026-03-01T08:00:00+08:00",
                "promised_by": "2026-03-02T08:00:00+08:00", "origin": "315000",
                "destination": "200000", "gross_weight_kg": 12.5, "packages": 2,
                "packaging": "BX"
            }),
        }
    }

    /// "Surely valid" is never said of a record the full validator refuses:
    /// valid records with up to three members replaced, added or removed.
    #[test]
    fn surely_valid_records_are_valid() {
        let names = proptest::sample::select(vec![
            "part_no",
            "name",
            "supplier_code",
            "length_mm",
            "tolerance_mm",
            "mass_g",
            "packaging",
            "quantity_per_package",
            "carrier_code",
            "service_level",
            "dispatched_at",
            "origin",
            "gross_weight_kg",
            "packages",
            "extra",
        ]);
        let change = (names, proptest::option::weighted(0.9, member_value()));
        let cases = (
            proptest::sample::select(vec!["part", "shipment"]),
            proptest::collection::vec(change, 0..4),
        );
        let validators = ["part", "shipment"].map(|which| {
            let schema = schema_of(which);
            (
                compiled(&schema).unwrap(),
                RecordValidator::compile(&schema).unwrap(),
            )
        });
        let counts = std::cell::Cell::new((0, 0));
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(6000));
        runner
            .run(&cases, |(which, changes)| {
                let mut record = valid(which);
                for (name, value) in changes {
                    let members = record.as_object_mut().unwrap();
                    match value {
                        Some(value) => members.insert(name.to_string(), value),
                        None => members.remove(name),
                    };
                }
                let (flat, full) = &validators[usize::from(which == "shipment")];
                let (surely, refused) = counts.get();
                if flat.surely_valid(&tree_of(&record)) {
                    counts.set((surely + 1, refused));
                    prop_assert!(full.validate(&record).is_ok(), "{}", record);
                } else if full.validate(&record).is_err() {
                    counts.set((surely, refused + 1));
                }
                Ok(())
            })
            .unwrap();
        let (surely, refused) = counts.get();
        assert!(
            surely > 600 && refused > 600,
            "{surely} surely valid, {refused} refused"
        );
    }

    /// Several bounds on one property: the value must meet all of them,
    /// exactly as the full validator finds.
    #[test]
    fn every_bound_holds_at_and_around_its_value() {
        for bounds in [
            json!({"minimum": 1, "exclusiveMinimum": 1}),
            json!({"exclusiveMinimum": 1, "minimum": 2}),
            json!({"minimum": 2, "exclusiveMinimum": 1}),
            json!({"maximum": 5, "exclusiveMaximum": 3}),
            json!({"exclusiveMaximum": 3, "maximum": 3, "minimum": -2}),
            json!({"type": "integer", "minimum": -9_007_199_254_740_992_i64}),
            json!({"exclusiveMinimum": 5, "minimum": i64::MIN}),
            json!({"exclusiveMaximum": 3, "maximum": i64::MIN}),
            json!({"maximum": i64::MAX, "minimum": u64::MAX}),
        ] {
            let mut property = bounds.as_object().unwrap().clone();
            property.entry("type").or_insert(json!("number"));
            let schema = json!({"properties": {"n": property}});
            let Some(flat) = compiled(&schema) else {
                // Bounds past 2⁵³ are not compared here at all.
                let extreme = |b: &Value| b.as_i64().is_none_or(|b| b.unsigned_abs() > 1 << 53);
                assert!(
                    bounds.as_object().unwrap().values().any(extreme),
                    "{bounds}"
                );
                continue;
            };
            let full = RecordValidator::compile(&schema).unwrap();
            for n in [
                json!(-3),
                json!(-2),
                json!(0.5),
                json!(1),
                json!(1.5),
                json!(2),
                json!(2.5),
                json!(3),
                json!(4),
                json!(5),
                json!(6),
            ] {
                let record = json!({ "n": n });
                assert_eq!(
                    flat.surely_valid(&tree_of(&record)),
                    full.validate(&record).is_ok(),
                    "{bounds} {n}"
                );
            }
        }
    }

    /// Valid records are known valid in one loop, and each way of breaking
    /// one is left to the full validator.
    #[test]
    fn valid_parts_are_known_valid_and_broken_ones_are_not() {
        let schema = schema_of("part");
        let flat = compiled(&schema).unwrap();
        let part = json!({
            "part_no": "JG-1001", "name": "法兰", "supplier_code": "91330200MA2H3K4L5P",
            "length_mm": 317.5, "width_mm": 12.7, "height_mm": 1, "tolerance_mm": 0,
            "mass_g": 1134.0, "packaging": "CT", "quantity_per_package": 20
        });
        assert!(flat.surely_valid(&tree_of(&part)));
        for (field, broken) in [
            ("part_no", json!("jg-1001")),
            ("name", json!("")),
            ("length_mm", json!(0)),
            ("length_mm", json!(-0.5)),
            ("tolerance_mm", json!(-1)),
            ("packaging", json!("ct")),
            ("quantity_per_package", json!(2.5)),
            ("quantity_per_package", json!(0)),
            ("mass_g", json!("1134.0")),
            ("extra", json!(1)),
        ] {
            let mut record = part.clone();
            record[field] = broken;
            assert!(!flat.surely_valid(&tree_of(&record)), "{field}: {record}");
            assert!(RecordValidator::compile(&schema)
                .unwrap()
                .validate(&record)
                .is_err());
        }
        let mut missing = part.clone();
        missing.as_object_mut().unwrap().remove("mass_g");
        assert!(!flat.surely_valid(&tree_of(&missing)));
    }
}
