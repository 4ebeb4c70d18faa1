//! The standard services called directly, for running a plugin as native
//! code in the host's process (the benchmark's baseline). Never part of a
//! component.

use std::cell::RefCell;
use std::sync::Arc;

use conform_pack::{ServiceError, Standard};

use crate::bindings::conform::plugin::types::{Grading, Level, Service};

thread_local! {
    static STANDARD: RefCell<Option<Arc<Standard>>> = const { RefCell::new(None) };
}

/// Runs `f` with `standard` serving this thread's standard-service calls.
pub fn with_standard<R>(standard: &Arc<Standard>, f: impl FnOnce() -> R) -> R {
    STANDARD.with(|s| *s.borrow_mut() = Some(standard.clone()));
    let result = f();
    STANDARD.with(|s| *s.borrow_mut() = None);
    result
}

fn call<T>(f: impl FnOnce(&Standard) -> Result<T, ServiceError>) -> Result<T, ServiceError> {
    STANDARD.with(|s| {
        let standard = s.borrow();
        let standard = standard
            .as_ref()
            .expect("native plugins run inside `with_standard`");
        f(standard)
    })
}

pub(crate) fn to_canonical(
    value: &str,
    unit: &str,
    record_type: &str,
    field: &str,
) -> Result<String, ServiceError> {
    call(|s| s.to_canonical(value, unit, record_type, field))
}

pub(crate) fn grade(system: &str, grade: &str, diameter_mm: &str) -> Result<Grading, ServiceError> {
    call(|s| {
        s.grade(system, grade, diameter_mm).map(|g| Grading {
            class: g.class,
            system: g.system,
        })
    })
}

pub(crate) fn service_level(carrier: &str, term: &str) -> Result<Service, ServiceError> {
    call(|s| {
        s.service_level(carrier, term).map(|v| Service {
            level: v.level,
            hours: v.hours,
        })
    })
}

pub(crate) fn package_code(term: &str) -> Result<String, ServiceError> {
    call(|s| s.package_code(term))
}

pub(crate) fn parse_time(text: &str, format: &str) -> Result<String, ServiceError> {
    call(|s| s.parse_time(text, format))
}

pub(crate) fn parse_date(text: &str, format: &str) -> Result<String, ServiceError> {
    call(|s| s.parse_date(text, format))
}

pub(crate) fn add_hours(time: &str, hours: u32) -> Result<String, ServiceError> {
    call(|s| s.add_hours(time, hours))
}

pub(crate) fn log(_level: Level, _message: &str) {}
