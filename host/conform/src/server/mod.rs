//! The HTTP server: `conform serve`.
//!
//! axum on tokio. [`app`] builds the router over an [`AppState`]; [`run`]
//! serves it on a listener until a shutdown signal. Conversions run on
//! blocking threads through the same pipeline as the CLI; request bodies
//! stream in and records stream out, so memory stays bounded whatever the
//! upload's size.
//!
//! Every error answers with a JSON body ([`error::ApiError`], schema
//! `schemas/api-error.schema.json`): a stable `code`, a `message` for a
//! person, and `details`.

mod auth;
pub mod config;
mod convert;
pub mod error;
pub mod jobs;
mod jobs_api;
pub mod metrics;
pub mod openapi;
mod state;

use std::future::Future;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

pub use auth::{hash_token, new_token, Caller};
pub use config::{Role, ServerConfig, TokenConfig};
pub use state::AppState;

/// The router of the API.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(openapi::health))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/readyz", get(state::ready))
        .route("/metrics", get(metrics::metrics))
        .route("/v1/convert", post(convert::convert))
        .route("/v1/jobs", post(jobs_api::submit).get(jobs_api::list))
        .route("/v1/jobs/{id}", get(jobs_api::get).delete(jobs_api::cancel))
        .route("/v1/jobs/{id}/records", get(jobs_api::records))
        .route("/v1/jobs/{id}/errors", get(jobs_api::errors))
        .route("/v1/plugins", get(state::list_plugins))
        .route("/v1/packs", get(state::list_packs))
        .fallback(|| async {
            error::ApiError::not_found("no such route: see the README's API section")
        })
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes; in-flight
/// requests finish first. Starts the job runner.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    jobs::spawn_runner(state.clone());
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
