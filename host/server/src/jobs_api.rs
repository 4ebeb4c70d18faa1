//! The bulk-job endpoints: submit, list, inspect, download, cancel.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::auth::Caller;
use super::config::Role;
use super::error::ApiError;
use super::jobs::{Job, JobState, NewJob};
use super::state::AppState;
use super::upload::{Upload, UploadLimits};
use conform_engine::scratch::{random_hex, ScratchFolder};

/// Query of `POST /v1/jobs`. Unknown parameters are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitQuery {
    /// The plugin that reads the body: `NAME` or `NAME@VERSION`.
    plugin: String,
    /// The pack version, `ID@VERSION` (default: the newest the plugin accepts).
    pack: Option<String>,
    /// The file name recorded as the records' source (default `upload`).
    name: Option<String>,
}

fn store_error(e: super::jobs::TableError) -> ApiError {
    ApiError::internal("the job store failed", &e)
}

/// The caller's job, or 404: another's job does not exist for them.
fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<Job, ApiError> {
    let unknown = || {
        ApiError::new(
            super::error::ApiCode::UnknownJob,
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

/// `POST /v1/jobs?plugin=NAME[&name=FILE]`: stores the upload and queues a job (202).
#[utoipa::path(
    post,
    path = "/v1/jobs",
    params(
        ("plugin" = String, Query, description = "The plugin that reads the file: `NAME` (newest version) or `NAME@VERSION`"),
        ("pack" = Option<String>, Query, description = "The pack version, `ID@VERSION` (default: the newest the plugin accepts)"),
        ("name" = Option<String>, Query, description = "The file name recorded as the records' source (default: the multipart part's file name, else `upload`)"),
    ),
    request_body(content = String, content_type = "application/octet-stream", description = "The file as the enterprise exports it: the raw body, or multipart/form-data with the file in a part named `file`"),
    responses(
        (status = 202, description = "Accepted and queued", body = Job),
        (status = 400, description = "Bad query, name or multipart body", body = crate::error::ErrorDoc),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::error::ErrorDoc),
        (status = 404, description = "No such plugin", body = crate::error::ErrorDoc),
        (status = 408, description = "The upload is slower than the server's minimum rate", body = crate::error::ErrorDoc),
        (status = 413, description = "The body is over the limit", body = crate::error::ErrorDoc),
        (status = 422, description = "The plugin cannot run (no matching pack)", body = crate::error::ErrorDoc),
        (status = 429, description = "Too many queued or running jobs of this token", body = crate::error::ErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn submit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    query: Result<Query<SubmitQuery>, QueryRejection>,
    request: Request,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<Job>), ApiError> {
    caller.require(Role::Uploader)?;
    let Query(query) = query.map_err(ApiError::bad_query)?;
    // Checked before the upload is read; a multipart part's name after.
    if let Some(name) = &query.name {
        plain_file_name(name)?;
    }
    let resolved =
        super::pins::resolve_pinned(&state, &query.plugin, query.pack.as_deref()).await?;
    admit(&state, &caller, request.headers())?;

    let id = random_hex::<16>().map_err(|e| ApiError::internal("no randomness", &e))?;
    let folder = state.jobs.folder(&id);
    // Removed unless the job is accepted.
    let stored = ScratchFolder::new(folder.clone());
    let part_name = store_upload(&state, request, &folder).await?;
    let file_name = query.name.or(part_name).unwrap_or_else(|| "upload".into());
    plain_file_name(&file_name)?;
    let (jobs, owner) = (state.jobs.clone(), caller.name.clone());
    let (plugin, plugin_version, pack_version) = (
        resolved.manifest.name.clone(),
        resolved.manifest.version.to_string(),
        resolved.pack.manifest().version.to_string(),
    );
    // Blocking: the upload may be copied to the shared files first.
    let job = tokio::task::spawn_blocking(move || {
        jobs.accept(&NewJob {
            id: &id,
            owner: &owner,
            plugin: &plugin,
            plugin_version: &plugin_version,
            pack_version: &pack_version,
            file: &file_name,
        })
    })
    .await
    .map_err(|e| ApiError::internal("the job could not be recorded", &e))?
    .map_err(store_error)?;
    stored.keep();
    tracing::info!(job = %job.id, plugin = %job.plugin, owner = %job.owner, "job accepted");
    let location = format!("/v1/jobs/{}", job.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(job),
    ))
}

/// Whether a job of `caller` may be uploaded now: a declared length within
/// the limit, fewer than `jobs_per_token` jobs queued or running, room on
/// the disk for the declared length.
fn admit(state: &AppState, caller: &Caller, headers: &header::HeaderMap) -> Result<(), ApiError> {
    let limits = &state.config.limits;
    ApiError::check_declared_length(headers, limits.max_body_bytes)?;
    let max_jobs = limits.jobs_per_token;
    if state.jobs.active(&caller.name).map_err(store_error)? >= u64::from(max_jobs) {
        return Err(ApiError::new(super::error::ApiCode::TooManyJobs, format!(
                "token `{}` has {max_jobs} jobs queued or running, the most this server takes; wait for one to finish",
                caller.name
            ),
        )
        .with_details(serde_json::json!({ "limit": max_jobs })));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(0);
    let free = state.jobs.free_bytes().unwrap_or(u64::MAX);
    let keep = limits.min_free_disk_bytes;
    if free < keep.saturating_add(declared) {
        return Err(ApiError::insufficient_storage()
            .with_details(serde_json::json!({ "free_bytes": free, "kept_free_bytes": keep })));
    }
    Ok(())
}

/// Stores the upload (the raw body, or the multipart part `file`) as
/// `folder/upload`, durably, held to the upload limits; returns the part's
/// file name, if it had one.
async fn store_upload(
    state: &Arc<AppState>,
    request: Request,
    folder: &std::path::Path,
) -> Result<Option<String>, ApiError> {
    let limits = UploadLimits::for_files(&state.config.limits);
    let keep = state.config.limits.min_free_disk_bytes;
    let write_error = |e: std::io::Error| ApiError::internal("cannot store the upload", &e);
    tokio::fs::create_dir_all(folder)
        .await
        .map_err(write_error)?;
    let part = folder.join("upload.part");
    let mut file = tokio::fs::File::create(&part).await.map_err(write_error)?;
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut part_name = None;
    if is_multipart {
        let mut multipart = Multipart::from_request(request, state)
            .await
            .map_err(|e| bad_multipart(e.body_text()))?;
        let field = multipart
            .next_field()
            .await
            .map_err(|e| bad_multipart(e.body_text()))?
            .ok_or_else(|| bad_multipart("the body has no parts".into()))?;
        if field.name() != Some("file") {
            return Err(bad_multipart(format!(
                "unexpected part `{}`",
                field.name().unwrap_or("")
            )));
        }
        part_name = field.file_name().map(str::to_owned);
        copy_upload(Upload::new(field, limits), &mut file, &state.jobs, keep).await?;
    } else {
        copy_upload(
            Upload::new(request.into_body().into_data_stream(), limits),
            &mut file,
            &state.jobs,
            keep,
        )
        .await?;
    }
    file.sync_all().await.map_err(write_error)?;
    tokio::fs::rename(&part, folder.join("upload"))
        .await
        .map_err(write_error)?;
    Ok(part_name)
}

/// `Ok` for a name that can be a record's source file: no folders, one line.
fn plain_file_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty()
        || name.len() > 255
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::new(super::error::ApiCode::BadName, "`name` must be a plain file name: no folders, no control characters, at most 255 bytes",
        ));
    }
    Ok(())
}

fn bad_multipart(message: String) -> ApiError {
    ApiError::new(super::error::ApiCode::BadMultipart, format!("{message}: send the file in a multipart/form-data part named `file`, or as the raw body"),
    )
}

/// Stores an upload, checking every [`super::jobs::DISK_CHECK_BYTES`] that the disk
/// keeps `min_free_disk_bytes` free (a chunked upload declares no length
/// to check first).
async fn copy_upload<S, E>(
    mut upload: Upload<S>,
    file: &mut tokio::fs::File,
    jobs: &Arc<super::jobs::JobStore>,
    min_free_bytes: u64,
) -> Result<(), ApiError>
where
    S: futures_util::Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut stored = 0u64;
    while let Some(chunk) = upload.next().await {
        let chunk = chunk?;
        let before = stored;
        stored += chunk.len() as u64;
        if super::jobs::crosses_disk_check(before, stored) {
            let jobs = jobs.clone();
            let room = tokio::task::spawn_blocking(move || jobs.room_above_floor(min_free_bytes))
                .await
                .map_err(|e| ApiError::internal("cannot check free disk space", &e))?
                .unwrap_or(true);
            if !room {
                return Err(ApiError::insufficient_storage());
            }
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::internal("cannot store the upload", &e))?;
    }
    Ok(())
}

/// A page of jobs.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct JobList {
    /// Newest first.
    jobs: Vec<Job>,
    /// The `after` of the next page, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// Query of `GET /v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Jobs per page (default and most: 100).
    limit: Option<u32>,
    /// The last job of the previous page: jobs submitted before it.
    after: Option<String>,
}

/// The most jobs one page lists.
const PAGE: u32 = 100;

/// `GET /v1/jobs[?limit=N&after=ID]`: the caller's jobs (an admin's: all),
/// newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/jobs",
    params(
        ("limit" = Option<u32>, Query, description = "Jobs per page (default and most: 100)"),
        ("after" = Option<String>, Query, description = "The `next` of the previous page"),
    ),
    responses((status = 200, description = "A page of the caller's jobs, newest first; `next` names the following page", body = JobList), (status = 400, description = "Bad query", body = crate::error::ErrorDoc), (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::error::ErrorDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<JobList>, ApiError> {
    let Query(query) = query.map_err(ApiError::bad_query)?;
    let limit = query.limit.unwrap_or(PAGE).clamp(1, PAGE);
    let owner = (!caller.roles.contains(&Role::Admin)).then_some(caller.name.as_str());
    let mut jobs = state
        .jobs
        .page(owner, query.after.as_deref(), limit + 1)
        .map_err(store_error)?;
    let next = if jobs.len() > limit as usize {
        jobs.truncate(limit as usize);
        jobs.last().map(|j| j.id.clone())
    } else {
        None
    };
    Ok(Json(JobList { jobs, next }))
}

/// `GET /v1/jobs/{id}`: state and progress.
#[utoipa::path(get, path = "/v1/jobs/{id}", params(("id" = String, Path, description = "The job id")), responses((status = 200, description = "The job", body = Job), (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::error::ErrorDoc), (status = 404, description = "No such job of the caller", body = crate::error::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    owned(&state, &caller, &id).map(Json)
}

/// `DELETE /v1/jobs/{id}`: cancels a queued or running job (200 with the
/// job); deletes a finished one with its upload and outputs (204).
#[utoipa::path(delete, path = "/v1/jobs/{id}", params(("id" = String, Path, description = "The job id")), responses((status = 200, description = "The job, cancelled: it was queued or running", body = Job), (status = 204, description = "The finished job and its data are deleted"), (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::error::ErrorDoc), (status = 404, description = "No such job of the caller", body = crate::error::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn cancel(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = owned(&state, &caller, &id)?;
    if matches!(job.state, JobState::Queued | JobState::Running) {
        state.jobs.cancel(&id).map_err(store_error)?;
        return owned(&state, &caller, &id).map(|job| Json(job).into_response());
    }
    let jobs = state.jobs.clone();
    let deleted = tokio::task::spawn_blocking(move || jobs.delete(&id))
        .await
        .map_err(|e| ApiError::internal("deleting the job stopped", &e))?
        .map_err(store_error)?;
    if !deleted {
        // It started running meanwhile: cancel it instead.
        return Err(ApiError::new(
            super::error::ApiCode::JobNotDone,
            "the job is running; delete it again to cancel it",
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Query of the downloads. Unknown parameters are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DownloadQuery {
    /// `ndjson` (default), `csv` or `xlsx`.
    format: Option<String>,
}

/// The media type of an .xlsx workbook.
pub(crate) const XLSX_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn download(
    state: &Arc<AppState>,
    caller: &Caller,
    id: &str,
    stem: &str,
    query: Result<Query<DownloadQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(ApiError::bad_query)?;
    let job = owned(state, caller, id)?;
    if job_has_ended(&job) {
        fetched(state, id, false).await?;
    }
    let ndjson = state.jobs.folder(id).join(format!("{stem}.ndjson"));
    ensure_output_ready(&job, &ndjson)?;
    // A workbook is built before it is sent: that work counts as one of
    // the token's conversions.
    let _slot = match query.format.as_deref() {
        Some("xlsx") => Some(super::convert::Slot::take(state, &caller.name)?),
        _ => None,
    };
    let output = Output::open(query.format.as_deref(), ndjson).await?;
    Ok(output.attachment(&format!("{}.{stem}", job.file)))
}

/// Whether a job has ended (its outputs, if any, are final).
fn job_has_ended(job: &Job) -> bool {
    matches!(job.state, JobState::Done | JobState::Failed)
}

/// Brings a job's shared files this replica lacks (it ran elsewhere)
/// into its folder (the upload only `with_upload`), on a blocking thread.
async fn fetched(state: &Arc<AppState>, id: &str, with_upload: bool) -> Result<(), ApiError> {
    if !state.jobs.shares_files() {
        return Ok(());
    }
    let (jobs, id) = (state.jobs.clone(), id.to_string());
    tokio::task::spawn_blocking(move || jobs.fetch(&id, with_upload))
        .await
        .map_err(|e| ApiError::internal("the job's files could not be fetched", &e))?
        .map_err(store_error)
}

/// `409 job-not-done` unless the job has an output to download: it is
/// done, or it stopped early and keeps the output of the rows before.
fn ensure_output_ready(job: &Job, ndjson: &std::path::Path) -> Result<(), ApiError> {
    let ready = job.state == JobState::Done || (job.state == JobState::Failed && ndjson.is_file());
    if ready {
        return Ok(());
    }
    Err(ApiError::new(
        super::error::ApiCode::JobNotDone,
        format!(
            "job `{}` is {}; its output is ready when it is done",
            job.id,
            serde_json::to_value(job.state)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("")
        ),
    )
    .with_details(serde_json::json!({ "state": job.state })))
}

/// A download `build` writes on a blocking thread into a temporary file
/// in `folder` (the job's, so on the data disk; gone once sent).
async fn built_in<E>(
    folder: std::path::PathBuf,
    build: impl FnOnce(&std::path::Path) -> Result<(), E> + Send + 'static,
) -> Result<Result<tempfile::NamedTempFile, E>, ApiError>
where
    E: From<std::io::Error> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let out = tempfile::NamedTempFile::new_in(&folder)?;
        build(out.path())?;
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::internal("building the download stopped", &e))
}

/// A job's output in the format asked for, ready to stream.
struct Output {
    body: Body,
    length: Option<u64>,
    extension: &'static str,
    content_type: &'static str,
}

impl Output {
    /// The NDJSON output as stored (`ndjson`, the default), flattened to
    /// CSV as it streams (`csv`), or flattened into a workbook (`xlsx`).
    async fn open(format: Option<&str>, ndjson: std::path::PathBuf) -> Result<Output, ApiError> {
        let unreadable =
            |e: &dyn std::fmt::Display| ApiError::internal("cannot read the job's output", e);
        match format {
            None | Some("ndjson") => {
                let file = tokio::fs::File::open(&ndjson)
                    .await
                    .map_err(|e| unreadable(&e))?;
                let length = file.metadata().await.map_err(|e| unreadable(&e))?.len();
                Ok(Output {
                    body: Body::from_stream(tokio_util::io::ReaderStream::new(file)),
                    length: Some(length),
                    extension: "ndjson",
                    content_type: "application/x-ndjson",
                })
            }
            Some("csv") => {
                let path = ndjson.clone();
                let columns =
                    tokio::task::spawn_blocking(move || super::table_export::columns_of(&path))
                        .await
                        .map_err(|e| unreadable(&e))?
                        .map_err(|e| unreadable(&e))?;
                Ok(Output {
                    body: super::table_export::csv_body(ndjson, columns),
                    length: None,
                    extension: "csv",
                    content_type: "text/csv; charset=utf-8",
                })
            }
            Some("xlsx") => {
                let sheet = ndjson
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("output")
                    .to_string();
                let folder = ndjson
                    .parent()
                    .unwrap_or(std::path::Path::new("."))
                    .to_path_buf();
                let workbook = built_in(folder, move |out| {
                    let columns = super::table_export::columns_of(&ndjson)?;
                    super::table_export::write_xlsx(&ndjson, &columns, &sheet, out)
                })
                .await?
                .map_err(|e| match e {
                    super::table_export::XlsxExportError::TooManyRows(_) => {
                        ApiError::new(super::error::ApiCode::TooLargeForXlsx, e.to_string())
                    }
                    other => unreadable(&other),
                })?;
                Output::file(workbook, "xlsx", XLSX_TYPE).await
            }
            Some(other) => Err(ApiError::new(
                super::error::ApiCode::BadQuery,
                format!("format `{other}` is not offered: use `ndjson`, `csv` or `xlsx`"),
            )),
        }
    }

    /// A temporary file's content as the output: the file is unlinked at
    /// once, its open handle streams it.
    async fn file(
        file: tempfile::NamedTempFile,
        extension: &'static str,
        content_type: &'static str,
    ) -> Result<Output, ApiError> {
        let unreadable =
            |e: &dyn std::fmt::Display| ApiError::internal("cannot read the job's output", e);
        let (handle, path) = file.into_parts();
        drop(path);
        let file = tokio::fs::File::from_std(handle);
        let length = file.metadata().await.map_err(|e| unreadable(&e))?.len();
        Ok(Output {
            body: Body::from_stream(tokio_util::io::ReaderStream::new(file)),
            length: Some(length),
            extension,
            content_type,
        })
    }

    /// The answer: the output as an attachment named `stem` and its
    /// extension, made safe for a header (it is a plain file name).
    fn attachment(self, stem: &str) -> Response {
        let full = format!("{stem}.{}", self.extension);
        let plain: String = full
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' && c != '\\' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        // RFC 6266: the plain name for old clients, the UTF-8 one
        // (`出货明细.xlsx`) for the rest.
        let mut response = (
            [
                (header::CONTENT_TYPE, self.content_type.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"{plain}\"; filename*=UTF-8''{}",
                        percent_encoded(&full)
                    ),
                ),
            ],
            self.body,
        )
            .into_response();
        if let Some(length) = self.length {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, length.into());
        }
        response
    }
}

/// `text` percent-encoded as RFC 5987 asks of a header's UTF-8 value:
/// every byte but letters, digits and `!#$&+-.^_`|~` as `%XX`.
fn percent_encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `GET /v1/jobs/{id}/records[?format=csv|xlsx]`: the records, NDJSON, CSV or XLSX.
#[utoipa::path(get, path = "/v1/jobs/{id}/records", params(("id" = String, Path, description = "The job id"), ("format" = Option<String>, Query, description = "`ndjson` (default), `csv` or `xlsx` (at most 1 048 575 rows: else `422 too-large-for-xlsx`)")), responses((status = 200, description = "The job's records, NDJSON or CSV", content_type = "application/x-ndjson", body = String), (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::error::ErrorDoc), (status = 404, description = "No such job of the caller", body = crate::error::ErrorDoc), (status = 409, description = "The job is not done", body = crate::error::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn records(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<DownloadQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    download(&state, &caller, &id, "records", query).await
}

/// `GET /v1/jobs/{id}/errors[?format=csv|xlsx]`: the error report, NDJSON, CSV or XLSX.
#[utoipa::path(get, path = "/v1/jobs/{id}/errors", params(("id" = String, Path, description = "The job id"), ("format" = Option<String>, Query, description = "`ndjson` (default), `csv` or `xlsx` (at most 1 048 575 rows: else `422 too-large-for-xlsx`)")), responses((status = 200, description = "The job's errors, NDJSON or CSV", content_type = "application/x-ndjson", body = String), (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::error::ErrorDoc), (status = 404, description = "No such job of the caller", body = crate::error::ErrorDoc), (status = 409, description = "The job is not done", body = crate::error::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn errors(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<DownloadQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    download(&state, &caller, &id, "errors", query).await
}

/// `GET /v1/jobs/{id}/annotated[?format=csv|xlsx]`: the upload's rows,
/// each with its line and a column saying what is wrong with it.
#[utoipa::path(get, path = "/v1/jobs/{id}/annotated", params(("id" = String, Path, description = "The job id"), ("format" = Option<String>, Query, description = "`csv` (UTF-8 with a byte-order mark) or `xlsx` (at most 1 048 575 rows); default: `xlsx` for a workbook's upload, else `csv`")), responses((status = 200, description = "The upload's rows: `行号 line`, the row's own columns (a table's, or `原始行 row` with a JSON row's text), and `问题 problems` (empty for a converted row)", content_type = "text/csv", body = String), (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 403, description = "The token lacks the role", body = crate::error::ErrorDoc), (status = 404, description = "No such job of the caller", body = crate::error::ErrorDoc), (status = 409, description = "The job is not done, or keeps no annotated rows", body = crate::error::ErrorDoc), (status = 422, description = "More rows than a sheet holds", body = crate::error::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn annotated(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<DownloadQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    use super::annotated::{AnnotateError, Format};
    let Query(query) = query.map_err(ApiError::bad_query)?;
    let job = owned(&state, &caller, &id)?;
    if job_has_ended(&job) {
        fetched(&state, &id, true).await?;
    }
    let folder = state.jobs.folder(&id);
    ensure_output_ready(&job, &folder.join("errors.ndjson"))?;
    let format = match query.format.as_deref() {
        None => super::annotated::default_format(&folder),
        Some("csv") => Format::Csv,
        Some("xlsx") => Format::Xlsx,
        Some(other) => {
            return Err(ApiError::new(
                super::error::ApiCode::BadQuery,
                format!("format `{other}` is not offered: use `csv` or `xlsx`"),
            ))
        }
    };
    let _slot = super::convert::Slot::take(&state, &caller.name)?;
    let workbooks = state.workbook_options();
    let file = built_in(folder.clone(), move |out| {
        super::annotated::write(&folder, format, out, &workbooks)
    })
    .await?
    .map_err(|e| match e {
        AnnotateError::NotKept => ApiError::new(super::error::ApiCode::NotAnnotated, e.to_string()),
        AnnotateError::TooManyRows => {
            ApiError::new(super::error::ApiCode::TooLargeForXlsx, e.to_string())
        }
        other => ApiError::internal("cannot annotate the upload", &other),
    })?;
    let (extension, content_type) = match format {
        Format::Csv => ("csv", "text/csv; charset=utf-8"),
        Format::Xlsx => ("xlsx", XLSX_TYPE),
    };
    Ok(Output::file(file, extension, content_type)
        .await?
        .attachment(&format!("{}.annotated", job.file)))
}
