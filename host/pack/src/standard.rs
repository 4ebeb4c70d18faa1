//! The standard services a pack offers to plugins.

use crate::grading::{Grade, Grading};
use crate::packaging::Packaging;
use crate::service_levels::{Service, ServiceLevels};
use crate::tables::time_format::TimeFormat;
use crate::tables::units::Units;

use crate::service_error::ServiceError;

/// The services built from a pack's rule tables.
#[derive(Debug, Clone)]
pub struct Standard {
    units: Units,
    grading: Grading,
    service_levels: ServiceLevels,
    packaging: Packaging,
    time: TimeFormat,
}

impl Standard {
    pub(crate) fn new(
        units: Units,
        grading: Grading,
        service_levels: ServiceLevels,
        packaging: Packaging,
        time: TimeFormat,
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
    ) -> Result<String, ServiceError> {
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
    ) -> Result<Grade, ServiceError> {
        self.grading.grade(system, grade, diameter_mm)
    }

    /// The service level of a carrier's term.
    pub fn service_level(&self, carrier: &str, term: &str) -> Result<Service, ServiceError> {
        self.service_levels.resolve(carrier, term)
    }

    /// The package code of a packaging term.
    pub fn package_code(&self, term: &str) -> Result<String, ServiceError> {
        self.packaging.code(term)
    }

    /// A time in the standard's format; see the contract's `parse-time`.
    pub fn parse_time(&self, text: &str, format: &str) -> Result<String, ServiceError> {
        self.time.parse_time(text, format)
    }

    /// A date as `YYYY-MM-DD`; see the contract's `parse-date`.
    pub fn parse_date(&self, text: &str, format: &str) -> Result<String, ServiceError> {
        self.time.parse_date(text, format)
    }

    /// `time` plus `hours`, in the standard's format.
    pub fn add_hours(&self, time: &str, hours: u32) -> Result<String, ServiceError> {
        self.time.add_hours(time, hours)
    }
}
