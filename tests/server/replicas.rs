//! Replicas sharing one PostgreSQL job table: the table's contract held by
//! both engines (SQLite, the default, and PostgreSQL), claims that never
//! collide, leases that lapse when a replica dies, cancellation that reaches
//! the replica running the job; and real `conform serve` replicas sharing
//! the queue, one killed mid-job. The cluster is Debian's PostgreSQL,
//! started by `support::postgres`.

use std::collections::HashSet;
use std::sync::Arc;

use conform_server::config::StorageConfig;
use conform_server::jobs::{JobState, JobTable, NewJob, TableError};
use conform_server::metadata::Metadata;
use conform_server::owners::{Kind, Owners};
use serde_json::Value;

use crate::support::postgres;
use crate::support::server::*;

const CRASHED: (&str, &str) = ("job-crashed", "the replica died");

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A job table of `storage` over a fresh data directory (kept alive by the
/// returned folder).
fn table(storage: &StorageConfig) -> (Box<dyn JobTable>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let data = conform_engine::DataDir::new(dir.path());
    (Metadata::open(&data, storage).unwrap().jobs, dir)
}

fn postgres_storage(url: &str) -> StorageConfig {
    StorageConfig {
        database_url: url.to_string(),
        ..StorageConfig::default()
    }
}

fn insert(table: &dyn JobTable, id: &str, owner: &str, at: u64) {
    table
        .insert(
            &NewJob {
                id,
                owner,
                plugin: "swift-express",
                plugin_version: "1.0.0",
                pack_version: "1.0.0",
                file: "waybills.ndjson",
            },
            at,
        )
        .unwrap();
}

/// What every engine must do the same way.
fn holds_the_contract(table: &dyn JobTable) {
    let t = now();
    for (id, owner) in [
        ("a1", "acme"),
        ("a2", "acme"),
        ("a3", "acme"),
        ("b1", "bolt"),
    ] {
        insert(table, id, owner, t);
    }
    assert_eq!(table.counts().unwrap(), (4, 0));
    assert_eq!(table.active("acme").unwrap(), 3);
    // Newest first, paged after a job.
    let page: Vec<String> = table
        .page(None, None, 10)
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(page, ["b1", "a3", "a2", "a1"]);
    let after: Vec<String> = table
        .page(Some("acme"), Some("a3"), 1)
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(after, ["a2"]);

    // Fair: acme's oldest, then bolt (served less recently), then acme again.
    let order: Vec<String> = (0..3)
        .map(|_| table.claim_next(8, t).unwrap().unwrap())
        .collect();
    assert_eq!(order, ["a1", "b1", "a2"]);
    // At most `per_token` running per token: acme has two.
    assert_eq!(table.claim_next(2, t).unwrap(), None);
    assert_eq!(table.counts().unwrap(), (1, 3));

    table.progress("a1", 10, 9, 1).unwrap();
    table.finish("a1", JobState::Done, None, t + 5).unwrap();
    let a1 = table.get("a1").unwrap().unwrap();
    assert_eq!(
        (a1.state, a1.rows_in, a1.converted, a1.rejected),
        (JobState::Done, 10, 9, 1)
    );
    assert_eq!((a1.started_at, a1.finished_at), (Some(t), Some(t + 5)));

    table.release("a2").unwrap();
    assert_eq!(table.get("a2").unwrap().unwrap().state, JobState::Queued);
    table.cancel_queued("a3", t + 6).unwrap();
    let a3 = table.get("a3").unwrap().unwrap();
    assert_eq!(
        (a3.state, a3.finished_at, a3.error_code.as_deref()),
        (JobState::Cancelled, Some(t + 6), Some("cancelled"))
    );

    assert_eq!(table.finished_before(t + 6).unwrap(), ["a1"]);
    assert!(
        !table.delete_finished("b1").unwrap(),
        "a running job is not deleted"
    );
    assert!(table.delete_finished("a1").unwrap());
    assert!(table.get("a1").unwrap().is_none());
    let ids: HashSet<String> = table.ids().unwrap();
    assert_eq!(ids, ["a2", "a3", "b1"].map(String::from).into());

    // A graceful stop puts running jobs back, the start not counted.
    table.requeue_running().unwrap();
    assert_eq!(table.counts().unwrap(), (2, 0));
    assert!(table.is_healthy());
}

#[test]
fn both_job_tables_keep_the_same_contract() {
    let (sqlite, _dir) = table(&StorageConfig::default());
    holds_the_contract(sqlite.as_ref());
    let (postgres, _dir) = table(&postgres_storage(&postgres::database()));
    holds_the_contract(postgres.as_ref());
}

#[test]
fn replicas_never_claim_the_same_job() {
    let url = postgres::database();
    let replicas: Vec<Arc<Box<dyn JobTable>>> = (0..3)
        .map(|_| Arc::new(table(&postgres_storage(&url)).0))
        .collect();
    let t = now();
    for i in 0..300 {
        insert(
            replicas[0].as_ref().as_ref(),
            &format!("job{i:03}"),
            &format!("owner{}", i % 7),
            t,
        );
    }
    let runners: Vec<_> = (0..9)
        .map(|n| {
            let replica = replicas[n % 3].clone();
            std::thread::spawn(move || {
                let mut claimed = Vec::new();
                while let Some(id) = replica.claim_next(1000, t).unwrap() {
                    claimed.push(id);
                }
                claimed
            })
        })
        .collect();
    let mut all = Vec::new();
    for runner in runners {
        all.extend(runner.join().unwrap());
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 300, "every job claimed once");
    assert_eq!(distinct.len(), 300, "no job claimed twice");
}

#[test]
fn a_job_whose_lease_lapsed_is_taken_over_and_fails_after_its_attempts() {
    let url = postgres::database();
    let (first, _a) = table(&postgres_storage(&url));
    let (second, _b) = table(&postgres_storage(&url));
    let t = now();
    insert(first.as_ref(), "j1", "acme", t);
    assert_eq!(first.claim_next(4, t).unwrap().as_deref(), Some("j1"));
    // Renewed leases hold: nothing lapsed yet.
    assert!(first.renew_leases(t).unwrap().is_empty());
    assert_eq!(second.reclaim_lapsed(2, CRASHED, t + 1).unwrap(), 0);
    // The first replica stops renewing; after its lease (30 s) the job is queued again.
    assert_eq!(second.reclaim_lapsed(2, CRASHED, t + 31).unwrap(), 1);
    assert_eq!(second.get("j1").unwrap().unwrap().state, JobState::Queued);
    assert_eq!(second.claim_next(4, t + 31).unwrap().as_deref(), Some("j1"));
    // The first replica, back, cannot record an end: the job is not its own.
    let late = first.finish("j1", JobState::Done, None, t + 32);
    assert!(matches!(late, Err(TableError::LeaseLost)), "{late:?}");
    // Its second runner dies too: the job has been tried twice and fails.
    assert_eq!(first.reclaim_lapsed(2, CRASHED, t + 100).unwrap(), 1);
    let job = first.get("j1").unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.error_code.as_deref(), Some("job-crashed"));
}

#[test]
fn a_cancellation_received_by_one_replica_reaches_the_one_running_the_job() {
    let url = postgres::database();
    let (running, _a) = table(&postgres_storage(&url));
    let (receiving, _b) = table(&postgres_storage(&url));
    let t = now();
    insert(running.as_ref(), "j1", "acme", t);
    running.claim_next(4, t).unwrap();
    receiving.cancel_queued("j1", t).unwrap();
    assert_eq!(running.renew_leases(t).unwrap(), ["j1"]);
    assert!(receiving.renew_leases(t).unwrap().is_empty(), "not its job");
}

/// Owners of names on either engine: the first claim wins, a transfer
/// moves a name, the operator gets what is seeded.
fn owners_hold_the_contract(owners: &Owners) {
    owners.seed(Kind::Plugin, ["jinggong-parts"]).unwrap();
    assert!(owners
        .claim(Kind::Plugin, "acme", "provider-a")
        .unwrap()
        .is_ok());
    let taken = owners
        .claim(Kind::Plugin, "acme", "provider-b")
        .unwrap()
        .unwrap_err();
    assert_eq!(taken.owner, "provider-a");
    assert!(owners
        .check(Kind::Plugin, "jinggong-parts", "provider-a")
        .unwrap()
        .is_err());
    assert!(
        owners
            .claim(Kind::Pack, "acme", "publisher-c")
            .unwrap()
            .is_ok(),
        "a pack id is apart"
    );
    owners.transfer(Kind::Plugin, "acme", "provider-b").unwrap();
    assert_eq!(
        owners.owner_of(Kind::Plugin, "acme").unwrap().as_deref(),
        Some("provider-b")
    );
}

#[test]
fn both_owner_tables_keep_the_same_contract_and_replicas_agree_on_a_claim() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Metadata::open(
        &conform_engine::DataDir::new(dir.path()),
        &StorageConfig::default(),
    )
    .unwrap();
    owners_hold_the_contract(&sqlite.owners);

    let url = postgres::database();
    let replicas: Vec<Arc<Metadata>> = (0..2)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            Arc::new(
                Metadata::open(
                    &conform_engine::DataDir::new(dir.path()),
                    &postgres_storage(&url),
                )
                .unwrap(),
            )
        })
        .collect();
    owners_hold_the_contract(&replicas[0].owners);
    // What one replica claimed, the other sees.
    assert_eq!(
        replicas[1]
            .owners
            .owner_of(Kind::Plugin, "acme")
            .unwrap()
            .as_deref(),
        Some("provider-b")
    );
    // Eight providers claim one new name at once through two replicas: one wins, all agree.
    let claims: Vec<_> = (0..8)
        .map(|n| {
            let replica = replicas[n % 2].clone();
            std::thread::spawn(move || {
                replica
                    .owners
                    .claim(Kind::Plugin, "contested", &format!("provider-{n}"))
                    .unwrap()
            })
        })
        .collect();
    let won = claims
        .into_iter()
        .map(|c| c.join().unwrap())
        .filter(Result::is_ok)
        .count();
    assert_eq!(won, 1, "exactly one claim wins");
}

#[test]
fn a_database_that_does_not_answer_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let data = conform_engine::DataDir::new(dir.path());
    let storage = postgres_storage(&format!("postgres://conform@127.0.0.1:{port}/conform"));
    let error = Metadata::open(&data, &storage).err().unwrap().to_string();
    assert!(error.contains("CONFORM_STORAGE_DATABASE_URL"), "{error}");
}

/// Three `conform serve` replicas on one PostgreSQL and one data folder:
/// a job submitted to any is run by one of them; one killed mid-job, the
/// job is taken over when its lease lapses and ends with the records of an
/// uninterrupted run.
#[test]
fn replicas_share_the_queue_and_finish_the_job_of_a_killed_one() {
    let url = postgres::database();
    let env = [
        ("CONFORM_STORAGE_DATABASE_URL", url.as_str()),
        ("CONFORM_STORAGE_LEASE_SECONDS", "3"),
    ];
    let first = start_with_env(tempfile::tempdir().unwrap(), Some(test_tokens()), &env);
    let others: Vec<Server> = (0..2).map(|_| start_replica(&first, &env)).collect();

    // Small jobs submitted round the replicas are all done, each seen by every replica.
    let body = waybills(50);
    let ids: Vec<String> = (0..6)
        .map(|i| {
            let server = [&first, &others[0], &others[1]][i % 3];
            job_id(&submit_job(
                server,
                UPLOADER,
                "plugin=swift-express&name=w.ndjson",
                body.as_bytes(),
            ))
        })
        .collect();
    for id in &ids {
        for server in [&first, &others[0], &others[1]] {
            let job = wait_for(server, id, UPLOADER, |j| j["state"] == "done");
            assert_eq!(job["rows_in"].as_u64(), Some(50), "{job}");
        }
    }

    // A large job; whichever replica runs it is killed mid-job.
    let big = waybills(150_000);
    let id = job_id(&submit_job(
        &others[0],
        UPLOADER,
        "plugin=swift-express&name=big.ndjson",
        big.as_bytes(),
    ));
    wait_for(&first, &id, UPLOADER, |j| {
        j["state"] == "running" && j["rows_in"].as_u64() > Some(0)
    });
    let runner = [&first, &others[0], &others[1]]
        .into_iter()
        .position(|s| {
            s.log_lines()
                .iter()
                .any(|l| l.contains(&id) && l.contains("job started"))
        })
        .expect("a replica logs the start of the job");
    let mut servers = vec![first];
    servers.extend(others);
    servers[runner].kill();
    let survivor = &servers[(runner + 1) % 3];
    let job = wait_for(survivor, &id, UPLOADER, |j| j["state"] == "done");
    assert_eq!(job["rows_in"].as_u64(), Some(150_000), "{job}");
    let noticed = servers.iter().enumerate().any(|(n, s)| {
        n != runner
            && s.log_lines()
                .iter()
                .any(|l| l.contains("stopped renewing its lease"))
    });
    assert!(
        noticed,
        "a surviving replica took the job over after the lease lapsed"
    );
    let (_, records) = get(survivor, &format!("/v1/jobs/{id}/records"), UPLOADER);

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.ndjson");
    std::fs::write(&input, &big).unwrap();
    let expected = cli_records("swift-express", &input);
    assert!(
        records == expected,
        "the records of the job taken over differ from an uninterrupted run"
    );
    let ended: Value =
        serde_json::from_str(&get(survivor, &format!("/v1/jobs/{id}"), UPLOADER).1).unwrap();
    assert_eq!(ended["state"], "done");
    assert_eq!(ended["error_code"], Value::Null);
}
