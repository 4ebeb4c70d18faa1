//! What an operator runs the server with: tokens managed from the command
//! line, settings from the environment, request logs and metrics.

use std::time::{Duration, Instant};

use crate::support::server::*;
use crate::support::*;

/// Polls `GET /v1/jobs` with `token` until it answers `status`.
fn until_status(server: &Server, token: &str, status: u16, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (got, _) = get(server, "/v1/jobs", token);
        if got == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "still {got}, not {status}, after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn token_command(server: &Server, args: &[&str]) -> std::process::Output {
    let output = conform()
        .arg("token")
        .args(args)
        .arg("--data")
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "conform token {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn tokens_created_and_revoked_on_the_command_line_take_effect_without_a_restart() {
    let server = configured("");
    let created = token_command(&server, &["create", "acme", "--role", "uploader"]);
    let token = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();
    assert!(token.starts_with("cf_"), "{token}");
    // Picked up by watching the file.
    until_status(&server, &token, 200, Duration::from_secs(10));
    let listed = token_command(&server, &["list"]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.contains("acme\tuploader\n"), "{listed}");
    assert!(!listed.contains(&token), "the token itself is never kept");
    let config = std::fs::read_to_string(server.data_dir().join("conform.toml")).unwrap();
    assert!(config.contains(&sha256(&token)), "{config}");

    // Revoked, and at once on SIGHUP (which does not stop the server).
    token_command(&server, &["revoke", "acme"]);
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let took = until_status(&server, &token, 401, Duration::from_secs(10));
    assert!(
        took < Duration::from_secs(2),
        "SIGHUP reloads at once: {took:?}"
    );
    assert_eq!(get(&server, "/healthz", UPLOADER).0, 200);

    // The last admin token stays; a bad role is refused.
    let last_admin = conform()
        .args(["token", "revoke", "root", "--data"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(!last_admin.status.success());
    assert!(String::from_utf8_lossy(&last_admin.stderr).contains("last admin"));
    let bad_role = conform()
        .args(["token", "create", "x", "--role", "superuser", "--data"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert_eq!(bad_role.status.code(), Some(2));
}

#[test]
fn limits_come_from_environment_variables_and_a_misspelt_one_stops_the_start() {
    let server = start_with_env(
        tempfile::tempdir().unwrap(),
        Some(test_tokens()),
        &[("CONFORM_LIMITS_MAX_BODY_BYTES", "100")],
    );
    let (status, text) = convert(&server, "swift-express", &[b'x'; 200]);
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("100 bytes"), "{text}");

    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("conform.toml"), test_tokens()).unwrap();
    let output = std::process::Command::new(binary("conform"))
        .current_dir(root())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .env("CONFORM_LIMITS_MAX_BODDY_BYTES", "100")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("CONFORM_LIMITS_MAX_BODDY_BYTES")
            && stderr.contains("CONFORM_LIMITS_MAX_BODY_BYTES"),
        "{stderr}"
    );
}

#[test]
fn each_request_is_logged_with_its_token_bytes_rows_and_latency_and_counted_by_route() {
    let server = configured("");
    let body = std::fs::read(sample("swift-express.ndjson")).unwrap();
    let (status, answer) = convert(&server, "swift-express", &body);
    assert_eq!(status, 200);
    let (status, _) = get(&server, "/v1/jobs/nosuchjob", UPLOADER);
    assert_eq!(status, 404);
    std::thread::sleep(Duration::from_millis(300));
    let logs = server.log_lines();
    let line = logs
        .iter()
        .find(|l| l.contains("conform::request") && l.contains("/v1/convert"))
        .unwrap_or_else(|| panic!("no request line: {logs:#?}"));
    for field in [
        "token=uploads".to_string(),
        format!("bytes_in={}", body.len()),
        format!("bytes_out={}", answer.len()),
        "rows=8".to_string(),
        "status=200".to_string(),
        "latency_ms=".to_string(),
    ] {
        assert!(line.contains(&field), "{field} missing: {line}");
    }
    let latency = line.split("latency_ms=").nth(1).unwrap();
    let latency: f64 = latency.split_whitespace().next().unwrap().parse().unwrap();
    assert!(latency > 0.0, "{line}");

    let metrics = metrics(&server);
    for expected in [
        "conform_http_requests_total{route=\"/v1/convert\",status=\"200\"} 1",
        "conform_http_requests_total{route=\"/v1/jobs/{id}\",status=\"404\"} 1",
        "conform_http_request_duration_seconds_count{route=\"/v1/convert\"} 1",
        "conform_conversions_in_flight 0",
        "conform_jobs{state=\"queued\"} 0",
        "conform_jobs{state=\"running\"} 0",
    ] {
        assert!(metrics.contains(expected), "{expected} missing:\n{metrics}");
    }
}
