//! The catalog endpoints: list and inspect plugins and packs; providers
//! publish plugins, publishers publish packs.
//!
//! A published plugin is checked (manifest, sha256, contract world,
//! imports, target pack range, record types), compiled and cached before it
//! is stored; a published pack has every schema compiled and every table
//! checked, and all its problems are listed if it is refused. Versions are
//! immutable: publishing an existing version answers 409.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use conform_pack::Pack;
use futures_util::StreamExt;
use semver::Version;

use super::auth::Caller;
use super::config::Role;
use super::error::{publish_refusal, ApiCode, ApiError};
use super::owners::{Kind, OPERATOR};
use super::state::{AppState, Listing};
use conform_engine::archive::UnpackLimits;
use conform_engine::registry::Entry;
use conform_engine::{NameGate, PublishError};

/// What the API shows of a plugin version.
fn plugin_json(catalog: &Listing, entry: &Entry) -> serde_json::Value {
    let m = &entry.manifest;
    let runs_against = catalog
        .packs
        .newest(&m.target.pack, &m.target.versions)
        .map(|p| p.manifest().version.to_string());
    serde_json::json!({
        "name": m.name, "version": m.version.to_string(), "provider": m.provider,
        "description": m.description, "files": m.input.files, "pack": m.target.pack,
        "pack_versions": m.target.versions.to_string(), "runs_against": runs_against,
        "record_types": m.target.record_types, "sha256": m.component.sha256,
        "limits": catalog.plugins.limits_of(entry), "mapping": entry.is_mapping(),
    })
}

/// What the API shows of a pack version.
fn pack_json(pack: &Pack) -> serde_json::Value {
    let m = pack.manifest();
    serde_json::json!({
        "id": m.id, "version": m.version.to_string(), "publisher": m.publisher,
        "description": m.description,
        "record_types": pack.record_types().collect::<Vec<_>>(),
    })
}

/// `GET /v1/plugins`: every plugin version and the pack version it runs against.
#[utoipa::path(get, path = "/v1/plugins", responses((status = 200, description = "Every plugin version, what it converts and the pack version it runs against"), (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn list_plugins(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
) -> Json<serde_json::Value> {
    let catalog = state.listing();
    let plugins: Vec<_> = catalog
        .plugins
        .entries()
        .iter()
        .map(|e| plugin_json(&catalog, e))
        .collect();
    Json(serde_json::json!({ "plugins": plugins }))
}

/// `GET /v1/plugins/{name}`: the newest version of a plugin, and all its versions.
#[utoipa::path(get, path = "/v1/plugins/{name}", params(("name" = String, Path, description = "The plugin's name")), responses((status = 200, description = "The newest version, and all versions"), (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 404, description = "No such plugin", body = crate::error::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn get_plugin(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    UrlPath(name): UrlPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let catalog = state.listing();
    let newest = catalog.plugin(&name, None)?;
    let mut versions: Vec<&Version> = catalog
        .plugins
        .entries()
        .iter()
        .filter(|e| e.manifest.name == name)
        .map(|e| &e.manifest.version)
        .collect();
    versions.sort();
    let mut shown = plugin_json(&catalog, newest);
    shown["owner"] = serde_json::json!(state
        .owners
        .owner_of(Kind::Plugin, &name)
        .map_err(|e| ApiError::internal("the catalog store failed", &e))?);
    shown["versions"] =
        serde_json::json!(versions.iter().map(ToString::to_string).collect::<Vec<_>>());
    Ok(Json(shown))
}

/// `GET /v1/packs`: every pack version.
#[utoipa::path(get, path = "/v1/packs", responses((status = 200, description = "Every pack version"), (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn list_packs(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
) -> Json<serde_json::Value> {
    let catalog = state.listing();
    let packs: Vec<_> = catalog
        .packs
        .ids()
        .flat_map(|id| catalog.packs.versions(id))
        .map(|p| pack_json(p))
        .collect();
    Json(serde_json::json!({ "packs": packs }))
}

/// `GET /v1/packs/{id}/{version}`: one pack version.
#[utoipa::path(get, path = "/v1/packs/{id}/{version}", params(("id" = String, Path, description = "The pack's id"), ("version" = String, Path, description = "The version")), responses((status = 200, description = "The pack version"), (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 404, description = "No such pack version", body = crate::error::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn get_pack(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let catalog = state.listing();
    let unknown = || {
        ApiError::new(
            ApiCode::UnknownPack,
            format!("no pack `{id}` {version} here; GET /v1/packs lists them"),
        )
    };
    let version = Version::parse(&version).map_err(|_| unknown())?;
    let pack = catalog.packs.get(&id, &version).ok_or_else(unknown)?;
    Ok(Json(pack_json(pack)))
}

/// Pack archives made at once: each holds a pack (bounded by the
/// publishing limit) in memory while it is made.
static ARCHIVING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// `GET /v1/packs/{id}/{version}/archive`: the pack version's folder as a
/// tar.gz (what `POST /v1/packs` takes), so that a provider tests against
/// the pack this server runs.
#[utoipa::path(get, path = "/v1/packs/{id}/{version}/archive", params(("id" = String, Path, description = "The pack's id"), ("version" = String, Path, description = "The version")), responses((status = 200, description = "The pack's folder as a tar.gz archive, its files under one top folder `ID-VERSION/`", content_type = "application/gzip"), (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 404, description = "No such pack version", body = crate::error::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn get_pack_archive(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let unknown = || {
        ApiError::new(
            ApiCode::UnknownPack,
            format!("no pack `{id}` {version} here; GET /v1/packs lists them"),
        )
    };
    let parsed = Version::parse(&version).map_err(|_| unknown())?;
    let dir = state
        .listing()
        .packs
        .get(&id, &parsed)
        .ok_or_else(unknown)?
        .dir()
        .to_path_buf();
    let top = format!("{id}-{parsed}");
    let name = top.clone();
    // Archiving reads and compresses the whole pack in memory: a few at a
    // time, the rest wait their turn (without a thread).
    let _turn = ARCHIVING
        .acquire()
        .await
        .map_err(|e| ApiError::internal("archiving is closed", &e))?;
    let archive =
        tokio::task::spawn_blocking(move || conform_engine::archive::archive_folder(&dir, &top))
            .await
            .map_err(|e| ApiError::internal("archiving the pack stopped", &e))?
            .map_err(|e| ApiError::internal("archiving the pack failed", &e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.tar.gz\""),
            ),
        ],
        archive,
    )
        .into_response())
}

fn multipart_error(e: impl std::fmt::Display, status: StatusCode) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ApiCode::BodyTooLarge,
            format!("the upload is larger than this server's publishing limit: {e}"),
        )
    } else {
        ApiError::new(ApiCode::BadMultipart, format!("{e}: send multipart/form-data with parts `manifest` (plugin.toml) and `component` (the .wasm)"),
        )
    }
}

/// `POST /v1/plugins`: publishes a plugin (multipart: `manifest`, `component`).
#[utoipa::path(
    post,
    path = "/v1/plugins",
    request_body(content = String, content_type = "multipart/form-data", description = "Part `manifest`: the plugin.toml; part `component`: the WebAssembly component"),
    responses(
        (status = 201, description = "Checked, compiled and stored"),
        (status = 400, description = "Not the expected multipart parts", body = crate::error::ErrorDoc),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 403, description = "The token lacks the provider role, or the name belongs to another provider (`plugin-owned`)", body = crate::error::ErrorDoc),
        (status = 409, description = "That name and version exist", body = crate::error::ErrorDoc),
        (status = 413, description = "Over the publishing limit", body = crate::error::ErrorDoc),
        (status = 422, description = "The plugin fails a check: manifest, digest, world, imports, pack range, record types, compile limits", body = crate::error::ErrorDoc),
        (status = 503, description = "Every compilation slot is busy; retry after `Retry-After` seconds", body = crate::error::ErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn publish_plugin(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    caller.require(Role::Provider)?;
    let mut multipart = multipart.map_err(|e| multipart_error(e.body_text(), e.status()))?;
    let field_error = |e: MultipartError| multipart_error(e.body_text(), e.status());
    let (mut manifest, mut component) = (None, None);
    while let Some(field) = multipart.next_field().await.map_err(field_error)? {
        match field.name() {
            Some("manifest") => manifest = Some(field.text().await.map_err(field_error)?),
            Some("component") => component = Some(field.bytes().await.map_err(field_error)?),
            other => {
                return Err(multipart_error(
                    format!("unexpected part `{}`", other.unwrap_or("")),
                    StatusCode::BAD_REQUEST,
                ))
            }
        }
    }
    let (Some(manifest), Some(component)) = (manifest, component) else {
        return Err(multipart_error(
            "a part is missing",
            StatusCode::BAD_REQUEST,
        ));
    };
    let published = publish_entry(state, &caller, move |catalog, gate| {
        catalog.publish_plugin(&manifest, &component, gate)
    })
    .await?;
    tracing::info!(plugin = %published["name"], version = %published["version"], by = %caller.name, "plugin published");
    Ok((StatusCode::CREATED, Json(published)))
}

/// Publishes a plugin version (a plugin's or a mapping's) with `publish`,
/// in a thread of its own, as the caller's name, the name checked and
/// claimed by the owners table; the version as the API shows it.
async fn publish_entry(
    state: Arc<AppState>,
    caller: &Caller,
    publish: impl FnOnce(&conform_engine::Catalog, &dyn NameGate) -> Result<Entry, PublishError>
        + Send
        + 'static,
) -> Result<serde_json::Value, ApiError> {
    let claimant = owner_name(caller);
    tokio::task::spawn_blocking(move || {
        let gate = OwnerGate {
            state: &state,
            kind: Kind::Plugin,
            claimant,
        };
        let entry = publish(&state.catalog, &gate).map_err(|e| publish_refusal(e, Kind::Plugin))?;
        announce(
            &state,
            &entry.dir,
            Kind::Plugin,
            &entry.manifest.name,
            &entry.manifest.version,
        )?;
        Ok(plugin_json(&state.listing(), &entry))
    })
    .await
    .map_err(|e| ApiError::internal("publishing stopped", &e))?
}

/// `POST /v1/mappings`: publishes a mapping (the body: its `mapping.toml`).
#[utoipa::path(
    post,
    path = "/v1/mappings",
    request_body(content = String, content_type = "application/toml", description = "The mapping file (`mapping.toml`)"),
    responses(
        (status = 201, description = "Checked against the newest pack it targets and stored as a plugin version run by the mapping interpreter"),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 403, description = "The token lacks the provider role, or the name belongs to another provider (`plugin-owned`)", body = crate::error::ErrorDoc),
        (status = 409, description = "That name and version exist", body = crate::error::ErrorDoc),
        (status = 413, description = "Over the size of a mapping (1 MiB)", body = crate::error::ErrorDoc),
        (status = 422, description = "The mapping fails its check; `details.errors` lists each problem as `mapping.toml:LINE: message`", body = crate::error::ErrorDoc),
        (status = 503, description = "This server has no mapping interpreter", body = crate::error::ErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn publish_mapping(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    caller.require(Role::Provider)?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ApiCode::BodyTooLarge,
                format!(
                    "a mapping is at most {} bytes",
                    conform_mapping::MAX_MAPPING_BYTES
                ),
            )
        } else {
            ApiError::new(ApiCode::MappingInvalid, e.body_text())
        }
    })?;
    let Some(interpreter) = state.interpreter() else {
        return Err(ApiError::new(
            ApiCode::MappingUnavailable,
            "this server has no mapping interpreter, so mappings cannot be published here; ask its operator (`conform serve --mapping-interpreter`)",
        ));
    };
    let text = String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::new(
            ApiCode::MappingInvalid,
            "the mapping is not UTF-8 text: send the mapping.toml as it is",
        )
    })?;
    let published = publish_entry(state, &caller, move |catalog, gate| {
        catalog.publish_mapping(&text, &interpreter, gate)
    })
    .await?;
    tracing::info!(mapping = %published["name"], version = %published["version"], by = %caller.name, "mapping published");
    Ok((StatusCode::CREATED, Json(published)))
}

/// Who a caller publishes as: its token's name, or the operator for admins.
fn owner_name(caller: &Caller) -> String {
    if caller.roles.contains(&Role::Admin) {
        OPERATOR.to_string()
    } else {
        caller.name.clone()
    }
}

/// The server's rule for names: a plugin name or pack id belongs to the
/// token that first published it; the owners table says who that is.
struct OwnerGate<'a> {
    state: &'a AppState,
    kind: Kind,
    claimant: String,
}

impl OwnerGate<'_> {
    fn verdict(&self, name: &str, claim: bool) -> Result<(), PublishError> {
        let owners = &self.state.owners;
        let verdict = if claim {
            owners.claim(self.kind, name, &self.claimant)
        } else {
            owners.check(self.kind, name, &self.claimant)
        }
        .map_err(|e| PublishError::GateFailed(e.to_string()))?;
        verdict.map_err(|_| {
            let (what, who, own) = match self.kind {
                Kind::Plugin => ("plugin name", "provider", "a name"),
                Kind::Pack => ("pack", "publisher", "an id"),
            };
            PublishError::NameTaken {
                name: name.to_string(),
                message: format!(
                    "{what} `{name}` belongs to another {who}; publish under {own} of your own, or ask an admin to transfer this one"
                ),
            }
        })
    }
}

impl NameGate for OwnerGate<'_> {
    fn check(&self, name: &str) -> Result<(), PublishError> {
        self.verdict(name, false)
    }

    fn claim(&self, name: &str) -> Result<(), PublishError> {
        self.verdict(name, true)
    }
}

/// `POST /v1/packs`: publishes a pack (a tar or tar.gz of its folder).
#[utoipa::path(
    post,
    path = "/v1/packs",
    request_body(content = String, content_type = "application/gzip", description = "The pack's folder as a tar or tar.gz archive"),
    responses(
        (status = 201, description = "Checked and installed"),
        (status = 400, description = "Not a usable archive", body = crate::error::ErrorDoc),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc), (status = 403, description = "The token lacks the publisher role, or the id belongs to another publisher (`pack-owned`)", body = crate::error::ErrorDoc),
        (status = 409, description = "That id and version exist", body = crate::error::ErrorDoc),
        (status = 413, description = "Over the publishing limit, packed or unpacked", body = crate::error::ErrorDoc),
        (status = 415, description = "Not a tar or gzip body", body = crate::error::ErrorDoc),
        (status = 422, description = "The pack fails its checks; `details.errors` lists every problem", body = crate::error::ErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn publish_pack(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    caller.require(Role::Publisher)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream");
    let accepted = [
        "application/x-tar",
        "application/gzip",
        "application/x-gzip",
        "application/octet-stream",
    ];
    if !accepted.iter().any(|a| content_type.starts_with(a)) {
        return Err(ApiError::new(
            ApiCode::UnsupportedMediaType,
            format!("a pack is published as a tar or tar.gz archive, not `{content_type}`"),
        )
        .with_details(serde_json::json!({ "accepted": accepted })));
    }
    let max = state.config.limits.max_publish_bytes;
    ApiError::check_declared_length(&headers, max)?;
    let mut archive = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(ApiCode::UploadBroken, format!("the upload broke off: {e}"))
        })?;
        if (archive.len() + chunk.len()) as u64 > max {
            return Err(ApiError::body_too_large(max));
        }
        archive.extend_from_slice(&chunk);
    }
    let claimant = owner_name(&caller);
    let published = tokio::task::spawn_blocking(move || install_pack(&state, claimant, &archive))
        .await
        .map_err(|e| ApiError::internal("publishing stopped", &e))??;
    tracing::info!(pack = %published["id"], version = %published["version"], by = %caller.name, "pack published");
    Ok((StatusCode::CREATED, Json(published)))
}

fn install_pack(
    state: &AppState,
    claimant: String,
    archive: &[u8],
) -> Result<serde_json::Value, ApiError> {
    let limits = UnpackLimits {
        bytes: state.config.limits.max_pack_unpacked_bytes,
        files: state.config.limits.max_pack_files,
    };
    let gate = OwnerGate {
        state,
        kind: Kind::Pack,
        claimant,
    };
    let installed = state
        .catalog
        .publish_pack(archive, limits, &gate)
        .map_err(|e| publish_refusal(e, Kind::Pack))?;
    let manifest = installed.manifest();
    announce(
        state,
        installed.dir(),
        Kind::Pack,
        &manifest.id,
        &manifest.version,
    )?;
    Ok(pack_json(&installed))
}

/// Shares a version installed here with the other replicas (nothing to do
/// for one process). Blocks.
fn announce(
    state: &AppState,
    folder: &std::path::Path,
    kind: Kind,
    name: &str,
    version: &semver::Version,
) -> Result<(), ApiError> {
    let publication = crate::publications::Publication {
        kind,
        name: name.to_string(),
        version: version.clone(),
    };
    state
        .publications
        .announce(folder, &publication)
        .map_err(|e| {
            ApiError::internal(
                "the version is installed on this replica but could not be shared with the others; it is shared at this replica's next start",
                &e,
            )
        })
}

/// Body of `PUT /v1/plugins/{name}/owner` and `PUT /v1/packs/{id}/owner`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewOwner {
    /// The name of a provider token (plugins) or publisher token (packs), or
    /// `operator` (every admin token).
    owner: String,
}

/// `PUT /v1/plugins/{name}/owner`: an admin gives a plugin name to another
/// provider token (or to the operator).
#[utoipa::path(
    put,
    path = "/v1/plugins/{name}/owner",
    params(("name" = String, Path, description = "The plugin's name")),
    request_body = NewOwner,
    responses(
        (status = 200, description = "The name and its new owner"),
        (status = 400, description = "The new owner is not a provider token", body = crate::error::ErrorDoc),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc),
        (status = 403, description = "The token is not an admin", body = crate::error::ErrorDoc),
        (status = 404, description = "No such plugin", body = crate::error::ErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn transfer_plugin(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    UrlPath(name): UrlPath<String>,
    body: Result<Json<NewOwner>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let exists = state.listing().plugins.get(&name).is_ok();
    transfer(&state, &caller, Kind::Plugin, &name, exists, body)
}

/// `PUT /v1/packs/{id}/owner`: an admin gives a pack id to another
/// publisher token (or to the operator).
#[utoipa::path(
    put,
    path = "/v1/packs/{id}/owner",
    params(("id" = String, Path, description = "The pack's id")),
    request_body = NewOwner,
    responses(
        (status = 200, description = "The id and its new owner"),
        (status = 400, description = "The new owner is not a publisher token", body = crate::error::ErrorDoc),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorDoc),
        (status = 403, description = "The token is not an admin", body = crate::error::ErrorDoc),
        (status = 404, description = "No such pack", body = crate::error::ErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn transfer_pack(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    body: Result<Json<NewOwner>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let exists = !state.listing().packs.versions(&id).is_empty();
    transfer(&state, &caller, Kind::Pack, &id, exists, body)
}

/// Gives a plugin name or pack id to `body.owner`: an admin's act.
fn transfer(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    name: &str,
    exists: bool,
    body: Result<Json<NewOwner>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Role::Admin)?;
    let Json(NewOwner { owner }) = body.map_err(|e| {
        ApiError::new(
            ApiCode::BadBody,
            format!("{}: send {{\"owner\": \"TOKEN-NAME\"}}", e.body_text()),
        )
    })?;
    let (what, role, unknown) = match kind {
        Kind::Plugin => ("plugin", Role::Provider, ApiCode::UnknownPlugin),
        Kind::Pack => ("pack", Role::Publisher, ApiCode::UnknownPack),
    };
    if !exists {
        return Err(ApiError::new(unknown, format!("no {what} `{name}` here")));
    }
    // Admin tokens publish as the operator: a name given to one of them
    // would belong to nobody who can publish it.
    let tokens = state.tokens();
    let token = tokens.iter().find(|t| t.name == owner);
    let eligible =
        token.is_some_and(|t| t.roles.contains(&role) && !t.roles.contains(&Role::Admin));
    if owner != OPERATOR && !eligible {
        return Err(ApiError::new(ApiCode::BadOwner, format!(
                "`{owner}` is not the name of a {} token; give the {what} to such a token, or to `{OPERATOR}` for the admin tokens",
                role.as_str()
            ),
        ));
    }
    state
        .owners
        .transfer(kind, name, &owner)
        .map_err(|e| ApiError::internal("the catalog store failed", &e))?;
    tracing::info!(kind = what, %name, %owner, by = %caller.name, "ownership transferred");
    Ok(Json(serde_json::json!({ what: name, "owner": owner })))
}
