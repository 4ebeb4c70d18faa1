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
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
