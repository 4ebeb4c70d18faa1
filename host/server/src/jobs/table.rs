//! The seam between the job store and where job records live: one row
//! per job with its state, counts and versions. [`super::sqlite`] keeps
//! them in the server's own SQLite file (the default), [`super::postgres`]
//! in a PostgreSQL database that replicas share.

use std::collections::HashSet;

use super::{Job, JobState, NewJob};

pub use crate::metadata::{TableError, TableResult};

/// Where job records live. Times are seconds since the Unix epoch.
pub trait JobTable: Send + Sync {
    /// Records a new job, queued, accepted at `at`.
    fn insert(&self, new: &NewJob<'_>, at: u64) -> TableResult<()>;
    /// A job by id.
    fn get(&self, id: &str) -> TableResult<Option<Job>>;
    /// At most `limit` jobs of an owner (every job for `None`), newest
    /// first, submitted before the job `after` if given.
    fn page(&self, owner: Option<&str>, after: Option<&str>, limit: u32) -> TableResult<Vec<Job>>;
    /// Jobs of an owner that are queued or running.
    fn active(&self, owner: &str) -> TableResult<u64>;
    /// Marks the next job to run `running` at `at` (counting the
    /// attempt), fairly among the tokens with fewer than `per_token`
    /// running in this process; its id.
    fn claim_next(&self, per_token: u64, at: u64) -> TableResult<Option<String>>;
    /// A running job's counts so far.
    fn progress(&self, id: &str, rows_in: u64, converted: u64, rejected: u64) -> TableResult<()>;
    /// A job's end at `at`: its state, and the code and message of its error.
    fn finish(
        &self,
        id: &str,
        state: JobState,
        error: Option<(String, String)>,
        at: u64,
    ) -> TableResult<()>;
    /// At a start: jobs left running by a crash are queued again, or fail
    /// once they have been tried `max_attempts` times (`crashed`: the
    /// code and message).
    fn recover(&self, max_attempts: i64, crashed: (&str, &str)) -> TableResult<()>;
    /// Jobs running under a lease that lapsed before `at` (their process
    /// died) are queued again, or fail once tried `max_attempts` times; how
    /// many. A table of one process has no leases: its crashed jobs are
    /// recovered at start by [`JobTable::recover`].
    fn reclaim_lapsed(
        &self,
        _max_attempts: i64,
        _crashed: (&str, &str),
        _at: u64,
    ) -> TableResult<u64> {
        Ok(0)
    }
    /// Renews this process's leases on the jobs of `running` (those its
    /// runners hold) from `at`; the ids among them whose cancellation was
    /// asked (of any process).
    fn renew_leases(&self, _at: u64, _running: &[String]) -> TableResult<Vec<String>> {
        Ok(Vec::new())
    }
    /// Whether other processes use the table too (replicas).
    fn is_shared(&self) -> bool {
        false
    }
    /// At a graceful shutdown: this process's running jobs are queued
    /// again, the start not counted.
    fn requeue_running(&self) -> TableResult<()>;
    /// One running job back in the queue, its start not counted.
    fn release(&self, id: &str) -> TableResult<()>;
    /// A queued job cancelled at `at` (a running one is stopped by its runner).
    fn cancel_queued(&self, id: &str, at: u64) -> TableResult<()>;
    /// Deletes a finished job's record; whether there was one.
    fn delete_finished(&self, id: &str) -> TableResult<bool>;
    /// The finished jobs that ended before `cutoff`.
    fn finished_before(&self, cutoff: u64) -> TableResult<Vec<String>>;
    /// Every job's id.
    fn ids(&self) -> TableResult<HashSet<String>>;
    /// Whether the table answers.
    fn is_healthy(&self) -> bool;
    /// How many jobs are queued and how many running.
    fn counts(&self) -> TableResult<(u64, u64)>;
}
