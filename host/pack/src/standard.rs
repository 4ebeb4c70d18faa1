//! The standard services a pack offers to plugins.

use crate::grading::{Grade, Grading};
use crate::packaging::Packaging;
use crate::service_levels::{Service, ServiceLevels};
use crate::time::TimeRules;
use crate::units::Units;

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

/// The services built from a pack's rule tables.
#[derive(Debug, Clone)]
pub struct Standard {
    units: Units,
    grading: Grading,
    service_levels: ServiceLevels,
    packaging: Packaging,
    time: TimeRules,
}

impl Standard {
    pub(crate) fn new(
        units: Units,
        grading: Grading,
        service_levels: ServiceLevels,
        packaging: Packaging,
        time: TimeRules,
    ) -> Standard {
        Standard {
            units,
            grading,
            service_levels,
            packaging,
            time,
        }
    }

    /// `value` in `unit` as decimal text in the canonical unit of
    /// `record_type.field`, exact and rounded half to even.
    pub fn to_canonical(
        &self,
        value: &str,
        unit: &str,
        record_type: &str,
        field: &str,
    ) -> Result<String, StandardError> {
        self.units
            .to_canonical(value, unit, record_type, field)
            .map(|d| d.to_string())
    }

    /// The class of a lot: the lower of the grade's crosswalk and the diameter class.
    pub fn grade(
        &self,
        system: &str,
        grade: &str,
        diameter_mm: &str,
    ) -> Result<Grade, StandardError> {
        self.grading.grade(system, grade, diameter_mm)
    }

    /// The service level of a carrier's term.
    pub fn service_level(&self, carrier: &str, term: &str) -> Result<Service, StandardError> {
        self.service_levels.resolve(carrier, term)
    }

    /// The package code of a packaging term.
    pub fn package_code(&self, term: &str) -> Result<String, StandardError> {
        self.packaging.code(term)
    }

    /// A time in the standard's format; see the contract's `parse-time`.
    pub fn parse_time(&self, text: &str, format: &str) -> Result<String, StandardError> {
        self.time.parse_time(text, format)
    }

    /// A date as `YYYY-MM-DD`; see the contract's `parse-date`.
    pub fn parse_date(&self, text: &str, format: &str) -> Result<String, StandardError> {
        self.time.parse_date(text, format)
    }

    /// `time` plus `hours`, in the standard's format.
    pub fn add_hours(&self, time: &str, hours: u32) -> Result<String, StandardError> {
        self.time.add_hours(time, hours)
    }
}
