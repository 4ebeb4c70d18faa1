//! Contract 0.1.0's services, frozen with it: the first sample standard's
//! functions over the tables the pack binds to them, with the contract's
//! closed set of error codes.

use super::{escape_log, HostState};
use crate::bindings::conform::plugin::{standard, types};
use crate::bindings::{ErrorCode, Grading, Level, Service, StandardError};

/// Adds the standard services to a linker.
pub(crate) fn add_to_linker(
    linker: &mut wasmtime::component::Linker<HostState>,
) -> wasmtime::Result<()> {
    crate::bindings::Converter::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
        linker,
        |state| state,
    )
}

/// A service's refusal in the 0.1.0 contract's terms: its code as the
/// contract's `error-code`, or `fallback` for a code the contract lacks
/// (the function's own refusal), with the message as given.
fn error(e: conform_pack::ServiceError, fallback: ErrorCode) -> StandardError {
    use conform_pack::codes;
    let code = match e.code.as_ref() {
        codes::NOT_A_NUMBER => ErrorCode::NotANumber,
        codes::UNKNOWN_UNIT => ErrorCode::UnknownUnit,
        codes::INCOMPATIBLE_UNIT => ErrorCode::IncompatibleUnit,
        codes::UNKNOWN_FIELD => ErrorCode::UnknownField,
        codes::UNKNOWN_GRADING_SYSTEM => ErrorCode::UnknownGradingSystem,
        codes::UNKNOWN_GRADE => ErrorCode::UnknownGrade,
        codes::UNKNOWN_CARRIER => ErrorCode::UnknownCarrier,
        codes::UNKNOWN_SERVICE_TERM => ErrorCode::UnknownServiceTerm,
        codes::UNKNOWN_PACKAGE_TERM => ErrorCode::UnknownPackageTerm,
        codes::INVALID_TIME => ErrorCode::InvalidTime,
        codes::INVALID_FORMAT => ErrorCode::InvalidFormat,
        _ => fallback,
    };
    StandardError {
        code,
        message: e.message,
    }
}

impl types::Host for HostState {}

impl standard::Host for HostState {
    fn to_canonical(
        &mut self,
        value: String,
        unit: String,
        record_type: String,
        field: String,
    ) -> Result<String, StandardError> {
        self.standard
            .to_canonical(&value, &unit, &record_type, &field)
            .map_err(|e| error(e, ErrorCode::NotANumber))
    }

    fn grade(
        &mut self,
        system: String,
        grade: String,
        diameter_mm: String,
    ) -> Result<Grading, StandardError> {
        self.standard
            .grade(&system, &grade, &diameter_mm)
            .map(|g| Grading {
                class: g.class,
                system: g.system,
            })
            .map_err(|e| error(e, ErrorCode::UnknownGrade))
    }

    fn service_level(&mut self, carrier: String, term: String) -> Result<Service, StandardError> {
        self.standard
            .service_level(&carrier, &term)
            .map(|s| Service {
                level: s.level,
                hours: s.hours,
            })
            .map_err(|e| error(e, ErrorCode::UnknownServiceTerm))
    }

    fn package_code(&mut self, term: String) -> Result<String, StandardError> {
        self.standard
            .package_code(&term)
            .map_err(|e| error(e, ErrorCode::UnknownPackageTerm))
    }

    fn parse_time(&mut self, text: String, format: String) -> Result<String, StandardError> {
        self.standard
            .parse_time(&text, &format)
            .map_err(|e| error(e, ErrorCode::InvalidTime))
    }

    fn parse_date(&mut self, text: String, format: String) -> Result<String, StandardError> {
        self.standard
            .parse_date(&text, &format)
            .map_err(|e| error(e, ErrorCode::InvalidTime))
    }

    fn add_hours(&mut self, time: String, hours: u32) -> Result<String, StandardError> {
        self.standard
            .add_hours(&time, hours)
            .map_err(|e| error(e, ErrorCode::InvalidTime))
    }

    fn log(&mut self, level: Level, message: String) {
        if !self.log.admit() {
            return;
        }
        let message = escape_log(&message);
        let plugin = &*self.plugin;
        match level {
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(code: &str) -> conform_pack::ServiceError {
        conform_pack::ServiceError {
            code: code.to_string().into(),
            message: "m".into(),
        }
    }

    #[test]
    fn every_built_in_code_has_its_own_case_in_the_0_1_0_contract() {
        let mut cases = Vec::new();
        for code in conform_pack::codes::ALL {
            let one = error(refusal(code), ErrorCode::NotANumber).code;
            let other = error(refusal(code), ErrorCode::InvalidTime).code;
            assert_eq!(one, other, "`{code}` falls back instead of mapping");
            assert!(!cases.contains(&one), "`{code}` shares a case");
            cases.push(one);
        }
    }

    #[test]
    fn a_code_the_0_1_0_contract_lacks_takes_the_function_s_own_case() {
        let e = error(refusal("unknown-colour"), ErrorCode::UnknownPackageTerm);
        assert_eq!(e.code, ErrorCode::UnknownPackageTerm);
        assert_eq!(e.message, "m");
    }
}
