//! The pack's tables called directly, for running a plugin as native code
//! in the host's process: the benchmark's baseline, never part of a
//! component. The types and methods are those of the contract's resources
//! that this SDK calls, answered by the pack's own registry, as the sandbox
//! answers them (with no handles to count: the code is first-party).

use std::cell::RefCell;
use std::sync::Arc;

use conform_pack::tables::{InputRefused, Table};
use conform_pack::Standard;

pub use crate::bindings::conform::plugin::tables::{
    CanonicalValues, CodeMatch, Factor, LevelMatch, MatchedBy, Measures, PartResult, SchemeResult,
    TermQuery,
};
use crate::bindings::conform::plugin::types::{ServiceError, Span};

thread_local! {
    static STANDARD: RefCell<Option<Arc<Standard>>> = const { RefCell::new(None) };
}

/// Runs `f` with `standard` serving this thread's tables.
pub fn with_standard<R>(standard: &Arc<Standard>, f: impl FnOnce() -> R) -> R {
    STANDARD.with(|s| *s.borrow_mut() = Some(standard.clone()));
    let result = f();
    STANDARD.with(|s| *s.borrow_mut() = None);
    result
}

fn refusal(e: conform_pack::ServiceError) -> ServiceError {
    ServiceError {
        code: e.code.into_owned(),
        message: e.message,
        input: None,
    }
}

/// A refusal of one of several inputs, saying which.
fn input_refusal(refused: InputRefused) -> ServiceError {
    ServiceError {
        input: refused.input.map(|i| i as u32),
        ..refusal(refused.error)
    }
}

/// The table `name`, if it is of the kind `pick` takes.
fn open<T>(
    name: &str,
    wanted: &str,
    pick: impl Fn(&Table) -> Option<T>,
) -> Result<T, ServiceError> {
    STANDARD.with(|s| {
        let standard = s.borrow();
        let standard = standard
            .as_ref()
            .expect("native plugins run inside `with_standard`");
        let refused = |code: &str, message: String| ServiceError {
            code: code.into(),
            message,
            input: None,
        };
        let table = standard
            .tables()
            .get(name)
            .ok_or_else(|| refused("unknown-table", format!("the pack has no table `{name}`")))?;
        pick(table).ok_or_else(|| {
            refused(
                "wrong-table-kind",
                format!(
                    "table `{name}` is a {:?} table, not a {wanted}",
                    table.kind()
                ),
            )
        })
    })
}

/// A code list of the pack.
pub struct CodeList(Arc<conform_pack::tables::code_list::CodeList>);

impl CodeList {
    /// The code list `name`.
    pub fn open(name: &str) -> Result<CodeList, ServiceError> {
        open(name, "code-list", |t| match t {
            Table::CodeList(list) => Some(CodeList(list.clone())),
            _ => None,
        })
    }

    /// What `term`, read in `scope`, stands for.
    pub fn lookup(&self, term: &str, scope: Option<&str>) -> Result<CodeMatch, ServiceError> {
        use conform_pack::tables::code_list::MatchedBy as By;
        let found = self.0.lookup(term, scope).map_err(refusal)?;
        Ok(CodeMatch {
            code: found.code,
            scope: found.scope,
            by: match found.by {
                By::Code => MatchedBy::Code,
                By::Scope => MatchedBy::Scope,
                By::Name => MatchedBy::Name,
            },
        })
    }
}

/// A class set of the pack.
pub struct ClassSet(Arc<conform_pack::tables::class_set::ClassSet>);

impl ClassSet {
    /// The class set `name`.
    pub fn open(name: &str) -> Result<ClassSet, ServiceError> {
        open(name, "class-set", |t| match t {
            Table::ClassSet(set) => Some(ClassSet(set.clone())),
            _ => None,
        })
    }

    /// The worst of `classes`.
    pub fn lowest(&self, classes: &[&str]) -> Result<String, ServiceError> {
        self.0
            .lowest_of(classes)
            .map(str::to_string)
            .map_err(input_refusal)
    }
}

/// A thresholds table of the pack.
pub struct Thresholds(Arc<conform_pack::tables::thresholds::Thresholds>);

impl Thresholds {
    /// The thresholds table `name`.
    pub fn open(name: &str) -> Result<Thresholds, ServiceError> {
        open(name, "thresholds", |t| match t {
            Table::Thresholds(bounds) => Some(Thresholds(bounds.clone())),
            _ => None,
        })
    }

    /// The class `value` earns.
    pub fn classify(&self, value: &str) -> Result<String, ServiceError> {
        self.0.classify(value).map(str::to_string).map_err(refusal)
    }
}

/// A scheme of the pack.
pub struct Scheme(Arc<conform_pack::tables::scheme::Scheme>);

impl Scheme {
    /// The scheme `name`.
    pub fn open(name: &str) -> Result<Scheme, ServiceError> {
        open(name, "scheme", |t| match t {
            Table::Scheme(scheme) => Some(Scheme(scheme.clone())),
            _ => None,
        })
    }

    /// The class of `inputs`, one per part.
    pub fn evaluate(&self, inputs: &[TermQuery<'_>]) -> Result<SchemeResult, ServiceError> {
        let inputs: Vec<conform_pack::tables::scheme::Input<'_>> = inputs
            .iter()
            .map(|q| conform_pack::tables::scheme::Input {
                term: q.term,
                scope: q.scope,
            })
            .collect();
        match self.0.evaluate(&inputs) {
            Ok(found) => Ok(SchemeResult {
                class: found.class,
                parts: found
                    .parts
                    .into_iter()
                    .map(|(class, scope)| PartResult { class, scope })
                    .collect(),
            }),
            Err(refused) => Err(input_refusal(refused)),
        }
    }
}

/// A quantity field of a record type in a unit catalogue of the pack.
pub struct Quantity {
    units: Arc<conform_pack::tables::units::Units>,
    record_type: String,
    field: String,
}

impl Quantity {
    /// The field `record_type.field` of the unit catalogue `table`.
    pub fn open(table: &str, record_type: &str, field: &str) -> Result<Quantity, ServiceError> {
        let units = open(table, "unit-catalogue", |t| match t {
            Table::Units(units) => Some(units.clone()),
            _ => None,
        })?;
        if units.canonical(record_type, field).is_none() {
            return Err(refusal(units.unknown_field(record_type, field)));
        }
        Ok(Quantity {
            units,
            record_type: record_type.into(),
            field: field.into(),
        })
    }

    /// The canonical unit's decimals.
    pub fn decimals(&self) -> u32 {
        self.units
            .decimals(&self.record_type, &self.field)
            .unwrap_or(0)
    }

    /// The exact factor from `unit` to the canonical unit, if its terms fit.
    pub fn factor(&self, unit: &str) -> Option<Factor> {
        self.units
            .factor(unit, &self.record_type, &self.field)
            .map(|(num, den)| Factor { num, den })
    }

    /// `value` in `unit`, in the field's canonical unit.
    pub fn to_canonical(&self, value: &str, unit: &str) -> Result<String, ServiceError> {
        self.units
            .to_canonical(value, unit, &self.record_type, &self.field)
            .map(|d| d.to_string())
            .map_err(refusal)
    }

    /// Each of `values`, as [`Quantity::to_canonical`]. Panics where the
    /// host would fail the call (`ends` that do not cut `text`): native
    /// code is first-party, and the SDK cuts its columns itself.
    pub fn to_canonical_many(&self, values: Measures<'_>) -> CanonicalValues {
        let (text, answers) = self
            .units
            .to_canonical_column(
                values.text,
                values.ends,
                values.unit,
                &self.record_type,
                &self.field,
            )
            .expect("the SDK cuts its columns where the values end");
        let answers = answers
            .into_iter()
            .map(|answer| {
                answer
                    .map(|(from, to)| Span {
                        start: from,
                        len: to - from,
                    })
                    .map_err(refusal)
            })
            .collect();
        CanonicalValues { text, answers }
    }
}

/// A term-levels table of the pack.
pub struct TermLevels(Arc<conform_pack::tables::term_levels::TermLevels>);

impl TermLevels {
    /// The term-levels table `name`.
    pub fn open(name: &str) -> Result<TermLevels, ServiceError> {
        open(name, "term-levels", |t| match t {
            Table::TermLevels(levels) => Some(TermLevels(levels.clone())),
            _ => None,
        })
    }

    /// The level of `term` read in `scope`.
    pub fn resolve(&self, term: &str, scope: Option<&str>) -> Result<LevelMatch, ServiceError> {
        let found = self.0.resolve(term, scope).map_err(refusal)?;
        Ok(LevelMatch {
            level: found.level,
            amount: found.amount.to_string(),
            scope: found.scope,
        })
    }
}

/// The pack's time format.
pub struct TimeFormat(Arc<conform_pack::tables::time_format::TimeFormat>);

impl TimeFormat {
    /// The time format `name`.
    pub fn open(name: &str) -> Result<TimeFormat, ServiceError> {
        open(name, "time-format", |t| match t {
            Table::TimeFormat(format) => Some(TimeFormat(format.clone())),
            _ => None,
        })
    }

    /// `pattern`, checked.
    pub fn pattern(&self, pattern: &str) -> Result<TimePattern, ServiceError> {
        self.0.check_pattern(pattern).map_err(refusal)?;
        Ok(TimePattern {
            format: self.0.clone(),
            pattern: pattern.into(),
        })
    }

    /// `time` plus `hours`.
    pub fn add_hours(&self, time: &str, hours: u32) -> Result<String, ServiceError> {
        self.0.add_hours(time, hours).map_err(refusal)
    }
}

/// A checked time pattern.
pub struct TimePattern {
    format: Arc<conform_pack::tables::time_format::TimeFormat>,
    pattern: String,
}

impl TimePattern {
    /// A time read with the pattern.
    pub fn parse_time(&self, text: &str) -> Result<String, ServiceError> {
        self.format.parse_time(text, &self.pattern).map_err(refusal)
    }

    /// A date read with the pattern.
    pub fn parse_date(&self, text: &str) -> Result<String, ServiceError> {
        self.format.parse_date(text, &self.pattern).map_err(refusal)
    }
}
