//! Bulk jobs, durable: uploads and outputs in the data directory, job
//! records in a [`JobTable`] (the server's SQLite file, or a PostgreSQL
//! database that replicas share). A job accepted
//! before a crash runs again from its upload after a restart, and its
//! outputs are written afresh, so they equal those of an uninterrupted run.

mod postgres;
mod sqlite;
mod table;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

pub use table::{JobTable, TableError, TableResult};

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
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Cancelled => "cancelled",
            JobState::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> JobState {
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

/// The job folders and the job table, with what the process keeps of
/// its runners: the jobs cancelled while running, the runners' wake-up,
/// and whether it is stopping.
pub struct JobStore {
    table: Box<dyn JobTable>,
    files: std::sync::Arc<dyn crate::files::FileStore>,
    dir: PathBuf,
    cancelled: Mutex<HashSet<String>>,
    /// The jobs this process's runners claimed and have not ended.
    held: Mutex<HashSet<String>>,
    /// One fetch of a job's shared files at a time.
    fetching: Mutex<std::collections::HashMap<String, std::sync::Arc<Mutex<()>>>>,
    /// Names this process's part files: two runners of one job (one whose
    /// lease lapsed while it stalled) never write the same file.
    runner_tag: String,
    wake: Condvar,
    wake_lock: Mutex<bool>,
    /// Set at a graceful shutdown: no more jobs are claimed.
    stopping: std::sync::atomic::AtomicBool,
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl JobStore {
    /// The store over `table`, its folders in `dir` (working copies of
    /// `files` when that is shared); jobs left running by a crash are
    /// queued again. Once a job has been tried MAX_ATTEMPTS
    /// times it may be what kills the process: it fails rather than crash
    /// every restart.
    pub fn with_table(
        table: Box<dyn JobTable>,
        files: std::sync::Arc<dyn crate::files::FileStore>,
        dir: PathBuf,
    ) -> anyhow::Result<JobStore> {
        let crashed = crashed_message();
        table.recover(MAX_ATTEMPTS, (JOB_CRASHED, &crashed))?;
        Ok(JobStore {
            table,
            files,
            dir,
            cancelled: Mutex::new(HashSet::new()),
            held: Mutex::new(HashSet::new()),
            fetching: Mutex::default(),
            runner_tag: crate::metadata::replica_name(),
            wake: Condvar::new(),
            wake_lock: Mutex::new(false),
            stopping: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The folder of a job: `upload`, `records.ndjson`, `errors.ndjson`.
    pub fn folder(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Records a job whose upload is complete in its folder (shared first,
    /// when files are), and wakes the runners. Blocks while the upload is
    /// copied to the object store.
    pub fn accept(&self, new: &NewJob<'_>) -> TableResult<Job> {
        self.files
            .put(&job_key(new.id, UPLOAD), &self.folder(new.id).join(UPLOAD))?;
        if let Err(e) = self.table.insert(new, now()) {
            // Not accepted: its shared upload goes too.
            let _ = self.files.delete_prefix(&job_key(new.id, ""));
            return Err(e);
        }
        self.wake_runners();
        Ok(self.get(new.id)?.expect("just inserted"))
    }

    /// Jobs of an owner that are queued or running.
    pub fn active(&self, owner: &str) -> TableResult<u64> {
        self.table.active(owner)
    }

    /// A job by id.
    pub fn get(&self, id: &str) -> TableResult<Option<Job>> {
        self.table.get(id)
    }

    /// The jobs of an owner (every job for `None`), newest first.
    pub fn list(&self, owner: Option<&str>) -> TableResult<Vec<Job>> {
        self.page(owner, None, u32::MAX)
    }

    /// At most `limit` jobs of an owner (every job for `None`), newest
    /// first, submitted before the job `after` if given.
    pub fn page(
        &self,
        owner: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> TableResult<Vec<Job>> {
        self.table.page(owner, after, limit)
    }

    /// The next job to run, fairly: among the tokens with queued jobs and
    /// fewer than `per_token` running, the one served least recently; its
    /// oldest job (submission order) first. None once stopping.
    pub(crate) fn claim_next(&self, per_token: u64) -> TableResult<Option<Job>> {
        if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(None);
        }
        let Some(id) = self.table.claim_next(per_token, now())? else {
            return Ok(None);
        };
        self.held().insert(id.clone());
        match self.get(&id) {
            Ok(Some(job)) => Ok(Some(job)),
            // Not run here: its lease lapses and the job is queued again.
            other => {
                self.held().remove(&id);
                other
            }
        }
    }

    /// The jobs this process's runners hold, whose leases it renews.
    fn held(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.held.lock().expect("not poisoned")
    }

    pub(crate) fn progress(
        &self,
        id: &str,
        rows_in: u64,
        converted: u64,
        rejected: u64,
    ) -> TableResult<()> {
        self.table.progress(id, rows_in, converted, rejected)
    }

    pub(crate) fn finish(
        &self,
        id: &str,
        state: JobState,
        error: Option<(String, String)>,
    ) -> TableResult<()> {
        // Tried a few times: a job whose end is not recorded stays running
        // until its lease lapses and it runs again elsewhere.
        let mut tries = 0;
        let finished = loop {
            tries += 1;
            match self.table.finish(id, state, error.clone(), now()) {
                Err(TableError::Unreachable(_) | TableError::Postgres(_)) if tries < 5 => {
                    std::thread::sleep(Duration::from_secs(tries));
                }
                other => break other,
            }
        };
        self.held().remove(id);
        finished
    }

    /// At a graceful shutdown: no more jobs are claimed, jobs still running
    /// go back to the queue, and this start does not count as an attempt
    /// (it did not crash).
    pub fn release_running(&self) -> TableResult<()> {
        // No runner claims a job after this: none is counted as crashed.
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.table.requeue_running()
    }

    /// Deletes a finished job: its record, then its folder. A queued or
    /// running job is not deleted (`Ok(false)`).
    pub fn delete(&self, id: &str) -> TableResult<bool> {
        let finished = self.table.get(id)?.is_some_and(|job| {
            matches!(
                job.state,
                JobState::Done | JobState::Failed | JobState::Cancelled
            )
        });
        if !finished {
            return Ok(false);
        }
        // The shared files before the row: no upload outlives its job
        // unseen. Other replicas' working copies go at their next sweep.
        self.files.delete_prefix(&job_key(id, ""))?;
        let deleted = self.table.delete_finished(id)?;
        if deleted {
            self.cancelled.lock().expect("not poisoned").remove(id);
            match std::fs::remove_dir_all(self.folder(id)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    tracing::warn!(job = %id, error = %e, "cannot remove a deleted job's folder");
                }
                _ => {}
            }
        }
        Ok(deleted)
    }

    /// Deletes the finished jobs that ended more than `retention` ago;
    /// returns how many. One that cannot be deleted now is logged and
    /// tried again at the next sweep.
    pub fn expire(&self, retention: Duration) -> TableResult<usize> {
        let expired = self
            .table
            .finished_before(now().saturating_sub(retention.as_secs()))?;
        let mut deleted = 0;
        for id in &expired {
            match self.delete(id) {
                Ok(true) => deleted += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(job = %id, error = %e, "cannot delete an expired job; tried again at the next sweep")
                }
            }
        }
        Ok(deleted)
    }

    /// Removes what interrupted uploads left: job folders without a job.
    /// When replicas share the table, a folder younger than an hour may be
    /// another replica's upload in progress, and stays.
    pub fn remove_orphans(&self) -> TableResult<usize> {
        let known = self.table.ids()?;
        let young = |entry: &std::fs::DirEntry| {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().unwrap_or_default() < Duration::from_secs(3600))
        };
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let shared = self.is_shared() || self.files.is_shared();
            if known.contains(&name) || (shared && young(&entry)) {
                continue;
            }
            if std::fs::remove_dir_all(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Renews this process's leases on its running jobs, stops those
    /// whose cancellation another replica received, and queues again the
    /// jobs of replicas whose leases lapsed (waking the runners if there
    /// are). Nothing to do for a table of one process.
    pub fn keep_leases(&self) -> TableResult<()> {
        let held: Vec<String> = self.held().iter().cloned().collect();
        let cancelled = self.table.renew_leases(now(), &held)?;
        if !cancelled.is_empty() {
            self.cancelled
                .lock()
                .expect("not poisoned")
                .extend(cancelled);
        }
        let crashed = crashed_message();
        let reclaimed = self
            .table
            .reclaim_lapsed(MAX_ATTEMPTS, (JOB_CRASHED, &crashed), now())?;
        if reclaimed > 0 {
            tracing::warn!(
                jobs = reclaimed,
                "jobs whose replica stopped renewing its lease are queued again"
            );
            self.wake_runners();
        }
        Ok(())
    }

    /// Brings the upload of a job another replica accepted into its folder,
    /// for the runner that holds the job; nothing to do if it is there.
    /// Blocks.
    pub(crate) fn fetch_upload(&self, id: &str) -> TableResult<()> {
        let upload = self.folder(id).join(UPLOAD);
        if !upload.is_file() {
            self.files.get(&job_key(id, UPLOAD), &upload)?;
        }
        Ok(())
    }

    /// Brings the job's shared files its folder lacks (the outputs of a
    /// job another replica ran, and its upload if `with_upload`) into it;
    /// one fetch of a job at a time, so that requests at once do not each
    /// copy it. Blocks.
    pub fn fetch(&self, id: &str, with_upload: bool) -> TableResult<()> {
        if !self.files.is_shared() {
            return Ok(());
        }
        let turn = self
            .fetching
            .lock()
            .expect("not poisoned")
            .entry(id.to_string())
            .or_default()
            .clone();
        let fetched = {
            let _one_at_a_time = turn.lock().expect("not poisoned");
            self.fetch_missing(id, with_upload)
        };
        self.fetching.lock().expect("not poisoned").remove(id);
        fetched
    }

    fn fetch_missing(&self, id: &str, with_upload: bool) -> TableResult<()> {
        let folder = self.folder(id);
        for key in self.files.list(&job_key(id, ""))? {
            let Some(name) = key.rsplit('/').next().filter(|n| !n.is_empty()) else {
                continue;
            };
            if (with_upload || name != UPLOAD) && !folder.join(name).is_file() {
                self.files.get(&key, &folder.join(name))?;
            }
        }
        Ok(())
    }

    /// Copies a finished job's outputs (every file of its folder but the
    /// upload and work in progress) to the shared files. Blocks.
    pub(crate) fn share_outputs(&self, id: &str) -> TableResult<()> {
        if !self.files.is_shared() {
            return Ok(());
        }
        let folder = self.folder(id);
        for entry in std::fs::read_dir(&folder).map_err(crate::files::local(&folder))? {
            let entry = entry.map_err(crate::files::local(&folder))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let in_progress = name.starts_with('.') || name.ends_with(".part");
            if name != UPLOAD && !in_progress && entry.path().is_file() {
                self.files.put(&job_key(id, &name), &entry.path())?;
            }
        }
        Ok(())
    }

    /// Names this process's part files apart from other processes'.
    pub(crate) fn runner_tag(&self) -> &str {
        &self.runner_tag
    }

    /// Whether the job's files are shared with other replicas.
    pub fn shares_files(&self) -> bool {
        self.files.is_shared()
    }

    /// Whether other processes share the job table (replicas).
    pub fn is_shared(&self) -> bool {
        self.table.is_shared()
    }

    /// Whether the job table answers.
    pub fn is_healthy(&self) -> bool {
        self.table.is_healthy()
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
    pub fn counts(&self) -> TableResult<(u64, u64)> {
        self.table.counts()
    }

    /// Returns one running job to the queue without counting its start.
    pub fn release(&self, id: &str) -> TableResult<()> {
        self.held().remove(id);
        self.table.release(id)
    }

    /// Cancels a job: a queued one at once, a running one at its next read.
    pub fn cancel(&self, id: &str) -> TableResult<()> {
        self.cancelled
            .lock()
            .expect("not poisoned")
            .insert(id.to_string());
        self.table.cancel_queued(id, now())
    }

    pub(crate) fn is_cancelled(&self, id: &str) -> bool {
        self.cancelled.lock().expect("not poisoned").contains(id)
    }

    fn wake_runners(&self) {
        *self.wake_lock.lock().expect("not poisoned") = true;
        self.wake.notify_all();
    }

    pub(crate) fn wait_for_work(&self, timeout: Duration) {
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

/// The name of a job's upload in its folder.
const UPLOAD: &str = "upload";

/// The shared key of a job's file `name` (of its folder, for `""`).
fn job_key(id: &str, name: &str) -> String {
    format!("jobs/{id}/{name}")
}

/// The message of a job that failed because its runner died each time.
fn crashed_message() -> String {
    format!("the server stopped while running this job, {MAX_ATTEMPTS} times; it is not tried again: check the file and the plugin, or split the file")
}

/// The job table of the shared `database` if there is one (a claim lasting
/// `lease` unless renewed), else the SQLite file of the data directory.
pub(crate) fn open_table(
    data: &conform_engine::DataDir,
    database: Option<std::sync::Arc<crate::metadata::database::Database>>,
    lease: Duration,
) -> anyhow::Result<Box<dyn JobTable>> {
    Ok(match database {
        Some(database) => Box::new(postgres::PostgresJobs::new(database, lease)),
        None => Box::new(sqlite::SqliteJobs::open(&data.jobs_database())?),
    })
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
