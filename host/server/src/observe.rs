//! One log line and one metric per request, once its answer is written.
//!
//! The line (`target: conform::request`) names the method, the route and
//! path, the status, the token, bytes in and out, the rows converted (for a
//! conversion) and the latency in milliseconds as a number: what an
//! operator needs to tell who sends what and how the server answers. The
//! same end feeds `conform_http_requests_total{route,status}` and the
//! request duration in `/metrics`.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::state::AppState;

/// What one request did, filled in by the parts that know: the router (its
/// route), the token check (its name), a conversion (its rows).
#[derive(Debug, Default)]
pub(crate) struct RequestRecord {
    route: OnceLock<String>,
    token: OnceLock<String>,
    rows: AtomicU64,
    bytes_in: Arc<AtomicU64>,
}

impl RequestRecord {
    /// The route template the request matched (`/v1/jobs/{id}`).
    pub(crate) fn set_route(&self, route: &str) {
        let _ = self.route.set(route.to_string());
    }

    /// The name of the caller's token.
    pub(crate) fn set_token(&self, name: &str) {
        let _ = self.token.set(name.to_string());
    }

    /// The input rows a conversion took.
    pub(crate) fn set_rows(&self, rows: u64) {
        self.rows.store(rows, Ordering::Relaxed);
    }
}

/// The middleware: counts the bytes of the request and its answer, and
/// logs and counts the request when its answer has been written (or the
/// client went away).
pub(crate) async fn observe(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let record = Arc::new(RequestRecord::default());
    request.extensions_mut().insert(record.clone());
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes_in = record.bytes_in.clone();
    let request = request.map(|body| Body::new(Counted::new(body, bytes_in, |_| {})));
    let response = next.run(request).await;
    let status = response.status().as_u16();
    response.map(|body| {
        Body::new(Counted::new(body, Arc::default(), move |bytes_out: u64| {
            let latency = started.elapsed();
            let route = record.route.get().map_or("unmatched", String::as_str);
            state
                .metrics
                .record_request(route, status, latency.as_secs_f64());
            tracing::info!(
                target: "conform::request",
                %method,
                %route,
                %path,
                status,
                token = %record.token.get().map_or("", String::as_str),
                bytes_in = record.bytes_in.load(Ordering::Relaxed),
                bytes_out,
                rows = record.rows.load(Ordering::Relaxed),
                latency_ms = (latency.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
                %request_id,
                "answered"
            );
        }))
    })
}

/// A body that adds the bytes of its data frames to a counter and, once it
/// ends or is dropped, calls `at_end` with its own count: the request log,
/// and a connection's requests in flight (`connection::Activity`).
pub(crate) struct Counted<F: FnOnce(u64)> {
    body: Body,
    counter: Arc<AtomicU64>,
    seen: u64,
    at_end: Option<F>,
}

impl<F: FnOnce(u64)> Counted<F> {
    /// `body`, counted into `counter`, with `at_end` called once at its end.
    pub(crate) fn new(body: Body, counter: Arc<AtomicU64>, at_end: F) -> Counted<F> {
        Counted {
            body,
            counter,
            seen: 0,
            at_end: Some(at_end),
        }
    }

    fn end(&mut self) {
        if let Some(at_end) = self.at_end.take() {
            at_end(self.seen);
        }
    }
}

impl<F: FnOnce(u64) + Unpin> http_body::Body for Counted<F> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.seen += data.len() as u64;
                    self.counter.fetch_add(data.len() as u64, Ordering::Relaxed);
                }
            }
            Poll::Ready(None) => self.end(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl<F: FnOnce(u64)> Drop for Counted<F> {
    fn drop(&mut self) {
        self.end();
    }
}
