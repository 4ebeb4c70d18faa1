//! Job records in the server's own SQLite file (`jobs.sqlite`), for one
//! process: the default, embedded, needing nothing else.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use super::table::{JobTable, TableResult};
use super::{Job, JobState, NewJob};

/// When each token last had a job started, for round-robin scheduling.
#[derive(Debug, Default)]
struct Turns {
    tick: u64,
    turns: HashMap<String, u64>,
}

/// The jobs table in an SQLite file.
pub(super) struct SqliteJobs {
    db: Mutex<Connection>,
    served: Mutex<Turns>,
}

/// The columns [`SqliteJobs::row`] reads, in its order.
const COLUMNS: &str = "id, owner, plugin, file, state, created_at, rows_in, converted, rejected, error, plugin_version, pack_version, error_code, started_at, finished_at";

impl SqliteJobs {
    /// Opens (or creates) the table in the file `path`.
    pub(super) fn open(path: &Path) -> rusqlite::Result<SqliteJobs> {
        let db = Connection::open(path)?;
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
        Ok(SqliteJobs {
            db: Mutex::new(db),
            served: Mutex::default(),
        })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().expect("not poisoned")
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
}

impl JobTable for SqliteJobs {
    fn insert(&self, new: &NewJob<'_>, at: u64) -> TableResult<()> {
        self.db().execute(
            "INSERT INTO jobs (id, owner, plugin, file, state, created_at, plugin_version, pack_version) VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7)",
            params![new.id, new.owner, new.plugin, new.file, at as i64, new.plugin_version, new.pack_version],
        )?;
        Ok(())
    }

    fn get(&self, id: &str) -> TableResult<Option<Job>> {
        Ok(self
            .db()
            .query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                [id],
                Self::row,
            )
            .optional()?)
    }

    fn page(&self, owner: Option<&str>, after: Option<&str>, limit: u32) -> TableResult<Vec<Job>> {
        let db = self.db();
        let sql = format!(
            "SELECT {COLUMNS} FROM jobs WHERE (?1 IS NULL OR owner = ?1)
               AND (?2 IS NULL OR rowid < (SELECT rowid FROM jobs WHERE id = ?2))
             ORDER BY rowid DESC LIMIT ?3"
        );
        let mut statement = db.prepare(&sql)?;
        let jobs = statement
            .query_map(params![owner, after, i64::from(limit)], Self::row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(jobs)
    }

    fn active(&self, owner: &str) -> TableResult<u64> {
        Ok(self.db().query_row(
            "SELECT COUNT(*) FROM jobs WHERE owner = ?1 AND state IN ('queued', 'running')",
            [owner],
            |r| r.get::<_, i64>(0).map(|n| n as u64),
        )?)
    }

    fn claim_next(&self, per_token: u64, at: u64) -> TableResult<Option<String>> {
        let db = self.db();
        let oldest: Vec<(String, i64)> = db
            .prepare("SELECT owner, MIN(rowid) FROM jobs WHERE state = 'queued' GROUP BY owner")?
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
        let Some((owner, seq)) = pick else {
            return Ok(None);
        };
        let id: String =
            db.query_row("SELECT id FROM jobs WHERE rowid = ?1", [seq], |r| r.get(0))?;
        db.execute(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?2 WHERE id = ?1",
            params![id, at as i64],
        )?;
        served.tick += 1;
        let tick = served.tick;
        served.turns.insert(owner, tick);
        Ok(Some(id))
    }

    fn progress(&self, id: &str, rows_in: u64, converted: u64, rejected: u64) -> TableResult<()> {
        self.db().execute(
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
        at: u64,
    ) -> TableResult<()> {
        let (code, message) = error.unzip();
        self.db().execute(
            "UPDATE jobs SET state = ?2, error = ?3, error_code = ?4, finished_at = ?5 WHERE id = ?1",
            params![id, state.as_str(), message, code, at as i64],
        )?;
        Ok(())
    }

    fn recover(&self, max_attempts: i64, crashed: (&str, &str)) -> TableResult<()> {
        let db = self.db();
        // A job still `running` was running when the process died.
        db.execute(
            "UPDATE jobs SET state = 'failed', error_code = ?1, error = ?2
             WHERE state = 'running' AND attempts >= ?3",
            params![crashed.0, crashed.1, max_attempts],
        )?;
        db.execute(
            "UPDATE jobs SET state = 'queued', rows_in = 0, converted = 0, rejected = 0 WHERE state = 'running'",
            [],
        )?;
        Ok(())
    }

    fn requeue_running(&self) -> TableResult<()> {
        self.db().execute(
            "UPDATE jobs SET state = 'queued', rows_in = 0, converted = 0, rejected = 0,
                 attempts = MAX(attempts - 1, 0)
             WHERE state = 'running'",
            [],
        )?;
        Ok(())
    }

    fn release(&self, id: &str) -> TableResult<()> {
        self.db().execute(
            "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), started_at = NULL
             WHERE id = ?1 AND state = 'running'",
            [id],
        )?;
        Ok(())
    }

    fn cancel_queued(&self, id: &str, at: u64) -> TableResult<()> {
        self.db().execute(
            "UPDATE jobs SET state = 'cancelled', error = 'cancelled by its owner', error_code = 'cancelled', finished_at = ?2 WHERE id = ?1 AND state = 'queued'",
            params![id, at as i64],
        )?;
        Ok(())
    }

    fn delete_finished(&self, id: &str) -> TableResult<bool> {
        let deleted = self.db().execute(
            "DELETE FROM jobs WHERE id = ?1 AND state IN ('done', 'failed', 'cancelled')",
            [id],
        )?;
        Ok(deleted > 0)
    }

    fn finished_before(&self, cutoff: u64) -> TableResult<Vec<String>> {
        let db = self.db();
        let mut statement = db.prepare(
            "SELECT id FROM jobs WHERE state IN ('done', 'failed', 'cancelled')
               AND COALESCE(finished_at, created_at) < ?1",
        )?;
        let ids = statement
            .query_map([cutoff as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    fn ids(&self) -> TableResult<HashSet<String>> {
        let db = self.db();
        let mut statement = db.prepare("SELECT id FROM jobs")?;
        let ids = statement
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    fn is_healthy(&self) -> bool {
        self.db()
            .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .is_ok()
    }

    fn counts(&self) -> TableResult<(u64, u64)> {
        Ok(self.db().query_row(
            "SELECT COUNT(*) FILTER (WHERE state = 'queued'), COUNT(*) FILTER (WHERE state = 'running') FROM jobs",
            [],
            |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64)),
        )?)
    }
}
