//! Contract 0.2.0's tables, served from the pack's registry: a plugin opens
//! a table by name once and calls it through the handle, so no call names
//! a table or crosses the boundary twice for a batch (`-many`).

use std::sync::Arc;

use conform_pack::tables::class_set::ClassSet;
use conform_pack::tables::code_list::{CodeList, MatchedBy};
use conform_pack::tables::scheme::{Input, Scheme};
use conform_pack::tables::term_levels::TermLevels;
use conform_pack::tables::thresholds::Thresholds;
use conform_pack::tables::time_format::TimeFormat;
use conform_pack::tables::units::Units;
use conform_pack::tables::{InputRefused, Table};
use wasmtime::component::Resource;

use super::{escape_log, Breach, HostState};
use crate::bindings_v0_2::conform::plugin::{log, tables, types};
use tables::{
    CanonicalValues, CodeMatch, LevelMatch, Measures, PartResult, SchemeResult, TermQuery,
};
use types::{ServiceError, Span};

/// The most handles a store holds at once.
pub const MAX_HANDLES: u32 = 1024;

/// The most values one `-many` call may carry: what the host builds for a
/// call stays a bounded multiple of it, whatever the plugin's memory.
pub const MAX_MANY: usize = 4096;

/// Refuses a `-many` call of more than [`MAX_MANY`] values.
fn at_most_many(len: usize) -> wasmtime::Result<()> {
    if len > MAX_MANY {
        return Err(Breach("it asked more than 4096 values in one `-many` call").into());
    }
    Ok(())
}

/// An open code list.
pub struct CodeListHandle(Arc<CodeList>);
/// An open class set.
pub struct ClassSetHandle(Arc<ClassSet>);
/// An open thresholds table.
pub struct ThresholdsHandle(Arc<Thresholds>);
/// An open scheme.
pub struct SchemeHandle(Arc<Scheme>);
/// An open quantity: a field of a record type in a unit catalogue.
pub struct QuantityHandle {
    units: Arc<Units>,
    record_type: String,
    field: String,
}
/// An open term-levels table.
pub struct TermLevelsHandle(Arc<TermLevels>);
/// An open time format.
pub struct TimeFormatHandle(Arc<TimeFormat>);
/// A checked time pattern of a time format.
pub struct TimePatternHandle {
    format: Arc<TimeFormat>,
    pattern: String,
}

/// A refusal of the pack, as the contract carries it.
fn refusal(e: conform_pack::ServiceError) -> ServiceError {
    ServiceError {
        code: e.code.into_owned(),
        message: conform_model::truncate(&e.message, conform_model::MAX_MESSAGE_BYTES),
        input: None,
    }
}

fn host_error(code: &str, message: String) -> ServiceError {
    ServiceError {
        code: code.into(),
        message: conform_model::truncate(&message, conform_model::MAX_MESSAGE_BYTES),
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

impl HostState {
    /// What a handle of this store holds; a handle the host does not hold
    /// fails the call, and the row that made it is rejected `plugin-output`.
    fn held<T: 'static>(&self, handle: &Resource<T>) -> wasmtime::Result<&T> {
        self.resources
            .get(handle)
            .map_err(|_| Breach("it used a table handle the host does not hold").into())
    }

    /// The table `name` if it is of the kind `pick` accepts, or the
    /// refusal a plugin gets: no such table, or a table of another kind.
    fn open_table<T>(
        &self,
        name: &str,
        wanted: &str,
        pick: impl Fn(&Table) -> Option<T>,
    ) -> Result<T, ServiceError> {
        if self.handles >= MAX_HANDLES {
            return Err(host_error(
                "too-many-handles",
                format!("the plugin holds {MAX_HANDLES} open tables, the most a plugin may: open each table once and keep its handle"),
            ));
        }
        let tables = self.standard.tables();
        let Some(table) = tables.get(name) else {
            let known: Vec<&str> = tables.iter().map(|(n, _)| n).take(64).collect();
            return Err(host_error(
                "unknown-table",
                format!(
                    "the pack has no table `{}` (it has: {})",
                    conform_model::truncate(name, 64),
                    known.join(", ")
                ),
            ));
        };
        pick(table).ok_or_else(|| {
            host_error(
                "wrong-table-kind",
                format!(
                    "table `{name}` is a {:?} table, not a {wanted}",
                    table.kind()
                ),
            )
        })
    }

    /// Keeps a new handle in the store's table.
    fn keep<T: Send + 'static>(
        &mut self,
        opened: Result<T, ServiceError>,
    ) -> wasmtime::Result<Result<Resource<T>, ServiceError>> {
        match opened {
            Ok(handle) => {
                let resource = self.resources.push(handle)?;
                self.handles += 1;
                Ok(Ok(resource))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Lets go of a handle.
    fn release<T: 'static>(&mut self, handle: Resource<T>) -> wasmtime::Result<()> {
        self.resources.delete(handle)?;
        self.handles = self.handles.saturating_sub(1);
        Ok(())
    }
}

fn code_match(found: conform_pack::tables::code_list::CodeMatch) -> CodeMatch {
    CodeMatch {
        code: found.code,
        scope: found.scope,
        by: match found.by {
            MatchedBy::Code => tables::MatchedBy::Code,
            MatchedBy::Scope => tables::MatchedBy::Scope,
            MatchedBy::Name => tables::MatchedBy::Name,
        },
    }
}

impl CodeListHandle {
    fn lookup(&self, term: &str, scope: Option<&str>) -> Result<CodeMatch, ServiceError> {
        self.0.lookup(term, scope).map(code_match).map_err(refusal)
    }
}

impl tables::HostCodeList for HostState {
    fn open(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Resource<CodeListHandle>, ServiceError>> {
        let opened = self.open_table(&name, "code-list", |t| match t {
            Table::CodeList(list) => Some(CodeListHandle(list.clone())),
            _ => None,
        });
        self.keep(opened)
    }

    fn lookup(
        &mut self,
        handle: Resource<CodeListHandle>,
        term: String,
        scope: Option<String>,
    ) -> wasmtime::Result<Result<CodeMatch, ServiceError>> {
        Ok(self.held(&handle)?.lookup(&term, scope.as_deref()))
    }

    fn lookup_many(
        &mut self,
        handle: Resource<CodeListHandle>,
        queries: Vec<TermQuery>,
    ) -> wasmtime::Result<Vec<Result<CodeMatch, ServiceError>>> {
        at_most_many(queries.len())?;
        let list = self.held(&handle)?;
        Ok(queries
            .iter()
            .map(|q| list.lookup(&q.term, q.scope.as_deref()))
            .collect())
    }

    fn label(
        &mut self,
        handle: Resource<CodeListHandle>,
        code: String,
    ) -> wasmtime::Result<Option<String>> {
        let list = &self.held(&handle)?.0;
        Ok(list.label(&code).map(str::to_string))
    }

    fn drop(&mut self, handle: Resource<CodeListHandle>) -> wasmtime::Result<()> {
        self.release(handle)
    }
}

impl tables::HostClassSet for HostState {
    fn open(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Resource<ClassSetHandle>, ServiceError>> {
        let opened = self.open_table(&name, "class-set", |t| match t {
            Table::ClassSet(set) => Some(ClassSetHandle(set.clone())),
            _ => None,
        });
        self.keep(opened)
    }

    fn classes(&mut self, handle: Resource<ClassSetHandle>) -> wasmtime::Result<Vec<String>> {
        let set = &self.held(&handle)?.0;
        Ok(set.classes().to_vec())
    }

    fn rank(
        &mut self,
        handle: Resource<ClassSetHandle>,
        class: String,
    ) -> wasmtime::Result<Result<u32, ServiceError>> {
        let set = &self.held(&handle)?.0;
        Ok(set
            .rank_or_refuse(&class)
            .map(|r| r as u32)
            .map_err(refusal))
    }

    fn lowest(
        &mut self,
        handle: Resource<ClassSetHandle>,
        classes: Vec<String>,
    ) -> wasmtime::Result<Result<String, ServiceError>> {
        let set = &self.held(&handle)?.0;
        Ok(set
            .lowest_of(&classes)
            .map(str::to_string)
            .map_err(input_refusal))
    }

    fn highest(
        &mut self,
        handle: Resource<ClassSetHandle>,
        classes: Vec<String>,
    ) -> wasmtime::Result<Result<String, ServiceError>> {
        let set = &self.held(&handle)?.0;
        Ok(set
            .highest_of(&classes)
            .map(str::to_string)
            .map_err(input_refusal))
    }

    fn drop(&mut self, handle: Resource<ClassSetHandle>) -> wasmtime::Result<()> {
        self.release(handle)
    }
}

impl ThresholdsHandle {
    fn classify(&self, value: &str) -> Result<String, ServiceError> {
        self.0.classify(value).map(str::to_string).map_err(refusal)
    }
}

impl tables::HostThresholds for HostState {
    fn open(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Resource<ThresholdsHandle>, ServiceError>> {
        let opened = self.open_table(&name, "thresholds", |t| match t {
            Table::Thresholds(bounds) => Some(ThresholdsHandle(bounds.clone())),
            _ => None,
        });
        self.keep(opened)
    }

    fn classify(
        &mut self,
        handle: Resource<ThresholdsHandle>,
        value: String,
    ) -> wasmtime::Result<Result<String, ServiceError>> {
        Ok(self.held(&handle)?.classify(&value))
    }

    fn classify_many(
        &mut self,
        handle: Resource<ThresholdsHandle>,
        values: Vec<String>,
    ) -> wasmtime::Result<Vec<Result<String, ServiceError>>> {
        at_most_many(values.len())?;
        let bounds = self.held(&handle)?;
        Ok(values.iter().map(|v| bounds.classify(v)).collect())
    }

    fn drop(&mut self, handle: Resource<ThresholdsHandle>) -> wasmtime::Result<()> {
        self.release(handle)
    }
}

fn evaluate(scheme: &Scheme, inputs: &[TermQuery]) -> Result<SchemeResult, ServiceError> {
    let inputs: Vec<Input<'_>> = inputs
        .iter()
        .map(|q| Input {
            term: &q.term,
            scope: q.scope.as_deref(),
        })
        .collect();
    match scheme.evaluate(&inputs) {
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

impl tables::HostScheme for HostState {
    fn open(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Resource<SchemeHandle>, ServiceError>> {
        let opened = self.open_table(&name, "scheme", |t| match t {
            Table::Scheme(scheme) => Some(SchemeHandle(scheme.clone())),
            _ => None,
        });
        self.keep(opened)
    }

    fn parts(&mut self, handle: Resource<SchemeHandle>) -> wasmtime::Result<Vec<String>> {
        let scheme = &self.held(&handle)?.0;
        Ok(scheme.part_names().to_vec())
    }

    fn evaluate(
        &mut self,
        handle: Resource<SchemeHandle>,
        inputs: Vec<TermQuery>,
    ) -> wasmtime::Result<Result<SchemeResult, ServiceError>> {
        let scheme = &self.held(&handle)?.0;
        Ok(evaluate(scheme, &inputs))
    }

    fn evaluate_many(
        &mut self,
        handle: Resource<SchemeHandle>,
        rows: Vec<Vec<TermQuery>>,
    ) -> wasmtime::Result<Vec<Result<SchemeResult, ServiceError>>> {
        at_most_many(rows.len())?;
        let scheme = &self.held(&handle)?.0;
        Ok(rows.iter().map(|inputs| evaluate(scheme, inputs)).collect())
    }

    fn drop(&mut self, handle: Resource<SchemeHandle>) -> wasmtime::Result<()> {
        self.release(handle)
    }
}

impl QuantityHandle {
    fn convert(&self, value: &str, unit: &str) -> Result<String, ServiceError> {
        self.units
            .to_canonical(value, unit, &self.record_type, &self.field)
            .map(|d| d.to_string())
            .map_err(refusal)
    }
}

impl tables::HostQuantity for HostState {
    fn open(
        &mut self,
        table: String,
        record_type: String,
        field: String,
    ) -> wasmtime::Result<Result<Resource<QuantityHandle>, ServiceError>> {
        let opened = self
            .open_table(&table, "unit-catalogue", |t| match t {
                Table::Units(units) => Some(units.clone()),
                _ => None,
            })
            .and_then(|units| match units.canonical(&record_type, &field) {
                Some(_) => Ok(QuantityHandle {
                    units,
                    record_type,
                    field,
                }),
                None => Err(refusal(units.unknown_field(&record_type, &field))),
            });
        self.keep(opened)
    }

    fn unit(&mut self, handle: Resource<QuantityHandle>) -> wasmtime::Result<String> {
        let q = self.held(&handle)?;
        Ok(canonical(q).0.to_string())
    }

    fn decimals(&mut self, handle: Resource<QuantityHandle>) -> wasmtime::Result<u32> {
        let q = self.held(&handle)?;
        Ok(canonical(q).1)
    }

    fn factor(
        &mut self,
        handle: Resource<QuantityHandle>,
        unit: String,
    ) -> wasmtime::Result<Option<tables::Factor>> {
        let q = self.held(&handle)?;
        Ok(q.units
            .factor(&unit, &q.record_type, &q.field)
            .map(|(num, den)| tables::Factor { num, den }))
    }

    fn to_canonical(
        &mut self,
        handle: Resource<QuantityHandle>,
        value: String,
        unit: String,
    ) -> wasmtime::Result<Result<String, ServiceError>> {
        let q = self.held(&handle)?;
        Ok(q.convert(&value, &unit))
    }

    fn to_canonical_many(
        &mut self,
        handle: Resource<QuantityHandle>,
        values: Measures,
    ) -> wasmtime::Result<CanonicalValues> {
        at_most_many(values.ends.len())?;
        let q = self.held(&handle)?;
        let Some((text, answers)) = q.units.to_canonical_column(
            &values.text,
            &values.ends,
            &values.unit,
            &q.record_type,
            &q.field,
        ) else {
            return Err(Breach(
                "its `ends` for quantity.to-canonical-many do not cut `text` in order, on character boundaries, within it",
            )
            .into());
        };
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
        Ok(CanonicalValues { text, answers })
    }

    fn drop(&mut self, handle: Resource<QuantityHandle>) -> wasmtime::Result<()> {
        self.release(handle)
    }
}

/// The canonical unit and decimals of an open quantity (checked at open).
fn canonical(q: &QuantityHandle) -> (&str, u32) {
    q.units
        .canonical(&q.record_type, &q.field)
        .unwrap_or(("", 0))
}

fn level_match(found: conform_pack::tables::term_levels::Level) -> LevelMatch {
    LevelMatch {
        level: found.level,
        amount: found.amount.to_string(),
        scope: found.scope,
    }
}

impl TermLevelsHandle {
    fn resolve(&self, term: &str, scope: Option<&str>) -> Result<LevelMatch, ServiceError> {
        self.0
            .resolve(term, scope)
            .map(level_match)
            .map_err(refusal)
    }
}

impl tables::HostTermLevels for HostState {
    fn open(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Resource<TermLevelsHandle>, ServiceError>> {
        let opened = self.open_table(&name, "term-levels", |t| match t {
            Table::TermLevels(levels) => Some(TermLevelsHandle(levels.clone())),
            _ => None,
        });
        self.keep(opened)
    }

    fn resolve(
        &mut self,
        handle: Resource<TermLevelsHandle>,
        term: String,
        scope: Option<String>,
    ) -> wasmtime::Result<Result<LevelMatch, ServiceError>> {
        Ok(self.held(&handle)?.resolve(&term, scope.as_deref()))
    }

    fn resolve_many(
        &mut self,
        handle: Resource<TermLevelsHandle>,
        queries: Vec<TermQuery>,
    ) -> wasmtime::Result<Vec<Result<LevelMatch, ServiceError>>> {
        at_most_many(queries.len())?;
        let levels = self.held(&handle)?;
        Ok(queries
            .iter()
            .map(|q| levels.resolve(&q.term, q.scope.as_deref()))
            .collect())
    }

    fn drop(&mut self, handle: Resource<TermLevelsHandle>) -> wasmtime::Result<()> {
        self.release(handle)
    }
}

impl tables::HostTimeFormat for HostState {
    fn open(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Resource<TimeFormatHandle>, ServiceError>> {
        let opened = self.open_table(&name, "time-format", |t| match t {
            Table::TimeFormat(format) => Some(TimeFormatHandle(format.clone())),
            _ => None,
        });
        self.keep(opened)
    }

    fn pattern(
        &mut self,
        handle: Resource<TimeFormatHandle>,
        pattern: String,
    ) -> wasmtime::Result<Result<Resource<TimePatternHandle>, ServiceError>> {
        let format = self.held(&handle)?.0.clone();
        let checked = if self.handles >= MAX_HANDLES {
            Err(host_error(
                "too-many-handles",
                format!("the plugin holds {MAX_HANDLES} open tables and patterns, the most a plugin may: make each pattern once and keep it"),
            ))
        } else {
            format
                .check_pattern(&pattern)
                .map(|()| TimePatternHandle { format, pattern })
                .map_err(refusal)
        };
        self.keep(checked)
    }

    fn add_hours(
        &mut self,
        handle: Resource<TimeFormatHandle>,
        time: String,
        hours: u32,
    ) -> wasmtime::Result<Result<String, ServiceError>> {
        let format = &self.held(&handle)?.0;
        Ok(format.add_hours(&time, hours).map_err(refusal))
    }

    fn drop(&mut self, handle: Resource<TimeFormatHandle>) -> wasmtime::Result<()> {
        self.release(handle)
    }
}

impl tables::HostTimePattern for HostState {
    fn parse_time(
        &mut self,
        handle: Resource<TimePatternHandle>,
        text: String,
    ) -> wasmtime::Result<Result<String, ServiceError>> {
        let p = self.held(&handle)?;
        Ok(p.format.parse_time(&text, &p.pattern).map_err(refusal))
    }

    fn parse_date(
        &mut self,
        handle: Resource<TimePatternHandle>,
        text: String,
    ) -> wasmtime::Result<Result<String, ServiceError>> {
        let p = self.held(&handle)?;
        Ok(p.format.parse_date(&text, &p.pattern).map_err(refusal))
    }

    fn parse_time_many(
        &mut self,
        handle: Resource<TimePatternHandle>,
        texts: Vec<String>,
    ) -> wasmtime::Result<Vec<Result<String, ServiceError>>> {
        at_most_many(texts.len())?;
        let p = self.held(&handle)?;
        Ok(texts
            .iter()
            .map(|t| p.format.parse_time(t, &p.pattern).map_err(refusal))
            .collect())
    }

    fn parse_date_many(
        &mut self,
        handle: Resource<TimePatternHandle>,
        texts: Vec<String>,
    ) -> wasmtime::Result<Vec<Result<String, ServiceError>>> {
        at_most_many(texts.len())?;
        let p = self.held(&handle)?;
        Ok(texts
            .iter()
            .map(|t| p.format.parse_date(t, &p.pattern).map_err(refusal))
            .collect())
    }

    fn drop(&mut self, handle: Resource<TimePatternHandle>) -> wasmtime::Result<()> {
        self.release(handle)
    }
}

impl tables::Host for HostState {}
impl types::Host for HostState {}

impl log::Host for HostState {
    fn write(&mut self, level: types::Level, message: String) -> wasmtime::Result<()> {
        if !self.log.admit() {
            return Ok(());
        }
        let message = escape_log(&message);
        let plugin = &*self.plugin;
        match level {
            types::Level::Debug => tracing::debug!(plugin, "{message}"),
            types::Level::Info => tracing::info!(plugin, "{message}"),
            types::Level::Warn => tracing::warn!(plugin, "{message}"),
            types::Level::Error => tracing::error!(plugin, "{message}"),
        }
        Ok(())
    }
}

/// Adds contract 0.2.0's imports to a linker.
pub(crate) fn add_to_linker(
    linker: &mut wasmtime::component::Linker<HostState>,
) -> wasmtime::Result<()> {
    crate::bindings_v0_2::Converter::add_to_linker::<
        HostState,
        wasmtime::component::HasSelf<HostState>,
    >(linker, |state| state)
}
