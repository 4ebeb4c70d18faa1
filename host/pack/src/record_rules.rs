//! Record rules: what a record must keep that JSON Schema cannot state (a
//! composition's percentages add up to 100, no fibre listed twice). The
//! host checks them on every record after its schema passed, so a rule may
//! assume the schema's shape; each broken rule rejects the row, pointing at
//! the rule's array.

use std::collections::BTreeMap;
use std::path::Path;

use conform_model::pack::{RecordRule, RecordRulesFile};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::number::parse_decimal;
use crate::service_error::ServiceError;
use crate::tables::wording::{Case, Wording};
use crate::validate::RecordValidator;
use crate::PackError;

/// The most rules a pack may state.
pub const MAX_RULES: usize = 256;

const SUM_MISMATCH: Case = Case {
    name: "sum-mismatch",
    code: None,
    message: "the values at `{array}` add up to {sum}, not {total}",
    placeholders: &["sum", "total", "array"],
};
const DUPLICATE_ITEM: Case = Case {
    name: "duplicate-item",
    code: None,
    message: "`{key}` appears more than once in `{array}`",
    placeholders: &["key", "array"],
};

/// A record rule that a record broke: the array it concerns and the refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleViolation {
    /// The JSON pointer of the rule's array in the record (`/composition`).
    pub array: String,
    /// The rule's code and message.
    pub error: ServiceError,
}

#[derive(Debug, Clone)]
enum Check {
    SumEquals { value: String, total: Decimal },
    UniqueBy { key: String },
}

#[derive(Debug, Clone)]
struct Rule {
    array: String,
    check: Check,
    wording: Wording,
}

/// A pack's checked record rules, by record type.
#[derive(Debug, Clone, Default)]
pub struct RecordRules {
    by_type: BTreeMap<String, Vec<Rule>>,
}

impl RecordRules {
    /// Checks a record-rules file against the pack's record types: every
    /// rule names a record type, well-formed pointers, an array the schema
    /// declares, a decimal total and a well-formed wording; errors name the
    /// rule (`rule[2].array`).
    pub(crate) fn from_file(
        path: &Path,
        file: RecordRulesFile,
        validators: &BTreeMap<String, RecordValidator>,
    ) -> Result<RecordRules, PackError> {
        if file.rule.len() > MAX_RULES {
            return Err(PackError::table(
                path,
                "rule",
                format!("a pack states at most {MAX_RULES} record rules"),
            ));
        }
        let mut rules = RecordRules::default();
        for (i, rule) in file.rule.iter().enumerate() {
            let entry = format!("rule[{i}]");
            let (record_type, array, item_pointer, code, message, case) = match rule {
                RecordRule::SumEquals {
                    record_type,
                    array,
                    value,
                    code,
                    message,
                    ..
                } => (
                    record_type,
                    array,
                    ("value", value),
                    code,
                    message,
                    &SUM_MISMATCH,
                ),
                RecordRule::UniqueBy {
                    record_type,
                    array,
                    key,
                    code,
                    message,
                } => (
                    record_type,
                    array,
                    ("key", key),
                    code,
                    message,
                    &DUPLICATE_ITEM,
                ),
            };
            let Some(validator) = validators.get(record_type) else {
                return Err(PackError::table(
                    path,
                    format!("{entry}.record_type"),
                    format!("record type `{record_type}` is not in the pack"),
                ));
            };
            for (name, pointer) in [("array", array), item_pointer] {
                if !(pointer.is_empty() || pointer.starts_with('/')) {
                    return Err(PackError::table(
                        path,
                        format!("{entry}.{name}"),
                        format!(
                            "`{pointer}` is not a JSON pointer: write `/field`, `/field/inner`"
                        ),
                    ));
                }
            }
            if !validator.declares_array(array) {
                return Err(PackError::table(
                    path,
                    format!("{entry}.array"),
                    format!("the schema of `{record_type}` does not declare `{array}` an array"),
                ));
            }
            let check = match rule {
                RecordRule::SumEquals { value, total, .. } => Check::SumEquals {
                    value: value.clone(),
                    total: parse_decimal(total).ok_or_else(|| {
                        PackError::table(
                            path,
                            format!("{entry}.total"),
                            format!("`{total}` is not a decimal"),
                        )
                    })?,
                },
                RecordRule::UniqueBy { key, .. } => Check::UniqueBy { key: key.clone() },
            };
            let wording = Wording::at(path, &entry, code.as_deref(), message.as_deref(), case)?;
            rules
                .by_type
                .entry(record_type.clone())
                .or_default()
                .push(Rule {
                    array: array.clone(),
                    check,
                    wording,
                });
        }
        Ok(rules)
    }

    /// Whether records of `record_type` have rules to keep.
    pub fn applies_to(&self, record_type: &str) -> bool {
        self.by_type
            .get(record_type)
            .is_some_and(|rules| !rules.is_empty())
    }

    /// Every rule of `record_type` that `record` breaks, in file order.
    pub fn check(&self, record_type: &str, record: &Value) -> Vec<RuleViolation> {
        let Some(rules) = self.by_type.get(record_type) else {
            return Vec::new();
        };
        rules
            .iter()
            .filter_map(|rule| {
                let items = record
                    .pointer(&rule.array)
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let error = match &rule.check {
                    Check::SumEquals { value, total } => sum_equals(rule, items, value, *total),
                    Check::UniqueBy { key } => unique_by(rule, items, key),
                }?;
                Some(RuleViolation {
                    array: rule.array.clone(),
                    error,
                })
            })
            .collect()
    }
}

/// The refusal when the items' numbers at `value` do not add up to `total`
/// exactly; an item without a number breaks the rule too.
fn sum_equals(rule: &Rule, items: &[Value], value: &str, total: Decimal) -> Option<ServiceError> {
    let mut sum = Some(Decimal::ZERO);
    for item in items {
        let number = item.pointer(value).and_then(decimal_of);
        sum = sum.zip(number).and_then(|(s, n)| s.checked_add(n));
    }
    let shown = match sum {
        Some(sum) if sum == total => return None,
        Some(sum) => sum.normalize().to_string(),
        None => "no number (an item lacks one)".to_string(),
    };
    Some(rule.wording.refuse(&[
        ("sum", &shown),
        ("total", &total.normalize().to_string()),
        ("array", &rule.array),
    ]))
}

/// A JSON number as the exact decimal its text writes.
fn decimal_of(value: &Value) -> Option<Decimal> {
    let text = value.as_number()?.to_string();
    parse_decimal(&text).or_else(|| Decimal::from_scientific(&text).ok())
}

/// The refusal when two items share their value at `key` (compared as
/// their JSON text, objects' keys in order, so the check is linear).
fn unique_by(rule: &Rule, items: &[Value], key: &str) -> Option<ServiceError> {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for item in items {
        let Some(value) = item.pointer(key) else {
            continue;
        };
        if !seen.insert(value.to_string()) {
            let shown = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            return Some(
                rule.wording
                    .refuse(&[("key", &shown), ("array", &rule.array)]),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn validators() -> BTreeMap<String, RecordValidator> {
        let schema = json!({"type": "object", "$defs": {"items": {"type": "array"}}, "properties": {
            "composition": {"type": "array"},
            "tags": {"$ref": "#/$defs/items"},
            "name": {"type": "string"}
        }});
        BTreeMap::from([(
            "roll".to_string(),
            RecordValidator::compile(&schema).unwrap(),
        )])
    }

    fn rules(text: &str) -> Result<RecordRules, String> {
        let file: RecordRulesFile = toml::from_str(text).map_err(|e| e.to_string())?;
        RecordRules::from_file(Path::new("record-rules.toml"), file, &validators())
            .map_err(|e| e.to_string())
    }

    const SUM: &str = "[[rule]]\nrecord_type = \"roll\"\nkind = \"sum-equals\"\narray = \"/composition\"\nvalue = \"/percent\"\ntotal = \"100\"\n";

    #[test]
    fn sums_are_exact_decimals_and_an_item_without_a_number_fails() {
        let sum = rules(SUM).unwrap();
        let check = |items: Value| sum.check("roll", &json!({ "composition": items }));
        assert!(check(json!([{"percent": 33.3}, {"percent": 33.3}, {"percent": 33.4}])).is_empty());
        assert!(check(json!([{"percent": 0.1}, {"percent": 0.2}, {"percent": 99.7}])).is_empty());
        let broken = check(json!([{"percent": 65}, {"percent": 30}]));
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].array, "/composition");
        assert_eq!(broken[0].error.code, "sum-mismatch");
        assert_eq!(
            broken[0].error.message,
            "the values at `/composition` add up to 95, not 100"
        );
        let missing = check(json!([{"percent": 65}, {"share": 35}]));
        assert!(
            missing[0].error.message.contains("no number"),
            "{:?}",
            missing
        );
        // Another record type is not checked.
        assert!(sum
            .check("lot", &json!({"composition": [{"percent": 1}]}))
            .is_empty());
    }

    #[test]
    fn duplicates_are_found_by_json_value() {
        let unique = rules("[[rule]]\nrecord_type = \"roll\"\nkind = \"unique-by\"\narray = \"/tags\"\nkey = \"/k\"\n").unwrap();
        let check = |items: Value| unique.check("roll", &json!({ "tags": items }));
        assert!(check(json!([{"k": "a"}, {"k": "b"}, {"k": 1}, {"k": "1"}])).is_empty());
        let broken = check(json!([{"k": {"x": 1, "y": 2}}, {"k": {"y": 2, "x": 1}}]));
        assert_eq!(broken[0].error.code, "duplicate-item");
        // Linear: 100 000 distinct items are checked at once.
        let many: Vec<Value> = (0..100_000).map(|i| json!({ "k": i })).collect();
        assert!(check(Value::Array(many)).is_empty());
    }

    #[test]
    fn a_publisher_s_mistake_names_the_rule() {
        for (edit, entry, why) in [
            (("\"roll\"", "\"lot\""), "rule[0].record_type", "`lot`"),
            (
                ("\"/composition\"", "\"composition\""),
                "rule[0].array",
                "JSON pointer",
            ),
            (
                ("\"/composition\"", "\"/name\""),
                "rule[0].array",
                "does not declare",
            ),
            (("\"100\"", "\"all\""), "rule[0].total", "`all`"),
        ] {
            let err = rules(&SUM.replace(edit.0, edit.1)).unwrap_err();
            assert!(err.contains(entry) && err.contains(why), "{err}");
        }
        let err = rules(&format!("{SUM}code = \"Sum_Wrong\"\n")).unwrap_err();
        assert!(err.contains("rule[0].code"), "{err}");
        let err = rules(&format!("{SUM}message = \"off by {{delta}}\"\n")).unwrap_err();
        assert!(
            err.contains("rule[0].message") && err.contains("{delta}"),
            "{err}"
        );
        let err = rules(&SUM.replace("sum-equals", "sum-at-most")).unwrap_err();
        assert!(err.contains("sum-at-most"), "{err}");
    }
}
