//! Bearer tokens with roles. Tokens are stored as SHA-256 digests: they are
//! 256-bit random values, so a fast digest is enough.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::config::Role;
use super::error::ApiError;
use super::observe::RequestRecord;
use super::state::AppState;

/// Who is calling: the token's name and roles.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name in the configuration.
    pub name: String,
    /// Its roles.
    pub roles: Vec<Role>,
}

impl Caller {
    /// `Ok` when the caller has `role` (admins have every role), else 403.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.roles.contains(&role) || self.roles.contains(&Role::Admin) {
            Ok(())
        } else {
            Err(ApiError::new(
                super::error::ApiCode::Forbidden,
                format!(
                    "token `{}` lacks the `{}` role this needs",
                    self.name,
                    role.as_str()
                ),
            ))
        }
    }
}

/// The digest under which a token is stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random token (`cf_` and 64 hex digits).
pub fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(format!("cf_{}", hex::encode(bytes)))
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let unauthenticated =
            |message: &str| ApiError::new(super::error::ApiCode::Unauthenticated, message);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthenticated("send `Authorization: Bearer TOKEN`"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer TOKEN`"))?;
        let digest = hash_token(token.trim());
        let tokens = state.tokens();
        let entry = tokens
            .iter()
            .find(|t| t.sha256 == digest)
            .ok_or_else(|| unauthenticated("the token is not known to this server"))?;
        if let Some(record) = parts.extensions.get::<Arc<RequestRecord>>() {
            record.set_token(&entry.name);
        }
        Ok(Caller {
            name: entry.name.clone(),
            roles: entry.roles.clone(),
        })
    }
}

/// `GET /v1/token`: the calling token's name and roles, so that a client
/// (the upload page) can tell what it may do before it tries.
#[utoipa::path(get, path = "/v1/token", responses((status = 200, description = "`{\"name\": …, \"roles\": [\"uploader\", …]}`"), (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn whoami(caller: Caller) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "name": caller.name, "roles": caller.roles }))
}
