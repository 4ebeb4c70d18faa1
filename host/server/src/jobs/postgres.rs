//! Job records in PostgreSQL, shared by every replica that names the same
//! database (`[storage] database_url`). A replica claims the next job with
//! `FOR UPDATE SKIP LOCKED`, so two replicas never take the same one, and
//! holds it under a lease that its keeper renews; a job whose lease lapsed
//! (its replica died) is queued again, or failed once it has been tried
//! `MAX_ATTEMPTS` times, by whichever replica notices first.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use postgres::Client;

use super::table::{JobTable, TableError, TableResult};
use super::{Job, JobState, NewJob};
use crate::metadata::database::Database;

/// A running job put back: queued again from its start, or cancelled if
/// its owner asked while it ran (the replica running it never saw it).
const REQUEUE: &str = "state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END,
    error = CASE WHEN cancel_requested THEN 'cancelled by its owner' END,
    error_code = CASE WHEN cancel_requested THEN 'cancelled' END,
    finished_at = CASE WHEN cancel_requested THEN EXTRACT(EPOCH FROM now())::BIGINT END,
    rows_in = 0, converted = 0, rejected = 0, lease_owner = NULL, lease_until = NULL";

/// The columns [`PostgresJobs::job`] reads, in its order.
const COLUMNS: &str = "id, owner, plugin, file, state, created_at, rows_in, converted, rejected, error, plugin_version, pack_version, error_code, started_at, finished_at";

/// The jobs table (`conform_jobs`) in the shared database.
pub(super) struct PostgresJobs {
    database: Arc<Database>,
    lease: Duration,
}

impl PostgresJobs {
    /// The table in `database`; a claim lasts `lease` unless renewed.
    pub(super) fn new(database: Arc<Database>, lease: Duration) -> PostgresJobs {
        PostgresJobs { database, lease }
    }

    fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send + 'static,
    ) -> TableResult<T> {
        self.database.run(query)
    }

    /// This replica's name in leases.
    fn replica(&self) -> String {
        self.database.replica().to_string()
    }

    /// Seconds from this process's clock's now to `at`: leases are kept on
    /// the database's clock (replicas' clocks may differ), and `at` only
    /// says how far ahead of now to look.
    fn ahead(at: u64) -> i64 {
        at as i64 - now() as i64
    }

    fn lease_seconds(&self) -> i64 {
        self.lease.as_secs() as i64
    }

    fn job(row: &postgres::Row) -> Job {
        Job {
            id: row.get(0),
            owner: row.get(1),
            plugin: row.get(2),
            file: row.get(3),
            state: JobState::parse(row.get(4)),
            created_at: row.get::<_, i64>(5) as u64,
            rows_in: row.get::<_, i64>(6) as u64,
            converted: row.get::<_, i64>(7) as u64,
            rejected: row.get::<_, i64>(8) as u64,
            error: row.get(9),
            plugin_version: row.get(10),
            pack_version: row.get(11),
            error_code: row.get(12),
            started_at: row.get::<_, Option<i64>>(13).map(|t| t as u64),
            finished_at: row.get::<_, Option<i64>>(14).map(|t| t as u64),
        }
    }
}

fn now() -> u64 {
    super::now()
}

impl JobTable for PostgresJobs {
    fn insert(&self, new: &NewJob<'_>, at: u64) -> TableResult<()> {
        let values = [
            new.id,
            new.owner,
            new.plugin,
            new.file,
            new.plugin_version,
            new.pack_version,
        ]
        .map(str::to_string);
        self.run(move |c| {
            let [id, owner, plugin, file, plugin_version, pack_version] = &values;
            c.execute(
                "INSERT INTO conform_jobs (id, owner, plugin, file, state, created_at, plugin_version, pack_version)
                 VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7)",
                &[id, owner, plugin, file, &(at as i64), plugin_version, pack_version],
            )
            .map(drop)
        })
    }

    fn get(&self, id: &str) -> TableResult<Option<Job>> {
        let id = id.to_string();
        self.run(move |c| {
            c.query_opt(
                &format!("SELECT {COLUMNS} FROM conform_jobs WHERE id = $1"),
                &[&id],
            )
            .map(|row| row.as_ref().map(Self::job))
        })
    }

    fn page(&self, owner: Option<&str>, after: Option<&str>, limit: u32) -> TableResult<Vec<Job>> {
        let (owner, after) = (owner.map(str::to_string), after.map(str::to_string));
        self.run(move |c| {
            let rows = c.query(
                &format!(
                    "SELECT {COLUMNS} FROM conform_jobs
                     WHERE ($1::TEXT IS NULL OR owner = $1)
                       AND ($2::TEXT IS NULL OR seq < (SELECT seq FROM conform_jobs WHERE id = $2))
                     ORDER BY seq DESC LIMIT $3"
                ),
                &[&owner, &after, &i64::from(limit)],
            )?;
            Ok(rows.iter().map(Self::job).collect())
        })
    }

    fn active(&self, owner: &str) -> TableResult<u64> {
        let owner = owner.to_string();
        self.run(move |c| {
            c.query_one(
                "SELECT COUNT(*) FROM conform_jobs WHERE owner = $1 AND state IN ('queued', 'running')",
                &[&owner],
            )
            .map(|row| row.get::<_, i64>(0) as u64)
        })
    }

    fn claim_next(&self, per_token: u64, at: u64) -> TableResult<Option<String>> {
        let (replica, lease) = (self.replica(), self.lease_seconds() + Self::ahead(at));
        self.run(move |c| {
            let mut tx = c.transaction()?;
            // The token served least recently (by any replica) first, its
            // oldest job first; a job another replica is claiming is skipped.
            // A token's running jobs are counted on this replica: each
            // replica keeps slots free for other tokens, as one server does.
            let claimed = tx.query_opt(
                "WITH running AS (
                     SELECT owner, COUNT(*) AS n FROM conform_jobs
                     WHERE state = 'running' AND lease_owner = $3 GROUP BY owner
                 ), pick AS (
                     SELECT j.id FROM conform_jobs j
                     LEFT JOIN conform_job_turns t ON t.owner = j.owner
                     LEFT JOIN running r ON r.owner = j.owner
                     WHERE j.state = 'queued' AND COALESCE(r.n, 0) < $1
                     ORDER BY COALESCE(t.turn, 0), j.seq
                     LIMIT 1
                     FOR UPDATE OF j SKIP LOCKED
                 )
                 UPDATE conform_jobs SET state = 'running', attempts = attempts + 1, started_at = $2,
                        lease_owner = $3, lease_until = EXTRACT(EPOCH FROM now())::BIGINT + $4
                 FROM pick WHERE conform_jobs.id = pick.id
                 RETURNING conform_jobs.id, conform_jobs.owner",
                &[&(per_token.min(i64::MAX as u64) as i64), &(at as i64), &replica, &lease],
            )?;
            let Some(row) = claimed else {
                tx.commit()?;
                return Ok(None);
            };
            let (id, owner): (String, String) = (row.get(0), row.get(1));
            tx.execute(
                "INSERT INTO conform_job_turns (owner, turn) VALUES ($1, nextval('conform_job_turn_seq'))
                 ON CONFLICT (owner) DO UPDATE SET turn = EXCLUDED.turn",
                &[&owner],
            )?;
            tx.commit()?;
            Ok(Some(id))
        })
    }

    fn progress(&self, id: &str, rows_in: u64, converted: u64, rejected: u64) -> TableResult<()> {
        let (id, replica, lease) = (id.to_string(), self.replica(), self.lease_seconds());
        self.run(move |c| {
            c.execute(
                "UPDATE conform_jobs SET rows_in = $2, converted = $3, rejected = $4,
                        lease_until = EXTRACT(EPOCH FROM now())::BIGINT + $6
                 WHERE id = $1 AND state = 'running' AND lease_owner = $5",
                &[
                    &id,
                    &(rows_in as i64),
                    &(converted as i64),
                    &(rejected as i64),
                    &replica,
                    &lease,
                ],
            )
            .map(drop)
        })
    }

    fn finish(
        &self,
        id: &str,
        state: JobState,
        error: Option<(String, String)>,
        at: u64,
    ) -> TableResult<()> {
        let (id, replica) = (id.to_string(), self.replica());
        let (code, message) = error.unzip();
        let finished =
            self.run(move |c| {
                c.execute(
                "UPDATE conform_jobs SET state = $2, error = $3, error_code = $4, finished_at = $5,
                        lease_owner = NULL, lease_until = NULL
                 WHERE id = $1 AND state = 'running' AND lease_owner = $6",
                &[&id, &state.as_str(), &message, &code, &(at as i64), &replica],
            )
            })?;
        if finished == 0 {
            return Err(TableError::LeaseLost);
        }
        Ok(())
    }

    fn recover(&self, max_attempts: i64, crashed: (&str, &str)) -> TableResult<()> {
        self.reclaim_lapsed(max_attempts, crashed, now()).map(drop)
    }

    fn reclaim_lapsed(
        &self,
        max_attempts: i64,
        crashed: (&str, &str),
        at: u64,
    ) -> TableResult<u64> {
        let (code, message) = (crashed.0.to_string(), crashed.1.to_string());
        // Lapsed by a whole lease more: a replica back from a database
        // outage renews its own leases before another takes its jobs.
        let horizon = Self::ahead(at) - self.lease_seconds();
        self.run(move |c| {
            let mut tx = c.transaction()?;
            let lapsed = "state = 'running' AND (lease_until IS NULL OR lease_until < EXTRACT(EPOCH FROM now())::BIGINT + $1)";
            let failed = tx.execute(
                &format!(
                    "UPDATE conform_jobs SET state = 'failed', error_code = $2, error = $3,
                            finished_at = EXTRACT(EPOCH FROM now())::BIGINT,
                            lease_owner = NULL, lease_until = NULL
                     WHERE {lapsed} AND attempts >= $4 AND NOT cancel_requested"
                ),
                &[&horizon, &code, &message, &(max_attempts as i32)],
            )?;
            let requeued = tx.execute(
                &format!("UPDATE conform_jobs SET {REQUEUE} WHERE {lapsed}"),
                &[&horizon],
            )?;
            tx.commit()?;
            Ok(failed + requeued)
        })
    }

    fn renew_leases(&self, _at: u64, running: &[String]) -> TableResult<Vec<String>> {
        let (replica, lease, running) = (self.replica(), self.lease_seconds(), running.to_vec());
        self.run(move |c| {
            let rows = c.query(
                "UPDATE conform_jobs SET lease_until = EXTRACT(EPOCH FROM now())::BIGINT + $2
                 WHERE state = 'running' AND lease_owner = $1 AND id = ANY($3)
                 RETURNING id, cancel_requested",
                &[&replica, &lease, &running],
            )?;
            Ok(rows
                .iter()
                .filter(|row| row.get::<_, bool>(1))
                .map(|row| row.get(0))
                .collect())
        })
    }

    fn requeue_running(&self) -> TableResult<()> {
        let replica = self.replica();
        self.run(move |c| {
            c.execute(
                &format!(
                    "UPDATE conform_jobs SET {REQUEUE}, attempts = GREATEST(attempts - 1, 0)
                     WHERE state = 'running' AND lease_owner = $1"
                ),
                &[&replica],
            )
            .map(drop)
        })
    }

    fn release(&self, id: &str) -> TableResult<()> {
        let (id, replica) = (id.to_string(), self.replica());
        self.run(move |c| {
            c.execute(
                &format!(
                    "UPDATE conform_jobs SET {REQUEUE}, attempts = GREATEST(attempts - 1, 0), started_at = NULL
                     WHERE id = $1 AND state = 'running' AND lease_owner = $2"
                ),
                &[&id, &replica],
            )
            .map(drop)
        })
    }

    fn cancel_queued(&self, id: &str, at: u64) -> TableResult<()> {
        let id = id.to_string();
        self.run(move |c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "UPDATE conform_jobs SET state = 'cancelled', error = 'cancelled by its owner',
                        error_code = 'cancelled', finished_at = $2
                 WHERE id = $1 AND state = 'queued'",
                &[&id, &(at as i64)],
            )?;
            // A job running on any replica is stopped by that replica's
            // keeper, which reads this at its next renewal.
            tx.execute(
                "UPDATE conform_jobs SET cancel_requested = TRUE WHERE id = $1 AND state = 'running'",
                &[&id],
            )?;
            tx.commit()
        })
    }

    fn delete_finished(&self, id: &str) -> TableResult<bool> {
        let id = id.to_string();
        self.run(move |c| {
            c.execute(
                "DELETE FROM conform_jobs WHERE id = $1 AND state IN ('done', 'failed', 'cancelled')",
                &[&id],
            )
            .map(|n| n > 0)
        })
    }

    fn finished_before(&self, cutoff: u64) -> TableResult<Vec<String>> {
        self.run(move |c| {
            let rows = c.query(
                "SELECT id FROM conform_jobs WHERE state IN ('done', 'failed', 'cancelled')
                   AND COALESCE(finished_at, created_at) < $1",
                &[&(cutoff as i64)],
            )?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    fn ids(&self) -> TableResult<HashSet<String>> {
        self.run(|c| {
            let rows = c.query("SELECT id FROM conform_jobs", &[])?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    fn is_healthy(&self) -> bool {
        self.run(|c| c.simple_query("SELECT 1").map(drop)).is_ok()
    }

    fn counts(&self) -> TableResult<(u64, u64)> {
        self.run(|c| {
            let row = c.query_one(
                "SELECT COUNT(*) FILTER (WHERE state = 'queued'), COUNT(*) FILTER (WHERE state = 'running') FROM conform_jobs",
                &[],
            )?;
            Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
        })
    }

    fn is_shared(&self) -> bool {
        true
    }
}
