//! Attacks on the trust boundaries, each driven against the real server the
//! way an attacker would: a publisher naming server files in a pack, a
//! provider taking over another's plugin name, a plugin flooding problems
//! and log lines or writing records that say two things, a component that
//! takes minutes to compile, a job that kills the process. SECURITY.md
//! lists each threat with the test here that proves its limit.

use std::time::{Duration, Instant};

use crate::support::server::*;
use crate::support::*;
use serde_json::Value;

const RIVAL: &str = "cf_test_rival_token";
const ROOT: &str = ADMIN;

/// A token beyond the test defaults: a second provider and publisher.
fn rival() -> String {
    format!(
        "[[tokens]]\nname = \"rival\"\nsha256 = \"{}\"\nroles = [\"provider\", \"publisher\"]\n",
        sha256(RIVAL)
    )
}

fn summary_of(text: &str) -> Value {
    ndjson(text).last().unwrap()["summary"].clone()
}

#[test]
fn a_pack_naming_files_outside_itself_is_refused_without_quoting_them() {
    let server = server_with_publisher("");
    let attacks = [
        (
            "file = \"rules/time.toml\"",
            "file = \"/proc/self/environ\"",
            "tables.time",
        ),
        (
            "file = \"rules/units.toml\"",
            "file = \"../../../../../../../../etc/hostname\"",
            "tables.units",
        ),
        (
            "part = \"schemas/part.schema.json\"",
            "part = \"/dev/zero\"",
            "record_types.part",
        ),
    ];
    for (from, to, entry) in attacks {
        let archive = pack_variant("1.1.0", "pack.toml", |t| t.replace(from, to));
        let started = Instant::now();
        let (status, body) = publish_pack(&server, PUBLISHER, &archive);
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("pack-invalid")),
            "{body}"
        );
        let text = body.to_string();
        assert!(text.contains(entry), "the error names `{entry}`: {text}");
        assert!(
            !text.contains("PATH="),
            "no byte of the environment: {text}"
        );
        let data = server.data_dir().display().to_string();
        assert!(!text.contains(&data), "no server path: {text}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "/dev/zero is never read"
        );
    }
    let (status, _) = get(&server, "/v1/packs/sample-regional/1.1.0", UPLOADER);
    assert_eq!(status, 404, "nothing was installed");
}

#[test]
fn plugin_names_belong_to_their_first_provider_across_restarts() {
    let server = configured(&rival());
    let (manifest, component) = plugin_variant("jinggong-parts", "acme-parts", "1.0.0");
    let (status, body) = publish_plugin(&server, PROVIDER, &manifest, &component);
    assert_eq!(status, 201, "{body}");

    // Another provider cannot publish a new version of the name, nor of a
    // seeded first-party plugin (owned by the operator).
    let (manifest_b, _) = plugin_variant("jinggong-parts", "acme-parts", "1.1.0");
    let (status, body) = publish_plugin(&server, RIVAL, &manifest_b, &component);
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("plugin-owned")),
        "{body}"
    );
    let (seeded, _) = plugin_variant("jinggong-parts", "jinggong-parts", "0.2.0");
    let (status, body) = publish_plugin(&server, RIVAL, &seeded, &component);
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("plugin-owned")),
        "{body}"
    );
    let (_, text) = get(&server, "/v1/plugins/acme-parts", UPLOADER);
    let shown: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown["versions"], serde_json::json!(["1.0.0"]));
    assert_eq!(shown["owner"], "provider");

    // Ownership survives a restart.
    let (_, data) = server.terminate();
    let server = start_in(data, None);
    let (status, body) = publish_plugin(&server, RIVAL, &manifest_b, &component);
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("plugin-owned")),
        "{body}"
    );

    // Only an admin transfers a name; then the new owner publishes and the
    // old one cannot.
    let transfer = r#"{"owner":"rival"}"#;
    let (status, _) = put_json(&server, "/v1/plugins/acme-parts/owner", PROVIDER, transfer);
    assert_eq!(status, 403);
    let (status, text) = put_json(
        &server,
        "/v1/plugins/acme-parts/owner",
        ROOT,
        r#"{"owner":"uploads"}"#,
    );
    assert_eq!((status, error_code(&text).as_str()), (400, "bad-owner"));
    let (status, text) = put_json(&server, "/v1/plugins/acme-parts/owner", ROOT, transfer);
    assert_eq!(status, 200, "{text}");
    let (status, body) = publish_plugin(&server, RIVAL, &manifest_b, &component);
    assert_eq!(status, 201, "{body}");
    let (manifest_c, _) = plugin_variant("jinggong-parts", "acme-parts", "1.2.0");
    let (status, body) = publish_plugin(&server, PROVIDER, &manifest_c, &component);
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("plugin-owned")),
        "{body}"
    );

    // The operator's names are published with an admin token.
    let (status, body) = publish_plugin(&server, ROOT, &seeded, &component);
    assert_eq!(status, 201, "{body}");
}

#[test]
fn pack_ids_belong_to_their_first_publisher() {
    let server = server_with_publisher(&rival());
    // The sample pack's id is the standards office's: a rival cannot slip a
    // new version under every conversion that uses it.
    let (status, body) = publish_pack(&server, RIVAL, &pack_version("1.1.0", 0));
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("pack-owned")),
        "{body}"
    );
    let (status, _) = get(&server, "/v1/packs/sample-regional/1.1.0", UPLOADER);
    assert_eq!(status, 404);
    let (status, body) = publish_pack(&server, PUBLISHER, &pack_version("1.1.0", 1));
    assert_eq!(status, 201, "{body}");
    // A new id belongs to whoever publishes it first.
    let acme = |version: &str| {
        pack_variant(version, "pack.toml", |t| {
            t.replace("id = \"sample-regional\"", "id = \"acme-standard\"")
        })
    };
    let (status, body) = publish_pack(&server, RIVAL, &acme("1.0.0"));
    assert_eq!(status, 201, "{body}");
    let (status, body) = publish_pack(&server, PUBLISHER, &acme("1.0.1"));
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("pack-owned")),
        "{body}"
    );
    // A name given to an admin token would be stranded: refused.
    let (status, text) = put_json(
        &server,
        "/v1/packs/acme-standard/owner",
        ROOT,
        r#"{"owner":"root"}"#,
    );
    assert_eq!(
        (status, error_code(&text).as_str()),
        (400, "bad-owner"),
        "{text}"
    );
}

#[test]
fn a_compiled_plugin_is_checked_against_every_pack_it_runs_with() {
    let server = server_with_publisher("");
    let file = std::fs::read(sample("swift-express.ndjson")).unwrap();
    assert_eq!(convert(&server, "swift-express", &file).0, 200);
    // A newer pack in its range without the record type it emits: the
    // plugin, compiled already, is refused rather than run.
    let archive = pack_archive(|path, text| match path {
        "pack.toml" => text
            .replace("version = \"1.0.0\"", "version = \"1.1.0\"")
            .replace("shipment = \"schemas/shipment.schema.json\"\n", ""),
        "rules/units.toml" => text.split("[fields.shipment]").next().unwrap().to_string(),
        _ => text,
    });
    let (status, body) = publish_pack(&server, PUBLISHER, &archive);
    assert_eq!(status, 201, "{body}");
    let (status, text) = convert(&server, "swift-express", &file);
    assert_eq!(
        (status, error_code(&text).as_str()),
        (422, "plugin-unusable"),
        "{text}"
    );
    assert!(text.contains("shipment"), "{text}");
    // Pinned to the pack it fits, it still runs.
    let path = "/v1/convert?plugin=swift-express&pack=sample-regional@1.0.0";
    assert_eq!(post(&server, path, Some(UPLOADER), &file).0, 200);
}

#[test]
fn uploaders_pin_the_plugin_and_pack_versions_that_run() {
    let server = server_with_publisher(&rival());
    let (status, body) = publish_pack(&server, PUBLISHER, &pack_version("1.1.0", 1));
    assert_eq!(status, 201, "{body}");
    let (manifest, component) = plugin_variant("jinggong-parts", "jinggong-parts", "0.2.0");
    let (status, body) = publish_plugin(&server, ROOT, &manifest, &component);
    assert_eq!(status, 201, "{body}");
    let file = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    let length = |text: &str| {
        ndjson(text)
            .iter()
            .find(|l| l["record"]["part_no"] == "JG-10024")
            .map(|l| l["record"]["length_mm"].as_f64().unwrap())
            .unwrap()
    };

    // Without pins, the newest of both.
    let (status, text) = convert(&server, "jinggong-parts", &file);
    assert_eq!(status, 200, "{text}");
    let summary = summary_of(&text);
    assert_eq!(summary["plugin_version"], "0.2.0");
    assert_eq!(summary["pack"]["version"], "1.1.0");
    assert_eq!(length(&text), 31.8);

    // Pinned, exactly what was asked for.
    let path = "/v1/convert?plugin=jinggong-parts@0.1.0&pack=sample-regional@1.0.0";
    let (status, text) = post(&server, path, Some(UPLOADER), &file);
    assert_eq!(status, 200, "{text}");
    let summary = summary_of(&text);
    assert_eq!(summary["plugin_version"], "0.1.0");
    assert_eq!(summary["pack"]["version"], "1.0.0");
    assert_eq!(length(&text), 31.75);

    for (query, status, code) in [
        ("plugin=jinggong-parts@9.9.9", 404, "unknown-plugin"),
        (
            "plugin=jinggong-parts&pack=sample-regional@3.0.0",
            422,
            "no-matching-pack",
        ),
        (
            "plugin=jinggong-parts&pack=other-pack@1.0.0",
            422,
            "no-matching-pack",
        ),
        (
            "plugin=jinggong-parts&pack=sample-regional",
            400,
            "bad-query",
        ),
        ("plugin=jinggong-parts@latest", 400, "bad-query"),
        ("plugin=jinggong-parts&plugn=x", 400, "bad-query"),
    ] {
        for route in ["/v1/convert", "/v1/jobs"] {
            let (got, text) = post(&server, &format!("{route}?{query}"), Some(UPLOADER), &file);
            assert_eq!(
                (got, error_code(&text).as_str()),
                (status, code),
                "{route}?{query}: {text}"
            );
        }
    }

    // Every route refuses a parameter it does not take.
    for path in ["/v1/plugins?evil=1", "/v1/jobs?state=done", "/healthz?x=1"] {
        let (status, text) = get(&server, path, UPLOADER);
        assert_eq!(
            (status, error_code(&text).as_str()),
            (400, "bad-query"),
            "{path}: {text}"
        );
    }

    // A job records the pinned versions.
    let query = "plugin=jinggong-parts@0.1.0&pack=sample-regional@1.0.0";
    let job = submit_job(&server, UPLOADER, query, &file);
    assert_eq!(
        (job["plugin_version"].as_str(), job["pack_version"].as_str()),
        (Some("0.1.0"), Some("1.0.0"))
    );
    let id = job["id"].as_str().unwrap();
    let done = wait_for(&server, id, UPLOADER, |j| j["state"] == "done");
    assert_eq!(done["rows_in"], 13, "{done}");
    let (_, records) = get(&server, &format!("/v1/jobs/{id}/records"), UPLOADER);
    assert_eq!(length(&records), 31.75);
}

#[test]
fn a_plugin_flooding_problems_costs_only_its_rows_and_reports_are_capped() {
    let server = configured_with_hostile("[limits]\nmax_report_lines_per_code = 5\n");
    let mut actions = vec!["flood-problems", "ok"];
    actions.extend(std::iter::repeat_n("nope", 20));
    let (status, text) = convert(&server, "hostile", &hostile_rows(&actions));
    assert_eq!(status, 200, "{text}");
    assert!(
        text.len() < 32 * 1024,
        "the response stays small: {} bytes",
        text.len()
    );
    let lines = ndjson(&text);
    let rejections: Vec<&Value> = lines.iter().filter_map(|l| l.get("rejection")).collect();
    let of_code = |code: &str| rejections.iter().filter(|r| r["code"] == code).count();
    // The flooding row: 15 problems shown (5 of them listed: the cap per
    // code) and one saying how many more it had.
    assert_eq!(of_code("more-problems"), 1);
    let more = rejections
        .iter()
        .find(|r| r["code"] == "more-problems")
        .unwrap();
    assert!(
        more["message"].as_str().unwrap().contains("149985 more"),
        "{more}"
    );
    assert_eq!(of_code("plugin-invalid-code"), 5);
    assert_eq!(of_code("unknown-action"), 5);
    let truncated: Vec<&&Value> = rejections
        .iter()
        .filter(|r| r["code"] == "report-truncated")
        .collect();
    assert_eq!(truncated.len(), 2, "{truncated:?}");
    let unknown = truncated
        .iter()
        .find(|r| r["field"] == "unknown-action")
        .unwrap();
    assert!(
        unknown["message"].as_str().unwrap().starts_with("15 more"),
        "{unknown}"
    );
    let summary = summary_of(&text);
    assert_eq!(
        (
            summary["rows_in"].as_u64(),
            summary["converted"].as_u64(),
            summary["rejected"].as_u64()
        ),
        (Some(22), Some(1), Some(21))
    );
    assert_eq!(summary["rejections_omitted"], 25);
    // Codes invented row by row share one bucket: the report stays bounded.
    let rows = hostile_rows(&vec!["fake-fault-codes"; 200]);
    let (status, text) = convert(&server, "hostile", &rows);
    assert_eq!(status, 200);
    let lines = ndjson(&text);
    let rejections: Vec<&Value> = lines.iter().filter_map(|l| l.get("rejection")).collect();
    assert!(rejections.len() <= 20 + 33, "{} lines", rejections.len());
    assert!(
        rejections
            .iter()
            .any(|r| r["code"] == "report-truncated" && r["field"] == "(other codes)"),
        "{rejections:?}"
    );
    assert_eq!(summary_of(&text)["rejected"], 200);
    let (status, _) = get(&server, "/healthz", UPLOADER);
    assert_eq!(status, 200, "the server keeps serving");
}

#[test]
fn metrics_and_logs_carry_no_plugin_chosen_text() {
    let server = configured_with_hostile("");
    // The trap makes the batch run again row by row: the log budget holds
    // for the whole batch, retries included.
    let rows = hostile_rows(&[
        "fake-fault-codes",
        "fake-fault-codes",
        "flood-log",
        "flood-log",
        "panic",
        "ok",
    ]);
    let (status, text) = convert(&server, "hostile", &rows);
    assert_eq!(status, 200, "{text}");
    assert_eq!(summary_of(&text)["converted"], 3);

    let response = agent()
        .get(format!("{}/metrics", server.base))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 401, "metrics need a token");
    let (status, _) = get(&server, "/metrics", UPLOADER);
    assert_eq!(status, 403, "an uploader does not read metrics");
    let metrics = metrics(&server);
    assert!(!metrics.contains("evil"), "{metrics}");
    assert!(
        metrics.contains("conform_plugin_faults_total{plugin=\"hostile\",code=\"other\"} 20"),
        "{metrics}"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let dropped = loop {
        let lines = server.log_lines();
        if let Some(line) = lines
            .iter()
            .find(|l| l.contains("plugin log messages dropped"))
        {
            break line.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no line about dropped messages: {lines:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(dropped.contains("39980"), "{dropped}");
    let lines = server.log_lines();
    let from_plugin = lines
        .iter()
        .filter(|l| l.contains("FORGED-LOG-LINE"))
        .count();
    assert_eq!(from_plugin, 20, "at most 20 messages per batch");
    for line in &lines {
        assert!(
            !line.trim_start().starts_with("FORGED"),
            "a forged line: {line}"
        );
        assert!(
            !line.contains('\u{1b}'),
            "a terminal escape reached the log: {line:?}"
        );
    }
}

#[test]
fn records_are_written_exactly_as_they_were_validated() {
    let server = configured_with_hostile("");
    let rows = hostile_rows(&["duplicate-key", "inexact-number", "decimal-integer"]);
    let (status, text) = convert(&server, "hostile", &rows);
    assert_eq!(status, 200, "{text}");
    let lines = ndjson(&text);
    let rejection = |line: u64| {
        lines
            .iter()
            .filter_map(|l| l.get("rejection"))
            .find(|r| r["line"] == line)
            .unwrap_or_else(|| panic!("row {line} is rejected: {text}"))
            .clone()
    };
    let duplicate = rejection(1);
    assert_eq!(duplicate["code"], "plugin-output");
    assert!(
        duplicate["message"]
            .as_str()
            .unwrap()
            .contains("`packaging` appears twice"),
        "{duplicate}"
    );
    let inexact = rejection(2);
    assert!(
        inexact["message"]
            .as_str()
            .unwrap()
            .contains("held exactly"),
        "{inexact}"
    );
    let written = text
        .lines()
        .find(|l| l.contains("\"record_type\""))
        .expect("row 3 converts");
    assert!(
        written.contains("\"quantity_per_package\":20,"),
        "an integer is written as one: {written}"
    );
}

/// A component with `functions` empty functions, and a manifest for it.
fn heavy_component(functions: usize) -> (String, Vec<u8>) {
    let mut wat = String::from("(component (core module");
    for _ in 0..functions {
        wat.push_str(" (func)");
    }
    wat.push_str("))");
    let wasm = wat::parse_str(&wat).unwrap();
    let (manifest, _) = plugin_variant("jinggong-parts", "heavy", "1.0.0");
    let (_, real) = built_plugin("jinggong-parts");
    let manifest = manifest.replace(&sha256_hex(&real), &sha256_hex(&wasm));
    (manifest, wasm)
}

fn cached_entries(server: &Server) -> usize {
    std::fs::read_dir(server.data_dir().join("cache"))
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            })
            .count()
        })
        .unwrap_or(0)
}

#[test]
fn compiling_is_capped_off_the_request_path_and_refusals_leave_nothing() {
    // With a cold cache the server answers at once and compiles in the
    // background (before, it compiled every plugin before listening).
    let started = Instant::now();
    let server = configured("[limits]\ncompile_seconds = 2\nmax_component_bytes = 3000000\n");
    assert_eq!(get(&server, "/healthz", UPLOADER).0, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "up after {:?}",
        started.elapsed()
    );
    // Let the warm-up finish, so that the cache is counted after it.
    let file = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    assert_eq!(convert(&server, "jinggong-parts", &file).0, 200);
    let deadline = Instant::now() + Duration::from_secs(60);
    while cached_entries(&server) < plugin_names(&plugins_dir()).len() {
        assert!(Instant::now() < deadline, "the warm-up does not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = cached_entries(&server);

    let (manifest, wasm) = heavy_component(300_000);
    let publishing = {
        let base = server.base.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let (content_type, body) = multipart(&[
                ("manifest", None, manifest.as_bytes()),
                ("component", Some("plugin.wasm"), &wasm),
            ]);
            let response = agent()
                .post(format!("{base}/v1/plugins"))
                .header("Authorization", format!("Bearer {PROVIDER}"))
                .header("Content-Type", content_type)
                .send(&body[..])
                .unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.into_body().read_to_string().unwrap(),
                started.elapsed(),
            )
        })
    };
    // Meanwhile the server answers, and converts.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let (status, _) = get(&server, "/healthz", UPLOADER);
    assert_eq!(status, 200);
    assert_eq!(convert(&server, "jinggong-parts", &file).0, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "requests wait for no compilation"
    );

    let (status, text, took) = publishing.join().unwrap();
    assert_eq!(
        (status, error_code(&text).as_str()),
        (422, "plugin-too-complex"),
        "{text}"
    );
    assert!(
        took < Duration::from_secs(30),
        "stopped at the cap: {took:?}"
    );
    assert_eq!(
        cached_entries(&server),
        before,
        "a refused component is not cached"
    );
    assert!(!server.data_dir().join("plugins/heavy-1.0.0").exists());
    let (status, _) = get(&server, "/v1/plugins/heavy", UPLOADER);
    assert_eq!(status, 404);

    // Over the size cap: refused before compiling.
    let (manifest, wasm) = heavy_component(1_000_000);
    assert!(wasm.len() > 3_000_000);
    let (status, body) = publish_plugin(&server, PROVIDER, &manifest, &wasm);
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("plugin-too-complex")),
        "{body}"
    );
}

#[test]
fn compiling_is_capped_in_memory() {
    let server = configured("[limits]\ncompile_memory_mib = 128\n");
    // An ordinary plugin compiles within the cap.
    let dir = test_plugins_dir().join("hostile");
    let manifest = std::fs::read_to_string(dir.join("plugin.toml"))
        .unwrap()
        .replace("name = \"hostile\"", "name = \"ordinary\"");
    let component = std::fs::read(dir.join("hostile.wasm")).unwrap();
    let (status, body) = publish_plugin(&server, PROVIDER, &manifest, &component);
    assert_eq!(status, 201, "{body}");
    // One of 300 000 functions does not.
    let (manifest, wasm) = heavy_component(300_000);
    let started = Instant::now();
    let (status, body) = publish_plugin(&server, PROVIDER, &manifest, &wasm);
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("plugin-too-complex")),
        "{body}"
    );
    let why = body["details"]["why"].as_str().unwrap_or_default();
    assert!(why.contains("128 MiB"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    // The server itself was never at risk, and goes on.
    let file = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    assert_eq!(convert(&server, "jinggong-parts", &file).0, 200);
}

#[test]
fn the_job_time_limit_holds_inside_a_plugin_call() {
    let server = configured_with_hostile("[limits]\nmax_job_seconds = 2\n");
    // A plugin allowed 30 s per call: before, one looping row held its job
    // for a minute whatever the job's limit.
    let dir = test_plugins_dir().join("hostile");
    let manifest = std::fs::read_to_string(dir.join("plugin.toml"))
        .unwrap()
        .replace("name = \"hostile\"", "name = \"slowpoke\"")
        .replace("batch_millis = 300", "batch_millis = 30000");
    let component = std::fs::read(dir.join("hostile.wasm")).unwrap();
    let (status, body) = publish_plugin(&server, PROVIDER, &manifest, &component);
    assert_eq!(status, 201, "{body}");
    let started = Instant::now();
    let rows = hostile_rows(&["ok", "loop", "ok"]);
    let id = job_id(&submit_job(&server, UPLOADER, "plugin=slowpoke", &rows));
    let job = wait_for(&server, &id, UPLOADER, |j| {
        j["state"] != "queued" && j["state"] != "running"
    });
    assert_eq!(
        (job["state"].as_str(), job["error_code"].as_str()),
        (Some("failed"), Some("time-limit")),
        "{job}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stopped after {:?}",
        started.elapsed()
    );
}

#[test]
fn schema_patterns_run_in_linear_time_and_unit_tables_are_total() {
    let server = server_with_publisher("");
    // 300 patterns that backtrack exponentially on a name of `a`s and a `!`.
    let slow = (0..300)
        .map(|i| format!("{{\"pattern\": \"^(a+)+{i}?$\"}}"))
        .collect::<Vec<_>>()
        .join(", ");
    let archive = pack_variant("1.1.0", "schemas/part.schema.json", |t| {
        t.replacen(
            "\"name\": { \"type\": \"string\",",
            &format!("\"name\": {{ \"type\": \"string\", \"allOf\": [{slow}],"),
            1,
        )
    });
    let (status, body) = publish_pack(&server, PUBLISHER, &archive);
    assert_eq!(status, 201, "{body}");
    // The sample export is GB18030: rows of `a`s appended, as its exporter would.
    let bytes = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
    let mut csv = text.into_owned();
    let line = csv.lines().nth(1).unwrap().to_string();
    let name = line.split(',').nth(1).unwrap().to_string();
    for _ in 0..12 {
        csv.push_str(&line.replacen(&name, &format!("{}!", "a".repeat(28)), 1));
        csv.push('\n');
    }
    let (csv, _, _) = encoding_rs::GB18030.encode(&csv);
    let started = Instant::now();
    let (status, text) = convert(&server, "jinggong-parts", &csv);
    assert_eq!(status, 200, "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(summary_of(&text)["pack"]["version"], "1.1.0");

    // A pattern that needs backtracking is refused when published; so is a
    // unit factor beyond exact arithmetic, naming its entry.
    let lookahead = pack_variant("1.2.0", "schemas/part.schema.json", |t| {
        t.replacen(
            "\"name\": { \"type\": \"string\",",
            "\"name\": { \"type\": \"string\", \"pattern\": \"^(?=a)\\\\w+$\",",
            1,
        )
    });
    let overflow = pack_variant("1.3.0", "rules/units.toml", |t| {
        let big = "\"big\" = { factor = \"10000000000000000\", unit = \"kg\" }";
        let bigger = "\"bigger\" = { factor = \"10000000000000000\", unit = \"big\" }";
        t.replacen("[units]\n", &format!("[units]\n{big}\n{bigger}\n"), 1)
    });
    for (archive, names) in [(lookahead, "part"), (overflow, "units.bigger")] {
        let (status, body) = publish_pack(&server, PUBLISHER, &archive);
        let code = body["code"].as_str();
        assert_eq!((status, code), (422, Some("pack-invalid")), "{body}");
        assert!(body.to_string().contains(names), "{body}");
    }
    assert_eq!(get(&server, "/healthz", UPLOADER).0, 200);
}

#[test]
fn a_job_running_whenever_the_server_dies_fails_after_two_attempts() {
    let server = configured_with_hostile("");
    let rows = hostile_rows(&vec!["slow"; 5000]);
    let id = job_id(&submit_job(&server, UPLOADER, "plugin=hostile", &rows));
    let mut server = server;
    for _ in 0..2 {
        wait_for(&server, &id, UPLOADER, |j| j["state"] == "running");
        let data = server.crash();
        server = start_in(data, None);
    }
    let job = wait_for(&server, &id, UPLOADER, |j| {
        j["state"] != "queued" && j["state"] != "running"
    });
    assert_eq!(
        (job["state"].as_str(), job["error_code"].as_str()),
        (Some("failed"), Some("job-crashed")),
        "{job}"
    );
    // The server goes on serving other work.
    let file = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    assert_eq!(convert(&server, "jinggong-parts", &file).0, 200);
}

#[test]
fn the_server_keeps_its_files_private_and_its_paths_to_itself() {
    let server = start(None);
    let admin = admin_token(&server);
    let file = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    let id = job_id(&submit_job(&server, &admin, "plugin=jinggong-parts", &file));
    wait_for(&server, &id, &admin, |j| j["state"] == "done");
    let (status, _) = get(
        &server,
        &format!("/v1/jobs/{id}/records?format=csv"),
        &admin,
    );
    assert_eq!(status, 200);
    let (status, body) = publish_pack(&server, &admin, &pack_version("1.1.0", 1));
    assert_eq!(status, 201, "{body}");
    let (manifest, component) = plugin_variant("jinggong-parts", "jinggong-parts", "0.2.0");
    assert_eq!(
        publish_plugin(&server, &admin, &manifest, &component).0,
        201
    );

    fn walk(dir: &std::path::Path, found: &mut Vec<(std::path::PathBuf, u32)>) {
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            found.push((path.clone(), meta.permissions().mode()));
            if meta.is_dir() {
                walk(&path, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(server.data_dir(), &mut found);
    assert!(found.len() > 20, "{found:?}");
    let open: Vec<_> = found.iter().filter(|(_, mode)| mode & 0o077 != 0).collect();
    assert!(open.is_empty(), "readable by others: {open:?}");

    // Errors never show where the server keeps things.
    let data = server
        .data_dir()
        .canonicalize()
        .unwrap()
        .display()
        .to_string();
    let broken = pack_variant("1.4.0", "pack.toml", |t| {
        t.replace("rules/time.toml", "rules/missing.toml")
    });
    let (_, body) = publish_pack(&server, &admin, &broken);
    let (_, unknown) = post(
        &server,
        "/v1/convert?plugin=no-such-plugin",
        Some(&admin),
        b"x",
    );
    for text in [body.to_string(), unknown] {
        assert!(!text.contains(&data) && !text.contains("/tmp/"), "{text}");
    }
}

#[test]
fn a_malformed_token_digest_stops_the_server_at_start_naming_the_entry() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        data.path().join("conform.toml"),
        "[[tokens]]\nname = \"acme\"\nsha256 = \"not-a-digest\"\nroles = [\"uploader\"]\n",
    )
    .unwrap();
    let output = std::process::Command::new(binary("conform"))
        .current_dir(root())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("tokens[0]") && stderr.contains("sha256"),
        "{stderr}"
    );
}
