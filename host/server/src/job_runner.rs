//! The job runners: `job_slots` threads that take the next job fairly
//! from the [`JobStore`](super::jobs::JobStore), convert it with the
//! pipeline and record the outcome; and the sweeper that deletes expired
//! jobs. The store is data; this is what the server does with it.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::jobs::{Job, JobState, JobStore};
use super::metrics::FaultCounter;
use conform_engine::sink::NdjsonSink;

/// Runs `work` on a thread of its own named `name`, then again every
/// `period`, until the process ends; a thread that cannot start is logged
/// with `if_not_started` (what is lost).
fn repeat(
    name: &str,
    period: Duration,
    if_not_started: &str,
    mut work: impl FnMut() + Send + 'static,
) {
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || loop {
            work();
            std::thread::sleep(period);
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start {name}; {if_not_started}");
    }
}

/// Deletes expired jobs now and then, until the process ends.
pub fn spawn_sweeper(state: Arc<super::AppState>) {
    let retention = Duration::from_secs(state.config.limits.job_retention_seconds);
    let every = (retention / 10).clamp(Duration::from_secs(1), Duration::from_secs(3600));
    repeat("conform-sweeper", every, "expired jobs stay", move || {
        match state.jobs.expire(retention) {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "expired jobs deleted"),
            Err(e) => tracing::error!(error = %e, "cannot delete expired jobs"),
        }
        // Working copies of jobs another replica deleted.
        if state.jobs.shares_files() {
            if let Err(e) = state.jobs.remove_orphans() {
                tracing::error!(error = %e, "cannot remove the working copies of deleted jobs");
            }
        }
    });
}

/// When replicas share the job table: renews this process's leases every
/// third of a lease, picks up cancellations other replicas received, and
/// queues again the jobs of replicas that stopped renewing theirs.
pub fn spawn_lease_keeper(state: Arc<super::AppState>) {
    if !state.jobs.is_shared() {
        return;
    }
    let every = Duration::from_secs(state.config.storage.lease_seconds) / 3;
    let lost = "other replicas will take this one's jobs over";
    repeat("conform-leases", every, lost, move || {
        if let Err(e) = state.jobs.keep_leases() {
            tracing::error!(error = %e, "cannot renew this replica's job leases");
        }
    });
}

/// When replicas share a database: installs the plugin and pack versions
/// other replicas publish and puts the shared tokens in force, looking
/// every 2 seconds.
pub fn spawn_catalog_follower(state: Arc<super::AppState>) {
    if !state.publications.is_shared() {
        return;
    }
    let lost = "versions other replicas publish are not served here";
    repeat("conform-catalog", Duration::from_secs(2), lost, move || {
        // Tokens first: a revocation is not held up by a slow install.
        state.reload_shared_tokens();
        if let Err(e) = state.publications.follow(&state.catalog) {
            tracing::error!(error = %e, "cannot install the versions other replicas published");
        }
    });
}

/// Reads the upload, failing once the job is cancelled.
struct CancellableReader {
    file: File,
    store: Arc<JobStore>,
    id: String,
}

impl Read for CancellableReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.store.is_cancelled(&self.id) {
            return Err(io::Error::other("the job was cancelled"));
        }
        self.file.read(buf)
    }
}

/// Runs queued jobs in `limits.job_slots` runner threads, fairly across
/// tokens (see [`JobStore::claim_next`]), until the process ends.
pub fn spawn_runners(state: Arc<super::AppState>) {
    let limits = &state.config.limits;
    let slots = limits.job_slots();
    let per_token = u64::from(limits.running_jobs_per_token());
    for slot in 0..slots {
        let state = state.clone();
        std::thread::Builder::new()
            .name(format!("conform-jobs-{slot}"))
            .spawn(move || loop {
                match state.jobs.claim_next(per_token) {
                    Ok(Some(job)) => run_job(&state, job),
                    Ok(None) => state.jobs.wait_for_work(Duration::from_millis(500)),
                    Err(e) => {
                        tracing::error!(error = %e, "the job store cannot be read");
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            })
            .expect("a thread can be spawned");
    }
}

fn run_job(state: &Arc<super::AppState>, job: Job) {
    let store = state.jobs.clone();
    let started = Instant::now();
    // A plugin that cannot be compiled now (every slot busy), or memory
    // that other conversions hold, is not the job's fault: it goes back to
    // the queue, and is not counted as a start.
    let result = match state.resolve_job_plugin(&job) {
        Err(e) if e.status() == axum::http::StatusCode::SERVICE_UNAVAILABLE => {
            back_to_queue(&store, &job, "the plugin cannot be compiled now");
            return std::thread::sleep(Duration::from_secs(1));
        }
        Err(e) => Err(e.message),
        Ok(resolved) => {
            let wanted = state.convert_options().workers;
            let per_instance = u64::from(resolved.plugin.limits().memory_mib);
            let Some(memory) = state.memory.try_reserve(per_instance, wanted) else {
                back_to_queue(&store, &job, "the plugin memory budget is taken");
                return state
                    .memory
                    .wait_for_room(per_instance, Duration::from_secs(1));
            };
            // A panic in a conversion fails that job; the runner goes on.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                convert_job(state, &job, &resolved, memory.instances)
            }))
            .unwrap_or_else(|_| {
                Err("the conversion failed inside the server; the log has details".to_string())
            })
        }
    };
    let (final_state, error) = match result {
        Ok(_) if store.is_cancelled(&job.id) => (
            JobState::Cancelled,
            Some((
                "cancelled".to_string(),
                "cancelled by its owner".to_string(),
            )),
        ),
        Ok(summary) if summary.error_code.is_some() => {
            (JobState::Failed, summary.error_code.zip(summary.error))
        }
        Ok(_) => (JobState::Done, None),
        Err(e) => (
            JobState::Failed,
            Some(("job-failed".to_string(), super::redact::redact(&e))),
        ),
    };
    state
        .metrics
        .record_job(final_state.as_str(), started.elapsed().as_secs_f64());
    if let Err(e) = store.finish(&job.id, final_state, error) {
        tracing::error!(job = %job.id, error = %e, "cannot record the end of a job");
    }
    tracing::info!(job = %job.id, plugin = %job.plugin, state = final_state.as_str(), seconds = started.elapsed().as_secs_f64(), "job ended");
}

/// Puts a claimed job back in the queue, unstarted, for a reason of the
/// server's (`why`).
fn back_to_queue(store: &JobStore, job: &Job, why: &str) {
    tracing::debug!(job = %job.id, "{why}; the job waits");
    if let Err(e) = store.release(&job.id) {
        tracing::error!(job = %job.id, error = %e, "cannot return a job to the queue");
    }
}

/// Converts a job's upload with `workers` plugin instances into its
/// outputs, renamed into place when complete.
fn convert_job(
    state: &Arc<super::AppState>,
    job: &Job,
    resolved: &super::state::Resolved,
    workers: usize,
) -> Result<conform_model::FileSummary, String> {
    tracing::info!(job = %job.id, plugin = %job.plugin, "job started");
    let store = state.jobs.clone();
    let folder = store.folder(&job.id);
    // Accepted by another replica: its upload comes from the shared files.
    retrying(&job.id, "fetch the upload", || store.fetch_upload(&job.id))?;
    let upload =
        File::open(folder.join("upload")).map_err(|e| format!("the upload is unreadable: {e}"))?;
    // Written under this process's own names: a replica that lost its
    // lease while stalled and the one that took the job over never write
    // the same file (each renames a complete one into place).
    let tag = store.runner_tag();
    let (records_part, errors_part) = (
        folder.join(format!("records.ndjson.{tag}.part")),
        folder.join(format!("errors.ndjson.{tag}.part")),
    );
    let records = File::create(&records_part).map_err(|e| e.to_string())?;
    let errors = File::create(&errors_part).map_err(|e| e.to_string())?;
    let mut ndjson = NdjsonSink::new(records, errors);
    let mut sink = FaultCounter {
        inner: &mut ndjson,
        faults: Default::default(),
    };
    let reader = CancellableReader {
        file: upload,
        store: store.clone(),
        id: job.id.clone(),
    };
    let mut last = Instant::now();
    let mut progress = |s: &conform_model::FileSummary| {
        if last.elapsed() > Duration::from_millis(250) {
            last = Instant::now();
            let _ = store.progress(&job.id, s.rows_in, s.converted, s.rejected);
        }
    };
    let options = conform_engine::ConvertOptions {
        workers,
        ..state.convert_options()
    };
    let summary = conform_engine::Conversion {
        pack: &resolved.pack,
        plugin: &resolved.plugin,
        manifest: &resolved.manifest,
        options: &options,
    }
    .run(reader, &job.file, &mut sink, &mut progress)
    .map_err(|e| e.to_string())?;
    state.metrics.record_file(&summary, &sink.faults);
    drop(ndjson);
    store
        .progress(
            &job.id,
            summary.rows_in,
            summary.converted,
            summary.rejected,
        )
        .map_err(|e| e.to_string())?;
    for (part, done) in [
        (records_part, "records.ndjson"),
        (errors_part, "errors.ndjson"),
    ] {
        File::open(&part)
            .and_then(|f| f.sync_all())
            .map_err(|e| e.to_string())?;
        std::fs::rename(&part, folder.join(done)).map_err(|e| e.to_string())?;
        super::table_export::keep_columns(&folder.join(done)).map_err(|e| e.to_string())?;
    }
    super::annotated::keep(&folder, &resolved.manifest.input, &summary)
        .map_err(|e| e.to_string())?;
    retrying(&job.id, "share the outputs", || {
        store.share_outputs(&job.id)
    })?;
    Ok(summary)
}

/// What a job's owner reads when the shared files failed it (the details,
/// which name the store, go to the log).
const SHARED_FILES_DOWN: &str =
    "the server's shared file store could not be reached; submit the file again later";

/// Runs `work` on the shared files for a job, tried 4 times over about
/// 12 seconds: a store that stays down fails the job.
fn retrying(
    id: &str,
    what: &str,
    work: impl Fn() -> super::jobs::TableResult<()>,
) -> Result<(), String> {
    let mut tries = 0;
    loop {
        tries += 1;
        match work() {
            Ok(()) => return Ok(()),
            Err(e) if tries < 4 => {
                tracing::warn!(job = %id, error = %e, "cannot {what}; trying again");
                std::thread::sleep(Duration::from_secs(2 * tries));
            }
            Err(e) => {
                tracing::error!(job = %id, error = %e, "cannot {what}");
                return Err(SHARED_FILES_DOWN.to_string());
            }
        }
    }
}
