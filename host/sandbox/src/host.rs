//! What the host serves a plugin: the pack's standard services, a log, and
//! the store's resource limits.

use std::sync::Arc;

use conform_pack::Standard;

use crate::bindings::conform::plugin::{standard, types};
use crate::bindings::{ErrorCode, Grading, Level, Service, StandardError};

/// Longest log message kept from a plugin; the rest is cut.
const MAX_LOG_BYTES: usize = 1024;

/// Per-store state: the standard services and the limits.
pub(crate) struct HostState {
    pub(crate) plugin: Arc<str>,
    pub(crate) standard: Arc<Standard>,
    pub(crate) limiter: Limiter,
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

fn error(e: conform_pack::StandardError) -> StandardError {
    use conform_pack::ErrorCode as P;
    let code = match e.code {
        P::NotANumber => ErrorCode::NotANumber,
        P::UnknownUnit => ErrorCode::UnknownUnit,
        P::IncompatibleUnit => ErrorCode::IncompatibleUnit,
        P::UnknownField => ErrorCode::UnknownField,
        P::UnknownGradingSystem => ErrorCode::UnknownGradingSystem,
        P::UnknownGrade => ErrorCode::UnknownGrade,
        P::UnknownCarrier => ErrorCode::UnknownCarrier,
        P::UnknownServiceTerm => ErrorCode::UnknownServiceTerm,
        P::UnknownPackageTerm => ErrorCode::UnknownPackageTerm,
        P::InvalidTime => ErrorCode::InvalidTime,
        P::InvalidFormat => ErrorCode::InvalidFormat,
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
            .map_err(error)
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
            .map_err(error)
    }

    fn service_level(&mut self, carrier: String, term: String) -> Result<Service, StandardError> {
        self.standard
            .service_level(&carrier, &term)
            .map(|s| Service {
                level: s.level,
                hours: s.hours,
            })
            .map_err(error)
    }

    fn package_code(&mut self, term: String) -> Result<String, StandardError> {
        self.standard.package_code(&term).map_err(error)
    }

    fn parse_time(&mut self, text: String, format: String) -> Result<String, StandardError> {
        self.standard.parse_time(&text, &format).map_err(error)
    }

    fn parse_date(&mut self, text: String, format: String) -> Result<String, StandardError> {
        self.standard.parse_date(&text, &format).map_err(error)
    }

    fn add_hours(&mut self, time: String, hours: u32) -> Result<String, StandardError> {
        self.standard.add_hours(&time, hours).map_err(error)
    }

    fn log(&mut self, level: Level, message: String) {
        let mut message = message;
        if message.len() > MAX_LOG_BYTES {
            let mut cut = MAX_LOG_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let plugin = &*self.plugin;
        match level {
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}
