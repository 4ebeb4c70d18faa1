//! `POST /v1/convert?plugin=NAME`: streaming conversion.
//!
//! The request body is the file. The response is NDJSON, streamed while the
//! body is still arriving: record lines (`{"record_type":…,"record":…,"source":…}`,
//! as the CLI writes them), rejection lines (`{"rejection":{…}}`), and a last
//! line `{"summary":{…}}` with the counts and the pack version used
//! (`summary.pack`). If the summary has an `error` (and `error_code`: `body-too-large`,
//! `upload-too-slow`, `rows-limit`, `time-limit`, `input-unreadable` …), the
//! conversion stopped early and the counts cover the rows before.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use conform_model::Rejection;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::auth::Caller;
use super::config::Role;
use super::connection::CloseConnection;
use super::error::ApiError;
use super::metrics::FaultCounter;
use super::observe::RequestRecord;
use super::spool::{spool, PushError, SpoolReader, SpoolWriter};
use super::state::AppState;
use super::upload::{Upload, UploadLimits};
use conform_engine::sink::Sink;
use futures_util::StreamExt;

/// Query of `POST /v1/convert`. Unknown parameters are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConvertQuery {
    /// The plugin that reads the body: `NAME` (its newest version) or
    /// `NAME@VERSION`.
    plugin: String,
    /// The pack version to convert to, `ID@VERSION` (default: the newest
    /// the plugin accepts).
    pack: Option<String>,
}

/// A running conversion of one token (a streaming conversion, or a
/// download the server builds: a workbook, an annotated upload), counted
/// against `concurrent_per_token`; dropping it frees the place.
pub(crate) struct Slot {
    running: Arc<AppState>,
    name: String,
}

impl Slot {
    /// Takes a place of token `name`, or answers `429 too-many-conversions`.
    pub(crate) fn take(state: &Arc<AppState>, name: &str) -> Result<Slot, ApiError> {
        let limit = state.config.limits.concurrent_per_token;
        let mut running: std::sync::MutexGuard<'_, HashMap<String, u32>> =
            state.running.lock().expect("not poisoned");
        let count = running.entry(name.to_string()).or_insert(0);
        if *count >= limit {
            return Err(ApiError::new(
                super::error::ApiCode::TooManyConversions,
                format!("token `{name}` already runs {limit} conversions; wait for one to finish"),
            ));
        }
        *count += 1;
        Ok(Slot {
            running: state.clone(),
            name: name.into(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(count) = self
            .running
            .running
            .lock()
            .expect("not poisoned")
            .get_mut(&self.name)
        {
            *count = count.saturating_sub(1);
        }
    }
}

/// When the upload last brought bytes, shared by the task reading it and
/// the sink: a client still sending is busy, not stalled.
struct UploadClock {
    started: Instant,
    moved_ms: AtomicU64,
}

impl UploadClock {
    fn new() -> Arc<UploadClock> {
        Arc::new(UploadClock {
            started: Instant::now(),
            moved_ms: AtomicU64::new(0),
        })
    }

    fn moved(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.moved_ms.store(now, Ordering::Relaxed);
    }

    fn last_moved(&self) -> Instant {
        self.started + Duration::from_millis(self.moved_ms.load(Ordering::Relaxed))
    }
}

/// Writes output lines into the response stream, a few KiB at a time, and
/// gives up on a client that takes nothing of them for `stall` while it
/// sends nothing either, or past the conversion's `deadline`.
struct StreamSink {
    out: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
    runtime: tokio::runtime::Handle,
    upload: Arc<UploadClock>,
    stall: Duration,
    deadline: Instant,
    /// Set once the client was given up on: no trailer is tried then.
    given_up: bool,
}

const FLUSH_AT: usize = 16 * 1024;

impl StreamSink {
    fn line(&mut self, line: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(line);
        self.buf.push(b'\n');
        if self.buf.len() >= FLUSH_AT {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() || self.given_up {
            return Ok(());
        }
        let gone = || io::Error::new(io::ErrorKind::BrokenPipe, "the client went away");
        let mut chunk = Bytes::from(std::mem::take(&mut self.buf));
        match self.out.try_send(chunk) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(gone()),
            Err(mpsc::error::TrySendError::Full(back)) => chunk = back,
        }
        let blocked_since = Instant::now();
        loop {
            let sent = self
                .runtime
                .block_on(self.out.send_timeout(chunk, Duration::from_secs(1)));
            match sent {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendTimeoutError::Closed(_)) => return Err(gone()),
                Err(mpsc::error::SendTimeoutError::Timeout(back)) => chunk = back,
            }
            let busy_since = self.upload.last_moved().max(blocked_since);
            if busy_since.elapsed() >= self.stall || Instant::now() >= self.deadline {
                self.given_up = true;
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client took nothing of the answer for too long",
                ));
            }
        }
    }
}

impl Sink for StreamSink {
    fn record(&mut self, line: &[u8]) -> io::Result<()> {
        self.line(line)
    }

    fn rejection(&mut self, rejection: &Rejection) -> io::Result<()> {
        let line = serde_json::to_vec(&serde_json::json!({ "rejection": rejection }))?;
        self.line(&line)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Streaming conversion: the body is the file; records, rejections and a
/// summary stream back as NDJSON.
#[utoipa::path(
    post,
    path = "/v1/convert",
    params(
        ("plugin" = String, Query, description = "The plugin that reads the body: `NAME` (newest version) or `NAME@VERSION`"),
        ("pack" = Option<String>, Query, description = "The pack version, `ID@VERSION` (default: the newest the plugin accepts)"),
    ),
    request_body(content = String, content_type = "application/octet-stream", description = "The file as the enterprise exports it"),
    responses(
        (status = 200, description = "Record lines, `{\"rejection\":…}` lines and a last `{\"summary\":…}` line", content_type = "application/x-ndjson", body = String),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::error::ErrorDoc),
        (status = 404, description = "No such plugin", body = crate::error::ErrorDoc),
        (status = 413, description = "The body is over the limit", body = crate::error::ErrorDoc),
        (status = 429, description = "Too many conversions of this token", body = crate::error::ErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn convert(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Extension(record): Extension<Arc<RequestRecord>>,
    close: Option<Extension<CloseConnection>>,
    query: Result<Query<ConvertQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require(Role::Uploader)?;
    let Query(query) = query.map_err(ApiError::bad_query)?;
    let resolved =
        super::pins::resolve_pinned(&state, &query.plugin, query.pack.as_deref()).await?;
    let limits = UploadLimits::for_files(&state.config.limits);
    ApiError::check_declared_length(&headers, limits.max_bytes)?;
    let slot = Slot::take(&state, &caller.name)?;
    let mut options = state.convert_options();
    let memory = state
        .memory
        .try_reserve(
            u64::from(resolved.plugin.limits().memory_mib),
            options.workers,
        )
        .ok_or_else(ApiError::memory_busy)?;
    options.workers = memory.instances;

    // A limit the upload breaks stops the reader; the trailer names it.
    let broken: Arc<Mutex<Option<ApiError>>> = Arc::default();
    let upload = UploadClock::new();
    let (writer, reader) = spool(state.spool_disk());
    let finished = stop_at_shutdown(&state, &writer, &broken);
    tokio::spawn(read_upload(
        Upload::new(body.into_data_stream(), limits),
        writer,
        broken.clone(),
        upload.clone(),
    ));

    let (out_tx, out_rx) = mpsc::channel::<Bytes>(16);
    let limits = &state.config.limits;
    let sink = StreamSink {
        out: out_tx,
        buf: Vec::new(),
        runtime: tokio::runtime::Handle::current(),
        upload,
        stall: Duration::from_secs(limits.write_stall_seconds),
        // The pipeline stops itself at max_job_seconds; this is the backstop
        // for a conversion blocked on a client that takes nothing.
        deadline: Instant::now() + Duration::from_secs(limits.max_job_seconds.saturating_add(5)),
        given_up: false,
    };
    let conversion = Conversion {
        state: state.clone(),
        resolved,
        options,
        broken,
        record,
        close: close.map(|Extension(close)| close),
    };
    tokio::task::spawn_blocking(move || {
        let _held = (slot, memory, finished);
        conversion.run(reader, sink);
    });

    let stream = tokio_stream::wrappers::ReceiverStream::new(out_rx).map(Ok::<_, Infallible>);
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}

/// A streaming conversion's work on its blocking thread.
struct Conversion {
    state: Arc<AppState>,
    resolved: super::state::Resolved,
    options: conform_engine::ConvertOptions,
    broken: Arc<Mutex<Option<ApiError>>>,
    record: Arc<RequestRecord>,
    close: Option<CloseConnection>,
}

impl Conversion {
    /// Converts what `reader` gives into `sink`, then writes the summary
    /// line, or closes the connection of a client that took nothing.
    fn run(self, reader: SpoolReader, mut sink: StreamSink) {
        let file = format!("upload.{}", self.resolved.manifest.name);
        let mut counted = FaultCounter {
            inner: &mut sink,
            faults: Default::default(),
        };
        let result = conform_engine::Conversion {
            pack: &self.resolved.pack,
            plugin: &self.resolved.plugin,
            manifest: &self.resolved.manifest,
            options: &self.options,
        }
        .run(reader, &file, &mut counted, &mut |_| {});
        let faults = counted.faults;
        let trailer = match result {
            Ok(summary) => self.summary_line(summary, &faults),
            Err(e) => {
                serde_json::json!({ "summary": { "error": e.to_string(), "error_code": "output-failed" } })
            }
        };
        if sink.given_up {
            tracing::info!(plugin = %self.resolved.manifest.name, "gave up on a client that took nothing of its answer");
            if let Some(close) = &self.close {
                close.close();
            }
            return;
        }
        let _ = sink
            .line(trailer.to_string().as_bytes())
            .and_then(|()| sink.send());
    }

    /// The last line: the counts, the limit or stop that cut the upload
    /// short, the plugin and pack versions.
    fn summary_line(
        &self,
        mut summary: conform_model::FileSummary,
        faults: &std::collections::BTreeMap<&'static str, u64>,
    ) -> serde_json::Value {
        self.record.set_rows(summary.rows_in);
        if let Some(e) = self.broken.lock().expect("not poisoned").take() {
            summary.error = Some(e.message);
            summary.error_code = Some(e.code.as_str().to_string());
        }
        self.state.metrics.record_file(&summary, faults);
        let pack = self.resolved.pack.manifest();
        let mut summary = serde_json::to_value(&summary).unwrap_or_default();
        summary["plugin_version"] = serde_json::json!(self.resolved.manifest.version.to_string());
        summary["pack"] = serde_json::json!({ "id": pack.id, "version": pack.version.to_string() });
        serde_json::json!({ "summary": summary })
    }
}

/// At the server's shutdown deadline, stops the conversion reading
/// `writer`'s spool (its summary then says `shutting-down`). The watch ends
/// when the returned guard is dropped, with the conversion.
fn stop_at_shutdown(
    state: &Arc<AppState>,
    writer: &SpoolWriter,
    broken: &Arc<Mutex<Option<ApiError>>>,
) -> tokio::sync::oneshot::Sender<()> {
    let (finished, ended) = tokio::sync::oneshot::channel::<()>();
    let (state, abort, broken) = (state.clone(), writer.abort_handle(), broken.clone());
    tokio::spawn(async move {
        tokio::select! {
            () = state.stopping() => {
                let error = ApiError::shutting_down();
                abort.abort(&error.message);
                broken.lock().expect("not poisoned").get_or_insert(error);
            }
            _ = ended => {}
        }
    });
    finished
}

/// Reads the upload into the spool as fast as the client sends it, until
/// its end, a broken limit or the conversion's stop; a broken limit is
/// kept in `broken` for the trailer.
async fn read_upload<S, E>(
    mut upload: Upload<S>,
    writer: SpoolWriter,
    broken: Arc<Mutex<Option<ApiError>>>,
    clock: Arc<UploadClock>,
) where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    loop {
        let error = match upload.next().await {
            None => {
                clock.moved();
                return writer.finish(Ok(()));
            }
            Some(Ok(chunk)) => {
                clock.moved();
                match writer.push(chunk).await {
                    Ok(()) => continue,
                    Err(PushError::ReaderGone) => return,
                    Err(PushError::Disk(e)) => {
                        tracing::warn!(error = %e, "cannot spool an upload to disk");
                        ApiError::insufficient_storage()
                    }
                }
            }
            Some(Err(e)) => e,
        };
        let message = error.message.clone();
        broken.lock().expect("not poisoned").get_or_insert(error);
        return writer.finish(Err(message));
    }
}
