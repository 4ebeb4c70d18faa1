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

mod annotated;
mod auth;
mod catalog_api;
pub mod config;
pub mod config_file;
mod connection;
mod convert;
pub mod error;
pub mod files;
mod job_runner;
pub mod jobs;
mod jobs_api;
mod linger;
mod memory;
pub mod metadata;
pub mod metrics;
mod metrics_api;
mod observe;
pub mod openapi;
pub mod owners;
mod page;
mod pins;
mod publications;
pub mod redact;
#[cfg(test)]
mod router_tests;
mod spool;
mod state;
mod table_export;
mod upload;
mod xlsx_out;

use std::future::Future;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

pub use auth::{hash_token, new_token, Caller};
pub use config::{PluginCaps, Role, ServerConfig, TokenConfig};
pub use state::AppState;

/// Every route of the API with its handler, each registered once: the
/// router and the OpenAPI document (`/openapi.json`) both come from this
/// list, so neither can name a route the other lacks.
fn routes(publish_limit: usize) -> OpenApiRouter<Arc<AppState>> {
    use tower_http::compression::CompressionLayer;
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(openapi::health))
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(state::ready))
        .routes(routes!(metrics_api::metrics))
        .routes(routes!(auth::whoami))
        .routes(routes!(convert::convert))
        .routes(routes!(jobs_api::submit, jobs_api::list).layer(DefaultBodyLimit::disable()))
        .routes(routes!(jobs_api::get, jobs_api::cancel))
        .routes(routes!(jobs_api::records).layer(CompressionLayer::new()))
        .routes(routes!(jobs_api::errors).layer(CompressionLayer::new()))
        .routes(routes!(jobs_api::annotated).layer(CompressionLayer::new()))
        .routes(
            routes!(catalog_api::list_plugins, catalog_api::publish_plugin)
                .layer(DefaultBodyLimit::max(publish_limit)),
        )
        .routes(
            routes!(catalog_api::publish_mapping).layer(DefaultBodyLimit::max(
                conform_mapping::MAX_MAPPING_BYTES as usize,
            )),
        )
        .routes(routes!(catalog_api::get_plugin))
        .routes(routes!(catalog_api::transfer_plugin))
        .routes(routes!(catalog_api::list_packs, catalog_api::publish_pack))
        .routes(routes!(catalog_api::get_pack))
        .routes(routes!(catalog_api::get_pack_archive))
        .routes(routes!(catalog_api::transfer_pack))
}

/// The router of the API.
pub fn app(state: Arc<AppState>) -> Router {
    let publish_limit =
        usize::try_from(state.config.limits.max_publish_bytes).unwrap_or(usize::MAX);
    let (router, document) = routes(publish_limit).split_for_parts();
    router
        .layer(axum::Extension(Arc::new(document)))
        .route_layer(axum::middleware::from_fn(known_query_only))
        .merge(page::routes())
        .fallback(|| async {
            error::ApiError::not_found("no such route: see the README's API section")
        })
        .method_not_allowed_fallback(|request: axum::extract::Request| async move {
            error::ApiError::new(error::ApiCode::MethodNotAllowed, format!(
                    "{} is not a method of {}: see /openapi.json",
                    request.method(),
                    request.uri().path()
                ),
            )
        })
        // One log line per request (see `observe`), in a span with the
        // request id, and an `x-request-id` on every response, given or
        // generated.
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|request: &axum::extract::Request| {
                            let id = request
                                .headers()
                                .get("x-request-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("");
                            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
                        })
                        // `observe` logs each request once its answer is written.
                        .on_response(()),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    observe::observe,
                )),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            upload::cut_off_slow_bodies,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics_api::count_limit_hits,
        ))
        .with_state(state)
}

/// The query parameters each route takes; any other is a 400, so that a
/// misspelt `pakc=` is not silently ignored.
fn query_parameters(method: &axum::http::Method, route: &str) -> &'static [&'static str] {
    match (method.as_str(), route) {
        ("POST", "/v1/convert") => &["plugin", "pack"],
        ("POST", "/v1/jobs") => &["plugin", "pack", "name"],
        ("GET", "/v1/jobs/{id}/records" | "/v1/jobs/{id}/errors" | "/v1/jobs/{id}/annotated") => {
            &["format"]
        }
        ("GET", "/v1/jobs") => &["limit", "after"],
        _ => &[],
    }
}

/// Refuses a request with a query parameter its route does not take.
async fn known_query_only(
    matched: Option<axum::extract::MatchedPath>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let (Some(route), Some(record)) = (
        matched.as_ref(),
        request.extensions().get::<Arc<observe::RequestRecord>>(),
    ) {
        record.set_route(route.as_str());
    }
    if let (Some(query), Some(route)) = (request.uri().query(), matched.as_ref()) {
        let allowed = query_parameters(request.method(), route.as_str());
        let given: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        if let Some((unknown, _)) = given.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            let takes = if allowed.is_empty() {
                "no query parameters".to_string()
            } else {
                allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return error::ApiError::new(
                error::ApiCode::BadQuery,
                format!(
                    "unknown query parameter `{unknown}`: {} {} takes {takes}",
                    request.method(),
                    route.as_str()
                ),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// How many connections are served at once: `configured`, or, for 0, what
/// the file-descriptor limit allows (raised to its hard limit first) with
/// room left for files, databases and plugins.
fn connection_cap(configured: u32) -> usize {
    if configured > 0 {
        return configured as usize;
    }
    let descriptors = raise_descriptor_limit();
    (descriptors.saturating_sub(256) / 2).clamp(64, 65_536) as usize
}

/// Raises the soft limit of open files to the hard limit; returns the limit
/// in force.
fn raise_descriptor_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}

/// Serves the API on `listener` until `shutdown` completes, then lets the
/// requests in flight finish for `limits.shutdown_seconds`; conversions
/// still running then end with a `shutting-down` summary. Starts the job
/// runners.
///
/// The accept loop is hyper's, with the limits of [`connection`]: a
/// connection without a request in flight must send a request head within
/// `limits.header_read_seconds` (HTTP/1 and HTTP/2), and an answer the
/// client does not read fails after `limits.write_stall_seconds`. At most
/// `limits.max_connections` connections are open at once.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioTimer};
    use hyper_util::server::conn::auto::Builder;

    state.warm_up();
    state.watch_config();
    job_runner::spawn_runners(state.clone());
    job_runner::spawn_sweeper(state.clone());
    job_runner::spawn_lease_keeper(state.clone());
    job_runner::spawn_catalog_follower(state.clone());
    let limits = state.config.limits;
    let max_connections = connection_cap(limits.max_connections);
    tracing::info!(max_connections, "accepting connections");
    let permits = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let router = app(state.clone());
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(limits.header_read_seconds));
    builder.http2().timer(TokioTimer::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // At the cap, no more connections are accepted (they wait in the
        // kernel's backlog) until one closes: file descriptors never run out.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        serve_connection(&builder, &graceful, stream, &router, permit, limits);
    }
    drop(listener);
    drain(graceful, &state).await;
    Ok(())
}

/// The accept loop's connection builder: hyper's HTTP/1 and HTTP/2.
type ConnectionBuilder = hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>;

/// Serves one accepted connection in a task of its own, within the
/// connection limits; `permit` is given back when it closes.
fn serve_connection(
    builder: &ConnectionBuilder,
    graceful: &hyper_util::server::graceful::GracefulShutdown,
    stream: tokio::net::TcpStream,
    router: &Router,
    permit: tokio::sync::OwnedSemaphorePermit,
    limits: config::ServerLimits,
) {
    let header_timeout = std::time::Duration::from_secs(limits.header_read_seconds);
    let write_stall = std::time::Duration::from_secs(limits.write_stall_seconds);
    // Small streamed chunks go out at once, not after the peer's
    // delayed acknowledgement (40 ms per reply on a reused connection).
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
    let activity = connection::Activity::new();
    let io = hyper_util::rt::TokioIo::new(connection::Watched::new(
        stream,
        activity.clone(),
        write_stall,
    ));
    let service = tracked_service(router.clone(), activity.clone());
    let connection = builder
        .serve_connection_with_upgrades(io, service)
        .into_owned();
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        tokio::select! {
            ended = connection => if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
            },
            () = activity.idle_for(header_timeout) => {
                tracing::debug!("closed a connection without a request in flight");
            }
            () = activity.close_requested() => {
                tracing::debug!("closed a connection whose answer was not taken");
            }
        }
        drop(permit);
    });
}

/// Lets the requests in flight finish for `limits.shutdown_seconds`, then
/// stops the conversions still running and gives them a moment to write
/// their summary.
async fn drain(graceful: hyper_util::server::graceful::GracefulShutdown, state: &AppState) {
    let limits = state.config.limits;
    let deadline = std::time::Duration::from_secs(limits.shutdown_seconds);
    let mut drained = std::pin::pin!(graceful.shutdown());
    if tokio::time::timeout(deadline, &mut drained).await.is_err() {
        tracing::warn!(
            seconds = limits.shutdown_seconds,
            "requests still running at the shutdown deadline; stopping them"
        );
        state.stop_conversions();
        // Long enough for the stopped conversions to write their summary.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), drained).await;
    }
}

/// The router as a hyper service whose requests count as in flight on
/// `activity` until their answer is written.
fn tracked_service(
    router: Router,
    activity: Arc<connection::Activity>,
) -> impl hyper::service::Service<
    axum::http::Request<hyper::body::Incoming>,
    Response = axum::http::Response<axum::body::Body>,
    Error = std::convert::Infallible,
    Future = impl Future<
        Output = Result<axum::http::Response<axum::body::Body>, std::convert::Infallible>,
    > + Send,
> + Clone {
    hyper::service::service_fn(move |request: axum::http::Request<hyper::body::Incoming>| {
        use tower::ServiceExt;
        let in_flight = activity.begin();
        // HTTP/2 refuses a stream's body with a reset of that stream alone,
        // and a client that waits for `100 Continue` sends no body after a
        // refusal: only the others need their body read to a bound.
        let linger = request.version() <= axum::http::Version::HTTP_11
            && request.headers().get(axum::http::header::EXPECT).is_none();
        let mut request = request.map(|body| {
            if linger {
                axum::body::Body::new(linger::Lingering::new(body))
            } else {
                axum::body::Body::new(body)
            }
        });
        request
            .extensions_mut()
            .insert(connection::CloseConnection::new(activity.clone()));
        let answer = router.clone().oneshot(request);
        async move {
            let response = answer.await?;
            // In flight until the answer is written (or given up).
            Ok(response.map(|body| {
                axum::body::Body::new(observe::Counted::new(body, Arc::default(), move |_| {
                    drop(in_flight)
                }))
            }))
        }
    })
}
