//! Records as plugins return them: JSON text parsed strictly, so that the
//! value validated is exactly the value written.
//!
//! `serde_json` keeps the last of duplicate keys and rounds numbers it
//! cannot hold to the nearest float; a consumer reading the plugin's text
//! could see something else than what the schema approved. Here duplicate
//! keys are refused, and so are integral numbers too large for a float to
//! hold exactly (`12345678901234567890123`, `1e300`). The host then writes
//! the parsed value, re-serialized, never the plugin's text.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Integers beyond this magnitude are not all exact as a float (2^53).
const EXACT_FLOAT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// Parses a record's JSON text, refusing duplicate keys and inexact numbers.
pub fn parse_record(text: &str) -> Result<Value, String> {
    serde_json::from_str::<Strict>(text)
        .map(|s| s.0)
        .map_err(|e| e.to_string())
}

/// A JSON value parsed with the checks above.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Strict, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        if v.fract() == 0.0 && v.abs() >= EXACT_FLOAT_INTEGERS {
            return Err(E::custom(format!(
                "the number {v} is too large to be held exactly; write it as a string if it is an identifier"
            )));
        }
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number must be finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "the key `{}` appears twice in one object",
                    key.chars().take(64).collect::<String>()
                )));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_records_parse_as_serde_json_parses_them() {
        let text = r#"{"a":1,"b":[1.5,-2,"x",null,true],"c":{"d":0.05}}"#;
        assert_eq!(
            parse_record(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn duplicate_keys_and_inexact_numbers_are_refused() {
        let err = parse_record(r#"{"a":1,"a":2}"#).unwrap_err();
        assert!(err.contains("`a` appears twice"), "{err}");
        let err = parse_record(r#"{"b":{"x":1,"x":1}}"#).unwrap_err();
        assert!(err.contains("twice"), "{err}");
        for inexact in ["12345678901234567890123", "1e300", "-9007199254740993.0"] {
            let err = parse_record(&format!(r#"{{"n":{inexact}}}"#)).unwrap_err();
            assert!(err.contains("held exactly"), "{inexact}: {err}");
        }
        // u64 and i64 integers are exact and kept.
        assert!(parse_record(r#"{"n":18446744073709551615}"#).is_ok());
    }
}
