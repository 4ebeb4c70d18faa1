//! The server under load from several tenants: jobs run concurrently and
//! fairly, connections are handled as an operator expects.

use std::time::{Duration, Instant};

use crate::support::server::*;
use crate::support::*;
use serde_json::Value;

const TENANT_B: &str = "cf_test_tenant_b_token";

fn submit(server: &Server, token: &str, plugin: &str, body: &[u8]) -> String {
    let (status, text) = post(
        server,
        &format!("/v1/jobs?plugin={plugin}"),
        Some(token),
        body,
    );
    assert_eq!(status, 202, "{text}");
    serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn state_of(server: &Server, token: &str, id: &str) -> String {
    let (_, text) = get(server, &format!("/v1/jobs/{id}"), token);
    serde_json::from_str::<Value>(&text).unwrap()["state"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_small_job_of_one_tenant_is_not_held_behind_anothers_large_jobs() {
    let server = configured_with_hostile(&format!(
        "[limits]\njob_slots = 2\n\n[[tokens]]\nname = \"tenant-b\"\nsha256 = \"{}\"\nroles = [\"uploader\"]\n",
        sha256(TENANT_B)
    ));
    // Tenant A: three large jobs, about 15 s of plugin work each.
    let large = hostile_rows(&vec!["slow"; 1500]);
    let a_jobs: Vec<String> = (0..3)
        .map(|_| submit(&server, UPLOADER, "hostile", &large))
        .collect();
    wait_for(&server, &a_jobs[0], UPLOADER, |j| j["state"] == "running");
    // Tenant B: the 8-row sample.
    let small = std::fs::read(sample("swift-express.ndjson")).unwrap();
    let started = Instant::now();
    let b_job = submit(&server, TENANT_B, "swift-express", &small);
    let done = wait_for(&server, &b_job, TENANT_B, |j| j["state"] == "done");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "tenant B waited {:?}: {done}",
        started.elapsed()
    );
    assert!(
        done["started_at"].is_u64() && done["finished_at"].is_u64(),
        "{done}"
    );
    // Tenant A's jobs run one at a time, in the order they were sent.
    let states: Vec<String> = a_jobs
        .iter()
        .map(|id| state_of(&server, UPLOADER, id))
        .collect();
    assert_eq!(states[2], "queued", "{states:?}");
    assert_ne!(states[0], "queued", "{states:?}");
}
