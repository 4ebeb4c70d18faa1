//! What the standard services answer when they refuse a value: a code of
//! the contract's `error-code` and a message. Apart from the services, so
//! that each table module depends on it and not on the services' facade.

/// Which rule a value broke. Mirrors `error-code` of the plugin contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Not a plain decimal number.
    NotANumber,
    /// A unit the pack does not know.
    UnknownUnit,
    /// A unit of another dimension than the field's.
    IncompatibleUnit,
    /// A field without a canonical unit.
    UnknownField,
    /// A grading system without a crosswalk.
    UnknownGradingSystem,
    /// A grade not in its system.
    UnknownGrade,
    /// A carrier without a service-level table.
    UnknownCarrier,
    /// A service term not in its carrier's table.
    UnknownServiceTerm,
    /// A packaging term without a code.
    UnknownPackageTerm,
    /// A time or date that does not parse or does not exist.
    InvalidTime,
    /// A time format that is not a pattern.
    InvalidFormat,
}

impl ErrorCode {
    /// The stable kebab-case code, as rejections carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotANumber => "not-a-number",
            ErrorCode::UnknownUnit => "unknown-unit",
            ErrorCode::IncompatibleUnit => "incompatible-unit",
            ErrorCode::UnknownField => "unknown-field",
            ErrorCode::UnknownGradingSystem => "unknown-grading-system",
            ErrorCode::UnknownGrade => "unknown-grade",
            ErrorCode::UnknownCarrier => "unknown-carrier",
            ErrorCode::UnknownServiceTerm => "unknown-service-term",
            ErrorCode::UnknownPackageTerm => "unknown-package-term",
            ErrorCode::InvalidTime => "invalid-time",
            ErrorCode::InvalidFormat => "invalid-format",
        }
    }
}

/// A value the standard services refuse, with a message for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StandardError {
    /// Which rule was broken.
    pub code: ErrorCode,
    /// What is wrong, quoting the value.
    pub message: String,
}

impl StandardError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> StandardError {
        StandardError {
            code,
            message: message.into(),
        }
    }
}
