//! The standard services of the active pack, served by the host.
//!
//! Each function returns a [`Problem`] with the contract's stable code on
//! failure; attribute it to your input field with [`crate::ResultExt::at`].

use serde_json::{Number, Value};

#[cfg(not(feature = "native"))]
use crate::bindings::conform::plugin::standard as host;
use crate::bindings::conform::plugin::types::{ErrorCode, Level, StandardError};
#[cfg(feature = "native")]
use crate::native as host;
use crate::Problem;

pub use crate::bindings::conform::plugin::types::{Grading, Service};

/// A standard service's refusal as a [`Problem`]: from the host over the
/// contract or, in a native build, from the pack itself. The contract's
/// codes are turned into text here and only here on the guest's side (the
/// host's side is `conform-sandbox`'s `host.rs`).
trait Refusal {
    fn into_problem(self) -> Problem;
}

impl Refusal for StandardError {
    fn into_problem(self) -> Problem {
        Problem::new(code_text(self.code), self.message)
    }
}

#[cfg(feature = "native")]
impl Refusal for conform_pack::ServiceError {
    fn into_problem(self) -> Problem {
        Problem::new(&self.code, self.message)
    }
}

fn problem(e: impl Refusal) -> Problem {
    e.into_problem()
}

/// The contract's error code as rejections carry it.
fn code_text(code: ErrorCode) -> &'static str {
    match code {
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

/// `value` in `unit`, converted to the canonical unit of `record_type.field`
/// and rounded as the pack says, as a JSON number.
pub fn to_canonical(
    value: &str,
    unit: &str,
    record_type: &str,
    field: &str,
) -> Result<Value, Problem> {
    let text = host::to_canonical(value, unit, record_type, field).map_err(problem)?;
    decimal_value(&text)
}

/// The same as [`to_canonical`], keeping the decimal text (for grading).
pub fn to_canonical_text(
    value: &str,
    unit: &str,
    record_type: &str,
    field: &str,
) -> Result<String, Problem> {
    host::to_canonical(value, unit, record_type, field).map_err(problem)
}

/// A decimal text as a JSON number (shortest form that reads back the same).
pub fn decimal_value(text: &str) -> Result<Value, Problem> {
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| Problem::new("not-a-number", format!("`{text}` is not a number")))
}

/// The standard's class of a lot; see the contract's `grade`.
pub fn grade(system: &str, grade: &str, diameter_mm: &str) -> Result<Grading, Problem> {
    host::grade(system, grade, diameter_mm).map_err(problem)
}

/// A carrier's service term as the standard's service level.
pub fn service_level(carrier: &str, term: &str) -> Result<Service, Problem> {
    host::service_level(carrier, term).map_err(problem)
}

/// A packaging term as the pack's package code.
pub fn package_code(term: &str) -> Result<String, Problem> {
    host::package_code(term).map_err(problem)
}

/// A time in the standard's format (`unix-ms`, `unix-s` or a strftime pattern).
pub fn parse_time(text: &str, format: &str) -> Result<String, Problem> {
    host::parse_time(text, format).map_err(problem)
}

/// A date as `YYYY-MM-DD` from a strftime pattern.
pub fn parse_date(text: &str, format: &str) -> Result<String, Problem> {
    host::parse_date(text, format).map_err(problem)
}

/// A time in the standard's format plus some hours.
pub fn add_hours(time: &str, hours: u32) -> Result<String, Problem> {
    host::add_hours(time, hours).map_err(problem)
}

/// Writes to the host's log.
pub fn log_info(message: &str) {
    host::log(Level::Info, message);
}
