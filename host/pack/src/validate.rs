//! Validation of output records against their record type's JSON Schema.

use std::path::Path;

use jsonschema::Validator;
use serde_json::Value;

use crate::PackError;

/// One way a record breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the record (`/length_mm`; empty for the whole record).
    pub instance_path: String,
    /// The validator's message.
    pub message: String,
}

/// A record type's compiled schema, formats asserted.
pub struct RecordValidator {
    validator: Validator,
    properties: Vec<String>,
}

impl RecordValidator {
    /// Reads and compiles the schema at `path`.
    pub(crate) fn load(path: &Path, record_type: &str) -> Result<RecordValidator, PackError> {
        let text = std::fs::read_to_string(path).map_err(|source| PackError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let schema: Value =
            serde_json::from_str(&text).map_err(|source| PackError::SchemaJson {
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
            .build(schema)
            .map_err(|e| e.to_string())?;
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        Ok(RecordValidator {
            validator,
            properties,
        })
    }

    /// Whether the schema declares a top-level property of that name.
    pub fn has_property(&self, name: &str) -> bool {
        self.properties.iter().any(|p| p == name)
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
