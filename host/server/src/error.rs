//! API errors: a status and a JSON body a client can act on.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use conform_engine::archive::ArchiveError;
use conform_engine::{CatalogError, PublishError, RegistryError};
pub use conform_model::api::ErrorBody;
use conform_sandbox::SandboxError;

/// Declares [`ApiCode`]: each code with its HTTP status, its wire name and
/// whether it is a limit (counted by `/metrics`).
macro_rules! api_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $status:ident, $limit:literal;)*) => {
        /// Every code an error answer of the API carries: one enum, so that
        /// the status, the metrics' limit list and the README's list all
        /// follow from it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ApiCode {
            $($(#[$doc])* $variant,)*
        }

        impl ApiCode {
            /// Every code, in the order declared.
            pub const ALL: &'static [ApiCode] = &[$(ApiCode::$variant,)*];

            /// The code as clients see it, e.g. `plugin-owned`.
            pub fn as_str(self) -> &'static str {
                match self { $(ApiCode::$variant => $code,)* }
            }

            /// The HTTP status it answers with.
            pub fn status(self) -> StatusCode {
                match self { $(ApiCode::$variant => StatusCode::$status,)* }
            }

            /// Whether it is a limit of the server (counted as a limit hit).
            pub fn is_limit(self) -> bool {
                match self { $(ApiCode::$variant => $limit,)* }
            }
        }
    };
}

api_codes! {
    /// The request is malformed: a query, a pin.
    BadQuery = "bad-query", BAD_REQUEST, false;
    /// A JSON body does not read.
    BadBody = "bad-body", BAD_REQUEST, false;
    /// A job's file name is unusable.
    BadName = "bad-name", BAD_REQUEST, false;
    /// An owner transfer names no eligible token.
    BadOwner = "bad-owner", BAD_REQUEST, false;
    /// A publication is not the expected multipart parts.
    BadMultipart = "bad-multipart", BAD_REQUEST, false;
    /// A pack archive does not unpack.
    BadArchive = "bad-archive", BAD_REQUEST, false;
    /// The upload broke off.
    UploadBroken = "upload-broken", BAD_REQUEST, false;
    /// No or unknown token.
    Unauthenticated = "unauthenticated", UNAUTHORIZED, false;
    /// The token lacks the role.
    Forbidden = "forbidden", FORBIDDEN, false;
    /// The plugin name belongs to another provider.
    PluginOwned = "plugin-owned", FORBIDDEN, false;
    /// The pack id belongs to another publisher.
    PackOwned = "pack-owned", FORBIDDEN, false;
    /// No such route.
    NotFound = "not-found", NOT_FOUND, false;
    /// No such plugin (or version).
    UnknownPlugin = "unknown-plugin", NOT_FOUND, false;
    /// No such pack (or version).
    UnknownPack = "unknown-pack", NOT_FOUND, false;
    /// No such job, or another's.
    UnknownJob = "unknown-job", NOT_FOUND, false;
    /// The route does not take that method.
    MethodNotAllowed = "method-not-allowed", METHOD_NOT_ALLOWED, false;
    /// The upload came slower than the minimum rate.
    UploadTooSlow = "upload-too-slow", REQUEST_TIMEOUT, true;
    /// The plugin version is published already.
    PluginExists = "plugin-exists", CONFLICT, false;
    /// The pack version is published already.
    PackExists = "pack-exists", CONFLICT, false;
    /// The job has no outputs yet.
    JobNotDone = "job-not-done", CONFLICT, false;
    /// The job keeps no annotated rows (it ended before they were offered).
    NotAnnotated = "not-annotated", CONFLICT, false;
    /// The body is over the server's limit.
    BodyTooLarge = "body-too-large", PAYLOAD_TOO_LARGE, true;
    /// The pack archive unpacks to more than the limit.
    ArchiveTooLarge = "archive-too-large", PAYLOAD_TOO_LARGE, true;
    /// The body is not of a type the route takes.
    UnsupportedMediaType = "unsupported-media-type", UNSUPPORTED_MEDIA_TYPE, false;
    /// The plugin manifest does not read.
    BadManifest = "bad-manifest", UNPROCESSABLE_ENTITY, false;
    /// The component's digest is not the manifest's.
    DigestMismatch = "digest-mismatch", UNPROCESSABLE_ENTITY, false;
    /// The component is not of the contract's world.
    PluginWorld = "plugin-world", UNPROCESSABLE_ENTITY, false;
    /// The component imports what plugins may not.
    PluginImports = "plugin-imports", UNPROCESSABLE_ENTITY, false;
    /// The component is not valid WebAssembly.
    PluginInvalid = "plugin-invalid", UNPROCESSABLE_ENTITY, false;
    /// The component is over the compile limits.
    PluginTooComplex = "plugin-too-complex", UNPROCESSABLE_ENTITY, false;
    /// The plugin emits a record type its pack does not have.
    UnknownRecordType = "unknown-record-type", UNPROCESSABLE_ENTITY, false;
    /// The plugin cannot run here or against that pack.
    PluginUnusable = "plugin-unusable", UNPROCESSABLE_ENTITY, false;
    /// No installed pack version suits the plugin (or the pin).
    NoMatchingPack = "no-matching-pack", UNPROCESSABLE_ENTITY, false;
    /// The pack fails its checks.
    PackInvalid = "pack-invalid", UNPROCESSABLE_ENTITY, false;
    /// The mapping fails its check against the pack.
    MappingInvalid = "mapping-invalid", UNPROCESSABLE_ENTITY, false;
    /// The output has more rows than one sheet holds: the CSV has them.
    TooLargeForXlsx = "too-large-for-xlsx", UNPROCESSABLE_ENTITY, false;
    /// The token has as many conversions running as it may.
    TooManyConversions = "too-many-conversions", TOO_MANY_REQUESTS, true;
    /// The token has as many jobs queued as it may.
    TooManyJobs = "too-many-jobs", TOO_MANY_REQUESTS, true;
    /// A fault of the server.
    Internal = "internal", INTERNAL_SERVER_ERROR, false;
    /// Every compilation slot is busy, or the job store does not answer.
    ServerBusy = "server-busy", SERVICE_UNAVAILABLE, false;
    /// The plugin memory budget has no room now.
    MemoryBusy = "memory-busy", SERVICE_UNAVAILABLE, true;
    /// The server is shutting down.
    ShuttingDown = "shutting-down", SERVICE_UNAVAILABLE, false;
    /// The server has no mapping interpreter: mappings cannot be published.
    MappingUnavailable = "mapping-unavailable", SERVICE_UNAVAILABLE, false;
    /// The disk is too full for the upload.
    InsufficientStorage = "insufficient-storage", INSUFFICIENT_STORAGE, false;
}

/// An error answer of the API: a typed code (which gives the status), a
/// message for a person and details for a program.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The code, and so the status.
    pub code: ApiCode,
    /// What went wrong and what to do, for a person.
    pub message: String,
    /// Facts a program can use (`null` if none).
    pub details: serde_json::Value,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ApiCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            details: serde_json::Value::Null,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The same error with details.
    pub fn with_details(mut self, details: serde_json::Value) -> ApiError {
        self.details = details;
        self
    }

    /// 404 for a route or resource that does not exist.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ApiCode::NotFound, message)
    }

    /// 400 for a query string that does not parse.
    pub fn bad_query(rejection: axum::extract::rejection::QueryRejection) -> ApiError {
        ApiError::new(
            ApiCode::BadQuery,
            format!(
                "{}: pass `?plugin=NAME` (see /openapi.json)",
                rejection.body_text()
            ),
        )
    }

    /// 413 for a body over the server's limit.
    pub fn body_too_large(limit: u64) -> ApiError {
        ApiError::new(
            ApiCode::BodyTooLarge,
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
        ApiError::new(ApiCode::ServerBusy, message)
            .with_details(serde_json::json!({ "retry_after_seconds": 30 }))
    }

    /// 507 for an upload the disk cannot take now.
    pub fn insufficient_storage() -> ApiError {
        ApiError::new(
            ApiCode::InsufficientStorage,
            "the server's disk is too full to store this upload; try again later, or send a smaller file",
        )
    }

    /// 503 for a conversion the plugin memory budget has no room for now.
    pub fn memory_busy() -> ApiError {
        ApiError::new(
            ApiCode::MemoryBusy,
            "the server's memory for plugins is taken by other conversions; try again shortly",
        )
    }

    /// 503 for work cut off by the server's shutdown deadline.
    pub fn shutting_down() -> ApiError {
        ApiError::new(
            ApiCode::ShuttingDown,
            "the server is shutting down and stopped this conversion; send the file again in a moment",
        )
    }

    /// 500 for a fault of the server; the message never leaks internals.
    pub fn internal(what: &str, error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(%error, "{what}");
        ApiError::new(
            ApiCode::Internal,
            format!("{what}; the server log has details"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let details = if self.details.is_null() {
            self.details
        } else {
            let redacted = super::redact::redact(&self.details.to_string());
            serde_json::from_str(&redacted).unwrap_or_default()
        };
        let body = ErrorBody {
            code: self.code.as_str().to_string(),
            message: super::redact::redact(&self.message),
            details,
        };
        let mut response = (status, Json(body)).into_response();
        // 429 and 503 say when to come back: a conversion slot frees within
        // seconds, a compilation slot within a minute.
        let retry_after = match status {
            StatusCode::TOO_MANY_REQUESTS => Some("5"),
            StatusCode::SERVICE_UNAVAILABLE => Some("30"),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(seconds),
            );
        }
        // For `/metrics`: which code answered.
        response.extensions_mut().insert(self.code);
        response
    }
}

/// The body of every error (`schemas/api-error.schema.json`).
#[derive(utoipa::ToSchema)]
#[schema(as = ErrorBody)]
#[allow(dead_code)]
pub(crate) struct ErrorDoc {
    /// Stable, machine-readable code.
    code: String,
    /// What went wrong and what to do.
    message: String,
    /// Structured details, when there are any.
    #[schema(value_type = Option<Object>)]
    details: Option<serde_json::Value>,
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> ApiError {
        let message = e.to_string();
        match e {
            CatalogError::UnknownPlugin {
                name, installed, ..
            } => ApiError::new(ApiCode::UnknownPlugin, message)
                .with_details(serde_json::json!({ "plugin": name, "installed": installed })),
            CatalogError::NoMatchingPack(wanted) => ApiError::new(ApiCode::NoMatchingPack, message)
                .with_details(serde_json::json!({
                    "pack": wanted.pack, "versions": wanted.range, "installed": wanted.installed,
                })),
            // A busy compiler answers in the sandbox's own words.
            CatalogError::Unusable { source, .. } if conform_engine::compiled::is_busy(&source) => {
                ApiError::busy(source.to_string())
            }
            CatalogError::Unusable { .. } => ApiError::new(ApiCode::PluginUnusable, message),
            CatalogError::Plugins(_) | CatalogError::Packs(_) | CatalogError::Folder { .. } => {
                ApiError::internal("the catalog does not load", &e)
            }
        }
    }
}

/// The answer to a refused publication of a plugin or pack (`kind`).
pub(crate) fn publish_refusal(e: PublishError, kind: super::owners::Kind) -> ApiError {
    let message = e.to_string();
    let unprocessable = |code| ApiError::new(code, message.clone());
    match e {
        PublishError::BadManifest(_) => unprocessable(ApiCode::BadManifest),
        PublishError::NameTaken { name, .. } => {
            let owned = match kind {
                super::owners::Kind::Plugin => ApiCode::PluginOwned,
                super::owners::Kind::Pack => ApiCode::PackOwned,
            };
            ApiError::new(owned, message).with_details(serde_json::json!({ kind.as_str(): name }))
        }
        PublishError::GateFailed(_) => ApiError::internal("the catalog store failed", &e),
        PublishError::PluginExists { .. } => ApiError::new(ApiCode::PluginExists, message),
        PublishError::PackExists(_) => ApiError::new(ApiCode::PackExists, message),
        PublishError::Refused(refusal) => registry_refusal(refusal),
        PublishError::Catalog(e) => e.into(),
        PublishError::Archive(ArchiveError::TooLarge { .. }) => {
            ApiError::new(ApiCode::ArchiveTooLarge, message)
        }
        PublishError::Archive(_) => ApiError::new(ApiCode::BadArchive, message),
        PublishError::PackInvalid(errors) => unprocessable(ApiCode::PackInvalid)
            .with_details(serde_json::json!({ "errors": errors })),
        PublishError::MappingInvalid(errors) => unprocessable(ApiCode::MappingInvalid)
            .with_details(serde_json::json!({ "errors": errors })),
        PublishError::Register(_) => ApiError::internal("cannot register the plugin", &e),
        PublishError::Install(_) => ApiError::internal("cannot install the pack", &e),
        PublishError::Storage { doing, .. } => ApiError::internal(&format!("cannot {doing}"), &e),
    }
}

/// The answer for a plugin the registry or sandbox refuses.
fn registry_refusal(e: RegistryError) -> ApiError {
    let message = e.to_string();
    let refused = |code| ApiError::new(code, message.clone());
    match e {
        RegistryError::Sandbox(SandboxError::ForbiddenImport { import, .. }) => {
            refused(ApiCode::PluginImports).with_details(serde_json::json!({ "import": import }))
        }
        RegistryError::Sandbox(SandboxError::DigestMismatch {
            expected, actual, ..
        }) => refused(ApiCode::DigestMismatch)
            .with_details(serde_json::json!({ "expected": expected, "actual": actual })),
        RegistryError::Sandbox(SandboxError::WrongWorld { .. }) => refused(ApiCode::PluginWorld),
        RegistryError::Sandbox(SandboxError::MixedContracts { .. }) => {
            refused(ApiCode::PluginImports)
        }
        RegistryError::Sandbox(SandboxError::Invalid { .. }) => refused(ApiCode::PluginInvalid),
        RegistryError::Sandbox(SandboxError::Busy { .. }) => ApiError::busy(message),
        RegistryError::Sandbox(SandboxError::TooComplex { why, .. }) => {
            refused(ApiCode::PluginTooComplex).with_details(serde_json::json!({ "why": why }))
        }
        RegistryError::UnknownRecordType { record_type, .. } => refused(ApiCode::UnknownRecordType)
            .with_details(serde_json::json!({ "record_type": record_type })),
        RegistryError::Mapping { problems, .. } => refused(ApiCode::MappingInvalid)
            .with_details(serde_json::json!({ "errors": problems.lines().collect::<Vec<_>>() })),
        _ => refused(ApiCode::PluginUnusable),
    }
}

#[cfg(test)]
mod tests {
    use super::ApiCode;

    /// The README of this checkout.
    fn readme() -> String {
        let path = std::path::Path::new(
            &std::env::var("CARGO_MANIFEST_DIR").expect("cargo runs the tests"),
        )
        .join("../../README.md");
        std::fs::read_to_string(path).unwrap()
    }

    /// The README's paragraph of API error codes: (status, code) in order.
    fn readme_api_codes() -> Vec<(u16, String)> {
        let text = readme();
        let start = text
            .find("API error codes, by status:")
            .expect("the README lists the API error codes");
        let paragraph = &text[start..start + text[start..].find(". The").unwrap()];
        let mut status = 0;
        let mut codes = Vec::new();
        for token in paragraph.split('`').skip(1).step_by(2) {
            match token.parse::<u16>() {
                Ok(number) => status = number,
                Err(_) => codes.push((status, token.to_string())),
            }
        }
        codes
    }

    #[test]
    fn the_readme_lists_every_api_code_with_its_status_and_no_other() {
        let codes: Vec<(u16, String)> = ApiCode::ALL
            .iter()
            .map(|c| (c.status().as_u16(), c.as_str().to_string()))
            .collect();
        assert_eq!(readme_api_codes(), codes);
    }

    #[test]
    fn the_readme_lists_the_limit_codes_metrics_count() {
        let readme = readme();
        let start = readme.find("limit hits count").expect("the README says");
        let sentence = &readme[start..start + readme[start..].find("and the row").unwrap()];
        let mut listed: Vec<&str> = sentence.split('`').skip(1).step_by(2).collect();
        let mut limits: Vec<&str> = ApiCode::ALL
            .iter()
            .filter(|c| c.is_limit())
            .map(|c| c.as_str())
            .collect();
        listed.sort_unstable();
        limits.sort_unstable();
        assert_eq!(listed, limits);
    }

    #[test]
    fn codes_are_distinct_kebab_case_and_errors_are_client_or_server_errors() {
        let mut seen = std::collections::HashSet::new();
        for code in ApiCode::ALL {
            assert!(seen.insert(code.as_str()), "{} twice", code.as_str());
            assert!(code
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-'));
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }
}
