//! What the standard services answer when they refuse a value: a stable
//! kebab-case code and a message for a person. Apart from the services, so
//! that each table module depends on it and not on the services' facade.
//! The codes are text, not a closed set: the built-in services give
//! [`codes`], and tables a pack declares will give their own.

use std::borrow::Cow;

/// The codes the built-in services give, as rejections carry them. The
/// contract `conform:plugin@0.1.0` has one `error-code` case for each.
pub mod codes {
    /// Not a plain decimal number.
    pub const NOT_A_NUMBER: &str = "not-a-number";
    /// A unit the pack does not know.
    pub const UNKNOWN_UNIT: &str = "unknown-unit";
    /// A unit of another dimension than the field's.
    pub const INCOMPATIBLE_UNIT: &str = "incompatible-unit";
    /// A field without a canonical unit.
    pub const UNKNOWN_FIELD: &str = "unknown-field";
    /// A grading system without a crosswalk.
    pub const UNKNOWN_GRADING_SYSTEM: &str = "unknown-grading-system";
    /// A grade not in its system.
    pub const UNKNOWN_GRADE: &str = "unknown-grade";
    /// A carrier without a service-level table.
    pub const UNKNOWN_CARRIER: &str = "unknown-carrier";
    /// A service term not in its carrier's table.
    pub const UNKNOWN_SERVICE_TERM: &str = "unknown-service-term";
    /// A packaging term without a code.
    pub const UNKNOWN_PACKAGE_TERM: &str = "unknown-package-term";
    /// A time or date that does not parse or does not exist.
    pub const INVALID_TIME: &str = "invalid-time";
    /// A time format that is not a pattern.
    pub const INVALID_FORMAT: &str = "invalid-format";

    /// Every code above, in the order of the 0.1.0 contract's `error-code`.
    pub const ALL: [&str; 11] = [
        NOT_A_NUMBER,
        UNKNOWN_UNIT,
        INCOMPATIBLE_UNIT,
        UNKNOWN_FIELD,
        UNKNOWN_GRADING_SYSTEM,
        UNKNOWN_GRADE,
        UNKNOWN_CARRIER,
        UNKNOWN_SERVICE_TERM,
        UNKNOWN_PACKAGE_TERM,
        INVALID_TIME,
        INVALID_FORMAT,
    ];

    /// A contract 0.1.0 function the pack names no table for (a pack
    /// without grading asked to grade); not one of the contract's codes.
    pub const NOT_SERVED: &str = "not-served";
}

/// A value the standard services refuse, with a message for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    /// Which rule was broken: a stable kebab-case code.
    pub code: Cow<'static, str>,
    /// What is wrong, quoting the value.
    pub message: String,
}

impl ServiceError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError {
            code: Cow::Borrowed(code),
            message: message.into(),
        }
    }

    /// A refusal with a code a pack chose.
    pub(crate) fn owned(code: String, message: String) -> ServiceError {
        ServiceError {
            code: Cow::Owned(code),
            message,
        }
    }
}
