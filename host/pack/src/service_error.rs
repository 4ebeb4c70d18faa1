//! What the standard services answer when they refuse a value: a stable
//! kebab-case code and a message for a person. Apart from the services, so
//! that each table module depends on it and not on the services' facade.
//! The codes are text, not a closed set: each table kind has its default
//! codes, and a pack may word its tables' refusals with its own.

use std::borrow::Cow;

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
    pub fn owned(code: String, message: String) -> ServiceError {
        ServiceError {
            code: Cow::Owned(code),
            message,
        }
    }
}
