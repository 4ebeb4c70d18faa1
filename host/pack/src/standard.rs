//! The standard services a pack offers to plugins: its tables, and the
//! functions of contract 0.1.0 over the tables the pack names for them.

use std::path::Path;

use conform_model::pack::ContractTables;

use crate::service_error::{codes, ServiceError};
use crate::tables::scheme::{Input, Part};
use crate::tables::Tables;
use crate::PackError;

/// A lot's grade in the standard (contract 0.1.0's `grade`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grade {
    /// The standard's class.
    pub class: String,
    /// The pack's id of the scope (source grading system) the grade was read in.
    pub system: String,
}

/// A resolved service level (contract 0.1.0's `service-level`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The standard's level code (`SL48`).
    pub level: String,
    /// Hours within which delivery is promised.
    pub hours: u32,
}

/// The services built from a pack's tables.
#[derive(Debug, Clone)]
pub struct Standard {
    tables: Tables,
    /// The tables serving contract 0.1.0's functions, checked.
    v0_1: ContractTables,
}

impl Standard {
    /// The services over `tables`, with `v0_1` naming the tables of
    /// contract 0.1.0's functions (each of the function's kind, as the
    /// manifest's check ensures); checks that `grade`'s scheme reads a term
    /// in a scope and then a quantity, as the function's arguments give
    /// them (`manifest` names the file in errors).
    pub(crate) fn new(
        tables: Tables,
        v0_1: ContractTables,
        manifest: &Path,
    ) -> Result<Standard, PackError> {
        if let Some(scheme) = v0_1.grade.as_deref().and_then(|n| tables.scheme(n)) {
            if !matches!(scheme.parts(), [Part::Codes(_), Part::Bounds(_)]) {
                return Err(PackError::table(
                    manifest,
                    "contract.\"0.1.0\".grade",
                    "contract 0.1.0's grade reads a grade in its grading system, then a diameter: its scheme must have two parts, a code list and then a thresholds table",
                ));
            }
        }
        Ok(Standard { tables, v0_1 })
    }

    /// The pack's tables, by name.
    pub fn tables(&self) -> &Tables {
        &self.tables
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
        let units = self.bound("to-canonical", &self.v0_1.to_canonical, |n| {
            self.tables.units(n)
        })?;
        units
            .to_canonical(value, unit, record_type, field)
            .map(|d| d.to_string())
    }

    /// The class of a lot: the grade scheme's class for a grade in its
    /// system and a diameter.
    pub fn grade(
        &self,
        system: &str,
        grade: &str,
        diameter_mm: &str,
    ) -> Result<Grade, ServiceError> {
        let scheme = self.bound("grade", &self.v0_1.grade, |n| self.tables.scheme(n))?;
        let inputs = [
            Input {
                term: grade,
                scope: Some(system),
            },
            Input {
                term: diameter_mm,
                scope: None,
            },
        ];
        let found = scheme.evaluate(&inputs).map_err(|e| e.error)?;
        let system = found.parts[0].1.clone().unwrap_or_default();
        Ok(Grade {
            class: found.class,
            system,
        })
    }

    /// The service level of a carrier's term.
    pub fn service_level(&self, carrier: &str, term: &str) -> Result<Service, ServiceError> {
        let levels = self.bound("service-level", &self.v0_1.service_level, |n| {
            self.tables.term_levels(n)
        })?;
        let found = levels.resolve(term, Some(carrier))?;
        Ok(Service {
            level: found.level,
            hours: found.amount,
        })
    }

    /// The package code of a packaging term.
    pub fn package_code(&self, term: &str) -> Result<String, ServiceError> {
        let list = self.bound("package-code", &self.v0_1.package_code, |n| {
            self.tables.code_list(n)
        })?;
        list.lookup(term, None).map(|found| found.code)
    }

    /// A time in the standard's format; see the contract's `parse-time`.
    pub fn parse_time(&self, text: &str, format: &str) -> Result<String, ServiceError> {
        self.time()?.parse_time(text, format)
    }

    /// A date as `YYYY-MM-DD`; see the contract's `parse-date`.
    pub fn parse_date(&self, text: &str, format: &str) -> Result<String, ServiceError> {
        self.time()?.parse_date(text, format)
    }

    /// `time` plus `hours`, in the standard's format.
    pub fn add_hours(&self, time: &str, hours: u32) -> Result<String, ServiceError> {
        self.time()?.add_hours(time, hours)
    }

    fn time(&self) -> Result<&crate::tables::time_format::TimeFormat, ServiceError> {
        self.bound("time", &self.v0_1.time, |n| self.tables.time_format(n))
    }

    /// The table bound to a 0.1.0 function, or the refusal a plugin gets
    /// when the pack binds none.
    fn bound<'a, T>(
        &'a self,
        function: &str,
        name: &'a Option<String>,
        get: impl Fn(&'a str) -> Option<&'a T>,
    ) -> Result<&'a T, ServiceError> {
        name.as_deref().and_then(get).ok_or_else(|| {
            ServiceError::new(
                codes::NOT_SERVED,
                format!("this pack names no table for `{function}` of contract 0.1.0: the plugin needs a pack that serves it"),
            )
        })
    }
}
