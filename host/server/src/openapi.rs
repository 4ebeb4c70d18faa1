//! The OpenAPI document of the API: its frame here (title, schemas, the
//! bearer scheme), its operations from the handlers' annotations as
//! `routes()` in `lib.rs` registers them, served at `/openapi.json`. A test
//! checks every documented operation against the real router.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;

/// The frame of the API's OpenAPI document; `routes()` adds the operations.
#[derive(OpenApi)]
#[openapi(
    info(title = "Conform", description = "Converts enterprises' exports into validated records of a unified standard."),
    components(schemas(super::error::ErrorDoc, super::jobs::Job, super::jobs::JobState, super::jobs_api::JobList, super::catalog_api::NewOwner)),
    modifiers(&BearerAuth)
)]
pub(crate) struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The process serves", body = String)))]
pub(crate) async fn health() -> &'static str {
    "ok"
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "The OpenAPI document")))]
pub(crate) async fn openapi_json(
    axum::Extension(document): axum::Extension<std::sync::Arc<utoipa::openapi::OpenApi>>,
) -> Json<utoipa::openapi::OpenApi> {
    Json(document.as_ref().clone())
}
