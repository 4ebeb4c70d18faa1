//! Bulk jobs, durable: uploads and outputs in the data directory, job state
//! in an SQLite file. A job accepted before a crash runs again from its
//! upload after a restart, and its outputs are written afresh, so they equal
//! those of an uninterrupted run.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::metrics::FaultCounter;
use crate::pipeline::ConvertOptions;
use crate::sink::NdjsonSink;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Accepted, waiting for the runner.
    Queued,
    /// Converting.
    Running,
    /// Finished: records and error report can be downloaded.
    Done,
    /// Stopped by its owner.
    Cancelled,
    /// Could not run (the plugin no longer loads, the upload is unreadable).
    Failed,
}

impl JobState {
    fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Cancelled => "cancelled",
            JobState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> JobState {
        match text {
            "running" => JobState::Running,
            "done" => JobState::Done,
            "cancelled" => JobState::Cancelled,
            "failed" => JobState::Failed,
            _ => JobState::Queued,
        }
    }
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Job {
    /// The job's id.
    pub id: String,
    /// The token name that submitted it.
    pub owner: String,
    /// The plugin that converts it.
    pub plugin: String,
    /// The file name recorded as each record's source.
    pub file: String,
    /// Where it is.
    pub state: JobState,
    /// Seconds since the Unix epoch when it was accepted.
    pub created_at: u64,
    /// Rows read so far.
    pub rows_in: u64,
    /// Rows converted so far.
    pub converted: u64,
    /// Rows rejected so far.
    pub rejected: u64,
    /// Why the job failed or stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The job table and the job folders.
pub struct JobStore {
    db: Mutex<Connection>,
    dir: PathBuf,
    cancelled: Mutex<HashSet<String>>,
    wake: Condvar,
    wake_lock: Mutex<bool>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl JobStore {
    /// Opens (or creates) the store in `data_dir`; jobs left running by a
    /// crash are queued again.
    pub fn open(data_dir: &Path) -> anyhow::Result<JobStore> {
        let dir = data_dir.join("jobs");
        std::fs::create_dir_all(&dir)?;
        let db = Connection::open(data_dir.join("jobs.sqlite"))?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS jobs (
                 id TEXT PRIMARY KEY, owner TEXT NOT NULL, plugin TEXT NOT NULL, file TEXT NOT NULL,
                 state TEXT NOT NULL, created_at INTEGER NOT NULL,
                 rows_in INTEGER NOT NULL DEFAULT 0, converted INTEGER NOT NULL DEFAULT 0,
                 rejected INTEGER NOT NULL DEFAULT 0, error TEXT);
             UPDATE jobs SET state = 'queued', rows_in = 0, converted = 0, rejected = 0 WHERE state = 'running';",
        )?;
        Ok(JobStore {
            db: Mutex::new(db),
            dir,
            cancelled: Mutex::new(HashSet::new()),
            wake: Condvar::new(),
            wake_lock: Mutex::new(false),
        })
    }

    /// The folder of a job: `upload`, `records.ndjson`, `errors.ndjson`.
    pub fn folder(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Records a job whose upload is complete in its folder, and wakes the runner.
    pub fn accept(&self, id: &str, owner: &str, plugin: &str, file: &str) -> rusqlite::Result<Job> {
        self.db.lock().expect("not poisoned").execute(
            "INSERT INTO jobs (id, owner, plugin, file, state, created_at) VALUES (?1, ?2, ?3, ?4, 'queued', ?5)",
            params![id, owner, plugin, file, now() as i64],
        )?;
        *self.wake_lock.lock().expect("not poisoned") = true;
        self.wake.notify_all();
        Ok(self.get(id)?.expect("just inserted"))
    }

    fn row(row: &rusqlite::Row) -> rusqlite::Result<Job> {
        Ok(Job {
            id: row.get(0)?,
            owner: row.get(1)?,
            plugin: row.get(2)?,
            file: row.get(3)?,
            state: JobState::parse(&row.get::<_, String>(4)?),
            created_at: row.get::<_, i64>(5)? as u64,
            rows_in: row.get::<_, i64>(6)? as u64,
            converted: row.get::<_, i64>(7)? as u64,
            rejected: row.get::<_, i64>(8)? as u64,
            error: row.get(9)?,
        })
    }

    const COLUMNS: &'static str =
        "id, owner, plugin, file, state, created_at, rows_in, converted, rejected, error";

    /// A job by id.
    pub fn get(&self, id: &str) -> rusqlite::Result<Option<Job>> {
        let db = self.db.lock().expect("not poisoned");
        db.query_row(
            &format!("SELECT {} FROM jobs WHERE id = ?1", Self::COLUMNS),
            [id],
            Self::row,
        )
        .optional()
    }

    /// The jobs of an owner (every job for `None`), newest first.
    pub fn list(&self, owner: Option<&str>) -> rusqlite::Result<Vec<Job>> {
        let db = self.db.lock().expect("not poisoned");
        let sql = format!(
            "SELECT {} FROM jobs WHERE ?1 IS NULL OR owner = ?1 ORDER BY created_at DESC, id",
            Self::COLUMNS
        );
        let mut statement = db.prepare(&sql)?;
        let jobs = statement.query_map([owner], Self::row)?.collect();
        jobs
    }

    fn claim_next(&self) -> rusqlite::Result<Option<Job>> {
        let next = {
            let db = self.db.lock().expect("not poisoned");
            let id: Option<String> = db
                .query_row(
                    "SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at, id LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = &id {
                db.execute("UPDATE jobs SET state = 'running' WHERE id = ?1", [id])?;
            }
            id
        };
        match next {
            Some(id) => self.get(&id),
            None => Ok(None),
        }
    }

    fn progress(
        &self,
        id: &str,
        rows_in: u64,
        converted: u64,
        rejected: u64,
    ) -> rusqlite::Result<()> {
        self.db.lock().expect("not poisoned").execute(
            "UPDATE jobs SET rows_in = ?2, converted = ?3, rejected = ?4 WHERE id = ?1",
            params![id, rows_in as i64, converted as i64, rejected as i64],
        )?;
        Ok(())
    }

    fn finish(&self, id: &str, state: JobState, error: Option<String>) -> rusqlite::Result<()> {
        self.db.lock().expect("not poisoned").execute(
            "UPDATE jobs SET state = ?2, error = ?3 WHERE id = ?1",
            params![id, state.as_str(), error],
        )?;
        Ok(())
    }

    /// Cancels a job: a queued one at once, a running one at its next read.
    pub fn cancel(&self, id: &str) -> rusqlite::Result<()> {
        self.cancelled
            .lock()
            .expect("not poisoned")
            .insert(id.to_string());
        self.db.lock().expect("not poisoned").execute(
            "UPDATE jobs SET state = 'cancelled', error = 'cancelled by its owner' WHERE id = ?1 AND state = 'queued'",
            [id],
        )?;
        Ok(())
    }

    fn is_cancelled(&self, id: &str) -> bool {
        self.cancelled.lock().expect("not poisoned").contains(id)
    }

    fn wait_for_work(&self, timeout: Duration) {
        let mut woken = self.wake_lock.lock().expect("not poisoned");
        if !*woken {
            woken = self
                .wake
                .wait_timeout(woken, timeout)
                .expect("not poisoned")
                .0;
        }
        *woken = false;
    }
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

/// Runs queued jobs one at a time, each with all workers, until the process ends.
pub fn spawn_runner(state: Arc<super::AppState>) {
    std::thread::Builder::new()
        .name("conform-jobs".into())
        .spawn(move || loop {
            match state.jobs.claim_next() {
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

fn run_job(state: &Arc<super::AppState>, job: Job) {
    let store = state.jobs.clone();
    let started = Instant::now();
    let result = convert_job(state, &job);
    let (final_state, error) = match result {
        Ok(_) if store.is_cancelled(&job.id) => (
            JobState::Cancelled,
            Some("cancelled by its owner".to_string()),
        ),
        Ok(summary) => (JobState::Done, summary.error),
        Err(e) => (JobState::Failed, Some(e)),
    };
    state
        .metrics
        .record_job(final_state.as_str(), started.elapsed().as_secs_f64());
    if let Err(e) = store.finish(&job.id, final_state, error) {
        tracing::error!(job = %job.id, error = %e, "cannot record the end of a job");
    }
}

fn convert_job(
    state: &Arc<super::AppState>,
    job: &Job,
) -> Result<conform_model::FileSummary, String> {
    let store = state.jobs.clone();
    let entry = state.registry.get(&job.plugin).map_err(|e| e.to_string())?;
    let plugin = state.plugin(entry).map_err(|e| e.body.message)?;
    let folder = store.folder(&job.id);
    let upload =
        File::open(folder.join("upload")).map_err(|e| format!("the upload is unreadable: {e}"))?;
    let (records_part, errors_part) = (
        folder.join("records.ndjson.part"),
        folder.join("errors.ndjson.part"),
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
    let options = ConvertOptions::default();
    let summary = crate::convert(
        reader,
        &job.file,
        &state.pack,
        &plugin,
        &entry.manifest,
        &options,
        &mut sink,
        &mut progress,
    )
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
    }
    Ok(summary)
}
