//! What the host serves a plugin: the pack's standard services, a log, and
//! the store's resource limits.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use conform_pack::Standard;

use crate::bindings::conform::plugin::{standard, types};
use crate::bindings::{ErrorCode, Grading, Level, Service, StandardError};

/// Longest log message kept from a plugin; the rest is cut.
const MAX_LOG_BYTES: usize = conform_model::MAX_MESSAGE_BYTES;

/// Log messages a plugin may write per batch, retries included; the rest
/// are counted and reported in one line when the batch ends.
pub const MAX_LOG_LINES_PER_BATCH: u32 = 20;

/// Adds the standard services to a linker.
pub(crate) fn add_to_linker(
    linker: &mut wasmtime::component::Linker<HostState>,
) -> wasmtime::Result<()> {
    crate::bindings::Converter::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
        linker,
        |state| state,
    )
}

/// Per-store state: the standard services and the limits.
pub(crate) struct HostState {
    pub(crate) plugin: Arc<str>,
    pub(crate) standard: Arc<Standard>,
    pub(crate) limiter: Limiter,
    pub(crate) log: Arc<LogBudget>,
}

/// A worker's log budget for the batch it converts, shared by the stores
/// the batch runs in (a batch retried row by row runs in several).
#[derive(Debug, Default)]
pub(crate) struct LogBudget {
    written: AtomicU32,
    dropped: AtomicU64,
}

impl LogBudget {
    /// A batch begins: the budget is full again.
    pub(crate) fn start_batch(&self) {
        self.written.store(0, Ordering::Relaxed);
        self.dropped.store(0, Ordering::Relaxed);
    }

    /// A batch ended: says how many messages were dropped, if any.
    pub(crate) fn end_batch(&self, plugin: &str) {
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                plugin,
                dropped,
                "plugin log messages dropped: more than {MAX_LOG_LINES_PER_BATCH} in one batch"
            );
        }
    }

    /// Whether one more message may be written now.
    fn admit(&self) -> bool {
        if self.written.fetch_add(1, Ordering::Relaxed) < MAX_LOG_LINES_PER_BATCH {
            true
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

/// A plugin's message made safe for one log line: cut to [`MAX_LOG_BYTES`],
/// newlines and other control characters escaped (`\n`, `\u{1b}`), so that
/// a plugin can neither forge log lines nor send terminal escapes.
pub(crate) fn escape_log(message: &str) -> String {
    let message = conform_model::truncate(message, MAX_LOG_BYTES);
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        // Control characters, line and paragraph separators, bidirectional
        // overrides and invisible characters.
        let invisible = matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}');
        if c.is_control() || invisible {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Memory and table limits of one store. Records whether a limit was hit so
/// that the trap that follows can be reported as `plugin-memory`.
pub(crate) struct Limiter {
    pub(crate) max_memory_bytes: usize,
    pub(crate) hit: bool,
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > 100_000 {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        4
    }
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

    #[test]
    fn log_messages_cannot_forge_lines_or_send_escapes() {
        assert_eq!(
            escape_log("ok\nINFO forged line\r\u{1b}[31mred"),
            "ok\\nINFO forged line\\r\\u{1b}[31mred"
        );
        let long = "x".repeat(5000);
        assert!(escape_log(&long).len() <= MAX_LOG_BYTES + '…'.len_utf8());
    }

    #[test]
    fn a_batch_logs_a_bounded_number_of_lines() {
        let budget = LogBudget::default();
        budget.start_batch();
        let admitted = (0..1000).filter(|_| budget.admit()).count();
        assert_eq!(admitted, MAX_LOG_LINES_PER_BATCH as usize);
        assert_eq!(
            budget.dropped.load(Ordering::Relaxed),
            1000 - u64::from(MAX_LOG_LINES_PER_BATCH)
        );
        budget.start_batch();
        assert!(budget.admit());
    }

    #[test]
    fn invisible_and_bidirectional_characters_are_escaped() {
        let escaped = escape_log("a\u{202e}b\u{2066}c\u{200b}d\u{feff}");
        assert!(escaped.is_ascii(), "{escaped}");
    }
}
