//! Conversions and jobs over HTTP against a real `conform serve`.

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use crate::support::cases::{self, Case};
use crate::support::server::*;
use crate::support::*;
use serde_json::Value;

#[test]
fn a_fresh_data_directory_serves_the_samples_on_loopback_with_a_printed_admin_token() {
    let server = start(None);
    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "{}",
        server.base
    );
    let token = admin_token(&server);
    let response = agent()
        .get(format!("{}/v1/plugins", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let plugins: Value =
        serde_json::from_str(&response.into_body().read_to_string().unwrap()).unwrap();
    assert_eq!(
        plugins["plugins"].as_array().unwrap().len(),
        plugin_names(&plugins_dir()).len(),
        "every plugin of the seed folder is seeded"
    );
    let health = agent()
        .get(format!("{}/healthz", server.base))
        .call()
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[test]
fn a_file_converts_over_http_with_records_rejections_and_a_summary() {
    let server = configured("");
    let body = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    let (status, text) = convert(&server, "jinggong-parts", &body);
    assert_eq!(status, 200, "{text}");
    let lines = ndjson(&text);
    let records = lines
        .iter()
        .filter(|l| l.get("record_type").is_some())
        .count();
    let rejected_lines: Vec<u64> = lines
        .iter()
        .filter_map(|l| l.get("rejection"))
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    let case = jinggong_sample();
    assert_eq!(records as u64, case.converted);
    assert_eq!(rejected_lines, case.rejected_lines);
    let summary = &lines.last().unwrap()["summary"];
    assert_eq!(
        (
            summary["rows_in"].as_u64(),
            summary["converted"].as_u64(),
            summary["rejected"].as_u64()
        ),
        (Some(13), Some(6), Some(7))
    );
}

#[test]
fn tokens_and_roles_are_enforced_with_json_errors() {
    let server = configured("");
    let body = b"{}";
    let (status, text) = post(&server, "/v1/convert?plugin=swift-express", None, body);
    assert_eq!(
        (status, error_code(&text).as_str()),
        (401, "unauthenticated")
    );
    let (status, text) = post(
        &server,
        "/v1/convert?plugin=swift-express",
        Some("cf_wrong"),
        body,
    );
    assert_eq!(
        (status, error_code(&text).as_str()),
        (401, "unauthenticated")
    );
    let (status, text) = post(
        &server,
        "/v1/convert?plugin=swift-express",
        Some(PROVIDER),
        body,
    );
    assert_eq!((status, error_code(&text).as_str()), (403, "forbidden"));
    let (status, text) = convert(&server, "nope", body);
    assert_eq!(
        (status, error_code(&text).as_str()),
        (404, "unknown-plugin")
    );
    let (status, text) = post(&server, "/v1/nowhere", Some(UPLOADER), body);
    assert_eq!((status, error_code(&text).as_str()), (404, "not-found"));
}

#[test]
fn a_body_over_the_limit_is_refused_with_413() {
    let server = configured("[limits]\nmax_body_bytes = 2000\n");
    let body = vec![b'x'; 5000];
    let (status, text) = convert(&server, "swift-express", &body);
    assert_eq!(
        (status, error_code(&text).as_str()),
        (413, "body-too-large")
    );
    // The server keeps serving.
    let small = std::fs::read(sample("swift-express.ndjson")).unwrap();
    let (status, _) = convert(&server, "swift-express", &small);
    assert_eq!(status, 200);
    let metrics = metrics(&server);
    assert!(
        metrics.contains("conform_limit_hits_total{code=\"body-too-large\"} 1"),
        "{metrics}"
    );
}

/// Records come back while the body is still being sent.
#[test]
fn records_stream_back_before_the_upload_ends() {
    let server = configured("");
    let mut socket = chunked_upload(&server, "swift-express", 20);
    let row = "{\"waybill\":\"SWX1\",\"service\":\"next-day\",\"picked_up_ms\":1793664300000,\"from\":\"370200\",\"to\":\"310000\",\"weight_lb\":22.0,\"pieces\":2,\"pkg\":\"carton\"}\n";
    let chunk = row.repeat(2000);
    write!(socket, "{:x}\r\n{chunk}\r\n", chunk.len()).unwrap();
    socket.flush().unwrap();
    // The body is not finished, yet records arrive.
    let mut received = Vec::new();
    let mut buf = [0u8; 65536];
    while !String::from_utf8_lossy(&received).contains("\"record_type\":\"shipment\"") {
        let n = socket
            .read(&mut buf)
            .expect("records arrive before the body ends");
        assert!(n > 0, "the server closed the connection early");
        received.extend_from_slice(&buf[..n]);
    }
    socket.write_all(b"0\r\n\r\n").unwrap();
    let mut rest = Vec::new();
    let _ = socket.read_to_end(&mut rest);
    received.extend_from_slice(&rest);
    assert!(String::from_utf8_lossy(&received).contains("\"summary\""));
}

const OTHER_UPLOADER: &str = "cf_test_other_uploader";

#[test]
fn a_bulk_job_converts_as_the_cli_does_and_only_its_owner_sees_it() {
    let server = configured(&format!(
        "[[tokens]]\nname = \"other\"\nsha256 = \"{}\"\nroles = [\"uploader\"]\n",
        sha256(OTHER_UPLOADER)
    ));
    let body = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    let (status, text) = post(
        &server,
        "/v1/jobs?plugin=jinggong-parts&name=jinggong-parts.csv",
        Some(UPLOADER),
        &body,
    );
    assert_eq!(status, 202, "{text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let job = wait_for(&server, &id, UPLOADER, |j| j["state"] == "done");
    assert_eq!(
        (
            job["rows_in"].as_u64(),
            job["converted"].as_u64(),
            job["rejected"].as_u64()
        ),
        (Some(13), Some(6), Some(7))
    );

    let (status, records) = get(&server, &format!("/v1/jobs/{id}/records"), UPLOADER);
    assert_eq!(status, 200);
    assert_eq!(
        records,
        std::fs::read_to_string(jinggong_sample().file("expected.ndjson")).unwrap()
    );
    let (_, errors) = get(&server, &format!("/v1/jobs/{id}/errors"), UPLOADER);
    assert_eq!(
        errors,
        std::fs::read_to_string(jinggong_sample().file("expected.errors.ndjson")).unwrap()
    );

    let (_, list) = get(&server, "/v1/jobs", UPLOADER);
    assert_eq!(
        serde_json::from_str::<Value>(&list).unwrap()["jobs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (_, list) = get(&server, "/v1/jobs", OTHER_UPLOADER);
    assert!(serde_json::from_str::<Value>(&list).unwrap()["jobs"]
        .as_array()
        .unwrap()
        .is_empty());
    let (status, text) = get(&server, &format!("/v1/jobs/{id}"), OTHER_UPLOADER);
    assert_eq!((status, error_code(&text).as_str()), (404, "unknown-job"));
    let (status, _) = get(&server, &format!("/v1/jobs/{id}/records"), OTHER_UPLOADER);
    assert_eq!(status, 404);
}

/// A job accepted before a crash finishes after a restart, with the output
/// of an uninterrupted run.
#[test]
fn a_job_interrupted_by_a_crash_finishes_after_restart_with_identical_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("swift-express-big.ndjson");
    let text = waybills(120_000);
    std::fs::write(&input, &text).unwrap();

    let server = configured("");
    let (status, body) = post(
        &server,
        "/v1/jobs?plugin=swift-express&name=swift-express-big.ndjson",
        Some(UPLOADER),
        text.as_bytes(),
    );
    assert_eq!(status, 202, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(&server, &id, UPLOADER, |j| {
        j["state"] == "running" && j["rows_in"].as_u64() > Some(0)
    });
    let data = server.crash();

    let server = start_in(data, None);
    let job = wait_for(&server, &id, UPLOADER, |j| j["state"] == "done");
    assert_eq!(job["rows_in"].as_u64(), Some(120_000));
    let (_, records) = get(&server, &format!("/v1/jobs/{id}/records"), UPLOADER);

    let expected = cli_records("swift-express", &input);
    assert_eq!(records.len(), expected.len());
    assert!(
        records == expected,
        "the records after a restart differ from an uninterrupted run"
    );
}

#[test]
fn conversions_over_the_per_token_limit_get_429_and_others_go_on() {
    let server = configured("[limits]\nconcurrent_per_token = 1\n");
    // One streaming conversion held open: its body is not finished.
    let mut open = chunked_upload(&server, "swift-express", 20);
    open.write_all(b"1\r\n\n\r\n").unwrap();
    open.flush().unwrap();
    // Its response has started, so it holds the token's one place.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(open.read(&mut byte).unwrap(), 1, "the server answers");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", text(&head));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (status, text) = loop {
        let (status, text) = convert(&server, "swift-express", b"");
        if status == 429 || std::time::Instant::now() > deadline {
            break (status, text);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        (status, error_code(&text).as_str()),
        (429, "too-many-conversions")
    );
    // Bulk jobs queue instead: the streaming limit does not refuse them.
    let body = std::fs::read(sample("swift-express.ndjson")).unwrap();
    let (status, _) = post(
        &server,
        "/v1/jobs?plugin=swift-express",
        Some(UPLOADER),
        &body,
    );
    assert_eq!(status, 202, "jobs are not streaming conversions");
    drop(open);
}

#[test]
fn metrics_count_rows_per_plugin() {
    let server = configured("");
    let body = std::fs::read(sample("eastroute-waybills.csv")).unwrap();
    let (status, _) = convert(&server, "eastroute-waybills", &body);
    assert_eq!(status, 200);
    let text = metrics(&server);
    assert!(
        text.contains("conform_rows_total{plugin=\"eastroute-waybills\",outcome=\"converted\"} 5"),
        "{text}"
    );
    assert!(
        text.contains("conform_rows_total{plugin=\"eastroute-waybills\",outcome=\"rejected\"} 3"),
        "{text}"
    );
}

/// The curl examples of the README's API section, run as written against a
/// fresh server (only its address, the token and the job id substituted).
#[test]
fn the_readme_curl_examples_work_as_written() {
    let server = start(None);
    let token = admin_token(&server);
    // The files the examples name: the fixtures, a plugin and a pack to publish.
    let work = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root().join("tests"), work.path().join("tests")).unwrap();
    let built = plugins_dir().join("jinggong-parts");
    let manifest = std::fs::read_to_string(built.join("plugin.toml")).unwrap();
    std::fs::write(
        work.path().join("plugin.toml"),
        manifest
            .replace("name = \"jinggong-parts\"", "name = \"my-plugin\"")
            .replace(
                "file = \"jinggong-parts.wasm\"",
                "file = \"my-plugin.wasm\"",
            ),
    )
    .unwrap();
    std::fs::copy(
        built.join("jinggong-parts.wasm"),
        work.path().join("my-plugin.wasm"),
    )
    .unwrap();
    std::fs::write(work.path().join("my-pack.tar.gz"), pack_version("1.1.0", 1)).unwrap();

    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## The HTTP API")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in section.lines().map(str::trim) {
        if current.is_empty() && !line.starts_with("curl ") {
            continue;
        }
        let line = line.split("   #").next().unwrap().trim_end();
        match line.strip_suffix('\\') {
            Some(start) => current += start,
            None => {
                current += line;
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    assert!(commands.len() >= 10, "{commands:?}");
    let mut job_id = String::new();
    for command in commands {
        let command = command
            .replace("http://127.0.0.1:8080", &server.base)
            .replace("/v1/jobs/ID", &format!("/v1/jobs/{job_id}"));
        if command.contains("/records") {
            wait_for(&server, &job_id, &token, |j| j["state"] == "done");
        }
        let output = Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(work.path())
            .env("TOKEN", &token)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{command}: {}",
            text(&output.stderr)
        );
        let out = text(&output.stdout);
        assert!(!out.trim().is_empty(), "{command} printed nothing");
        if command.contains("format=csv") {
            assert!(
                out.lines().next().unwrap().contains("record.part_no"),
                "{command}: {out}"
            );
            continue;
        }
        let first: Value = serde_json::from_str(out.lines().next().unwrap())
            .unwrap_or_else(|_| panic!("{command}: {out}"));
        let api_error = first.get("code").is_some() && first.get("line").is_none();
        assert!(!api_error, "{command} answered an error: {out}");
        if command.contains("/v1/jobs?plugin=") {
            job_id = first["id"].as_str().unwrap().to_string();
        }
        if command.ends_with("/v1/packs") && !command.contains("--data-binary") {
            // The two sample packs, and the README's 1.1.0 of the first.
            assert_eq!(first["packs"].as_array().unwrap().len(), 3, "{out}");
        }
    }
}

/// A body of several hundred MB streams through with flat memory.
#[test]
fn a_large_streaming_body_converts_in_bounded_memory() {
    let data = tempfile::tempdir().unwrap();
    copy_dir(
        &root().join("standards/sample-regional"),
        &data.path().join("packs/sample-regional/1.0.0"),
    );
    copy_dir(&test_plugins_dir(), &data.path().join("plugins"));
    std::fs::write(
        data.path().join("conform.toml"),
        format!(
            "[[tokens]]\nname = \"uploads\"\nsha256 = \"{}\"\nroles = [\"uploader\"]\n",
            sha256(UPLOADER)
        ),
    )
    .unwrap();
    let server = start_in(data, None);
    let mut socket = chunked_upload(&server, "hostile", 60);
    // 300 MB: 30 000 rows of 10 KB, sent while the response is read.
    let row = format!(
        "{{\"action\":\"ok\",\"padding\":\"{}\"}}\n",
        "x".repeat(10_000)
    );
    let chunk = row.repeat(100);
    let mut reader = socket.try_clone().unwrap();
    let drain = std::thread::spawn(move || {
        let mut all = Vec::new();
        reader.read_to_end(&mut all).unwrap();
        all
    });
    for _ in 0..300 {
        write!(socket, "{:x}\r\n{chunk}\r\n", chunk.len()).unwrap();
    }
    socket.write_all(b"0\r\n\r\n").unwrap();
    let response = String::from_utf8_lossy(&drain.join().unwrap()).into_owned();
    let summary_line = response
        .lines()
        .find(|l| l.starts_with("{\"summary\""))
        .unwrap_or_else(|| {
            panic!(
                "a summary line in {}",
                &response[response.len().saturating_sub(2000)..]
            )
        });
    let summary: Value = serde_json::from_str(summary_line).unwrap();
    assert_eq!(
        summary["summary"]["rows_in"].as_u64(),
        Some(30_000),
        "{summary}"
    );
    assert_eq!(
        summary["summary"]["converted"].as_u64(),
        Some(30_000),
        "{summary}"
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap();
    assert!(
        peak_kib < 200 * 1024,
        "peak RSS {peak_kib} KiB for a 300 MB body"
    );
}

/// Every operation of `/openapi.json` is served by the real router, and the
/// router serves nothing undocumented among the routes probed.
#[test]
fn the_openapi_document_matches_the_routes() {
    let server = start(None);
    let token = admin_token(&server);
    let doc: Value = serde_json::from_str(
        &agent()
            .get(format!("{}/openapi.json", server.base))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap(),
    )
    .unwrap();
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, methods) in paths {
        for method in methods.as_object().unwrap().keys() {
            operations += 1;
            let url = format!(
                "{}{}",
                server.base,
                path.replace("{id}", "0123456789abcdef0123456789abcdef")
                    .replace("{name}", "no-such-plugin")
                    .replace("{version}", "1.0.0")
            );
            let request = match method.as_str() {
                "get" => agent()
                    .get(&url)
                    .header("Authorization", format!("Bearer {token}"))
                    .call(),
                "delete" => agent()
                    .delete(&url)
                    .header("Authorization", format!("Bearer {token}"))
                    .call(),
                "post" => agent()
                    .post(&url)
                    .header("Authorization", format!("Bearer {token}"))
                    .send(&b""[..]),
                "put" => agent()
                    .put(&url)
                    .header("Authorization", format!("Bearer {token}"))
                    .send(&b""[..]),
                other => panic!("undocumented method {other}"),
            };
            let response = request.unwrap();
            let status = response.status().as_u16();
            let body = response.into_body().read_to_string().unwrap_or_default();
            assert_ne!(status, 405, "{method} {path} is documented but not routed");
            if status >= 400 {
                let error: Value = serde_json::from_str(&body)
                    .unwrap_or_else(|_| panic!("{method} {path}: a JSON error body, got {body:?}"));
                assert!(error["code"].is_string(), "{method} {path}: {body}");
            }
            let fallback = status == 404
                && serde_json::from_str::<Value>(&body).is_ok_and(|v| v["code"] == "not-found");
            assert!(
                !fallback,
                "{method} {path} is documented but not routed: {body}"
            );
        }
    }
    assert_eq!(operations, 23, "documented operations");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

#[test]
fn a_job_sent_as_multipart_downloads_as_csv_too() {
    let server = configured("");
    let file = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    let (content_type, body) = multipart(&[("file", Some("jinggong-parts.csv"), &file)]);
    let (status, text) = post_typed(
        &server,
        "/v1/jobs?plugin=jinggong-parts",
        UPLOADER,
        &content_type,
        &body,
    );
    assert_eq!(status, 202, "{text}");
    let job: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        job["file"], "jinggong-parts.csv",
        "the part's file name is kept"
    );
    let id = job["id"].as_str().unwrap();
    let job = wait_for(&server, id, UPLOADER, |j| j["state"] == "done");
    assert_eq!(job["converted"], jinggong_sample().converted);

    // The NDJSON equals the CLI's golden output; the CSV holds the same records.
    let (_, records) = get(&server, &format!("/v1/jobs/{id}/records"), UPLOADER);
    let golden = jinggong_sample().file("expected.ndjson");
    assert_eq!(records, std::fs::read_to_string(golden).unwrap());
    let response = agent()
        .get(format!("{}/v1/jobs/{id}/records?format=csv", server.base))
        .header("Authorization", format!("Bearer {UPLOADER}"))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv_text = response.into_body().read_to_string().unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len() as u64, jinggong_sample().converted);
    let jg = rows
        .iter()
        .find(|r| &r[column("record.part_no")] == "JG-10024")
        .unwrap();
    assert_eq!(&jg[column("record.length_mm")], "31.75");
    assert_eq!(&jg[column("record.name")], "垫圈, 加厚");
    assert_eq!(&jg[column("source.line")], "3");

    let (status, errors_csv) = get(
        &server,
        &format!("/v1/jobs/{id}/errors?format=csv"),
        UPLOADER,
    );
    assert_eq!(status, 200);
    let mut reader = csv::Reader::from_reader(errors_csv.as_bytes());
    assert!(reader.headers().unwrap().iter().any(|h| h == "code"));
    assert_eq!(reader.records().count(), 7);

    let (status, text) = get(
        &server,
        &format!("/v1/jobs/{id}/records?format=pdf"),
        UPLOADER,
    );
    assert_eq!((status, error_code(&text).as_str()), (400, "bad-query"));
    let (status, content_type, workbook) = get_bytes(
        &server,
        &format!("/v1/jobs/{id}/records?format=xlsx"),
        UPLOADER,
    );
    assert_eq!(status, 200);
    assert!(content_type.contains("spreadsheetml"), "{content_type}");
    assert!(workbook.starts_with(b"PK\x03\x04"), "a workbook");

    // A JSON row is annotated as its text.
    let feed = std::fs::read(sample("swift-express.ndjson")).unwrap();
    // Named 出货.ndjson: the download keeps the name (RFC 6266 `filename*`).
    let job = submit_job(
        &server,
        UPLOADER,
        "plugin=swift-express&name=%E5%87%BA%E8%B4%A7.ndjson",
        &feed,
    );
    let feed_id = job_id(&job);
    wait_for(&server, &feed_id, UPLOADER, |j| j["state"] == "done");
    let response = agent()
        .get(format!("{}/v1/jobs/{feed_id}/records", server.base))
        .header("Authorization", format!("Bearer {UPLOADER}"))
        .call()
        .unwrap();
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains("filename*=UTF-8''%E5%87%BA%E8%B4%A7.ndjson.records.ndjson"),
        "{disposition}"
    );
    let (status, annotated) = get(&server, &format!("/v1/jobs/{feed_id}/annotated"), UPLOADER);
    assert_eq!(status, 200, "{annotated}");
    let mut reader = csv::Reader::from_reader(annotated.trim_start_matches('\u{FEFF}').as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["行号 line", "原始行 row", "问题 problems"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let (_, feed_errors) = get(&server, &format!("/v1/jobs/{feed_id}/errors"), UPLOADER);
    for error in ndjson(&feed_errors) {
        let line = error["line"].to_string();
        let row = rows.iter().find(|r| r[0] == *line).unwrap();
        assert!(row[2].contains(error["code"].as_str().unwrap()), "{row:?}");
    }
    let (status, text) = get(
        &server,
        &format!("/v1/jobs/{feed_id}/annotated?format=ods"),
        UPLOADER,
    );
    assert_eq!((status, error_code(&text).as_str()), (400, "bad-query"));
    let (content_type, wrong) = multipart(&[("attachment", Some("x.csv"), b"a")]);
    let (status, text) = post_typed(
        &server,
        "/v1/jobs?plugin=jinggong-parts",
        UPLOADER,
        &content_type,
        &wrong,
    );
    assert_eq!((status, error_code(&text).as_str()), (400, "bad-multipart"));
}

#[test]
fn a_job_name_with_a_folder_is_refused_before_the_upload_is_stored() {
    let server = configured("");
    let body = std::fs::read(sample("swift-express.ndjson")).unwrap();
    let (status, text) = post(
        &server,
        "/v1/jobs?plugin=swift-express&name=../x.ndjson",
        Some(UPLOADER),
        &body,
    );
    assert_eq!((status, error_code(&text).as_str()), (400, "bad-name"));
    let (content_type, multipart_body) = multipart(&[("file", Some("a\\b.ndjson"), &body)]);
    let (status, text) = post_typed(
        &server,
        "/v1/jobs?plugin=swift-express",
        UPLOADER,
        &content_type,
        &multipart_body,
    );
    assert_eq!((status, error_code(&text).as_str()), (400, "bad-name"));
    let left: Vec<_> = std::fs::read_dir(server.data_dir().join("jobs"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "nothing is stored: {left:?}");
}

/// The jinggong-parts sample case (its input, counts and expected files).
fn jinggong_sample() -> Case {
    cases::case("jinggong-parts", "sample")
}
