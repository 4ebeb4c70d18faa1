//! A Conform server as a provider or publisher reaches it: publish a plugin
//! (`POST /v1/plugins`) or a pack (`POST /v1/packs`), and fetch the pack a
//! server runs (`GET /v1/packs`, `…/{id}/{version}/archive`) to test
//! against it. HTTPS with the public roots, or plain HTTP; the token is a
//! bearer token the server's operator made.

use std::path::{Path, PathBuf};
use std::time::Duration;

use conform_engine::archive::{unpack, UnpackLimits};
use semver::{Version, VersionReq};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The most a JSON answer may be: a listing of every pack and plugin.
const MAX_ANSWER_BYTES: u64 = 16 << 20;
/// The most a fetched pack archive may be (a server's publishing limit is
/// 64 MiB by default), and what it may unpack to.
const MAX_ARCHIVE_BYTES: u64 = 256 << 20;
const UNPACK_LIMITS: UnpackLimits = UnpackLimits {
    bytes: 1 << 30,
    files: 50_000,
};
/// How often a publication is tried again when every compilation slot of
/// the server is busy (503 with `Retry-After`), and the longest wait.
const BUSY_RETRIES: u32 = 5;
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// Why a server did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// No answer: a wrong address, a server that is down, a TLS failure.
    #[error(
        "cannot reach {url}: {reason}; check --server (or CONFORM_SERVER) and that the server runs"
    )]
    Unreachable {
        /// What was asked.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server answered with an error of its API.
    #[error("{}", refusal_text(.url, *.status, .code, .message, .details.as_ref()))]
    Refused {
        /// What was asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The API's error code (`plugin-owned`, `pack-invalid`, …).
        code: String,
        /// The server's words.
        message: String,
        /// Structured details (`errors`: every problem of a pack).
        details: Option<Value>,
    },
    /// The answer is not what Conform's API answers.
    #[error("{url} answered {status}, not as a Conform server does ({reason}); check --server")]
    NotConform {
        /// What was asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
    /// The server has no pack that the plugin can run against.
    #[error("{0}")]
    NoPack(String),
    /// A fetched pack could not be written.
    #[error("the pack fetched from {url} cannot be unpacked into `{}`: {reason}", .into.display())]
    Unpack {
        /// Where it came from.
        url: String,
        /// Where it was to go.
        into: PathBuf,
        /// Why.
        reason: String,
    },
}

fn refusal_text(
    url: &str,
    status: u16,
    code: &str,
    message: &str,
    details: Option<&Value>,
) -> String {
    let mut text = format!("{url} refused ({status} {code}): {}", shown(message));
    let problems = details
        .and_then(|d| d.get("errors"))
        .and_then(Value::as_array);
    for problem in problems.into_iter().flatten() {
        let line = problem
            .as_str()
            .map_or_else(|| problem.to_string(), str::to_string);
        text.push_str("\n  ");
        text.push_str(&shown(&line));
    }
    text
}

/// A server's text as it may be shown on a terminal: control characters
/// (escape sequences among them) as `?`.
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// A server, its address and the token used with it.
pub struct Server {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Server {
    /// A server at `url` (`https://conform.example.org`, with or without a
    /// trailing `/`), reached with `token`.
    pub fn new(url: &str, token: &str) -> Server {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A redirect would turn a publication into a GET (301, 302) or
            // resend the body elsewhere: say where instead.
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(15)))
            // A publication waits for the server to compile the component.
            .timeout_global(Some(Duration::from_secs(600)))
            .build()
            .into();
        Server {
            base: url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            agent,
        }
    }

    /// The server's address as given.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// A folder name for what is kept from this server (fetched packs),
    /// so that two servers' packs of one id and version never mix:
    /// `conform.example.org`, `127.0.0.1_8080`.
    pub fn folder_name(&self) -> String {
        let address = self.base.split_once("://").map_or(&*self.base, |(_, a)| a);
        address
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// Publishes a plugin: its manifest's text and its component. The
    /// server's account of it (name, version, pack) on success.
    pub fn publish_plugin(&self, manifest: &[u8], component: &[u8]) -> Result<Value, ServerError> {
        let form = Multipart::new(&[
            ("manifest", "plugin.toml", "application/toml", manifest),
            ("component", "plugin.wasm", "application/wasm", component),
        ]);
        let url = format!("{}/v1/plugins", self.base);
        let answer = self.post_json(&url, &form.content_type, &form.body)?;
        published(&url, answer, "name")
    }

    /// Publishes a mapping (its `mapping.toml`): the server checks it
    /// against the newest pack it targets and runs it in its interpreter.
    pub fn publish_mapping(&self, mapping: &[u8]) -> Result<Value, ServerError> {
        let url = format!("{}/v1/mappings", self.base);
        let answer = self.post_json(&url, "application/toml", mapping)?;
        published(&url, answer, "name")
    }

    /// Publishes a pack from its archive (what `archive_folder` makes).
    pub fn publish_pack(&self, archive: &[u8]) -> Result<Value, ServerError> {
        let url = format!("{}/v1/packs", self.base);
        let answer = self.post_json(&url, "application/gzip", archive)?;
        published(&url, answer, "id")
    }

    /// Every version of pack `id` the server has, oldest first.
    pub fn pack_versions(&self, id: &str) -> Result<Vec<Version>, ServerError> {
        let url = format!("{}/v1/packs", self.base);
        let listing = self.get_json(&url)?;
        let packs = listing
            .get("packs")
            .and_then(Value::as_array)
            .ok_or_else(|| ServerError::NotConform {
                url: url.clone(),
                status: 200,
                reason: "no `packs` list".into(),
            })?;
        let mut versions: Vec<Version> = packs
            .iter()
            .filter(|p| p.get("id").and_then(Value::as_str) == Some(id))
            .filter_map(|p| p.get("version").and_then(Value::as_str))
            .filter_map(|v| Version::parse(v).ok())
            .collect();
        versions.sort();
        Ok(versions)
    }

    /// The newest version of pack `id` that `versions` allows (when
    /// `None`, the newest release: no pre-release).
    pub fn newest_pack(
        &self,
        id: &str,
        versions: Option<&VersionReq>,
    ) -> Result<Version, ServerError> {
        let known = self.pack_versions(id)?;
        let allowed = known
            .iter()
            .rev()
            .find(|v| versions.map_or(v.pre.is_empty(), |req| req.matches(v)));
        match (allowed, versions) {
            (Some(v), _) => Ok(v.clone()),
            (None, _) if known.is_empty() => Err(ServerError::NoPack(format!(
                "{} has no pack `{id}`; GET /v1/packs lists what it has",
                self.base
            ))),
            (None, req) => Err(ServerError::NoPack(format!(
                "{} has pack `{id}` in versions {} but none matches {}",
                self.base,
                known
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                req.map_or_else(String::new, ToString::to_string)
            ))),
        }
    }

    /// Fetches pack `id` `version` into `dir/ID-VERSION/` and returns that
    /// folder. A folder already there is used as it is: a published
    /// version never changes.
    pub fn fetch_pack(
        &self,
        id: &str,
        version: &Version,
        dir: &Path,
    ) -> Result<PathBuf, ServerError> {
        let folder = dir.join(format!("{id}-{version}"));
        let url = format!("{}/v1/packs/{id}/{version}/archive", self.base);
        let failed = |reason: String| ServerError::Unpack {
            url: url.clone(),
            into: folder.clone(),
            reason,
        };
        if folder.exists() {
            // A published version never changes: the folder is the pack
            // when it says it is; anything else there is not replaced.
            return match names_pack(&folder, id, version) {
                Ok(()) => Ok(folder),
                Err(why) => Err(failed(format!(
                    "the folder is there and is not this pack ({why}); move it or choose another folder"
                ))),
            };
        }
        let archive = self.get_bytes(&url, MAX_ARCHIVE_BYTES)?;
        // Unpacked beside the folder, checked, then renamed: an interrupted
        // fetch leaves no half pack that a later run would take as whole.
        let staging = dir.join(format!(".{id}-{version}.partial"));
        let _ = std::fs::remove_dir_all(&staging);
        let placed = unpack(&archive, &staging, UNPACK_LIMITS)
            .map_err(|e| e.to_string())
            .and_then(|unpacked| {
                names_pack(&unpacked, id, version)
                    .map_err(|why| format!("the server sent another pack: {why}"))?;
                std::fs::rename(&unpacked, &folder).map_err(|e| e.to_string())
            });
        let _ = std::fs::remove_dir_all(&staging);
        placed.map_err(failed)?;
        Ok(folder)
    }

    fn post_json(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<(u16, Value), ServerError> {
        let mut tries = 0;
        loop {
            let response = self
                .agent
                .post(url)
                .header("Authorization", format!("Bearer {}", self.token))
                .header("Content-Type", content_type)
                .send(body)
                .map_err(|e| unreachable(url, e))?;
            let wait = retry_after(&response);
            match (response.status().as_u16(), wait) {
                (503, Some(wait)) if tries < BUSY_RETRIES => {
                    tries += 1;
                    std::thread::sleep(wait.min(MAX_RETRY_WAIT));
                }
                (status, _) => return Ok((status, answer_json(url, response)?)),
            }
        }
    }

    fn get_json(&self, url: &str) -> Result<Value, ServerError> {
        let response = self.get(url)?;
        answer_json(url, response)
    }

    fn get_bytes(&self, url: &str, limit: u64) -> Result<Vec<u8>, ServerError> {
        let mut response = self.get(url)?;
        if let Some(redirect) = redirected(url, &response) {
            return Err(redirect);
        }
        if !response.status().is_success() {
            return Err(refusal(url, response));
        }
        response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| ServerError::NotConform {
                url: url.to_string(),
                status: 200,
                reason: format!(
                    "the answer broke off or is larger than the {} MiB a pack may be: {e}",
                    limit >> 20
                ),
            })
    }

    fn get(&self, url: &str) -> Result<ureq::http::Response<ureq::Body>, ServerError> {
        self.agent
            .get(url)
            .header("Authorization", format!("Bearer {}", self.token))
            .call()
            .map_err(|e| unreachable(url, e))
    }
}

/// Whether `folder`'s `pack.toml` names pack `id` `version`; why not.
fn names_pack(folder: &Path, id: &str, version: &Version) -> Result<(), String> {
    let text = std::fs::read_to_string(folder.join("pack.toml"))
        .map_err(|e| format!("no readable pack.toml: {e}"))?;
    let manifest: toml::Table =
        toml::from_str(&text).map_err(|e| format!("pack.toml is not TOML: {e}"))?;
    let field = |key: &str| manifest.get(key).and_then(toml::Value::as_str);
    let named = (
        field("id"),
        field("version").and_then(|v| Version::parse(v).ok()),
    );
    match named {
        (Some(i), Some(v)) if i == id && v == *version => Ok(()),
        (i, v) => Err(format!(
            "its pack.toml names `{}` {}",
            shown(i.unwrap_or("?")),
            v.map_or_else(|| "?".to_string(), |v| v.to_string())
        )),
    }
}

fn unreachable(url: &str, e: ureq::Error) -> ServerError {
    ServerError::Unreachable {
        url: url.to_string(),
        reason: e.to_string(),
    }
}

fn retry_after(response: &ureq::http::Response<ureq::Body>) -> Option<Duration> {
    let seconds = response
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds.max(1)))
}

/// A success's JSON body, or the API's error made a [`ServerError`].
fn answer_json(
    url: &str,
    response: ureq::http::Response<ureq::Body>,
) -> Result<Value, ServerError> {
    if !response.status().is_success() {
        return Err(refusal(url, response));
    }
    let status = response.status().as_u16();
    let text = read_text(response);
    serde_json::from_str(&text).map_err(|e| ServerError::NotConform {
        url: url.to_string(),
        status,
        reason: format!("not JSON: {e}"),
    })
}

/// A publication's answer: `201` with the member `key`, or not Conform's.
fn published(url: &str, (status, answer): (u16, Value), key: &str) -> Result<Value, ServerError> {
    if status == 201 && answer.get(key).and_then(Value::as_str).is_some() {
        Ok(answer)
    } else {
        Err(ServerError::NotConform {
            url: url.to_string(),
            status,
            reason: format!("a publication answers 201 with `{key}`"),
        })
    }
}

/// A redirect, said as one: the address to use instead.
fn redirected(url: &str, response: &ureq::http::Response<ureq::Body>) -> Option<ServerError> {
    if !response.status().is_redirection() {
        return None;
    }
    let to = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("(no Location)");
    Some(ServerError::NotConform {
        url: url.to_string(),
        status: response.status().as_u16(),
        reason: format!(
            "it redirects to {}: give that address as --server",
            shown(to)
        ),
    })
}

/// An error answer: the API's `{code, message, details}`, or what came.
fn refusal(url: &str, response: ureq::http::Response<ureq::Body>) -> ServerError {
    let status = response.status().as_u16();
    let text = read_text(response);
    let doc: Option<Value> = serde_json::from_str(&text).ok();
    let field = |name: &str| {
        doc.as_ref()
            .and_then(|d| d.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match (field("code"), field("message")) {
        (Some(code), Some(message)) => ServerError::Refused {
            url: url.to_string(),
            status,
            code,
            message,
            details: doc.and_then(|d| d.get("details").cloned()),
        },
        _ => ServerError::NotConform {
            url: url.to_string(),
            status,
            reason: format!(
                "the body is not an API error: {:?}",
                text.chars().take(200).collect::<String>()
            ),
        },
    }
}

fn read_text(mut response: ureq::http::Response<ureq::Body>) -> String {
    response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_string()
        .unwrap_or_default()
}

/// A `multipart/form-data` body of file parts. The boundary is made from
/// the parts' digest, so no part can hold it.
struct Multipart {
    content_type: String,
    body: Vec<u8>,
}

impl Multipart {
    fn new(parts: &[(&str, &str, &str, &[u8])]) -> Multipart {
        let mut digest = Sha256::new();
        for (_, _, _, bytes) in parts {
            digest.update(bytes);
        }
        let boundary = format!("conform-{}", hex::encode(digest.finalize()));
        let mut body = Vec::new();
        for (name, file, content_type, bytes) in parts {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        Multipart {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_body_has_each_part_whole_and_a_boundary_none_holds() {
        let form = Multipart::new(&[
            (
                "manifest",
                "plugin.toml",
                "application/toml",
                b"name = \"x\"\n",
            ),
            (
                "component",
                "plugin.wasm",
                "application/wasm",
                b"\0asm\r\n--x",
            ),
        ]);
        let boundary = form.content_type.split("boundary=").nth(1).unwrap();
        let text = String::from_utf8_lossy(&form.body);
        assert_eq!(text.matches(&format!("--{boundary}\r\n")).count(), 2);
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
        assert!(text.contains("name=\"manifest\"; filename=\"plugin.toml\"\r\nContent-Type: application/toml\r\n\r\nname = \"x\"\n\r\n"));
        assert!(text.contains("\r\n\r\n\0asm\r\n--x\r\n--"));
    }

    #[test]
    fn a_fetched_pack_must_be_the_one_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let v = Version::parse("1.0.0").unwrap();
        assert!(names_pack(dir.path(), "p", &v)
            .unwrap_err()
            .contains("no readable pack.toml"));
        std::fs::write(
            dir.path().join("pack.toml"),
            "id = \"p\"\nversion = \"1.0.0\"\n",
        )
        .unwrap();
        assert_eq!(names_pack(dir.path(), "p", &v), Ok(()));
        let other = names_pack(dir.path(), "q", &Version::parse("2.0.0").unwrap()).unwrap_err();
        assert!(other.contains("names `p` 1.0.0"), "{other}");
        std::fs::write(dir.path().join("pack.toml"), "id = \"\\u001b[2J\"\n").unwrap();
        let shown = names_pack(dir.path(), "p", &v).unwrap_err();
        assert!(!shown.contains('\u{1b}'), "{shown}");
    }

    #[test]
    fn each_server_keeps_its_packs_apart() {
        assert_eq!(
            Server::new("http://127.0.0.1:8080/", "t").folder_name(),
            "127.0.0.1_8080"
        );
        assert_eq!(
            Server::new("https://conform.example.org/base", "t").folder_name(),
            "conform.example.org_base"
        );
    }

    #[test]
    fn a_refusal_lists_every_problem_of_its_details() {
        let text = refusal_text(
            "http://s/v1/packs",
            422,
            "pack-invalid",
            "the pack fails its checks",
            Some(&serde_json::json!({"errors": ["a.json: bad", "b.toml: worse"]})),
        );
        assert_eq!(
            text,
            "http://s/v1/packs refused (422 pack-invalid): the pack fails its checks\n  a.json: bad\n  b.toml: worse"
        );
    }
}
