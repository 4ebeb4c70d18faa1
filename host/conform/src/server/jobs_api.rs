//! The bulk-job endpoints: submit, list, inspect, download, cancel.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::auth::Caller;
use super::config::Role;
use super::error::ApiError;
use super::jobs::{Job, JobState};
use super::state::AppState;

/// Query of `POST /v1/jobs`.
#[derive(Debug, Deserialize)]
pub(crate) struct SubmitQuery {
    /// The plugin that reads the body.
    plugin: String,
    /// The file name recorded as the records' source (default `upload`).
    name: Option<String>,
}

fn store_error(e: rusqlite::Error) -> ApiError {
    ApiError::internal("the job store failed", &e)
}

fn new_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::internal("no randomness for a job id", &e))?;
    Ok(hex::encode(bytes))
}

/// The caller's job, or 404: another's job does not exist for them.
fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<Job, ApiError> {
    let unknown = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-job",
            format!("no job `{id}` of yours"),
        )
    };
    let job = state
        .jobs
        .get(id)
        .map_err(store_error)?
        .ok_or_else(unknown)?;
    if job.owner != caller.name && !caller.roles.contains(&Role::Admin) {
        return Err(unknown());
    }
    Ok(job)
}

/// `POST /v1/jobs?plugin=NAME[&name=FILE]`: stores the body and queues a job (202).
#[utoipa::path(
    post,
    path = "/v1/jobs",
    params(
        ("plugin" = String, Query, description = "The plugin that reads the body"),
        ("name" = Option<String>, Query, description = "The file name recorded as the records' source"),
    ),
    request_body(content = String, content_type = "application/octet-stream", description = "The file as the enterprise exports it"),
    responses(
        (status = 202, description = "Accepted and queued", body = Job),
        (status = 401, description = "No or unknown token", body = crate::server::openapi::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::server::openapi::ErrorDoc),
        (status = 404, description = "No such plugin", body = crate::server::openapi::ErrorDoc),
        (status = 413, description = "The body is over the limit", body = crate::server::openapi::ErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn submit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    query: Result<Query<SubmitQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    caller.require(Role::Uploader)?;
    let Query(query) = query.map_err(ApiError::bad_query)?;
    state.entry(&query.plugin)?;
    let max = state.config.limits.max_body_bytes;
    ApiError::check_declared_length(&headers, max)?;
    let file_name = query.name.unwrap_or_else(|| "upload".into());
    if file_name.is_empty() || file_name.len() > 255 || file_name.contains(['/', '\\', '\n']) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-name",
            "`name` must be a plain file name",
        ));
    }
    let id = new_id()?;
    let folder = state.jobs.folder(&id);
    let write_error = |e: std::io::Error| ApiError::internal("cannot store the upload", &e);
    tokio::fs::create_dir_all(&folder)
        .await
        .map_err(write_error)?;
    let part = folder.join("upload.part");
    let mut file = tokio::fs::File::create(&part).await.map_err(write_error)?;
    let mut stream = body.into_data_stream();
    let mut total: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                let _ = tokio::fs::remove_dir_all(&folder).await;
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "upload-broken",
                    format!("the upload broke off: {e}"),
                ));
            }
        };
        total += chunk.len() as u64;
        if total > max {
            let _ = tokio::fs::remove_dir_all(&folder).await;
            return Err(ApiError::body_too_large(max));
        }
        file.write_all(&chunk).await.map_err(write_error)?;
    }
    file.sync_all().await.map_err(write_error)?;
    tokio::fs::rename(&part, folder.join("upload"))
        .await
        .map_err(write_error)?;
    let job = state
        .jobs
        .accept(&id, &caller.name, &query.plugin, &file_name)
        .map_err(store_error)?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// The jobs of a listing.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct JobList {
    /// Newest first.
    jobs: Vec<Job>,
}

/// `GET /v1/jobs`: the caller's jobs (an admin's: all), newest first.
#[utoipa::path(get, path = "/v1/jobs", responses((status = 200, description = "The caller's jobs", body = JobList), (status = 401, description = "No or unknown token", body = crate::server::openapi::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::server::openapi::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<JobList>, ApiError> {
    let owner = (!caller.roles.contains(&Role::Admin)).then_some(caller.name.as_str());
    let jobs = state.jobs.list(owner).map_err(store_error)?;
    Ok(Json(JobList { jobs }))
}

/// `GET /v1/jobs/{id}`: state and progress.
#[utoipa::path(get, path = "/v1/jobs/{id}", params(("id" = String, Path, description = "The job id")), responses((status = 200, description = "The job", body = Job), (status = 401, description = "No or unknown token", body = crate::server::openapi::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::server::openapi::ErrorDoc), (status = 404, description = "No such job of the caller", body = crate::server::openapi::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    owned(&state, &caller, &id).map(Json)
}

/// `DELETE /v1/jobs/{id}`: cancels a queued or running job.
#[utoipa::path(delete, path = "/v1/jobs/{id}", params(("id" = String, Path, description = "The job id")), responses((status = 200, description = "The job, cancelled if it was queued or running", body = Job), (status = 401, description = "No or unknown token", body = crate::server::openapi::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::server::openapi::ErrorDoc), (status = 404, description = "No such job of the caller", body = crate::server::openapi::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn cancel(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    let job = owned(&state, &caller, &id)?;
    if matches!(job.state, JobState::Queued | JobState::Running) {
        state.jobs.cancel(&id).map_err(store_error)?;
    }
    owned(&state, &caller, &id).map(Json)
}

async fn download(
    state: &AppState,
    caller: &Caller,
    id: &str,
    file: &str,
) -> Result<Response, ApiError> {
    let job = owned(state, caller, id)?;
    if job.state != JobState::Done {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "job-not-done",
            format!(
                "job `{id}` is {:?}; its output is ready when it is done",
                job.state
            )
            .to_lowercase(),
        )
        .with_details(serde_json::json!({ "state": job.state })));
    }
    let path = state.jobs.folder(id).join(file);
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError::internal("cannot read the job's output", &e))?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

/// `GET /v1/jobs/{id}/records`: the records, NDJSON.
#[utoipa::path(get, path = "/v1/jobs/{id}/records", params(("id" = String, Path, description = "The job id")), responses((status = 200, description = "The job's records, NDJSON", content_type = "application/x-ndjson", body = String), (status = 401, description = "No or unknown token", body = crate::server::openapi::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::server::openapi::ErrorDoc), (status = 404, description = "No such job of the caller", body = crate::server::openapi::ErrorDoc), (status = 409, description = "The job is not done", body = crate::server::openapi::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn records(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    download(&state, &caller, &id, "records.ndjson").await
}

/// `GET /v1/jobs/{id}/errors`: the error report, NDJSON.
#[utoipa::path(get, path = "/v1/jobs/{id}/errors", params(("id" = String, Path, description = "The job id")), responses((status = 200, description = "The job's errors, NDJSON", content_type = "application/x-ndjson", body = String), (status = 401, description = "No or unknown token", body = crate::server::openapi::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::server::openapi::ErrorDoc), (status = 404, description = "No such job of the caller", body = crate::server::openapi::ErrorDoc), (status = 409, description = "The job is not done", body = crate::server::openapi::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn errors(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    download(&state, &caller, &id, "errors.ndjson").await
}
