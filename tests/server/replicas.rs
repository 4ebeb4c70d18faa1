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

use crate::support::server::*;
use crate::support::{objects, postgres};

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
    assert!(first.renew_leases(t, &["j1".into()]).unwrap().is_empty());
    assert_eq!(second.reclaim_lapsed(2, CRASHED, t + 1).unwrap(), 0);
    // Lapsed, but not by a whole lease more (30 s): a replica back from a
    // database outage gets its turn to renew.
    assert_eq!(second.reclaim_lapsed(2, CRASHED, t + 45).unwrap(), 0);
    // The first replica has stopped renewing: the job is queued again (a
    // few seconds past the boundary: the clocks count whole seconds).
    assert_eq!(second.reclaim_lapsed(2, CRASHED, t + 65).unwrap(), 1);
    assert_eq!(second.get("j1").unwrap().unwrap().state, JobState::Queued);
    assert_eq!(second.claim_next(4, t + 65).unwrap().as_deref(), Some("j1"));
    // The first replica, back, cannot record an end: the job is not its own.
    let late = first.finish("j1", JobState::Done, None, t + 32);
    assert!(matches!(late, Err(TableError::LeaseLost)), "{late:?}");
    // Its second runner dies too: the job has been tried twice and fails.
    assert_eq!(first.reclaim_lapsed(2, CRASHED, t + 200).unwrap(), 1);
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
    assert_eq!(running.renew_leases(t, &["j1".into()]).unwrap(), ["j1"]);
    assert!(
        receiving
            .renew_leases(t, &["j1".into()])
            .unwrap()
            .is_empty(),
        "not its job"
    );
    // Had its replica died before it saw the request, the job ends cancelled,
    // never run again.
    assert_eq!(receiving.reclaim_lapsed(2, CRASHED, t + 200).unwrap(), 1);
    let job = receiving.get("j1").unwrap().unwrap();
    assert_eq!(
        (job.state, job.error_code.as_deref()),
        (JobState::Cancelled, Some("cancelled"))
    );
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

/// A database server that speaks TLS is spoken to in TLS, its
/// certificate checked: against the CA named by `database_ca_file` it is
/// accepted, without it refused.
#[test]
fn the_database_is_reached_over_tls_with_its_certificate_checked() {
    let (url, ca) = postgres::tls_database();
    let dir = tempfile::tempdir().unwrap();
    let data = conform_engine::DataDir::new(dir.path());
    let trusted = StorageConfig {
        database_ca_file: ca,
        ..postgres_storage(&url)
    };
    let metadata = Metadata::open(&data, &trusted).unwrap();
    insert(metadata.jobs.as_ref(), "j1", "acme", now());
    assert_eq!(metadata.jobs.counts().unwrap(), (1, 0));
    let unknown_issuer = Metadata::open(&data, &postgres_storage(&url))
        .err()
        .unwrap();
    let message = format!("{unknown_issuer:#}");
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    assert_eq!(message.matches("TLS handshake").count(), 1, "{message}");
}

/// The environment of replicas sharing a fresh database, with short
/// leases, and `extra` settings.
fn replica_env(extra: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("CONFORM_STORAGE_DATABASE_URL", postgres::database()),
        ("CONFORM_STORAGE_LEASE_SECONDS", "3".to_string()),
    ];
    env.extend(extra);
    env
}

fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Three replicas on one PostgreSQL and one data folder.
#[test]
fn replicas_on_one_data_folder_share_the_queue_and_finish_a_killed_ones_job() {
    let env = replica_env(Vec::new());
    let first = start_with_env(
        tempfile::tempdir().unwrap(),
        Some(test_tokens()),
        &pairs(&env),
    );
    let second = start_replica(&first, &pairs(&env));
    let third = start_replica(&first, &pairs(&env));
    share_the_queue_and_survive_a_killed_replica(vec![first, second, third]);
}

/// Three replicas on one PostgreSQL and one object store, each with a data
/// directory of its own: an upload, outputs and downloads cross replicas
/// through the store.
#[test]
fn replicas_with_an_object_store_share_the_queue_and_finish_a_killed_ones_job() {
    let env = replica_env(objects::bucket());
    let servers = (0..3)
        .map(|_| {
            start_with_env(
                tempfile::tempdir().unwrap(),
                Some(test_tokens()),
                &pairs(&env),
            )
        })
        .collect();
    share_the_queue_and_survive_a_killed_replica(servers);
}

/// Versions published through one replica are served by all; a job
/// submitted to any replica is run by one of them and seen, with its
/// outputs, by every one; the replica running a large job killed mid-job,
/// the job is taken over when its lease lapses and ends with the records
/// of an uninterrupted run.
fn share_the_queue_and_survive_a_killed_replica(mut servers: Vec<Server>) {
    publications_reach_every_replica(&servers);

    // Small jobs submitted round the replicas are all done, each seen by every replica.
    let body = waybills(50);
    let ids: Vec<String> = (0..6)
        .map(|i| {
            let query = "plugin=swift-express&name=w.ndjson";
            job_id(&submit_job(
                &servers[i % 3],
                UPLOADER,
                query,
                body.as_bytes(),
            ))
        })
        .collect();
    let mut outputs = HashSet::new();
    for id in &ids {
        for server in &servers {
            let job = wait_for(server, id, UPLOADER, |j| j["state"] == "done");
            assert_eq!(job["rows_in"].as_u64(), Some(50), "{job}");
            let (status, records) = get(server, &format!("/v1/jobs/{id}/records"), UPLOADER);
            assert_eq!(status, 200, "{records}");
            outputs.insert(records);
        }
    }
    assert_eq!(outputs.len(), 1, "every replica serves the same records");

    // A large job; whichever replica runs it is killed mid-job.
    let big = waybills(150_000);
    let query = "plugin=swift-express&name=big.ndjson";
    let id = job_id(&submit_job(&servers[1], UPLOADER, query, big.as_bytes()));
    wait_for(&servers[0], &id, UPLOADER, |j| {
        j["state"] == "running" && j["rows_in"].as_u64() > Some(0)
    });
    let runner = servers
        .iter()
        .position(|s| {
            s.log_lines()
                .iter()
                .any(|l| l.contains(&id) && l.contains("job started"))
        })
        .expect("a replica logs the start of the job");
    servers[runner].kill();
    let survivor = &servers[(runner + 1) % 3];
    let job = wait_for(survivor, &id, UPLOADER, |j| j["state"] == "done");
    assert_eq!(job["rows_in"].as_u64(), Some(150_000), "{job}");
    assert_eq!(job["error_code"], Value::Null);
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

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.ndjson");
    std::fs::write(&input, &big).unwrap();
    let expected = cli_records("swift-express", &input);
    for (n, server) in servers.iter().enumerate().filter(|(n, _)| *n != runner) {
        let (_, records) = get(server, &format!("/v1/jobs/{id}/records"), UPLOADER);
        assert!(
            records == expected,
            "replica {n}: the records of the job taken over differ from an uninterrupted run"
        );
    }
}

/// A pack version published through one replica and a plugin through
/// another are listed and run by the third within seconds; the plugin's
/// name is the provider's on every replica.
fn publications_reach_every_replica(servers: &[Server]) {
    let (status, body) = publish_pack(&servers[0], ADMIN, &pack_version("1.1.0", 3));
    assert_eq!(status, 201, "{body}");
    let (renamed, component) = plugin_variant("jinggong-parts", "jinggong-parts-acme", "1.2.0");
    let (status, body) = publish_plugin(&servers[1], PROVIDER, &renamed, &component);
    assert_eq!(status, 201, "{body}");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let served = |path: &str| get(&servers[2], path, UPLOADER).0 == 200;
    while !(served("/v1/packs/sample-regional/1.1.0") && served("/v1/plugins/jinggong-parts-acme"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the third replica serves what the others published within 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (_, plugin) = get(&servers[2], "/v1/plugins/jinggong-parts-acme", UPLOADER);
    let plugin: Value = serde_json::from_str(&plugin).unwrap();
    assert_eq!(plugin["owner"], "provider", "{plugin}");
    // It converts there, against the new pack version (lengths to 3 decimals).
    let sample =
        std::fs::read(crate::support::root().join("tests/fixtures/samples/jinggong-parts.csv"))
            .unwrap();
    let (status, text) = convert(&servers[2], "jinggong-parts-acme", &sample);
    assert_eq!(status, 200, "{text}");
    let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["pack"]["version"], "1.1.0", "{text}");
    // The name is the provider's on every replica (the owners are shared):
    // a new version from another token is refused where it was not published.
    let newer = renamed.replace("1.2.0", "1.3.0");
    let (status, body) = publish_plugin(&servers[0], ADMIN, &newer, &component);
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("plugin-owned")),
        "{body}"
    );
}

/// Waits until `server` answers `GET /v1/token` with `token` as `status`.
fn until_token_answers(server: &Server, token: &str, status: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while get(server, "/v1/token", token).0 != status {
        assert!(
            std::time::Instant::now() < deadline,
            "the token is answered {status} within 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A token made by `conform token create` on one machine, in the shared
/// database, is in force on every replica within seconds; revoked, it is
/// refused everywhere.
#[test]
fn a_token_created_in_the_shared_database_is_in_force_on_every_replica() {
    let env = replica_env(Vec::new());
    let first = start_with_env(
        tempfile::tempdir().unwrap(),
        Some(test_tokens()),
        &pairs(&env),
    );
    let second = start_with_env(
        tempfile::tempdir().unwrap(),
        Some(test_tokens()),
        &pairs(&env),
    );
    let token_command = |args: &[&str]| {
        let mut command = crate::support::conform();
        command
            .arg("token")
            .args(args)
            .arg("--data")
            .arg(first.data_dir());
        command.envs(env.iter().map(|(k, v)| (k, v.as_str())));
        command.output().unwrap()
    };
    let made = token_command(&["create", "shared-uploads", "--role", "uploader"]);
    crate::support::expect_exit(&made, 0);
    let token = String::from_utf8(made.stdout).unwrap().trim().to_string();
    let file = std::fs::read_to_string(first.data_dir().join("conform.toml")).unwrap();
    assert!(
        !file.contains("shared-uploads"),
        "kept in the database, not the file"
    );
    until_token_answers(&second, &token, 200);
    until_token_answers(&first, &token, 200);

    let listed = token_command(&["list"]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.contains("shared-uploads\tuploader"), "{listed}");
    let again = token_command(&["create", "shared-uploads", "--role", "uploader"]);
    crate::support::expect_exit(&again, 1);
    // The operator's name is refused in the database as in conform.toml.
    let operator = token_command(&["create", "operator", "--role", "provider"]);
    crate::support::expect_exit(&operator, 1);
    assert!(String::from_utf8_lossy(&operator.stderr).contains("stands for the operator"));

    crate::support::expect_exit(&token_command(&["revoke", "shared-uploads"]), 0);
    until_token_answers(&second, &token, 401);
}

/// `running_jobs_per_token` holds on each replica: a token at its limit on
/// one replica still gets a slot on another.
#[test]
fn the_per_token_limit_holds_on_each_replica() {
    let url = postgres::database();
    let (first, _a) = table(&postgres_storage(&url));
    let (second, _b) = table(&postgres_storage(&url));
    let t = now();
    for id in ["j1", "j2", "j3"] {
        insert(first.as_ref(), id, "acme", t);
    }
    assert_eq!(first.claim_next(1, t).unwrap().as_deref(), Some("j1"));
    assert_eq!(
        first.claim_next(1, t).unwrap(),
        None,
        "acme is at its limit here"
    );
    assert_eq!(second.claim_next(1, t).unwrap().as_deref(), Some("j2"));
    assert_eq!(second.claim_next(1, t).unwrap(), None);
}
