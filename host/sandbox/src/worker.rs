//! A worker: one store and instance of a plugin, converting batches.

use std::sync::Arc;

use std::time::Instant;

use conform_model::{
    codes, problems_listed, truncate, PluginLimits, MAX_FIELD_BYTES, MAX_MESSAGE_BYTES,
};
use conform_pack::Standard;
use wasmtime::Store;

use crate::batch_v0_2::BatchBuilder;
use crate::bindings;
use crate::host::{Breach, HostState, Limiter};
use crate::input::InputRecord;
use crate::result_v0_2::{self, Checked, RowLimits, RowRecords};
use crate::EPOCH_TICK;
use crate::{bindings_v0_2, Contract};

/// Rows of one batch that may time out on their own before the rest of the
/// batch is given up.
pub const MAX_RETRY_TIMEOUTS: usize = 2;

/// A compiled plugin ready to instantiate, by the contract it implements.
#[derive(Clone)]
pub(crate) enum Pre {
    /// `conform:plugin/converter@0.1.0`.
    V0_1(bindings::ConverterPre<HostState>),
    /// `conform:plugin/converter@0.2.0`.
    V0_2(bindings_v0_2::ConverterPre<HostState>),
}

impl Pre {
    /// The contract the plugin implements.
    pub(crate) fn contract(&self) -> Contract {
        match self {
            Pre::V0_1(_) => Contract::V0_1,
            Pre::V0_2(_) => Contract::V0_2,
        }
    }
}

/// A live instance of a plugin.
pub(crate) enum Instance {
    V0_1(bindings::Converter),
    V0_2(bindings_v0_2::Converter),
}

/// A compiled plugin, shared by its workers.
pub(crate) struct Plugin {
    pub(crate) name: Arc<str>,
    pub(crate) engine: wasmtime::Engine,
    pub(crate) pre: Pre,
    pub(crate) limits: PluginLimits,
    pub(crate) declared: Vec<String>,
    /// The mapping program, where the plugin is the mapping interpreter.
    pub(crate) program: Option<Arc<str>>,
}

/// A record of the standard as a plugin returned it, not yet validated.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRecord {
    /// The record type, one the plugin declared (shared by the batch's
    /// records of that type).
    pub record_type: Arc<str>,
    /// The record.
    pub body: RecordBody,
}

/// A record as its contract carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordBody {
    /// JSON text (contract 0.1.0), to be parsed strictly.
    Json(String),
    /// The plugin's checked tree (contract 0.2.0): validated and written
    /// where it lies, or read as a value where the pipeline needs one.
    Tree(conform_pack::TreeRecord),
}

/// Why a row was not converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The input field at fault, if one applies.
    pub field: Option<String>,
    /// The record field concerned (a JSON pointer), if the plugin says.
    pub target: Option<String>,
    /// Stable code.
    pub code: String,
    /// What a person should fix.
    pub message: String,
}

impl Problem {
    fn host(code: &str, message: impl Into<String>) -> Problem {
        Problem {
            field: None,
            target: None,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A problem as a plugin gave it: field, target, code, message.
type ProblemParts = (Option<String>, Option<String>, String, String);

/// What became of one input row inside the sandbox.
#[derive(Debug, Clone, PartialEq)]
pub enum RowOutcome {
    /// The plugin converted the row into these records.
    Converted(Vec<OutputRecord>),
    /// The row is rejected, by the plugin or because the plugin failed on it.
    Rejected(Vec<Problem>),
    /// The row was not converted: the conversion's deadline
    /// ([`Worker::set_deadline`]) passed first. The conversion stops here.
    Stopped,
}

/// A failure of the plugin itself, as opposed to a bad row.
pub(crate) enum Fault {
    Timeout,
    Memory,
    Trap(String),
    Output(String),
}

impl Fault {
    pub(crate) fn problem(&self, plugin: &str, limits: &PluginLimits) -> Problem {
        match self {
            Fault::Timeout => Problem::host(
                codes::PLUGIN_TIMEOUT,
                format!(
                    "plugin `{plugin}` did not finish this row within {} ms",
                    limits.batch_millis
                ),
            ),
            Fault::Memory => Problem::host(
                codes::PLUGIN_MEMORY,
                format!(
                    "plugin `{plugin}` needed more than its {} MiB of memory on this row",
                    limits.memory_mib
                ),
            ),
            Fault::Trap(why) => Problem::host(
                codes::PLUGIN_TRAP,
                format!("plugin `{plugin}` failed on this row: {why}"),
            ),
            Fault::Output(why) => Problem::host(
                codes::PLUGIN_OUTPUT,
                format!("plugin `{plugin}` broke the contract: {why}"),
            ),
        }
    }
}

/// One store and instance of a plugin, for one thread of one job.
pub struct Worker {
    plugin: Arc<Plugin>,
    standard: Arc<Standard>,
    live: Option<(Store<HostState>, Instance)>,
    /// When the whole conversion must stop; calls are interrupted there.
    deadline: Option<Instant>,
    /// The plugin's log budget for the batch being converted.
    log: Arc<crate::host::LogBudget>,
}

impl Worker {
    pub(crate) fn new(plugin: Arc<Plugin>, standard: Arc<Standard>) -> Worker {
        Worker {
            plugin,
            standard,
            live: None,
            deadline: None,
            log: Arc::default(),
        }
    }

    /// Interrupts calls at `deadline` too, not only at the plugin's own
    /// time limit: the conversion's time limit holds inside a batch.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// Whether the conversion's deadline has passed, or is so near that an
    /// interrupt now is its doing (the epoch ticks in steps of
    /// [`EPOCH_TICK`], so an interrupt can come a tick early).
    fn past_deadline(&self) -> bool {
        self.deadline
            .is_some_and(|at| Instant::now() + EPOCH_TICK * 2 >= at)
    }

    /// Epoch ticks until the sooner of the plugin's time limit and the deadline.
    fn ticks(&self) -> u64 {
        let limit = deadline_ticks(self.plugin.limits.batch_millis);
        match self.deadline {
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now()).as_millis() as u64;
                limit.min(left / EPOCH_TICK.as_millis() as u64 + 1)
            }
            None => limit,
        }
    }

    /// Converts a batch: exactly one outcome per input record, in order.
    ///
    /// When the plugin fails on a batch (a trap, a timeout, memory, the
    /// contract), the batch is retried one record at a time in fresh
    /// instances, so that only the records it fails on are rejected. A slow
    /// plugin whose batch overran its time therefore still converts row by
    /// row. Retries that time out are capped at [`MAX_RETRY_TIMEOUTS`] per
    /// batch, so that a plugin looping on every row costs a bounded time;
    /// the rows after the cap are rejected as `plugin-timeout`.
    pub fn convert(&mut self, batch: &[InputRecord]) -> Vec<RowOutcome> {
        self.log.start_batch();
        let outcomes = self.convert_batch(batch);
        self.log.end_batch(&self.plugin.name);
        outcomes
    }

    fn convert_batch(&mut self, batch: &[InputRecord]) -> Vec<RowOutcome> {
        let limits = self.plugin.limits;
        match self.call(batch) {
            Ok(outcomes) => outcomes,
            // Interrupted by the conversion's deadline, not by its own limit.
            Err(Fault::Timeout) if self.past_deadline() => vec![RowOutcome::Stopped; batch.len()],
            Err(fault) if batch.len() == 1 => vec![RowOutcome::Rejected(vec![
                fault.problem(&self.plugin.name, &limits)
            ])],
            Err(_) => {
                let mut timeouts = 0;
                batch
                    .iter()
                    .map(|record| {
                        if self.past_deadline() {
                            return RowOutcome::Stopped;
                        }
                        if timeouts >= MAX_RETRY_TIMEOUTS {
                            return RowOutcome::Rejected(vec![Problem::host(
                                codes::PLUGIN_TIMEOUT,
                                format!(
                                    "plugin `{}` timed out ({} ms each) on {MAX_RETRY_TIMEOUTS} other rows of this batch, so the rest of the batch was not tried",
                                    self.plugin.name, limits.batch_millis
                                ),
                            )]);
                        }
                        match self.call(std::slice::from_ref(record)) {
                            Ok(mut one) => one.pop().expect("one outcome per record"),
                            Err(Fault::Timeout) if self.past_deadline() => RowOutcome::Stopped,
                            Err(fault) => {
                                timeouts += usize::from(matches!(fault, Fault::Timeout));
                                RowOutcome::Rejected(vec![fault.problem(&self.plugin.name, &limits)])
                            }
                        }
                    })
                    .collect()
            }
        }
    }

    pub(crate) fn instantiate(&self) -> Result<(Store<HostState>, Instance), Fault> {
        let limits = self.plugin.limits;
        let state = HostState {
            plugin: self.plugin.name.clone(),
            standard: self.standard.clone(),
            log: self.log.clone(),
            limiter: Limiter {
                max_memory_bytes: limits.memory_mib as usize * 1024 * 1024,
                hit: false,
            },
            resources: wasmtime::component::ResourceTable::new(),
            handles: 0,
            program: self.plugin.program.clone(),
        };
        let mut store = Store::new(&self.plugin.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(self.ticks());
        let instance = match &self.plugin.pre {
            Pre::V0_1(pre) => pre.instantiate(&mut store).map(Instance::V0_1),
            Pre::V0_2(pre) => pre.instantiate(&mut store).map(Instance::V0_2),
        }
        .map_err(|e| classify(&e, store.data().limiter.hit))?;
        Ok((store, instance))
    }

    fn call(&mut self, batch: &[InputRecord]) -> Result<Vec<RowOutcome>, Fault> {
        let (mut store, instance) = match self.live.take() {
            Some(live) => live,
            None => self.instantiate()?,
        };
        store.set_epoch_deadline(self.ticks());
        store.data_mut().limiter.hit = false;
        // The instance is dropped with the store on a fault: the next call
        // starts fresh.
        let outcomes = match &instance {
            Instance::V0_1(converter) => {
                let rows: Vec<bindings::InputRecord> =
                    batch.iter().map(InputRecord::to_v0_1).collect();
                let outcomes = converter
                    .call_convert(&mut store, &rows)
                    .map_err(|e| classify(&e, store.data().limiter.hit))?;
                if outcomes.len() != batch.len() {
                    return Err(Fault::Output(format!(
                        "it returned {} outcomes for {} records",
                        outcomes.len(),
                        batch.len()
                    )));
                }
                let terms = self.terms();
                outcomes.into_iter().map(|o| terms.check_v0_1(o)).collect()
            }
            Instance::V0_2(converter) => {
                let terms = self.terms();
                convert_v0_2(batch, &terms, |cells| {
                    converter
                        .call_convert(&mut store, cells)
                        .map_err(|e| classify(&e, store.data().limiter.hit))
                })?
            }
        };
        self.live = Some((store, instance));
        Ok(outcomes)
    }

    /// What the worker holds its plugin's results to.
    fn terms(&self) -> Terms<'_> {
        Terms {
            name: &self.plugin.name,
            limits: &self.plugin.limits,
            declared: &self.plugin.declared,
        }
    }
}

/// A batch through a contract 0.2.0 converter: its rows built into cells,
/// `call` given them, and its result checked row by row against `terms`.
/// Rows that cannot be handed over are rejected `record-too-large`.
pub(crate) fn convert_v0_2(
    batch: &[InputRecord],
    terms: &Terms<'_>,
    call: impl FnOnce(
        &bindings_v0_2::conform::plugin::types::Batch,
    ) -> Result<bindings_v0_2::conform::plugin::types::BatchResult, Fault>,
) -> Result<Vec<RowOutcome>, Fault> {
    let (cells, left_out) = BatchBuilder::build(batch)
        .map_err(|_| Fault::Output("the host could not hand it a row as cells".into()))?;
    let limits = RowLimits {
        records: terms.limits.records_per_input as usize,
        bytes: terms.limits.output_bytes_per_record as usize,
    };
    let handed = cells.rows.len();
    let checked = if handed == 0 {
        Vec::new()
    } else {
        result_v0_2::check(call(&cells)?, handed, limits).map_err(Fault::Output)?
    };
    let mut checked = checked.into_iter();
    Ok((0..batch.len())
        .map(|i| {
            if left_out.binary_search(&i).is_ok() {
                too_complex()
            } else {
                checked
                    .next()
                    .map_or_else(too_complex, |o| terms.check_v0_2(o))
            }
        })
        .collect())
}

/// What a plugin's results are held to: its name (for messages), its
/// limits and the record types its manifest declares.
pub(crate) struct Terms<'p> {
    pub(crate) name: &'p str,
    pub(crate) limits: &'p PluginLimits,
    pub(crate) declared: &'p [String],
}

impl Terms<'_> {
    /// A 0.1.0 outcome, checked.
    fn check_v0_1(&self, outcome: bindings::Outcome) -> RowOutcome {
        match outcome {
            bindings::Outcome::Converted(records) => self.check_records(
                records
                    .into_iter()
                    .map(|r| {
                        let bytes = r.json.len() + r.record_type.len();
                        (Arc::from(r.record_type), RecordBody::Json(r.json), bytes)
                    })
                    .collect(),
            ),
            bindings::Outcome::Rejected(problems) => self.check_problems(
                problems
                    .into_iter()
                    .map(|p| (p.field, None, p.code, p.message))
                    .collect(),
            ),
        }
    }

    /// A 0.2.0 outcome, checked.
    fn check_v0_2(&self, outcome: Checked) -> RowOutcome {
        match outcome {
            Checked::Converted(records) => self.check_records(
                records
                    .into_iter()
                    .map(|(record_type, tree, bytes)| {
                        let bytes = bytes + record_type.len();
                        (record_type, RecordBody::Tree(tree), bytes)
                    })
                    .collect(),
            ),
            Checked::Rejected(problems) => self.check_problems(
                problems
                    .into_iter()
                    .map(|p| (p.field, p.target, p.code, p.message))
                    .collect(),
            ),
            Checked::Broken(why) => self.broke(why),
        }
    }

    fn broke(&self, why: String) -> RowOutcome {
        RowOutcome::Rejected(vec![Fault::Output(why).problem(self.name, self.limits)])
    }

    /// Applies the per-record limits and the declared record types to a
    /// converted row's records (type, body, size in bytes).
    fn check_records(&self, records: RowRecords<(Arc<str>, RecordBody, usize)>) -> RowOutcome {
        let limits = *self.limits;
        if records.is_empty() {
            return self.broke("it converted the row into no records".into());
        }
        if records.len() > limits.records_per_input as usize {
            return self.broke(format!(
                "it emitted {} records for one row, more than its limit of {}",
                records.len(),
                limits.records_per_input
            ));
        }
        let bytes: usize = records.iter().map(|r| r.2).sum();
        if bytes > limits.output_bytes_per_record as usize {
            return self.broke(format!(
                "it returned {bytes} bytes for one row, more than its limit of {}",
                limits.output_bytes_per_record
            ));
        }
        if let Some(r) = records
            .iter()
            .find(|r| !self.declared.iter().any(|d| **d == *r.0))
        {
            return self.broke(format!(
                "it emitted record type `{}`, which its manifest does not declare",
                truncate(&r.0, 64)
            ));
        }
        RowOutcome::Converted(
            records
                .into_iter()
                .map(|(record_type, body, _)| OutputRecord { record_type, body })
                .collect(),
        )
    }

    /// Caps a rejected row's problems (field, target, code, message) and
    /// makes each safe to report.
    fn check_problems(&self, problems: Vec<ProblemParts>) -> RowOutcome {
        if problems.is_empty() {
            return self.broke("it rejected the row without saying why".into());
        }
        // Over the cap, the last place says how many more there were.
        let shown = problems_listed(problems.len());
        let more = problems.len() - shown;
        let mut kept: Vec<Problem> = problems
            .into_iter()
            .take(shown)
            .map(|(field, target, code, message)| Problem {
                field: field.map(|f| truncate(&f, MAX_FIELD_BYTES)),
                target: target.map(|t| truncate(&t, MAX_FIELD_BYTES)),
                code: sanitize_code(&code),
                message: truncate(&message, MAX_MESSAGE_BYTES),
            })
            .collect();
        if more > 0 {
            kept.push(Problem::host(
                codes::MORE_PROBLEMS,
                format!(
                    "plugin `{}` gave {more} more problems for this row",
                    self.name
                ),
            ));
        }
        RowOutcome::Rejected(kept)
    }
}

/// The rejection of a row whose members would take more columns than a
/// bounded multiple of its size: it is not handed to the plugin.
fn too_complex() -> RowOutcome {
    RowOutcome::Rejected(vec![Problem::host(
        codes::RECORD_TOO_LARGE,
        "the row holds more nested values, or longer keys, than a plugin can be handed for its size: split it or shorten its keys",
    )])
}

fn deadline_ticks(batch_millis: u32) -> u64 {
    (u64::from(batch_millis) / EPOCH_TICK.as_millis() as u64).max(1) + 1
}

fn classify(error: &wasmtime::Error, memory_limit_hit: bool) -> Fault {
    if let Some(breach) = error.downcast_ref::<Breach>() {
        return Fault::Output(breach.to_string());
    }
    if let Some(trap) = error.downcast_ref::<wasmtime::Trap>() {
        if *trap == wasmtime::Trap::Interrupt {
            return Fault::Timeout;
        }
        if memory_limit_hit {
            return Fault::Memory;
        }
        return Fault::Trap(trap.to_string());
    }
    if memory_limit_hit {
        return Fault::Memory;
    }
    Fault::Trap(truncate(&format!("{error:#}"), MAX_MESSAGE_BYTES))
}

/// Codes are kebab-case ASCII of at most 64 bytes; anything else is replaced.
fn sanitize_code(code: &str) -> String {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        code.to_string()
    } else {
        conform_model::codes::PLUGIN_INVALID_CODE.to_string()
    }
}
