//! API errors: a status and a JSON body a client can act on.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
pub use conform_model::api::ErrorBody;

/// An error answer of the API.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with a status, a code and a message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code: code.into(),
                message: message.into(),
                details: serde_json::Value::Null,
            },
        }
    }

    /// The same error with details.
    pub fn with_details(mut self, details: serde_json::Value) -> ApiError {
        self.body.details = details;
        self
    }

    /// 404 for a route or resource that does not exist.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    /// 400 for a query string that does not parse.
    pub fn bad_query(rejection: axum::extract::rejection::QueryRejection) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-query",
            format!(
                "{}: pass `?plugin=NAME` (see /openapi.json)",
                rejection.body_text()
            ),
        )
    }

    /// 413 for a body over the server's limit.
    pub fn body_too_large(limit: u64) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("the body is larger than this server's limit of {limit} bytes; split the file"),
        )
        .with_details(serde_json::json!({ "limit_bytes": limit }))
    }

    /// Refuses, before reading it, a body whose declared length is over `limit`.
    pub fn check_declared_length(
        headers: &axum::http::HeaderMap,
        limit: u64,
    ) -> Result<(), ApiError> {
        let declared = headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        match declared {
            Some(len) if len > limit => Err(ApiError::body_too_large(limit)),
            _ => Ok(()),
        }
    }

    /// 503 for work the server cannot take now; `Retry-After` says when to
    /// try again.
    pub fn busy(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "server-busy", message)
            .with_details(serde_json::json!({ "retry_after_seconds": 30 }))
    }

    /// 507 for an upload the disk cannot take now.
    pub fn insufficient_storage() -> ApiError {
        ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "insufficient-storage",
            "the server's disk is too full to store this upload; try again later, or send a smaller file",
        )
    }

    /// 503 for a conversion the plugin memory budget has no room for now.
    pub fn memory_busy() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "memory-busy",
            "the server's memory for plugins is taken by other conversions; try again shortly",
        )
    }

    /// 503 for work cut off by the server's shutdown deadline.
    pub fn shutting_down() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting-down",
            "the server is shutting down and stopped this conversion; send the file again in a moment",
        )
    }

    /// 500 for a fault of the server; the message never leaks internals.
    pub fn internal(what: &str, error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(%error, "{what}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("{what}; the server log has details"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(mut self) -> Response {
        let code = super::metrics::ErrorCode(self.body.code.clone());
        self.body.message = super::redact::redact(&self.body.message);
        if !self.body.details.is_null() {
            let details = super::redact::redact(&self.body.details.to_string());
            self.body.details = serde_json::from_str(&details).unwrap_or_default();
        }
        // 429 and 503 say when to come back.
        let busy = matches!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
        );
        let status = self.status;
        let mut response = (self.status, Json(self.body)).into_response();
        if busy {
            // A conversion slot frees within seconds; a compilation slot
            // within a minute.
            let seconds = if status == StatusCode::TOO_MANY_REQUESTS {
                "5"
            } else {
                "30"
            };
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(seconds),
            );
        }
        response.extensions_mut().insert(code);
        response
    }
}
