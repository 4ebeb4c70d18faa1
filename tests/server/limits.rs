//! The server's limits and isolation against a real server: each limit
//! answers with a JSON error (or, once a stream has started, a summary that
//! names it), and the server keeps serving everyone else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::server::*;
use crate::support::*;
use serde_json::Value;

fn submit(server: &Server, plugin: &str, name: &str, body: &[u8]) -> Value {
    submit_job(
        server,
        UPLOADER,
        &format!("plugin={plugin}&name={name}"),
        body,
    )
}

fn finished(job: &Value) -> bool {
    !matches!(job["state"].as_str(), Some("queued" | "running"))
}

#[test]
fn a_file_over_the_row_limit_stops_there_and_keeps_the_rows_before() {
    let server = configured("[limits]\nmax_rows_per_job = 5\n");
    let file = std::fs::read(sample("jinggong-parts.csv")).unwrap();

    let job = submit(&server, "jinggong-parts", "jinggong-parts.csv", &file);
    let job = wait_for(&server, job["id"].as_str().unwrap(), UPLOADER, finished);
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["error_code"], "rows-limit", "{job}");
    assert!(
        job["error"].as_str().unwrap().contains("more than 5 rows"),
        "{job}"
    );
    assert_eq!(job["rows_in"], 5, "{job}");
    // The rows before the stop are there to download.
    let (status, records) = get(
        &server,
        &format!("/v1/jobs/{}/records", job["id"].as_str().unwrap()),
        UPLOADER,
    );
    assert_eq!(status, 200, "{records}");
    let (status, errors) = get(
        &server,
        &format!("/v1/jobs/{}/errors", job["id"].as_str().unwrap()),
        UPLOADER,
    );
    assert_eq!(status, 200, "{errors}");
    assert_eq!(
        ndjson(&records).len() as u64 + ndjson(&errors).len() as u64,
        5,
        "each of the 5 rows is a record or a rejection here"
    );
    // The annotated upload says which rows the stop left unconverted.
    let (status, annotated) = get(
        &server,
        &format!("/v1/jobs/{}/annotated", job["id"].as_str().unwrap()),
        UPLOADER,
    );
    assert_eq!(status, 200, "{annotated}");
    let rows: Vec<&str> = annotated.trim_start_matches('\u{FEFF}').lines().collect();
    assert!(rows[0].starts_with("行号 line,零件号,"), "{}", rows[0]);
    let stopped = rows
        .iter()
        .filter(|r| r.contains("not converted: the conversion stopped"))
        .count();
    assert_eq!(
        stopped,
        rows.len() - 1 - 5,
        "every row after the fifth: {annotated}"
    );

    let (status, text) = convert(&server, "jinggong-parts", &file);
    assert_eq!(status, 200);
    let summary = ndjson(&text).pop().unwrap()["summary"].clone();
    assert_eq!(
        (summary["error_code"].as_str(), summary["rows_in"].as_u64()),
        (Some("rows-limit"), Some(5)),
        "{summary}"
    );
    // Both stops are counted.
    let metrics = metrics(&server);
    assert!(
        metrics.contains("conform_limit_hits_total{code=\"rows-limit\"} 2"),
        "{metrics}"
    );
}

#[test]
fn a_job_over_the_time_limit_stops_with_time_limit_and_a_slow_plugin_is_not_an_error() {
    let server = configured_with_hostile("[limits]\nmax_job_seconds = 1\n");
    // About 10 ms of plugin work per row: 1000 rows take well over a second.
    let slow = hostile_rows(&["slow"; 1000]);
    let started = Instant::now();
    let job = submit(&server, "hostile", "hostile.ndjson", &slow);
    let job = wait_for(&server, job["id"].as_str().unwrap(), UPLOADER, finished);
    assert_eq!(
        (job["state"].as_str(), job["error_code"].as_str()),
        (Some("failed"), Some("time-limit")),
        "{job}"
    );
    let rows_in = job["rows_in"].as_u64().unwrap();
    assert!(rows_in > 0 && rows_in < 1000, "{job}");
    // Slow rows are converted, not rejected.
    assert_eq!(job["rejected"], 0, "{job}");
    assert!(started.elapsed() < Duration::from_secs(30));

    // A few slow rows finish well inside the limit.
    let (status, text) = convert(&server, "hostile", &hostile_rows(&["slow"; 4]));
    assert_eq!(status, 200);
    let summary = ndjson(&text).pop().unwrap()["summary"].clone();
    assert_eq!(
        (summary["converted"].as_u64(), summary.get("error_code")),
        (Some(4), None),
        "{summary}"
    );
}

#[test]
fn jobs_over_the_per_token_limit_get_429() {
    let server = configured_with_hostile("[limits]\njobs_per_token = 1\n");
    let job = submit(
        &server,
        "hostile",
        "hostile.ndjson",
        &hostile_rows(&["slow"; 200]),
    );
    let response = agent()
        .post(format!("{}/v1/jobs?plugin=hostile", server.base))
        .header("Authorization", format!("Bearer {UPLOADER}"))
        .send(&hostile_rows(&["ok"])[..])
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").cloned();
    let text = response.into_body().read_to_string().unwrap();
    assert_eq!(
        (status, error_code(&text).as_str()),
        (429, "too-many-jobs"),
        "{text}"
    );
    assert!(retry_after.is_some(), "429 says when to come back");
    // Once the first is done, the token may submit again.
    wait_for(&server, job["id"].as_str().unwrap(), UPLOADER, finished);
    let (status, text) = post(
        &server,
        "/v1/jobs?plugin=hostile",
        Some(UPLOADER),
        &hostile_rows(&["ok"]),
    );
    assert_eq!(status, 202, "{text}");
}

/// Sends a request head declaring `length` bytes, then one byte every
/// `every`, until the server answers; returns the answer.
fn trickle(server: &Server, path: &str, length: usize, every: Duration) -> String {
    let addr = server.base.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).unwrap();
    socket.set_read_timeout(Some(every)).unwrap();
    write!(
        socket,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {UPLOADER}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match socket.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {
                // Nothing to read yet: send the next byte (the server may have closed).
                if socket.write_all(b"{").is_err() && !answer.is_empty() {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn a_client_sending_a_byte_a_second_is_cut_off_and_others_are_served_meanwhile() {
    let server =
        configured("[limits]\nmin_upload_bytes_per_second = 100\nupload_grace_seconds = 1\n");
    let started = Instant::now();
    let slow_job = {
        let base = server.base.clone();
        let _ = base;
        trickle(
            &server,
            "/v1/jobs?plugin=swift-express",
            1_000_000,
            Duration::from_millis(500),
        )
    };
    assert!(slow_job.starts_with("HTTP/1.1 408"), "{slow_job}");
    assert!(
        slow_job.contains("\"code\":\"upload-too-slow\""),
        "{slow_job}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // A streaming conversion has answered 200 already: the summary names the stop.
    let slow_stream = trickle(
        &server,
        "/v1/convert?plugin=swift-express",
        1_000_000,
        Duration::from_millis(500),
    );
    assert!(
        slow_stream.contains("\"error_code\":\"upload-too-slow\""),
        "{slow_stream}"
    );

    // Nothing was queued, and the server serves on.
    let (_, text) = get(&server, "/v1/jobs", UPLOADER);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["jobs"],
        serde_json::json!([])
    );
    let small = std::fs::read(sample("swift-express.ndjson")).unwrap();
    let (status, _) = convert(&server, "swift-express", &small);
    assert_eq!(status, 200);
}

#[test]
fn a_hostile_plugin_running_beside_a_good_job_leaves_its_output_unchanged() {
    let server = configured_with_hostile("");
    let mut actions = ["ok", "grow", "panic", "huge", "many", "garbage", "ok"].repeat(4);
    actions.extend(["loop", "ok"]);
    let hostile = hostile_rows(&actions);
    let hostile_runs = {
        let base = server.base.clone();
        std::thread::spawn(move || {
            (0..3)
                .map(|_| {
                    let response = agent()
                        .post(format!("{base}/v1/convert?plugin=hostile"))
                        .header("Authorization", format!("Bearer {UPLOADER}"))
                        .send(&hostile[..])
                        .unwrap();
                    response.into_body().read_to_string().unwrap()
                })
                .collect::<Vec<_>>()
        })
    };
    let file = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    let job = submit(&server, "jinggong-parts", "jinggong-parts.csv", &file);
    let id = job["id"].as_str().unwrap().to_string();
    let job = wait_for(&server, &id, UPLOADER, finished);
    assert_eq!(job["state"], "done", "{job}");
    let (_, records) = get(&server, &format!("/v1/jobs/{id}/records"), UPLOADER);
    let (_, errors) = get(&server, &format!("/v1/jobs/{id}/errors"), UPLOADER);
    let golden = crate::support::cases::case("jinggong-parts", "sample").dir;
    assert_eq!(
        records,
        std::fs::read_to_string(golden.join("expected.ndjson")).unwrap()
    );
    assert_eq!(
        errors,
        std::fs::read_to_string(golden.join("expected.errors.ndjson")).unwrap()
    );

    for output in hostile_runs.join().unwrap() {
        let lines = ndjson(&output);
        let summary = &lines.last().unwrap()["summary"];
        assert_eq!(summary["rows_in"], 30, "{summary}");
        assert_eq!(
            summary["converted"], 9,
            "only the `ok` rows convert: {summary}"
        );
    }
}

#[test]
fn graceful_shutdown_loses_no_accepted_job() {
    let server = configured_with_hostile("");
    let job = submit(
        &server,
        "hostile",
        "hostile.ndjson",
        &hostile_rows(&["slow"; 600]),
    );
    let id = job["id"].as_str().unwrap().to_string();
    wait_for(&server, &id, UPLOADER, |j| j["state"] == "running");
    let (status, data) = server.terminate();
    assert!(status.success(), "a clean exit on SIGTERM: {status}");
    let server = start_in(data, None);
    let job = wait_for(&server, &id, UPLOADER, finished);
    assert_eq!(
        (job["state"].as_str(), job["converted"].as_u64()),
        (Some("done"), Some(600)),
        "{job}"
    );
}

#[test]
fn each_request_is_logged_with_its_status_and_a_request_id() {
    let server = configured("");
    let response = agent()
        .get(format!("{}/v1/plugins", server.base))
        .header("Authorization", format!("Bearer {UPLOADER}"))
        .header("x-request-id", "trace-me-42")
        .call()
        .unwrap();
    assert_eq!(
        response.headers().get("x-request-id").unwrap(),
        "trace-me-42"
    );
    let generated = agent()
        .get(format!("{}/healthz", server.base))
        .call()
        .unwrap();
    assert!(generated.headers().get("x-request-id").is_some());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines = server.log_lines();
        let logged = lines
            .iter()
            .find(|l| l.contains("trace-me-42") && l.contains("status=200"));
        if let Some(line) = logged {
            assert!(line.contains("path=/v1/plugins"), "{line}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no request log line in {lines:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_server_caps_what_a_plugin_manifest_asks_for() {
    // The hostile plugin's manifest asks for 300 ms per call and 16 MiB.
    let server = configured_with_hostile("[plugin_limits]\nbatch_millis = 100\nmemory_mib = 8\n");
    let (status, text) = get(&server, "/v1/plugins/hostile", UPLOADER);
    assert_eq!(status, 200, "{text}");
    let plugin: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(plugin["limits"]["batch_millis"], 100, "{plugin}");
    assert_eq!(plugin["limits"]["memory_mib"], 8, "{plugin}");
    // A limit the manifest sets lower than the cap stays as it is.
    assert_eq!(plugin["limits"]["records_per_input"], 4, "{plugin}");

    let (status, text) = convert(&server, "hostile", &hostile_rows(&["ok", "loop", "ok"]));
    assert_eq!(status, 200);
    let lines = ndjson(&text);
    let rejection = lines
        .iter()
        .find_map(|l| l.get("rejection"))
        .expect("the looping row is rejected");
    assert_eq!(rejection["code"], "plugin-timeout");
    assert!(
        rejection["message"].as_str().unwrap().contains("100 ms"),
        "{rejection}"
    );
    assert_eq!(lines.last().unwrap()["summary"]["converted"], 2);
}

#[test]
fn a_client_dribbling_its_request_head_is_disconnected() {
    let server = configured("[limits]\nheader_read_seconds = 1\n");
    let addr = server.base.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    write!(socket, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\n").unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let closed = loop {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still connected after 10 s"
        );
        // One more header byte, then see whether the server hung up.
        if socket.write_all(b"X").is_err() {
            break true;
        }
        match socket.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => break String::from_utf8_lossy(&buf[..n]).contains(" 408 "),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break true, // reset
        }
    };
    assert!(closed, "the server answers 408 or closes the connection");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Everyone else is served meanwhile and after.
    let (status, _) = get(&server, "/v1/plugins", UPLOADER);
    assert_eq!(status, 200);
}

#[test]
fn a_publisher_dribbling_its_upload_is_cut_off() {
    let server =
        configured("[limits]\nmin_upload_bytes_per_second = 1000\nupload_grace_seconds = 1\n");
    let addr = server.base.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    write!(
        socket,
        "POST /v1/plugins HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {PROVIDER}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n"
    )
    .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    let answer = loop {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "a byte a while keeps the publication open"
        );
        // A byte every 300 ms: far below 1000 bytes a second.
        if socket.write_all(b"x").is_err() {
            break String::new();
        }
        match socket.read(&mut buf) {
            Ok(0) => break String::new(),
            Ok(n) => break String::from_utf8_lossy(&buf[..n]).into_owned(),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break String::new(),
        }
    };
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

/// Reads one HTTP/1.1 answer with a `Content-Length` from `socket`.
fn read_answer(socket: &mut TcpStream) -> (u16, String) {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .expect("the answer has a Content-Length");
            if answer.len() >= end + 4 + length {
                let status = text[9..12].parse().unwrap();
                return (status, text[end + 4..end + 4 + length].to_string());
            }
        }
        let n = socket
            .read(&mut buf)
            .expect("the answer can be read, not a reset");
        assert!(n > 0, "the server closed before answering: {text}");
        answer.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn a_refusal_sent_before_the_body_arrives_still_reaches_the_client_and_the_connection_serves_on() {
    let server = configured("");
    let addr = server.base.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = vec![b'x'; 2 * 1024 * 1024];
    write!(
        socket,
        "POST /v1/plugins HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {UPLOADER}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    // The server refuses an uploader from the head alone, long before the
    // body has been sent.
    std::thread::sleep(Duration::from_millis(300));
    for chunk in body.chunks(64 * 1024) {
        socket
            .write_all(chunk)
            .expect("the body can be sent after the refusal: the server reads it");
    }
    let (status, text) = read_answer(&mut socket);
    assert_eq!(status, 403, "{text}");
    assert_eq!(error_code(&text), "forbidden", "{text}");
    write!(socket, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let (status, _) = read_answer(&mut socket);
    assert_eq!(status, 200, "the connection serves the next request");
}

#[test]
fn a_workbook_whose_reading_outgrows_its_memory_cap_is_refused_and_the_server_serves_on() {
    let server = start_with_env(
        tempfile::tempdir().unwrap(),
        Some(test_tokens()),
        &[("CONFORM_LIMITS_WORKBOOK_MEMORY_MIB", "4")],
    );
    // 30 000 distinct texts of 300 characters: calamine holds them all
    // (9 MB of shared strings), more than the 4 MiB the reader may use.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "零件号").unwrap();
    for row in 1..30_000u32 {
        sheet
            .write_string(row, 0, format!("{row:06}{}", "x".repeat(294)))
            .unwrap();
    }
    let workbook = book.save_to_buffer().unwrap();
    let job = submit(&server, "jinggong-parts", "parts.xlsx", &workbook);
    let job = wait_for(&server, job["id"].as_str().unwrap(), UPLOADER, finished);
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["error_code"], "input-unreadable", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains("reading it needed more than 4 MiB of memory"),
        "{job}"
    );
    // The reader was a child: the server serves on, and the CSV converts.
    let csv = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    let (status, text) = convert(&server, "jinggong-parts", &csv);
    assert_eq!(status, 200, "{text}");
    assert_eq!(converted_counts(&server, "jinggong-parts", &csv).0, Some(6));
}
