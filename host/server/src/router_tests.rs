//! The router in process (`app().oneshot(…)`): how requests that never
//! reach a conversion are answered. Every error is the JSON error body with
//! its stable code; the end-to-end tests (`tests/server/`) run the binary.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use crate::{app, hash_token, AppState, Role, ServerConfig, TokenConfig};

const UPLOADER: &str = "cf_router_test_uploader";

/// The router over an empty data directory with one uploader token.
fn router() -> (axum::Router, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::fresh(hash_token("cf_router_test_admin"));
    config.tokens.push(TokenConfig {
        name: "uploads".into(),
        sha256: hash_token(UPLOADER),
        roles: vec![Role::Uploader],
    });
    let state = AppState::open(data.path(), config).unwrap();
    (app(Arc::new(state)), data)
}

/// The status, `code` and `Retry-After` of an answer to `request`.
async fn answer(request: Request<Body>) -> (StatusCode, String, Option<String>) {
    let (router, _data) = router();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("not a JSON error body: {}", String::from_utf8_lossy(&body)));
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{json}"
    );
    (
        status,
        json["code"].as_str().unwrap_or("").to_string(),
        retry,
    )
}

fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_with_the_json_error_body() {
    assert_eq!(
        answer(get("/nowhere", None)).await,
        (StatusCode::NOT_FOUND, "not-found".into(), None)
    );
    let post_health = Request::post("/healthz").body(Body::empty()).unwrap();
    assert_eq!(
        answer(post_health).await,
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed".into(),
            None
        )
    );
}

#[tokio::test]
async fn tokens_and_roles_are_checked_before_anything_else() {
    assert_eq!(answer(get("/v1/jobs", None)).await.1, "unauthenticated");
    assert_eq!(
        answer(get("/v1/jobs", Some("cf_not_a_token"))).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        answer(get("/metrics", Some(UPLOADER))).await,
        (StatusCode::FORBIDDEN, "forbidden".into(), None)
    );
}

#[tokio::test]
async fn unknown_query_parameters_unknown_jobs_and_unknown_plugins_are_named() {
    assert_eq!(
        answer(get("/v1/jobs?limt=5", Some(UPLOADER))).await,
        (StatusCode::BAD_REQUEST, "bad-query".into(), None)
    );
    assert_eq!(
        answer(get("/v1/jobs/0123456789abcdef", Some(UPLOADER)))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let convert = Request::post("/v1/convert?plugin=no-such-plugin")
        .header("authorization", format!("Bearer {UPLOADER}"))
        .body(Body::from("x"))
        .unwrap();
    assert_eq!(answer(convert).await.0, StatusCode::NOT_FOUND);
}
