//! The metrics over HTTP: `GET /metrics` (the counters of
//! [`Metrics`](super::metrics::Metrics) and the gauges read at the time),
//! and the middleware that counts the limits the API answers with.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::error::{ApiCode, ApiError};
use super::state::AppState;

/// Counts the limit errors the API answers with (see [`ApiError`]'s
/// response extension).
pub(crate) async fn count_limit_hits(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let response = next.run(request).await;
    if let Some(code) = response.extensions().get::<ApiCode>() {
        state.metrics.record_limit(code.as_str());
    }
    response
}

/// `GET /metrics`.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String), (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 403, description = "The token has neither the metrics nor the admin role", body = crate::error::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn metrics(
    State(state): State<Arc<AppState>>,
    caller: super::auth::Caller,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(super::config::Role::Metrics)?;
    let mut text = state.metrics.render();
    let jobs = state.clone();
    let (queued, running) = tokio::task::spawn_blocking(move || jobs.jobs.counts())
        .await
        .map_err(|e| ApiError::internal("the job store cannot be read", &e))?
        .map_err(|e| ApiError::internal("the job store cannot be read", &e))?;
    let conversions: u32 = state.running.lock().expect("not poisoned").values().sum();
    let _ = writeln!(
        text,
        "# HELP conform_conversions_in_flight Streaming conversions running now."
    );
    let _ = writeln!(text, "# TYPE conform_conversions_in_flight gauge");
    let _ = writeln!(text, "conform_conversions_in_flight {conversions}");
    let _ = writeln!(
        text,
        "# HELP conform_jobs Bulk jobs queued and running now."
    );
    let _ = writeln!(text, "# TYPE conform_jobs gauge");
    let _ = writeln!(text, "conform_jobs{{state=\"queued\"}} {queued}");
    let _ = writeln!(text, "conform_jobs{{state=\"running\"}} {running}");
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}
