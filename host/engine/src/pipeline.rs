//! The conversion pipeline: one input stream through decode → plugin →
//! validation → sink, with every row accounted for.
//!
//! ```text
//! decoder thread ──batches──▶ N worker threads ──results──▶ this thread ──▶ sink
//!                (bounded)     (one plugin store each)      (reorders by batch index)
//! ```
//!
//! A batch is [`ConvertOptions::batch_size`] rows, or fewer when their text
//! reaches [`BATCH_BYTES`]; at most [`IN_FLIGHT_PER_WORKER`] batches a
//! worker are in flight at once (and one more the decoder holds while it
//! waits), each with its results, so memory is bounded by the batch, never
//! by the file. Output keeps input order.
//!
//! Invariant: every decoded row ends in exactly one of the sink's two
//! streams — its records, or one or more rejections — and the summary counts
//! `rows_in = converted + rejected`.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use conform_decode::{DecodeError, DecodeLimits, Decoded, RowError};
use conform_model::{
    codes, problems_listed, truncate, FileSummary, PluginManifest, Rejection, MAX_FIELD_BYTES,
    MAX_MESSAGE_BYTES,
};
use conform_pack::Pack;
use conform_pack::Standard;
use conform_sandbox::{InputRecord, LoadedPlugin, Problem, RecordBody, RowOutcome, Worker};
use crossbeam_channel::{bounded, Receiver, Sender};

use crate::sink::Sink;

/// How a conversion runs.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// Worker threads, each with its own plugin instance.
    pub workers: usize,
    /// Rows per plugin call (fewer when their text reaches [`BATCH_BYTES`]).
    pub batch_size: usize,
    /// Limits of the decoder.
    pub decode_limits: DecodeLimits,
    /// The most rows one conversion takes; the file stops with `rows-limit`
    /// at the row after (`None`: no limit).
    pub max_rows: Option<u64>,
    /// How long one conversion may run; the file stops with `time-limit`
    /// at the first row read after it, inside a plugin call running then,
    /// and in validation a second after it (`None`: no limit).
    pub max_duration: Option<Duration>,
    /// The most error-report lines of one code per file; the rest are
    /// counted in one `report-truncated` line per code (`None`: no limit).
    pub max_report_lines_per_code: Option<u64>,
    /// Where a workbook is spooled while it is read, and whether it is read
    /// in a capped child process.
    pub workbooks: conform_decode::WorkbookOptions,
}

/// A batch ends at the row that brings its rows' text to this many bytes,
/// however few rows it has: large rows make small batches.
pub const BATCH_BYTES: usize = 512 * 1024;

/// Batches in flight a worker (decoded and not yet written): enough that
/// the workers rarely wait on the decoder or the writer, which share the
/// cores with them (8 rather than 4: 1.74 → 1.81 cores busy with 2
/// workers; 16 gained nothing more).
pub const IN_FLIGHT_PER_WORKER: usize = 8;

/// The default of [`ConvertOptions::max_report_lines_per_code`].
pub const DEFAULT_REPORT_LINES_PER_CODE: u64 = 1000;

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            batch_size: 256,
            decode_limits: DecodeLimits::default(),
            max_rows: None,
            max_duration: None,
            max_report_lines_per_code: Some(DEFAULT_REPORT_LINES_PER_CODE),
            workbooks: conform_decode::WorkbookOptions::default(),
        }
    }
}

/// Why the decoder stopped before the end of the file.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("the file has more than {0} rows, the most one conversion takes here; split it")]
    Rows(u64),
    #[error("the conversion ran longer than {} s, the most one conversion may run here; split the file", .0.as_secs())]
    Time(Duration),
}

impl Stop {
    fn code(&self) -> &'static str {
        match self {
            Stop::Decode(DecodeError::Encoding(_)) => codes::ENCODING,
            Stop::Decode(_) => codes::INPUT_UNREADABLE,
            Stop::Rows(_) => codes::ROWS_LIMIT,
            Stop::Time(_) => codes::TIME_LIMIT,
        }
    }
}

/// A conversion that could not finish.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Writing the output failed; what was written before stays.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// Converts batches of decoded rows for one worker thread.
pub trait BatchConverter: Send {
    /// Exactly one outcome per record, in order.
    fn convert(&mut self, batch: &[InputRecord]) -> Vec<RowOutcome>;

    /// When the whole conversion must stop: a converter that can be
    /// interrupted stops its calls there (what it returns after that point
    /// is discarded).
    fn set_deadline(&mut self, _deadline: Option<Instant>) {}
}

/// Makes a [`BatchConverter`] per worker: a sandboxed plugin, or native code
/// (the benchmark's baseline).
pub trait Converters: Sync {
    /// A converter with its own state, serving `standard`.
    fn worker(&self, standard: Arc<Standard>) -> Box<dyn BatchConverter>;
}

impl BatchConverter for Worker {
    fn convert(&mut self, batch: &[InputRecord]) -> Vec<RowOutcome> {
        Worker::convert(self, batch)
    }

    fn set_deadline(&mut self, deadline: Option<Instant>) {
        Worker::set_deadline(self, deadline);
    }
}

impl Converters for LoadedPlugin {
    fn worker(&self, standard: Arc<Standard>) -> Box<dyn BatchConverter> {
        Box::new(LoadedPlugin::worker(self, standard))
    }
}

/// What became of one row, ready to write.
enum RowResult {
    /// Converted into this many records, whose lines are the next ones of
    /// the batch's [`BatchLines`].
    Converted(usize),
    Rejected(Vec<Rejection>),
}

/// A batch's records lines, written back to back into one buffer rather
/// than a string each: a row's lines are the next [`RowResult::Converted`]
/// counts, in row order.
#[derive(Default)]
struct BatchLines {
    text: Vec<u8>,
    ends: Vec<usize>,
    /// The file's name as JSON text, quoted once a batch.
    file: Vec<u8>,
    /// The last record type and its JSON text: a batch's records are
    /// mostly of one type.
    record_type: (String, Vec<u8>),
}

/// The bytes a records line is reserved before any is written: most lines
/// of the sample standards' records fit.
const LINE_BYTES_GUESS: usize = 448;

impl BatchLines {
    /// Room for about `rows` lines (at most a mebibyte), so that the text
    /// rarely grows.
    fn with_capacity(rows: usize) -> BatchLines {
        BatchLines {
            text: Vec::with_capacity((rows * LINE_BYTES_GUESS).min(1 << 20)),
            ends: Vec::with_capacity(rows),
            ..BatchLines::default()
        }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Appends a records line around the record `write_record` writes.
    fn push(
        &mut self,
        record_type: &str,
        file: &str,
        line: u64,
        write_record: impl FnOnce(&mut Vec<u8>),
    ) {
        if self.file.is_empty() {
            self.file = quoted(file);
        }
        if self.record_type.1.is_empty() || self.record_type.0 != record_type {
            self.record_type = (record_type.to_string(), quoted(record_type));
        }
        write_line(
            &mut self.text,
            &self.record_type.1,
            &self.file,
            line,
            write_record,
        );
        self.ends.push(self.text.len());
    }

    /// Keeps the first `count` lines (a row found rejected keeps none).
    fn truncate(&mut self, count: usize) {
        self.ends.truncate(count);
        self.text.truncate(self.ends.last().copied().unwrap_or(0));
    }

    /// The lines, ready to write.
    fn finish(self) -> WrittenLines {
        WrittenLines {
            text: self.text,
            ends: self.ends,
        }
    }
}

/// A batch's records lines as UTF-8 JSON text (written from strings and
/// JSON punctuation only): line `i` ends at `ends[i]`.
#[derive(Default)]
struct WrittenLines {
    text: Vec<u8>,
    ends: Vec<usize>,
}

impl WrittenLines {
    fn line(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

struct Batch {
    index: u64,
    rows: Vec<Decoded>,
}

/// One conversion's fixed parts: the pack, the plugin (sandboxed, or native
/// for the benchmark), its manifest and the options. [`Conversion::run`]
/// converts inputs with them.
#[derive(Clone, Copy)]
pub struct Conversion<'a> {
    /// The pack version the records are validated against.
    pub pack: &'a Pack,
    /// Makes one converter per worker.
    pub plugin: &'a dyn Converters,
    /// The plugin's manifest: input format, encoding, name.
    pub manifest: &'a PluginManifest,
    /// Workers, batches, limits.
    pub options: &'a ConvertOptions,
}

/// The channels between the decoder, the workers and the writer.
struct Channels {
    /// One permit per batch in flight: the decoder takes one per batch, the
    /// writer gives it back once the batch is written.
    permits: (Sender<()>, Receiver<()>),
    batches: (Sender<Batch>, Receiver<Batch>),
    results: (Sender<Numbered>, Receiver<Numbered>),
}

/// A batch's results with the batch's index, for the writer to reorder.
type Numbered = (u64, Processed);

impl Channels {
    fn new(in_flight: usize) -> Channels {
        let permits = bounded::<()>(in_flight);
        for _ in 0..in_flight {
            permits.0.send(()).expect("the permit channel has room");
        }
        Channels {
            permits,
            batches: bounded(in_flight),
            results: bounded(in_flight),
        }
    }
}

/// The row and time limits the decoder and the writer hold a conversion to.
#[derive(Clone, Copy)]
struct Limits {
    max_rows: Option<u64>,
    /// When the conversion must stop, and the limit that says so.
    deadline: Option<(Instant, Duration)>,
}

impl Limits {
    fn at(&self) -> Option<Instant> {
        self.deadline.map(|(at, _)| at)
    }
}

impl Conversion<'_> {
    /// Converts one input, writing to `sink` in input order; `progress`
    /// sees the summary after each batch is written.
    ///
    /// A decoder failure that stops the file (an unreadable header, an I/O
    /// error) is not an `Err`: the rows before it are written and counted,
    /// and the summary's `error` says why the file stopped.
    pub fn run(
        &self,
        input: impl Read + Send + 'static,
        file_name: &str,
        sink: &mut dyn Sink,
        progress: &mut dyn FnMut(&FileSummary),
    ) -> Result<FileSummary, PipelineError> {
        let options = self.options;
        // The deadline counts from before the file is opened: a workbook is
        // spooled and measured then.
        let limits = Limits {
            max_rows: options.max_rows,
            deadline: options.max_duration.map(|d| (Instant::now() + d, d)),
        };
        let conform_decode::Opened { rows, sheet } = conform_decode::open(
            input,
            &self.manifest.input,
            options.decode_limits,
            &options.workbooks,
        );
        let mut summary = FileSummary {
            file: file_name.into(),
            plugin: self.manifest.name.clone(),
            sheet,
            ..FileSummary::default()
        };
        let workers = options.workers.max(1);
        let channels = Channels::new(workers * IN_FLIGHT_PER_WORKER);
        std::thread::scope(|scope| {
            let batch_size = options.batch_size.max(1);
            let (permits, batches) = (channels.permits.1.clone(), channels.batches.0.clone());
            let decoder = scope.spawn(move || feed(rows, batch_size, limits, &permits, &batches));
            for _ in 0..workers {
                let (batches, results) = (channels.batches.1.clone(), channels.results.0.clone());
                let mut worker = self.plugin.worker(self.pack.standard().clone());
                worker.set_deadline(limits.at());
                let pack = self.pack;
                scope.spawn(move || {
                    for batch in batches {
                        let processed =
                            process(batch.rows, worker.as_mut(), pack, file_name, limits.at());
                        if results.send((batch.index, processed)).is_err() {
                            return;
                        }
                    }
                });
            }
            // Only the threads hold the batch channel's ends and the results'
            // sender: each ends when its peers are done.
            let Channels {
                permits,
                batches,
                results,
            } = channels;
            drop((batches, results.0));
            let mut report = ReportCap::new(options.max_report_lines_per_code);
            let mut writer = InOrder {
                sink: &mut *sink,
                summary: &mut summary,
                report: &mut report,
                progress,
            };
            let out_of_time = writer.write_all(results.1, &permits.0, limits)?;
            // Whatever is still in flight is not wanted: the threads see
            // closed channels.
            drop(permits);
            let decoded = decoder.join().expect("the decoder thread does not panic");
            if let Some(e) = out_of_time.or(decoded.err()) {
                summary.error = Some(e.to_string());
                summary.error_code = Some(e.code().into());
            }
            report.finish(file_name, summary.sheet.as_deref(), sink)?;
            sink.flush()?;
            Ok(summary)
        })
    }
}

/// The decoder's thread: rows into batches of `batch_size` (or
/// [`BATCH_BYTES`] of text), one permit each, until the end, a decoder
/// failure or a limit.
fn feed(
    mut rows: impl Iterator<Item = Result<Decoded, DecodeError>>,
    batch_size: usize,
    limits: Limits,
    permits: &Receiver<()>,
    batches: &Sender<Batch>,
) -> Result<(), Stop> {
    let mut index = 0;
    let mut count: u64 = 0;
    let full = |rows: usize, bytes: usize| rows == batch_size || bytes >= BATCH_BYTES;
    loop {
        let mut batch = Vec::with_capacity(batch_size);
        let mut bytes = 0;
        let mut failure = None;
        for row in rows.by_ref() {
            let stop = match (row, limits.deadline) {
                (Err(e), _) => Some(Stop::Decode(e)),
                (Ok(_), Some((at, limit))) if Instant::now() > at => Some(Stop::Time(limit)),
                (Ok(_), _) if limits.max_rows.is_some_and(|max| count >= max) => {
                    Some(Stop::Rows(count))
                }
                (Ok(row), _) => {
                    count += 1;
                    bytes += row.size();
                    batch.push(row);
                    None
                }
            };
            if stop.is_some() {
                failure = stop;
                break;
            }
            if full(batch.len(), bytes) {
                break;
            }
        }
        let last = failure.is_some() || !full(batch.len(), bytes);
        if !batch.is_empty() {
            if permits.recv().is_err() || batches.send(Batch { index, rows: batch }).is_err() {
                return Ok(()); // the writer stopped: nothing more is wanted
            }
            index += 1;
        }
        if let Some(e) = failure {
            return Err(e);
        }
        if last {
            return Ok(());
        }
    }
}

/// The writer: results back into input order, into the sink.
struct InOrder<'s, 'p> {
    sink: &'s mut dyn Sink,
    summary: &'s mut FileSummary,
    report: &'s mut ReportCap,
    progress: &'p mut dyn FnMut(&FileSummary),
}

impl InOrder<'_, '_> {
    /// Writes every batch's results in batch order, giving a permit back
    /// after each; stops early, returning the time limit, once the deadline
    /// has passed.
    fn write_all(
        &mut self,
        results: Receiver<Numbered>,
        permits: &Sender<()>,
        limits: Limits,
    ) -> Result<Option<Stop>, PipelineError> {
        let mut pending: BTreeMap<u64, Processed> = BTreeMap::new();
        let mut next = 0;
        for (index, processed) in results.iter() {
            pending.insert(index, processed);
            while let Some(processed) = pending.remove(&next) {
                write(&processed, self.sink, self.summary, self.report)?;
                next += 1;
                let _ = permits.send(());
                (self.progress)(self.summary);
                // Rows already decoded stop here too: the time limit holds
                // even when every row was read before it passed, and inside
                // a batch that was stopped halfway.
                if let Some((_, limit)) = limits
                    .deadline
                    .filter(|(at, _)| processed.out_of_time || Instant::now() > *at)
                {
                    return Ok(Some(Stop::Time(limit)));
                }
            }
        }
        Ok(None)
    }
}

fn write(
    processed: &Processed,
    sink: &mut dyn Sink,
    summary: &mut FileSummary,
    report: &mut ReportCap,
) -> Result<(), PipelineError> {
    let mut next_line = 0;
    for result in &processed.results {
        summary.rows_in += 1;
        match result {
            RowResult::Converted(count) => {
                summary.converted += 1;
                summary.records_out += *count as u64;
                for i in next_line..next_line + count {
                    sink.record(processed.lines.line(i))?;
                }
                next_line += count;
            }
            RowResult::Rejected(rejections) => {
                summary.rejected += 1;
                for rejection in rejections {
                    if report.admit(rejection) {
                        write_rejection(sink, rejection, summary.sheet.as_deref())?;
                    } else {
                        summary.rejections_omitted += 1;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Writes a rejection, naming the workbook sheet its row is on.
fn write_rejection(
    sink: &mut dyn Sink,
    rejection: &Rejection,
    sheet: Option<&str>,
) -> std::io::Result<()> {
    match sheet {
        Some(sheet) => sink.rejection(&Rejection {
            sheet: Some(sheet.into()),
            ..rejection.clone()
        }),
        None => sink.rejection(rejection),
    }
}

/// Distinct codes a file's report tracks; rejections with further codes
/// share one bucket, so that a plugin inventing a code per row gains nothing.
const MAX_REPORT_CODES: usize = 32;

/// The bucket of codes beyond [`MAX_REPORT_CODES`].
const OTHER_CODES: &str = "(other codes)";

/// Keeps a file's error report to a bounded size: at most `max` lines per
/// code, at most [`MAX_REPORT_CODES`] codes (the rest share a bucket), and
/// at most `4 × max` lines in all.
struct ReportCap {
    max: Option<u64>,
    listed: u64,
    /// code → lines listed, and the first row left out with how many were.
    codes: BTreeMap<String, (u64, Option<Omitted>)>,
}

struct Omitted {
    line: u64,
    ordinal: u64,
    count: u64,
}

impl ReportCap {
    fn new(max: Option<u64>) -> ReportCap {
        ReportCap {
            max,
            listed: 0,
            codes: BTreeMap::new(),
        }
    }

    /// Whether the rejection is listed; if not, it is counted.
    fn admit(&mut self, rejection: &Rejection) -> bool {
        let Some(max) = self.max else { return true };
        let known = self.codes.contains_key(&rejection.code);
        let code = if known || self.codes.len() < MAX_REPORT_CODES {
            rejection.code.as_str()
        } else {
            OTHER_CODES
        };
        if !self.codes.contains_key(code) {
            self.codes.insert(code.to_string(), (0, None));
        }
        let (listed, omitted) = self.codes.get_mut(code).expect("just inserted");
        if *listed < max && self.listed < max.saturating_mul(4) {
            *listed += 1;
            self.listed += 1;
            return true;
        }
        omitted
            .get_or_insert(Omitted {
                line: rejection.line,
                ordinal: rejection.ordinal,
                count: 0,
            })
            .count += 1;
        false
    }

    /// One `report-truncated` line per code that had lines left out.
    fn finish(
        self,
        file: &str,
        sheet: Option<&str>,
        sink: &mut dyn Sink,
    ) -> Result<(), PipelineError> {
        let max = self.max.unwrap_or(0);
        for (code, (_, omitted)) in self.codes {
            let Some(omitted) = omitted else { continue };
            let which = if code == OTHER_CODES {
                format!("with codes beyond the first {MAX_REPORT_CODES} of this file")
            } else {
                format!("with code `{code}`")
            };
            sink.rejection(&Rejection {
                file: file.into(),
                sheet: sheet.map(Into::into),
                line: omitted.line,
                ordinal: omitted.ordinal,
                code: codes::REPORT_TRUNCATED.into(),
                field: Some(code.clone()),
                target: None,
                message: format!(
                    "{} more rejections {which}, from line {} on, are not listed: a report lists the first {max} of each code and {} in all; fix those and convert again",
                    omitted.count,
                    omitted.line,
                    max.saturating_mul(4)
                ),
            })?;
        }
        Ok(())
    }
}

/// A batch's results in row order, and whether the conversion's time ran
/// out inside it (the rows after that point are left out).
struct Processed {
    results: Vec<RowResult>,
    lines: WrittenLines,
    out_of_time: bool,
}

/// How long past the conversion's deadline rows the plugin converted in
/// time are still validated and kept; validation stops after that.
const VALIDATION_GRACE: Duration = Duration::from_secs(1);

/// Runs one batch through the plugin and validates what it returns, up to
/// the first row the plugin did not get to before the conversion's deadline,
/// or that could not be validated within [`VALIDATION_GRACE`] after it.
fn process(
    rows: Vec<Decoded>,
    worker: &mut dyn BatchConverter,
    pack: &Pack,
    file: &str,
    deadline: Option<Instant>,
) -> Processed {
    let validation_over = || deadline.is_some_and(|at| Instant::now() > at + VALIDATION_GRACE);
    let mut places = Vec::with_capacity(rows.len());
    let mut inputs = Vec::with_capacity(rows.len());
    let mut results: Vec<Option<RowResult>> = Vec::with_capacity(rows.len());
    for row in rows {
        match row {
            Decoded::Record(record) => {
                places.push((results.len(), record.ordinal, record.line));
                results.push(None);
                inputs.push(InputRecord {
                    ordinal: record.ordinal,
                    line: record.line,
                    fields: record.fields,
                });
            }
            Decoded::Rejected(error) => {
                results.push(Some(RowResult::Rejected(vec![decode_rejection(
                    error, file,
                )])))
            }
        }
    }
    let mut out_of_time = false;
    let mut lines = BatchLines::with_capacity(inputs.len());
    if !inputs.is_empty() {
        let outcomes = worker.convert(&inputs);
        for ((slot, ordinal, line), outcome) in places.into_iter().zip(outcomes) {
            if matches!(outcome, RowOutcome::Stopped) || validation_over() {
                // The conversion's time ran out inside the plugin call (or
                // validating took too long after it): the rows before are
                // kept, this one and those after stop.
                results.truncate(slot);
                out_of_time = true;
                break;
            }
            results[slot] = Some(finish(outcome, pack, file, ordinal, line, &mut lines));
        }
    }
    Processed {
        results: results
            .into_iter()
            .map(|r| r.expect("every row kept has a result"))
            .collect(),
        lines: lines.finish(),
        out_of_time,
    }
}

/// A host message cut to [`MAX_MESSAGE_BYTES`]: a validator's message can
/// quote a long value (the plugin's output, not the input).
fn cap_message(message: String) -> String {
    truncate(&message, MAX_MESSAGE_BYTES)
}

/// At most [`conform_model::MAX_PROBLEMS_PER_ROW`] problems of a row, the last of them
/// saying how many more there were.
fn cap_problems(mut rejections: Vec<Rejection>) -> Vec<Rejection> {
    let listed = problems_listed(rejections.len());
    if listed == rejections.len() {
        return rejections;
    }
    let more = rejections.len() - listed;
    rejections.truncate(listed);
    let first = &rejections[0];
    let summary = Rejection {
        file: first.file.clone(),
        sheet: None,
        line: first.line,
        ordinal: first.ordinal,
        code: codes::MORE_PROBLEMS.into(),
        field: None,
        target: None,
        message: format!(
            "{more} more problems of this row are not listed; fix those above and convert again"
        ),
    };
    rejections.push(summary);
    rejections
}

/// One records line: `{"record_type":…,"record":…,"source":{"file":…,"line":…}}`
/// (the shape of [`conform_model::OutputLine`]). The record is the value that
/// was validated, serialized afresh: never the plugin's own text, which could
/// say something else (duplicate keys, numbers a float rounds).
pub fn output_line(record_type: &str, record: &serde_json::Value, file: &str, line: u64) -> String {
    let mut out = Vec::with_capacity(256 + record_type.len() + file.len());
    write_output_line(&mut out, record_type, file, line, |out| {
        serde_json::to_writer(out, record).expect("writing JSON to a Vec cannot fail")
    });
    String::from_utf8(out).expect("JSON written from UTF-8 text is UTF-8")
}

/// Appends a records line to `out` around the record `write_record` writes.
fn write_output_line(
    out: &mut Vec<u8>,
    record_type: &str,
    file: &str,
    line: u64,
    write_record: impl FnOnce(&mut Vec<u8>),
) {
    write_line(out, &quoted(record_type), &quoted(file), line, write_record);
}

/// [`write_output_line`] with the record type and the file already JSON text.
fn write_line(
    out: &mut Vec<u8>,
    record_type: &[u8],
    file: &[u8],
    line: u64,
    write_record: impl FnOnce(&mut Vec<u8>),
) {
    out.extend_from_slice(b"{\"record_type\":");
    out.extend_from_slice(record_type);
    out.extend_from_slice(b",\"record\":");
    write_record(out);
    out.extend_from_slice(b",\"source\":{\"file\":");
    out.extend_from_slice(file);
    out.extend_from_slice(b",\"line\":");
    serde_json::to_writer(&mut *out, &line).expect("writing JSON to a Vec cannot fail");
    out.extend_from_slice(b"}}");
}

/// `text` as a JSON string.
fn quoted(text: &str) -> Vec<u8> {
    serde_json::to_vec(text).expect("writing JSON to a Vec cannot fail")
}

fn decode_rejection(error: RowError, file: &str) -> Rejection {
    Rejection {
        file: file.into(),
        sheet: None,
        line: error.line,
        ordinal: error.ordinal,
        code: error.code.into(),
        field: None,
        target: None,
        message: error.message,
    }
}

/// Validates a row's records, writing their lines to `lines`; any invalid
/// record rejects the whole row (and its lines are taken back).
fn finish(
    outcome: RowOutcome,
    pack: &Pack,
    file: &str,
    ordinal: u64,
    line: u64,
    lines: &mut BatchLines,
) -> RowResult {
    let rejection = |code: &str, field: Option<String>, message: String| Rejection {
        file: file.into(),
        sheet: None,
        line,
        ordinal,
        code: code.into(),
        field,
        target: None,
        message,
    };
    let records = match outcome {
        RowOutcome::Rejected(problems) => {
            return RowResult::Rejected(cap_problems(
                problems
                    .into_iter()
                    .map(
                        |Problem {
                             field,
                             target,
                             code,
                             message,
                         }| Rejection {
                            target,
                            ..rejection(&code, field, message)
                        },
                    )
                    .collect(),
            ))
        }
        RowOutcome::Converted(records) => records,
        RowOutcome::Stopped => unreachable!("stopped rows end the batch in `process`"),
    };
    let first = lines.len();
    let mut rejections = Vec::new();
    for output in records {
        let parsed = match output.body {
            RecordBody::Json(text) => conform_pack::parse_record(&text),
            RecordBody::Tree(tree) => {
                // A valid tree without record rules is written where it
                // lies; any other is read as a value, for the validator's
                // messages or the rules.
                if let Some(validator) = pack.tree_writer(&output.record_type) {
                    if validator.is_valid_tree(&tree) {
                        lines.push(&output.record_type, file, line, |out| {
                            validator.write_tree(&tree, out)
                        });
                        continue;
                    }
                }
                Ok(tree.to_value())
            }
        };
        let mut record = match parsed {
            Ok(value) => value,
            Err(e) => {
                let message = format!(
                    "the plugin returned a `{}` record that is not valid JSON or not exact: {e}",
                    output.record_type
                );
                rejections.push(rejection(codes::PLUGIN_OUTPUT, None, cap_message(message)));
                continue;
            }
        };
        let Some(validator) = pack.validator(&output.record_type) else {
            // Checked when the plugin was resolved against this pack; a
            // caller that did not is answered row by row, never by a panic.
            let message = format!(
                "the plugin returned a `{}` record, a record type pack `{}` {} does not have",
                output.record_type,
                pack.manifest().id,
                pack.manifest().version
            );
            rejections.push(rejection(codes::PLUGIN_OUTPUT, None, cap_message(message)));
            continue;
        };
        if let Err(violations) = validator.validate(&record) {
            for v in violations {
                let at = if v.instance_path.is_empty() {
                    "/".to_string()
                } else {
                    v.instance_path.clone()
                };
                let message = cap_message(format!(
                    "the `{}` record breaks the standard at `{at}`: {}",
                    output.record_type, v.message
                ));
                rejections.push(rejection(
                    codes::SCHEMA_VIOLATION,
                    Some(truncate(&at, MAX_FIELD_BYTES)),
                    message,
                ));
            }
            continue;
        }
        validator.normalize(&mut record);
        let broken = pack.check_record_rules(&output.record_type, &record);
        if !broken.is_empty() {
            for violation in broken {
                rejections.push(rejection(
                    &violation.error.code,
                    Some(truncate(&violation.array, MAX_FIELD_BYTES)),
                    cap_message(violation.error.message),
                ));
            }
            continue;
        }
        lines.push(&output.record_type, file, line, |out| {
            serde_json::to_writer(out, &record).expect("writing JSON to a Vec cannot fail")
        });
    }
    if rejections.is_empty() {
        RowResult::Converted(lines.len() - first)
    } else {
        lines.truncate(first);
        RowResult::Rejected(cap_problems(rejections))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conform_model::OutputLine;

    /// Converts every row at once into a part whose name is long.
    struct LongNames;

    impl BatchConverter for LongNames {
        fn convert(&mut self, batch: &[InputRecord]) -> Vec<RowOutcome> {
            let part = serde_json::json!({
                "part_no": "P-1", "name": "ab".repeat(10_000), "supplier_code": "91370200MA3C1234X5",
                "length_mm": 1.0, "width_mm": 1.0, "height_mm": 1.0, "tolerance_mm": 0.0,
                "mass_g": 1.0, "packaging": "CT", "quantity_per_package": 1
            });
            batch
                .iter()
                .map(|_| {
                    RowOutcome::Converted(vec![conform_sandbox::OutputRecord {
                        record_type: "part".into(),
                        body: RecordBody::Json(part.to_string()),
                    }])
                })
                .collect()
        }
    }

    impl Converters for LongNames {
        fn worker(&self, _standard: Arc<Standard>) -> Box<dyn BatchConverter> {
            Box::new(LongNames)
        }
    }

    #[test]
    fn the_time_limit_holds_while_records_are_validated() {
        // A pack whose part names are checked against many patterns that a
        // DFA cannot hold: linear, but slow on long names.
        let dir = tempfile::tempdir().unwrap();
        crate::test_support::copy_dir(&crate::test_support::sample_pack(), dir.path());
        let schema = dir.path().join("schemas/part.schema.json");
        let patterns = (0..400)
            .map(|i| format!("{{\"pattern\": \"(a|b)*a(a|b){{{}}}c\"}}", 12 + i % 4))
            .collect::<Vec<_>>()
            .join(", ");
        let text = std::fs::read_to_string(&schema).unwrap().replacen(
            "\"name\": { \"type\": \"string\",",
            &format!("\"name\": {{ \"type\": \"string\", \"allOf\": [{patterns}],"),
            1,
        );
        std::fs::write(&schema, text).unwrap();
        let pack = Pack::load(dir.path()).unwrap();
        let manifest = PluginManifest::from_toml(
            "name = \"long\"\nversion = \"1.0.0\"\nprovider = \"tests\"\n[input]\nformat = \"ndjson\"\n[target]\npack = \"sample-regional\"\nversions = \"^1\"\nrecord_types = [\"part\"]\n[component]\nfile = \"x.wasm\"\nsha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\n",
        )
        .unwrap();
        let rows = "{}\n".repeat(2000);
        let options = ConvertOptions {
            workers: 1,
            max_duration: Some(Duration::from_secs(1)),
            ..ConvertOptions::default()
        };
        let mut sink = crate::sink::MemorySink::default();
        let started = Instant::now();
        let summary = crate::pipeline::Conversion {
            pack: &pack,
            plugin: &LongNames,
            manifest: &manifest,
            options: &options,
        }
        .run(
            std::io::Cursor::new(rows.into_bytes()),
            "long.ndjson",
            &mut sink,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(
            summary.error_code.as_deref(),
            Some(codes::TIME_LIMIT),
            "{summary:?}"
        );
        // Unchecked, one batch of 256 rows takes over 15 s to validate here.
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "stopped after {:?} with {} rows",
            started.elapsed(),
            summary.rows_in
        );
        assert_eq!(summary.rows_in, summary.converted + summary.rejected);
    }

    /// Hands each row's own fields back as a `roll` record.
    struct Echo;

    impl BatchConverter for Echo {
        fn convert(&mut self, batch: &[InputRecord]) -> Vec<RowOutcome> {
            batch
                .iter()
                .map(|row| {
                    RowOutcome::Converted(vec![conform_sandbox::OutputRecord {
                        record_type: "roll".into(),
                        body: RecordBody::Json(row.fields.json().into_owned()),
                    }])
                })
                .collect()
        }
    }

    impl Converters for Echo {
        fn worker(&self, _standard: Arc<Standard>) -> Box<dyn BatchConverter> {
            Box::new(Echo)
        }
    }

    /// A pack of `roll` records whose composition must add up to 100, and
    /// the manifest of a plugin for it.
    fn roll_pack(dir: &std::path::Path) -> (Pack, PluginManifest) {
        let write = |path: &str, text: &str| {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("pack.toml", "id = \"rolls\"\nversion = \"1.0.0\"\npublisher = \"sample\"\nrecord_rules = \"record-rules.toml\"\n[record_types]\nroll = \"roll.schema.json\"\n");
        write(
            "roll.schema.json",
            r#"{"type": "object", "required": ["composition"], "properties": {"composition": {"type": "array", "items": {"type": "object", "properties": {"fibre": {"type": "string"}, "percent": {"type": "number"}}}}}}"#,
        );
        write("record-rules.toml", "[[rule]]\nrecord_type = \"roll\"\nkind = \"unique-by\"\narray = \"/composition\"\nkey = \"/fibre\"\ncode = \"composition-duplicate-fibre\"\nmessage = \"fibre `{key}` appears more than once in `composition`: list each fibre once\"\n[[rule]]\nrecord_type = \"roll\"\nkind = \"sum-equals\"\narray = \"/composition\"\nvalue = \"/percent\"\ntotal = \"100\"\ncode = \"composition-sum\"\nmessage = \"the percentages of `composition` add up to {sum}, not {total}\"\n");
        let pack = Pack::load(dir).unwrap();
        let manifest = PluginManifest::from_toml(
            "name = \"echo\"\nversion = \"1.0.0\"\nprovider = \"tests\"\n[input]\nformat = \"ndjson\"\n[target]\npack = \"rolls\"\nversions = \"^1\"\nrecord_types = [\"roll\"]\n[component]\nfile = \"x.wasm\"\nsha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\n",
        )
        .unwrap();
        (pack, manifest)
    }

    #[test]
    fn a_record_that_breaks_a_record_rule_is_rejected_at_the_rule_s_array() {
        let dir = tempfile::tempdir().unwrap();
        let (pack, manifest) = roll_pack(dir.path());
        let rows = [
            r#"{"composition": [{"fibre": "PES", "percent": 65}, {"fibre": "CO", "percent": 35}]}"#,
            r#"{"composition": [{"fibre": "PES", "percent": 65}, {"fibre": "CO", "percent": 30}]}"#,
            r#"{"composition": [{"fibre": "CO", "percent": 50}, {"fibre": "CO", "percent": 40}]}"#,
            r#"{"composition": [{"fibre": "WO", "percent": 33.3}, {"fibre": "PES", "percent": 33.3}, {"fibre": "CO", "percent": 33.4}]}"#,
        ]
        .join("\n");
        let mut sink = crate::sink::MemorySink::default();
        let summary = crate::pipeline::Conversion {
            pack: &pack,
            plugin: &Echo,
            manifest: &manifest,
            options: &ConvertOptions::default(),
        }
        .run(
            std::io::Cursor::new(rows.into_bytes()),
            "rolls.ndjson",
            &mut sink,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(
            (summary.rows_in, summary.converted, summary.rejected),
            (4, 2, 2)
        );
        let found: Vec<(u64, &str, Option<&str>, &str)> = sink
            .rejections
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.code.as_str(),
                    r.field.as_deref(),
                    r.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    2,
                    "composition-sum",
                    Some("/composition"),
                    "the percentages of `composition` add up to 95, not 100"
                ),
                (
                    3,
                    "composition-duplicate-fibre",
                    Some("/composition"),
                    "fibre `CO` appears more than once in `composition`: list each fibre once"
                ),
                (
                    3,
                    "composition-sum",
                    Some("/composition"),
                    "the percentages of `composition` add up to 90, not 100"
                ),
            ]
        );
    }

    /// Notes the size of each batch it is given, and converts none.
    struct BatchSizes(Arc<std::sync::Mutex<Vec<usize>>>);

    impl BatchConverter for BatchSizes {
        fn convert(&mut self, batch: &[InputRecord]) -> Vec<RowOutcome> {
            self.0.lock().unwrap().push(batch.len());
            let problem = Problem {
                field: None,
                target: None,
                code: "noted".into(),
                message: "noted".into(),
            };
            batch
                .iter()
                .map(|_| RowOutcome::Rejected(vec![problem.clone()]))
                .collect()
        }
    }

    impl Converters for BatchSizes {
        fn worker(&self, _standard: Arc<Standard>) -> Box<dyn BatchConverter> {
            Box::new(BatchSizes(self.0.clone()))
        }
    }

    #[test]
    fn large_rows_make_small_batches() {
        let dir = tempfile::tempdir().unwrap();
        let (pack, manifest) = roll_pack(dir.path());
        // Rows of 200 kB: the third brings a batch past BATCH_BYTES. Ten
        // rows end in a short batch, nine in a full one, seven at a limit.
        let row = format!("{{\"pad\": \"{}\"}}\n", "x".repeat(200_000));
        for (rows, max_rows, batches) in [
            (10, None, vec![3, 3, 3, 1]),
            (9, None, vec![3, 3, 3]),
            (10, Some(7), vec![3, 3, 1]),
        ] {
            let sizes = BatchSizes(Arc::default());
            let options = ConvertOptions {
                workers: 1,
                max_rows,
                ..ConvertOptions::default()
            };
            let summary = crate::pipeline::Conversion {
                pack: &pack,
                plugin: &sizes,
                manifest: &manifest,
                options: &options,
            }
            .run(
                std::io::Cursor::new(row.repeat(rows).into_bytes()),
                "large.ndjson",
                &mut crate::sink::MemorySink::default(),
                &mut |_| {},
            )
            .unwrap();
            let read = batches.iter().sum::<usize>() as u64;
            assert_eq!((summary.rows_in, summary.rejected), (read, read));
            assert_eq!(*sizes.0.lock().unwrap(), batches, "{rows} rows");
            assert_eq!(
                summary.error_code.is_some(),
                max_rows.is_some(),
                "{summary:?}"
            );
        }
    }

    #[test]
    fn output_lines_have_the_documented_shape() {
        let raw = "{\"a\": 1}";
        let record: serde_json::Value = serde_json::from_str(raw).unwrap();
        let line = output_line("part", &record, "x \"y\".csv", 7);
        let parsed: OutputLine = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed.record_type, "part");
        assert_eq!(parsed.record, record);
        assert_eq!(
            (parsed.source.file.as_str(), parsed.source.line),
            ("x \"y\".csv", 7)
        );
        let line = output_line("part", &record, "f", 1);
        assert!(!line.contains('\n'), "one line per record: {line}");
    }
}
