//! The pack's tables, by name. A table is named by a constant
//! (`CodeList::named("packaging")`) and opened on first use in a batch;
//! every answer is remembered for the batch, so a term that repeats costs
//! one call to the host per batch. A table the pack lacks is a problem of
//! every row that asks it, never a crash.

use std::collections::HashMap;

use crate::bindings::conform::plugin::tables as host;
use crate::row::Problem;

pub use host::{CodeMatch, LevelMatch, MatchedBy, PartResult, SchemeResult};

/// Answers remembered for a batch, by question.
type Memo<K, V> = HashMap<K, Result<V, Problem>>;
/// A scheme's inputs, as a memo key.
type Inputs = Vec<(String, Option<String>)>;
/// A quantity: unit catalogue, record type, field.
type Field = (&'static str, &'static str, &'static str);

/// The per-batch context: open tables and remembered answers.
#[derive(Default)]
pub struct Cx {
    code_lists: Memo<&'static str, host::CodeList>,
    class_sets: Memo<&'static str, host::ClassSet>,
    thresholds: Memo<&'static str, host::Thresholds>,
    schemes: Memo<&'static str, host::Scheme>,
    quantities: Memo<Field, host::Quantity>,
    term_levels: Memo<&'static str, host::TermLevels>,
    time_formats: Memo<&'static str, host::TimeFormat>,
    patterns: Memo<(&'static str, String), host::TimePattern>,
    lookups: Memo<(&'static str, String, Option<String>), CodeMatch>,
    classified: Memo<(&'static str, String), String>,
    evaluated: Memo<(&'static str, Inputs), SchemeResult>,
    converted: Memo<(Field, String, String), String>,
    resolved: Memo<(&'static str, String, Option<String>), LevelMatch>,
    times: Memo<(&'static str, String, String, bool), String>,
}

/// The answer remembered under `key`, or `ask`ed once and remembered.
fn remembered<K: std::hash::Hash + Eq, V: Clone>(
    memo: &mut Memo<K, V>,
    key: K,
    ask: impl FnOnce() -> Result<V, Problem>,
) -> Result<V, Problem> {
    memo.entry(key).or_insert_with(ask).clone()
}

/// The handle of `name`, opened once.
fn opened<K: std::hash::Hash + Eq, H>(
    handles: &mut Memo<K, H>,
    key: K,
    open: impl FnOnce() -> Result<H, Problem>,
) -> Result<&H, Problem> {
    handles
        .entry(key)
        .or_insert_with(open)
        .as_ref()
        .map_err(Clone::clone)
}

/// A code list of the pack: terms → codes, with names, aliases and
/// crosswalks per scope.
#[derive(Debug, Clone, Copy)]
pub struct CodeList(&'static str);

impl CodeList {
    /// The code list `name` of the pack.
    pub const fn named(name: &'static str) -> CodeList {
        CodeList(name)
    }

    /// What `term`, read in `scope` if given, stands for.
    pub fn lookup(
        &self,
        cx: &mut Cx,
        term: &str,
        scope: Option<&str>,
    ) -> Result<CodeMatch, Problem> {
        let name = self.0;
        let list = opened(&mut cx.code_lists, name, || {
            host::CodeList::open(name).map_err(Problem::from)
        })?;
        let key = (name, term.to_string(), scope.map(str::to_string));
        if let Some(answer) = cx.lookups.get(&key) {
            return answer.clone();
        }
        let answer = list.lookup(term, scope).map_err(Problem::from);
        remembered(&mut cx.lookups, key, || answer)
    }

    /// The code of `term` (unscoped).
    pub fn code(&self, cx: &mut Cx, term: &str) -> Result<String, Problem> {
        self.lookup(cx, term, None).map(|found| found.code)
    }

    /// The code of `term` read in `scope`.
    pub fn code_in(&self, cx: &mut Cx, term: &str, scope: &str) -> Result<String, Problem> {
        self.lookup(cx, term, Some(scope)).map(|found| found.code)
    }
}

/// A class set of the pack: classes, best first.
#[derive(Debug, Clone, Copy)]
pub struct ClassSet(&'static str);

impl ClassSet {
    /// The class set `name` of the pack.
    pub const fn named(name: &'static str) -> ClassSet {
        ClassSet(name)
    }

    /// The worst of `classes`.
    pub fn lowest(&self, cx: &mut Cx, classes: &[&str]) -> Result<String, Problem> {
        let name = self.0;
        let set = opened(&mut cx.class_sets, name, || {
            host::ClassSet::open(name).map_err(Problem::from)
        })?;
        let classes: Vec<String> = classes.iter().map(|c| c.to_string()).collect();
        set.lowest(&classes).map_err(Problem::from)
    }
}

/// A thresholds table of the pack: a quantity classified by bounds.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds(&'static str);

impl Thresholds {
    /// The thresholds table `name` of the pack.
    pub const fn named(name: &'static str) -> Thresholds {
        Thresholds(name)
    }

    /// The class `value` (decimal text) earns.
    pub fn classify(&self, cx: &mut Cx, value: &str) -> Result<String, Problem> {
        let name = self.0;
        let bounds = opened(&mut cx.thresholds, name, || {
            host::Thresholds::open(name).map_err(Problem::from)
        })?;
        let answer = match cx.classified.get(&(name, value.to_string())) {
            Some(answer) => return answer.clone(),
            None => bounds.classify(value).map_err(Problem::from),
        };
        remembered(&mut cx.classified, (name, value.to_string()), || answer)
    }
}

/// A scheme of the pack: classifications combined ("the lower of").
#[derive(Debug, Clone, Copy)]
pub struct Scheme(&'static str);

impl Scheme {
    /// The scheme `name` of the pack.
    pub const fn named(name: &'static str) -> Scheme {
        Scheme(name)
    }

    /// The class of `inputs` (term and scope, one per part, in order);
    /// a refusal's [`Problem::input`] names the input at fault.
    pub fn evaluate(
        &self,
        cx: &mut Cx,
        inputs: &[(&str, Option<&str>)],
    ) -> Result<SchemeResult, Problem> {
        let name = self.0;
        let scheme = opened(&mut cx.schemes, name, || {
            host::Scheme::open(name).map_err(Problem::from)
        })?;
        let key: Vec<(String, Option<String>)> = inputs
            .iter()
            .map(|(t, s)| (t.to_string(), s.map(str::to_string)))
            .collect();
        if let Some(answer) = cx.evaluated.get(&(name, key.clone())) {
            return answer.clone();
        }
        let queries: Vec<host::TermQuery> = key
            .iter()
            .map(|(term, scope)| host::TermQuery {
                term: term.clone(),
                scope: scope.clone(),
            })
            .collect();
        let answer = scheme.evaluate(&queries).map_err(Problem::from);
        remembered(&mut cx.evaluated, (name, key), || answer)
    }
}

/// A quantity field of a record type, in a unit catalogue of the pack.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    table: &'static str,
    record_type: &'static str,
    field: &'static str,
}

impl Quantity {
    /// The field `record_type.field` of the unit catalogue `table`.
    pub const fn named(
        table: &'static str,
        record_type: &'static str,
        field: &'static str,
    ) -> Quantity {
        Quantity {
            table,
            record_type,
            field,
        }
    }

    /// `value` in `unit`, in the field's canonical unit, exact and rounded
    /// half to even to its decimals.
    pub fn to_canonical(&self, cx: &mut Cx, value: &str, unit: &str) -> Result<String, Problem> {
        let Quantity {
            table,
            record_type,
            field,
        } = *self;
        let quantity = opened(&mut cx.quantities, (table, record_type, field), || {
            host::Quantity::open(table, record_type, field).map_err(Problem::from)
        })?;
        let key = (
            (table, record_type, field),
            value.to_string(),
            unit.to_string(),
        );
        if let Some(answer) = cx.converted.get(&key) {
            return answer.clone();
        }
        let answer = quantity.to_canonical(value, unit).map_err(Problem::from);
        remembered(&mut cx.converted, key, || answer)
    }
}

/// A term-levels table of the pack: terms, per scope, → amounts → levels.
#[derive(Debug, Clone, Copy)]
pub struct TermLevels(&'static str);

impl TermLevels {
    /// The term-levels table `name` of the pack.
    pub const fn named(name: &'static str) -> TermLevels {
        TermLevels(name)
    }

    /// The level of `term` read in `scope`, and the amount it promises.
    pub fn resolve(
        &self,
        cx: &mut Cx,
        term: &str,
        scope: Option<&str>,
    ) -> Result<LevelMatch, Problem> {
        let name = self.0;
        let levels = opened(&mut cx.term_levels, name, || {
            host::TermLevels::open(name).map_err(Problem::from)
        })?;
        let key = (name, term.to_string(), scope.map(str::to_string));
        if let Some(answer) = cx.resolved.get(&key) {
            return answer.clone();
        }
        let answer = levels.resolve(term, scope).map_err(Problem::from);
        remembered(&mut cx.resolved, key, || answer)
    }
}

/// The pack's time format.
#[derive(Debug, Clone, Copy)]
pub struct TimeFormat(&'static str);

impl TimeFormat {
    /// The time format `name` of the pack.
    pub const fn named(name: &'static str) -> TimeFormat {
        TimeFormat(name)
    }

    fn parse(&self, cx: &mut Cx, text: &str, pattern: &str, date: bool) -> Result<String, Problem> {
        let name = self.0;
        let key = (name, pattern.to_string(), text.to_string(), date);
        if let Some(answer) = cx.times.get(&key) {
            return answer.clone();
        }
        let format = opened(&mut cx.time_formats, name, || {
            host::TimeFormat::open(name).map_err(Problem::from)
        })?;
        let pattern_handle = match cx.patterns.get(&(name, pattern.to_string())) {
            Some(Ok(p)) => Ok(p),
            Some(Err(e)) => Err(e.clone()),
            None => {
                let made = format.pattern(pattern).map_err(Problem::from);
                cx.patterns.insert((name, pattern.to_string()), made);
                cx.patterns[&(name, pattern.to_string())]
                    .as_ref()
                    .map_err(Clone::clone)
            }
        };
        let answer = pattern_handle.and_then(|p| {
            if date {
                p.parse_date(text).map_err(Problem::from)
            } else {
                p.parse_time(text).map_err(Problem::from)
            }
        });
        remembered(&mut cx.times, key, || answer)
    }

    /// A time read with `pattern` (strftime, `unix-ms`, `unix-s`), in the
    /// standard's format.
    pub fn parse_time(&self, cx: &mut Cx, text: &str, pattern: &str) -> Result<String, Problem> {
        self.parse(cx, text, pattern, false)
    }

    /// A date read with `pattern`, as `YYYY-MM-DD`.
    pub fn parse_date(&self, cx: &mut Cx, text: &str, pattern: &str) -> Result<String, Problem> {
        self.parse(cx, text, pattern, true)
    }

    /// `time` (in the standard's format) plus `hours`.
    pub fn add_hours(&self, cx: &mut Cx, time: &str, hours: u32) -> Result<String, Problem> {
        let name = self.0;
        let format = opened(&mut cx.time_formats, name, || {
            host::TimeFormat::open(name).map_err(Problem::from)
        })?;
        format.add_hours(time, hours).map_err(Problem::from)
    }
}
