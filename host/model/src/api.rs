//! Documents of the HTTP API.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The body of every error response of the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable code (`unauthenticated`, `forbidden`,
    /// `unknown-plugin`, `body-too-large`, `too-many-conversions` …).
    pub code: String,
    /// What went wrong and what to do, for a person.
    pub message: String,
    /// Structured details, when there are any.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}
