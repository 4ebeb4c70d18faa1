//! Bulk jobs, durable: uploads and outputs in the data directory, job state
//! in an SQLite file. A job accepted before a crash runs again from its
//! upload after a restart, and its outputs are written afresh, so they equal
//! those of an uninterrupted run.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

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
    pub(crate) fn claim_next(&self, per_token: u64) -> rusqlite::Result<Option<Job>> {
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

    pub(crate) fn progress(
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

    pub(crate) fn finish(
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

    pub(crate) fn is_cancelled(&self, id: &str) -> bool {
        self.cancelled.lock().expect("not poisoned").contains(id)
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
