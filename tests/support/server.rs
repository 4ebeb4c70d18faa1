//! A real `conform serve` on 127.0.0.1:0 and an HTTP client for it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::*;

pub const UPLOADER: &str = "cf_test_uploader_token";
pub const PROVIDER: &str = "cf_test_provider_token";
pub const METRICS: &str = "cf_test_metrics_token";
/// An admin token (named `root`) every configured test server has.
pub const ADMIN: &str = "cf_test_root_admin_token";

pub struct Server {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// What it printed up to the listening line.
    pub stderr: Vec<String>,
    /// What it printed since (logs).
    pub log: Arc<Mutex<Vec<String>>>,
    /// The data directory, when this server owns it (a replica shares
    /// another's).
    data: Option<tempfile::TempDir>,
    dir: std::path::PathBuf,
}

impl Server {
    /// Kills the process at once (SIGKILL), keeping the data directory.
    pub fn crash(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.data.take().expect("the data directory is kept")
    }

    /// Asks the process to stop (SIGTERM) and waits for it, keeping the
    /// data directory.
    pub fn terminate(mut self) -> (std::process::ExitStatus, tempfile::TempDir) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        let status = self.child.wait().unwrap();
        (
            status,
            self.data.take().expect("the data directory is kept"),
        )
    }

    /// Kills the process at once (SIGKILL), keeping everything else.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The log lines printed so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn sha256(text: &str) -> String {
    conform_server::hash_token(text)
}

/// Starts the real binary on a port of the kernel's choosing. `config`
/// (TOML) is written first when given; otherwise the data directory is fresh.
pub fn start(config: Option<String>) -> Server {
    start_in(tempfile::tempdir().unwrap(), config)
}

/// Starts the server on a data directory (kept, for a restart).
pub fn start_in(data: tempfile::TempDir, config: Option<String>) -> Server {
    start_with_env(data, config, &[])
}

/// [`start_in`] with environment variables for the server.
pub fn start_with_env(
    data: tempfile::TempDir,
    config: Option<String>,
    env: &[(&str, &str)],
) -> Server {
    if let Some(config) = config {
        for pack in ["sample-regional", "sample-textile"] {
            copy_dir(
                &root().join("standards").join(pack),
                &data.path().join("packs").join(pack).join("1.0.0"),
            );
        }
        copy_dir(&plugins_dir(), &data.path().join("plugins"));
        std::fs::write(data.path().join("conform.toml"), config).unwrap();
    }
    let mut server = spawn(data.path(), env);
    server.data = Some(data);
    server
}

/// Another `conform serve` on the data directory of `of`, with
/// environment variables for it: a replica (the variables name the
/// database they share).
pub fn start_replica(of: &Server, env: &[(&str, &str)]) -> Server {
    spawn(of.data_dir(), env)
}

/// `conform serve` on `dir`, once it listens.
fn spawn(dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(super::binary("conform"))
        .current_dir(root())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .arg("--seed-plugins")
        .arg(plugins_dir())
        .env_remove("CONFORM_DATA")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut stderr = Vec::new();
    let base = loop {
        let Some(line) = lines.next() else {
            panic!(
                "the server ended before it listened; it printed:\n{}",
                stderr.join("\n")
            );
        };
        let line = line.unwrap();
        stderr.push(line.clone());
        if let Some(addr) = line.strip_prefix("conform: listening on ") {
            break addr.to_string();
        }
    };
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    Server {
        child,
        base,
        stderr,
        log,
        data: None,
        dir: dir.to_path_buf(),
    }
}

/// Opens `POST /v1/convert?plugin=…` with a chunked body, as the uploader;
/// the caller writes the chunks and reads the response.
pub fn chunked_upload(server: &Server, plugin: &str, read_timeout_secs: u64) -> TcpStream {
    let addr = server.base.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(read_timeout_secs)))
        .unwrap();
    let head = format!(
        "POST /v1/convert?plugin={plugin} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {UPLOADER}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).unwrap();
    socket
}

/// The admin token a fresh server wrote to its data directory (never to
/// the log stream).
pub fn admin_token(server: &Server) -> String {
    let text = std::fs::read_to_string(server.data_dir().join("admin.token"))
        .expect("a fresh server writes its admin token to `admin.token`");
    let token = text.trim().to_string();
    assert!(
        !server.stderr.iter().any(|l| l.contains(&token)),
        "the admin token is not on the log stream"
    );
    token
}

/// The tokens every configured test server has: an uploader, a provider,
/// a metrics reader and an admin.
pub fn test_tokens() -> String {
    format!(
        "[[tokens]]\nname = \"uploads\"\nsha256 = \"{}\"\nroles = [\"uploader\"]\n\n[[tokens]]\nname = \"provider\"\nsha256 = \"{}\"\nroles = [\"provider\"]\n\n[[tokens]]\nname = \"metrics\"\nsha256 = \"{}\"\nroles = [\"metrics\"]\n\n[[tokens]]\nname = \"root\"\nsha256 = \"{}\"\nroles = [\"admin\"]\n",
        sha256(UPLOADER),
        sha256(PROVIDER),
        sha256(METRICS),
        sha256(ADMIN)
    )
}

pub fn configured(extra: &str) -> Server {
    start(Some(format!("{}{extra}", test_tokens())))
}

/// Like [`configured`], with the hostile test plugin installed too.
pub fn configured_with_hostile(extra: &str) -> Server {
    let data = tempfile::tempdir().unwrap();
    copy_dir(&test_plugins_dir(), &data.path().join("plugins"));
    start_in(data, Some(format!("{}{extra}", test_tokens())))
}

/// Rows for the hostile plugin, one per action.
pub fn hostile_rows(actions: &[&str]) -> Vec<u8> {
    actions
        .iter()
        .map(|a| format!("{{\"action\":\"{a}\"}}\n"))
        .collect::<String>()
        .into_bytes()
}

/// `POST /v1/convert?plugin=…` with `body`, as the uploader.
pub fn convert(server: &Server, plugin: &str, body: &[u8]) -> (u16, String) {
    post(
        server,
        &format!("/v1/convert?plugin={plugin}"),
        Some(UPLOADER),
        body,
    )
}

/// `POST /v1/convert?plugin=…` with `body`, which must succeed: the
/// summary's converted and rejected counts.
pub fn converted_counts(server: &Server, plugin: &str, body: &[u8]) -> (Option<u64>, Option<u64>) {
    let (status, text) = convert(server, plugin, body);
    assert_eq!(status, 200, "{text}");
    let summary = super::ndjson(&text).pop().unwrap()["summary"].clone();
    (summary["converted"].as_u64(), summary["rejected"].as_u64())
}

/// The Prometheus text of `/metrics`.
pub fn metrics(server: &Server) -> String {
    agent()
        .get(format!("{}/metrics", server.base))
        .header("Authorization", format!("Bearer {METRICS}"))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap()
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

pub fn post(server: &Server, path: &str, token: Option<&str>, body: &[u8]) -> (u16, String) {
    let mut request = agent().post(format!("{}{path}", server.base));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request.send(body).unwrap();
    let status = response.status().as_u16();
    (status, response.into_body().read_to_string().unwrap())
}

/// `POST /v1/jobs?{query}` with `body` as `token`, which must be accepted
/// (202); the job.
pub fn submit_job(server: &Server, token: &str, query: &str, body: &[u8]) -> Value {
    let (status, text) = post(server, &format!("/v1/jobs?{query}"), Some(token), body);
    assert_eq!(status, 202, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The id of a job as the API shows it.
pub fn job_id(job: &Value) -> String {
    job["id"].as_str().expect("a job has an id").to_string()
}

pub fn error_code(body: &str) -> String {
    let v: Value =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("a JSON error body, got {body:?}"));
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    v["code"].as_str().unwrap().to_string()
}

pub fn get(server: &Server, path: &str, token: &str) -> (u16, String) {
    let (status, _, body) = get_bytes(server, path, token);
    (status, String::from_utf8(body).expect("a text body"))
}

/// `GET path` as `token`: the status, the content type and the body's bytes.
pub fn get_bytes(server: &Server, path: &str, token: &str) -> (u16, String, Vec<u8>) {
    let response = agent()
        .get(format!("{}{path}", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response
        .into_body()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    (status, content_type, body)
}

pub fn wait_for(server: &Server, id: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (status, text) = get(server, &format!("/v1/jobs/{id}"), token);
        assert_eq!(status, 200, "{text}");
        let job: Value = serde_json::from_str(&text).unwrap();
        if done(&job) {
            return job;
        }
        assert!(std::time::Instant::now() < deadline, "job stuck: {job}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A multipart/form-data body of `(name, file name, bytes)` parts, and its
/// content type.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "conform-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, file_name, bytes) in parts {
        write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\""
        )
        .unwrap();
        if let Some(file_name) = file_name {
            write!(body, "; filename=\"{file_name}\"").unwrap();
        }
        body.extend_from_slice(b"\r\nContent-Type: application/octet-stream\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    write!(body, "--{boundary}--\r\n").unwrap();
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// POSTs a body with a content type, as `token`.
pub fn post_typed(
    server: &Server,
    path: &str,
    token: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    let response = agent()
        .post(format!("{}{path}", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", content_type)
        .send(body)
        .unwrap();
    let status = response.status().as_u16();
    (status, response.into_body().read_to_string().unwrap())
}

/// The sample pack as a tar.gz, with `edit` applied to (relative path, text).
pub fn pack_archive(edit: impl Fn(&str, String) -> String) -> Vec<u8> {
    pack_archive_of("sample-regional", &[], edit)
}

/// The sample pack `pack` (a folder of `standards/`) as a tar.gz, with
/// `extra` files (relative path, text) added and `edit` applied to
/// (relative path, text).
pub fn pack_archive_of(
    pack: &str,
    extra: &[(&str, &str)],
    edit: impl Fn(&str, String) -> String,
) -> Vec<u8> {
    let source = root().join("standards").join(pack);
    let mut tar = tar::Builder::new(Vec::new());
    let mut append = |relative: &str, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{pack}/{relative}"), data)
            .unwrap();
    };
    for (relative, text) in extra {
        append(relative, text.as_bytes());
    }
    for sub in ["", "schemas", "rules"] {
        let mut names: Vec<_> = std::fs::read_dir(source.join(sub))
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        names.sort();
        for name in names {
            let relative = if sub.is_empty() {
                name.clone()
            } else {
                format!("{sub}/{name}")
            };
            let text = std::fs::read_to_string(source.join(&relative)).unwrap();
            append(&relative, edit(&relative, text).as_bytes());
        }
    }
    gzip(&tar.into_inner().unwrap())
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// The sample pack at `version`, with `edit` applied to the text of `file`.
pub fn pack_variant(version: &str, file: &str, edit: impl Fn(String) -> String) -> Vec<u8> {
    pack_archive(|path, text| {
        let text = if path == "pack.toml" {
            text.replace("version = \"1.0.0\"", &format!("version = \"{version}\""))
        } else {
            text
        };
        if path == file {
            edit(text)
        } else {
            text
        }
    })
}

/// A version of the sample pack with another rounding of parts' lengths.
pub fn pack_version(version: &str, length_decimals: u32) -> Vec<u8> {
    pack_archive(|path, text| match path {
        "pack.toml" => text.replace("version = \"1.0.0\"", &format!("version = \"{version}\"")),
        "rules/units.toml" => text.replace(
            "length_mm = { unit = \"mm\", decimals = 2 }",
            &format!("length_mm = {{ unit = \"mm\", decimals = {length_decimals} }}"),
        ),
        _ => text,
    })
}

pub const PUBLISHER: &str = "cf_test_publisher_token";

/// A configured server with a publisher token too, `standards-office`,
/// which owns the sample pack's id (the operator gave it).
pub fn server_with_publisher(extra: &str) -> Server {
    let server = configured(&format!(
        "[[tokens]]\nname = \"standards-office\"\nsha256 = \"{}\"\nroles = [\"publisher\"]\n{extra}",
        conform_server::hash_token(PUBLISHER)
    ));
    let (status, text) = put_json(
        &server,
        "/v1/packs/sample-regional/owner",
        ADMIN,
        r#"{"owner":"standards-office"}"#,
    );
    assert_eq!(status, 200, "{text}");
    server
}

/// `PUT` of a JSON body, as `token`.
pub fn put_json(server: &Server, path: &str, token: &str, body: &str) -> (u16, String) {
    let response = agent()
        .put(format!("{}{path}", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap();
    let status = response.status().as_u16();
    (status, response.into_body().read_to_string().unwrap())
}

/// The built plugin `name`: its manifest text and component.
pub fn built_plugin(name: &str) -> (String, Vec<u8>) {
    built_plugin_in(&plugins_dir(), name)
}

/// The built plugin `name`, renamed and re-versioned.
pub fn plugin_variant(name: &str, new_name: &str, version: &str) -> (String, Vec<u8>) {
    let (manifest, component) = built_plugin(name);
    let manifest = manifest
        .replace(
            &format!("name = \"{name}\""),
            &format!("name = \"{new_name}\""),
        )
        .replace("version = \"0.1.0\"", &format!("version = \"{version}\""));
    (manifest, component)
}

/// The built plugin `name` of a folder of built plugins.
pub fn built_plugin_in(plugins: &std::path::Path, name: &str) -> (String, Vec<u8>) {
    let dir = plugins.join(name);
    let manifest = std::fs::read_to_string(dir.join("plugin.toml")).unwrap();
    let component = std::fs::read(dir.join(format!("{name}.wasm"))).unwrap();
    (manifest, component)
}

/// `POST /v1/plugins` with a manifest and a component, as `token`.
pub fn publish_plugin(
    server: &Server,
    token: &str,
    manifest: &str,
    component: &[u8],
) -> (u16, Value) {
    let (content_type, body) = multipart(&[
        ("manifest", None, manifest.as_bytes()),
        ("component", Some("plugin.wasm"), component),
    ]);
    let (status, text) = post_typed(server, "/v1/plugins", token, &content_type, &body);
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON, got {text:?}")),
    )
}

/// Lowercase hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// `POST /v1/packs` with a tar.gz, as `token`.
pub fn publish_pack(server: &Server, token: &str, archive: &[u8]) -> (u16, Value) {
    let (status, text) = post_typed(server, "/v1/packs", token, "application/gzip", archive);
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON, got {text:?}")),
    )
}

/// `rows` rows of the swift-express format (NDJSON waybills).
pub fn waybills(rows: u64) -> String {
    let mut text = String::new();
    for i in 0..rows {
        let service = ["next-day", "2-day", "economy", "same-day"][(i % 4) as usize];
        text += &format!(
            "{{\"waybill\":\"SWX{i:010}\",\"service\":\"{service}\",\"picked_up_ms\":{},\"from\":\"370200\",\"to\":\"310000\",\"weight_lb\":{}.5,\"pieces\":1,\"pkg\":\"carton\"}}\n",
            1_793_664_300_000 + i * 60_000,
            i % 900
        );
    }
    text
}

/// The records `conform convert --plugin PLUGIN` writes for `input`: what
/// a job of the same file must give.
pub fn cli_records(plugin: &str, input: &std::path::Path) -> String {
    let folder = tempfile::tempdir().unwrap();
    let expected = folder.path().join("expected.ndjson");
    let output = conform()
        .args([
            "convert",
            "--plugin",
            plugin,
            "--errors",
            "/dev/null",
            "--output",
        ])
        .arg(&expected)
        .arg(input)
        .output()
        .unwrap();
    expect_exit(&output, 0);
    std::fs::read_to_string(expected).unwrap()
}
