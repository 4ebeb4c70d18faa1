//! Bulk jobs, durable: uploads and outputs in the data directory, job state
//! in an SQLite file. A job accepted before a crash runs again from its
//! upload after a restart, and its outputs are written afresh, so they equal
//! those of an uninterrupted run.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::metrics::FaultCounter;
use conform_engine::sink::NdjsonSink;

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
    /// Stopped early (a limit, an unreadable upload: `error_code` says
    /// which) or could not run; the output of the rows before the stop can
    /// be downloaded.
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

/// Times a job is started before a crash during it makes it `failed`.
pub const MAX_ATTEMPTS: i64 = 2;

/// The code of a job that was running each time the process died.
pub const JOB_CRASHED: &str = "job-crashed";

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Job {
    /// The job's id.
    pub id: String,
    /// The token name that submitted it.
    pub owner: String,
    /// The plugin that converts it.
    pub plugin: String,
    /// The plugin's version, fixed when the job was accepted.
    pub plugin_version: String,
    /// The pack version it converts to, fixed when the job was accepted.
    pub pack_version: String,
    /// The file name recorded as each record's source.
    pub file: String,
    /// Where it is.
    pub state: JobState,
    /// Seconds since the Unix epoch when it was accepted.
    pub created_at: u64,
    /// Seconds since the Unix epoch when it last started running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    /// Seconds since the Unix epoch when it ended (done, failed, cancelled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
    /// Rows read so far.
    pub rows_in: u64,
    /// Rows converted so far.
    pub converted: u64,
    /// Rows rejected so far.
    pub rejected: u64,
    /// Why the job failed or stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The stable code of `error` (`rows-limit`, `time-limit`, `cancelled` …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

/// A job whose upload is stored, to record.
#[derive(Debug)]
pub struct NewJob<'a> {
    /// Its id (its folder's name).
    pub id: &'a str,
    /// The token name that submitted it.
    pub owner: &'a str,
    /// The plugin.
    pub plugin: &'a str,
    /// The plugin's version.
    pub plugin_version: &'a str,
    /// The pack version.
    pub pack_version: &'a str,
    /// The file name recorded as the records' source.
    pub file: &'a str,
}

/// When each token last had a job started, for round-robin scheduling.
#[derive(Debug, Default)]
struct Turns {
    tick: u64,
    turns: HashMap<String, u64>,
}

/// The job table and the job folders.
pub struct JobStore {
    db: Mutex<Connection>,
    served: Mutex<Turns>,
    dir: PathBuf,
    cancelled: Mutex<HashSet<String>>,
    wake: Condvar,
    wake_lock: Mutex<bool>,
    /// Set at a graceful shutdown: no more jobs are claimed.
    stopping: std::sync::atomic::AtomicBool,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl JobStore {
    /// Opens (or creates) the store in `data`; jobs left running by a
    /// crash are queued again.
    pub fn open(data: &conform_engine::DataDir) -> anyhow::Result<JobStore> {
        let dir = data.jobs();
        std::fs::create_dir_all(&dir)?;
        let db = Connection::open(data.jobs_database())?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS jobs (
                 id TEXT PRIMARY KEY, owner TEXT NOT NULL, plugin TEXT NOT NULL, file TEXT NOT NULL,
                 state TEXT NOT NULL, created_at INTEGER NOT NULL,
                 rows_in INTEGER NOT NULL DEFAULT 0, converted INTEGER NOT NULL DEFAULT 0,
                 rejected INTEGER NOT NULL DEFAULT 0, error TEXT,
                 plugin_version TEXT NOT NULL DEFAULT '', pack_version TEXT NOT NULL DEFAULT '',
                 error_code TEXT, attempts INTEGER NOT NULL DEFAULT 0,
                 started_at INTEGER, finished_at INTEGER);",
        )?;
        // Stores made before these columns existed gain them.
        for column in [
            "plugin_version TEXT NOT NULL DEFAULT ''",
            "pack_version TEXT NOT NULL DEFAULT ''",
            "error_code TEXT",
            "attempts INTEGER NOT NULL DEFAULT 0",
            "started_at INTEGER",
            "finished_at INTEGER",
        ] {
            let _ = db.execute(&format!("ALTER TABLE jobs ADD COLUMN {column}"), []);
        }
        // A job still `running` was running when the process died. Once it
        // has been tried MAX_ATTEMPTS times it may be what kills the
        // process: it fails rather than crash every restart.
        db.execute(
            "UPDATE jobs SET state = 'failed', error_code = ?1, error = ?2
             WHERE state = 'running' AND attempts >= ?3",
            params![
                JOB_CRASHED,
                format!("the server stopped while running this job, {MAX_ATTEMPTS} times; it is not tried again: check the file and the plugin, or split the file"),
                MAX_ATTEMPTS
            ],
        )?;
        db.execute(
            "UPDATE jobs SET state = 'queued', rows_in = 0, converted = 0, rejected = 0 WHERE state = 'running'",
            [],
        )?;
        Ok(JobStore {
            db: Mutex::new(db),
            served: Mutex::default(),
            dir,
            cancelled: Mutex::new(HashSet::new()),
            wake: Condvar::new(),
            wake_lock: Mutex::new(false),
            stopping: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The folder of a job: `upload`, `records.ndjson`, `errors.ndjson`.
    pub fn folder(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Records a job whose upload is complete in its folder, and wakes the runner.
    pub fn accept(&self, new: &NewJob<'_>) -> rusqlite::Result<Job> {
        let id = new.id;
        self.db.lock().expect("not poisoned").execute(
            "INSERT INTO jobs (id, owner, plugin, file, state, created_at, plugin_version, pack_version) VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7)",
            params![id, new.owner, new.plugin, new.file, now() as i64, new.plugin_version, new.pack_version],
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
            plugin_version: row.get(10)?,
            pack_version: row.get(11)?,
            error_code: row.get(12)?,
            started_at: row.get::<_, Option<i64>>(13)?.map(|t| t as u64),
            finished_at: row.get::<_, Option<i64>>(14)?.map(|t| t as u64),
        })
    }

    const COLUMNS: &'static str =
        "id, owner, plugin, file, state, created_at, rows_in, converted, rejected, error, plugin_version, pack_version, error_code, started_at, finished_at";

    /// Jobs of an owner that are queued or running.
    pub fn active(&self, owner: &str) -> rusqlite::Result<u64> {
        self.db.lock().expect("not poisoned").query_row(
            "SELECT COUNT(*) FROM jobs WHERE owner = ?1 AND state IN ('queued', 'running')",
            [owner],
            |r| r.get::<_, i64>(0).map(|n| n as u64),
        )
    }

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
        self.page(owner, None, u32::MAX)
    }

    /// At most `limit` jobs of an owner (every job for `None`), newest
    /// first, submitted before the job `after` if given.
    pub fn page(
        &self,
        owner: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> rusqlite::Result<Vec<Job>> {
        let db = self.db.lock().expect("not poisoned");
        let sql = format!(
            "SELECT {} FROM jobs WHERE (?1 IS NULL OR owner = ?1)
               AND (?2 IS NULL OR rowid < (SELECT rowid FROM jobs WHERE id = ?2))
             ORDER BY rowid DESC LIMIT ?3",
            Self::COLUMNS
        );
        let mut statement = db.prepare(&sql)?;
        let jobs = statement
            .query_map(params![owner, after, i64::from(limit)], Self::row)?
            .collect();
        jobs
    }

    /// The next job to run, fairly: among the tokens with queued jobs and
    /// fewer than `per_token` running, the one served least recently; its
    /// oldest job (submission order, the table's row order) first.
    fn claim_next(&self, per_token: u64) -> rusqlite::Result<Option<Job>> {
        if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(None);
        }
        let next = {
            let db = self.db.lock().expect("not poisoned");
            let oldest: Vec<(String, i64)> = db
                .prepare(
                    "SELECT owner, MIN(rowid) FROM jobs WHERE state = 'queued' GROUP BY owner",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let running: HashMap<String, u64> = db
                .prepare("SELECT owner, COUNT(*) FROM jobs WHERE state = 'running' GROUP BY owner")?
                .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut served = self.served.lock().expect("not poisoned");
            let pick = oldest
                .into_iter()
                .filter(|(owner, _)| running.get(owner).copied().unwrap_or(0) < per_token)
                .min_by_key(|(owner, seq)| (served.turns.get(owner).copied().unwrap_or(0), *seq));
            match pick {
                Some((owner, seq)) => {
                    let id: String =
                        db.query_row("SELECT id FROM jobs WHERE rowid = ?1", [seq], |r| r.get(0))?;
                    db.execute(
                        "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?2 WHERE id = ?1",
                        params![id, now() as i64],
                    )?;
                    served.tick += 1;
                    let tick = served.tick;
                    served.turns.insert(owner, tick);
                    Some(id)
                }
                None => None,
            }
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

    fn finish(
        &self,
        id: &str,
        state: JobState,
        error: Option<(String, String)>,
    ) -> rusqlite::Result<()> {
        let (code, message) = error.unzip();
        self.db.lock().expect("not poisoned").execute(
            "UPDATE jobs SET state = ?2, error = ?3, error_code = ?4, finished_at = ?5 WHERE id = ?1",
            params![id, state.as_str(), message, code, now() as i64],
        )?;
        Ok(())
    }

    /// At a graceful shutdown: no more jobs are claimed, jobs still running
    /// go back to the queue, and this start does not count as an attempt
    /// (it did not crash).
    pub fn release_running(&self) -> rusqlite::Result<()> {
        // No runner claims a job after this: none is counted as crashed.
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.db.lock().expect("not poisoned").execute(
            "UPDATE jobs SET state = 'queued', rows_in = 0, converted = 0, rejected = 0,
                 attempts = MAX(attempts - 1, 0)
             WHERE state = 'running'",
            [],
        )?;
        Ok(())
    }

    /// Deletes a finished job: its row, then its folder. A queued or running
    /// job is not deleted (`Ok(false)`).
    pub fn delete(&self, id: &str) -> rusqlite::Result<bool> {
        let deleted = self.db.lock().expect("not poisoned").execute(
            "DELETE FROM jobs WHERE id = ?1 AND state IN ('done', 'failed', 'cancelled')",
            [id],
        )?;
        if deleted > 0 {
            self.cancelled.lock().expect("not poisoned").remove(id);
            if let Err(e) = std::fs::remove_dir_all(self.folder(id)) {
                tracing::warn!(job = %id, error = %e, "cannot remove a deleted job's folder");
            }
        }
        Ok(deleted > 0)
    }

    /// Deletes the finished jobs that ended more than `retention` ago;
    /// returns how many.
    pub fn expire(&self, retention: Duration) -> rusqlite::Result<usize> {
        let cutoff = now().saturating_sub(retention.as_secs()) as i64;
        let expired: Vec<String> = {
            let db = self.db.lock().expect("not poisoned");
            let mut statement = db.prepare(
                "SELECT id FROM jobs WHERE state IN ('done', 'failed', 'cancelled')
                   AND COALESCE(finished_at, created_at) < ?1",
            )?;
            let ids = statement
                .query_map([cutoff], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids
        };
        for id in &expired {
            self.delete(id)?;
        }
        Ok(expired.len())
    }

    /// Removes what interrupted uploads left: job folders without a job.
    pub fn remove_orphans(&self) -> rusqlite::Result<usize> {
        let known: HashSet<String> = {
            let db = self.db.lock().expect("not poisoned");
            let mut statement = db.prepare("SELECT id FROM jobs")?;
            let ids = statement
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids
        };
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !known.contains(&name) && std::fs::remove_dir_all(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Whether the job table answers.
    pub fn is_healthy(&self) -> bool {
        self.db
            .lock()
            .expect("not poisoned")
            .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .is_ok()
    }

    /// Bytes free on the file system of the job folders.
    pub fn free_bytes(&self) -> std::io::Result<u64> {
        free_bytes(&self.dir)
    }

    /// [`room_above_floor`] for the job folders.
    pub(crate) fn room_above_floor(&self, min_free_bytes: u64) -> std::io::Result<bool> {
        room_above_floor(&self.dir, min_free_bytes)
    }

    /// How many jobs are queued and how many running.
    pub fn counts(&self) -> rusqlite::Result<(u64, u64)> {
        self.db.lock().expect("not poisoned").query_row(
            "SELECT COUNT(*) FILTER (WHERE state = 'queued'), COUNT(*) FILTER (WHERE state = 'running') FROM jobs",
            [],
            |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64)),
        )
    }

    /// Returns one running job to the queue without counting its start.
    pub fn release(&self, id: &str) -> rusqlite::Result<()> {
        self.db.lock().expect("not poisoned").execute(
            "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), started_at = NULL
             WHERE id = ?1 AND state = 'running'",
            [id],
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
            "UPDATE jobs SET state = 'cancelled', error = 'cancelled by its owner', finished_at = ?2 WHERE id = ?1 AND state = 'queued'",
            params![id, now() as i64],
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

/// Bytes free for this user on the file system holding `path`.
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    // SAFETY: statvfs is plain data, for which all zeroes is a valid value.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: statvfs writes into `stat`, which outlives the call.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(stat.f_bavail as u64 * stat.f_frsize as u64)
}

/// How often, in bytes an upload has stored (a job's file, a spool), the
/// disk floor is checked again.
pub(crate) const DISK_CHECK_BYTES: u64 = 64 * 1024 * 1024;

/// Whether an upload growing from `before` to `after` stored bytes passes
/// a point where the disk floor is checked again.
pub(crate) fn crosses_disk_check(before: u64, after: u64) -> bool {
    before / DISK_CHECK_BYTES != after / DISK_CHECK_BYTES
}

/// Whether the disk of `path` can take [`DISK_CHECK_BYTES`] more and still
/// keep `min_free_bytes` free.
pub(crate) fn room_above_floor(path: &Path, min_free_bytes: u64) -> std::io::Result<bool> {
    Ok(free_bytes(path)? >= min_free_bytes.saturating_add(DISK_CHECK_BYTES))
}

/// Deletes expired jobs now and then, until the process ends.
pub fn spawn_sweeper(state: Arc<super::AppState>) {
    let retention = Duration::from_secs(state.config.limits.job_retention_seconds);
    let every = (retention / 10).clamp(Duration::from_secs(1), Duration::from_secs(3600));
    let spawned = std::thread::Builder::new()
        .name("conform-sweeper".into())
        .spawn(move || loop {
            match state.jobs.expire(retention) {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "expired jobs deleted"),
                Err(e) => tracing::error!(error = %e, "cannot delete expired jobs"),
            }
            std::thread::sleep(every);
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the sweeper; expired jobs stay");
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
    let store = state.jobs.clone();
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
        super::csv_export::keep_columns(&folder.join(done)).map_err(|e| e.to_string())?;
    }
    Ok(summary)
}
