//! The standard services a pack offers to plugins: its tables, and the
//! functions of contract 0.1.0 over the tables the pack names for them.
//! Frozen with that contract: its functions, results and error codes are
//! the first sample standard's, which is why only this file (with the
//! format-1 translation and the sandbox's 0.1.0 binding) names that
//! standard's domain.

use std::path::Path;

use conform_model::pack::ContractTables;

use crate::service_error::ServiceError;
use crate::tables::scheme::{Input, Part};
use crate::tables::Tables;
use crate::PackError;

/// The codes of contract 0.1.0's services, as rejections carry them: the
/// contract's `error-code` has one case for each (the tables' default
/// codes, and the format-1 wordings, are these).
pub mod codes {
    /// Not a plain decimal number.
    pub const NOT_A_NUMBER: &str = "not-a-number";
    /// A unit the pack does not know.
    pub const UNKNOWN_UNIT: &str = "unknown-unit";
    /// A unit of another dimension than the field's.
    pub const INCOMPATIBLE_UNIT: &str = "incompatible-unit";
    /// A field without a canonical unit.
    pub const UNKNOWN_FIELD: &str = "unknown-field";
    /// A grading system without a crosswalk.
    pub const UNKNOWN_GRADING_SYSTEM: &str = "unknown-grading-system";
    /// A grade not in its system.
    pub const UNKNOWN_GRADE: &str = "unknown-grade";
    /// A carrier without a service-level table.
    pub const UNKNOWN_CARRIER: &str = "unknown-carrier";
    /// A service term not in its carrier's table.
    pub const UNKNOWN_SERVICE_TERM: &str = "unknown-service-term";
    /// A packaging term without a code.
    pub const UNKNOWN_PACKAGE_TERM: &str = "unknown-package-term";
    /// A time or date that does not parse or does not exist.
    pub const INVALID_TIME: &str = "invalid-time";
    /// A time format that is not a pattern.
    pub const INVALID_FORMAT: &str = "invalid-format";

    /// Every code above, in the order of the 0.1.0 contract's `error-code`.
    pub const ALL: [&str; 11] = [
        NOT_A_NUMBER,
        UNKNOWN_UNIT,
        INCOMPATIBLE_UNIT,
        UNKNOWN_FIELD,
        UNKNOWN_GRADING_SYSTEM,
        UNKNOWN_GRADE,
        UNKNOWN_CARRIER,
        UNKNOWN_SERVICE_TERM,
        UNKNOWN_PACKAGE_TERM,
        INVALID_TIME,
        INVALID_FORMAT,
    ];

    /// A contract 0.1.0 function the pack names no table for (a pack
    /// without grading asked to grade); not one of the contract's codes.
    pub const NOT_SERVED: &str = "not-served";
}

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

    /// Whether the pack binds a table to any of contract 0.1.0's
    /// functions (every format-1 pack binds them all).
    pub fn serves_v0_1(&self) -> bool {
        let v = &self.v0_1;
        [
            &v.to_canonical,
            &v.grade,
            &v.service_level,
            &v.package_code,
            &v.time,
        ]
        .iter()
        .any(|bound| bound.is_some())
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
