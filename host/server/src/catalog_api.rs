//! The catalog endpoints: list and inspect plugins and packs; providers
//! publish plugins, publishers publish packs.
//!
//! A published plugin is checked (manifest, sha256, contract world,
//! imports, target pack range, record types), compiled and cached before it
//! is stored; a published pack has every schema compiled and every table
//! checked, and all its problems are listed if it is refused. Versions are
//! immutable: publishing an existing version answers 409.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use conform_model::PluginManifest;
use conform_pack::Pack;
use conform_sandbox::SandboxError;
use futures_util::StreamExt;
use semver::Version;

use super::archive::{self, ArchiveError, UnpackLimits};
use super::auth::Caller;
use super::config::Role;
use super::error::ApiError;
use super::owners::{Kind, OPERATOR};
use super::scratch::{random_hex, ScratchFolder};
use super::state::{pack_for, AppState, Catalog};
use conform_engine::packs::PackStoreError;
use conform_engine::registry::{Entry, RegistryError};
use conform_engine::Registry;

/// What the API shows of a plugin version.
fn plugin_json(catalog: &Catalog, entry: &Entry) -> serde_json::Value {
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
        "limits": catalog.plugins.limits_of(entry),
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
#[utoipa::path(get, path = "/v1/plugins", responses((status = 200, description = "Every plugin version, what it converts and the pack version it runs against"), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn list_plugins(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
) -> Json<serde_json::Value> {
    let catalog = state.catalog();
    let plugins: Vec<_> = catalog
        .plugins
        .entries()
        .iter()
        .map(|e| plugin_json(&catalog, e))
        .collect();
    Json(serde_json::json!({ "plugins": plugins }))
}

/// `GET /v1/plugins/{name}`: the newest version of a plugin, and all its versions.
#[utoipa::path(get, path = "/v1/plugins/{name}", params(("name" = String, Path, description = "The plugin's name")), responses((status = 200, description = "The newest version, and all versions"), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorDoc), (status = 404, description = "No such plugin", body = crate::openapi::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn get_plugin(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    UrlPath(name): UrlPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let catalog = state.catalog();
    let newest = catalog
        .plugins
        .get(&name)
        .map_err(|_| super::state::unknown_plugin(&catalog, &name, None))?;
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
#[utoipa::path(get, path = "/v1/packs", responses((status = 200, description = "Every pack version"), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn list_packs(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
) -> Json<serde_json::Value> {
    let catalog = state.catalog();
    let packs: Vec<_> = catalog
        .packs
        .ids()
        .flat_map(|id| catalog.packs.versions(id))
        .map(|p| pack_json(p))
        .collect();
    Json(serde_json::json!({ "packs": packs }))
}

/// `GET /v1/packs/{id}/{version}`: one pack version.
#[utoipa::path(get, path = "/v1/packs/{id}/{version}", params(("id" = String, Path, description = "The pack's id"), ("version" = String, Path, description = "The version")), responses((status = 200, description = "The pack version"), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorDoc), (status = 404, description = "No such pack version", body = crate::openapi::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn get_pack(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let catalog = state.catalog();
    let unknown = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-pack",
            format!("no pack `{id}` {version} here; GET /v1/packs lists them"),
        )
    };
    let version = Version::parse(&version).map_err(|_| unknown())?;
    let pack = catalog.packs.get(&id, &version).ok_or_else(unknown)?;
    Ok(Json(pack_json(pack)))
}

fn multipart_error(e: impl std::fmt::Display, status: StatusCode) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "body-too-large",
            format!("the upload is larger than this server's publishing limit: {e}"),
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-multipart",
            format!("{e}: send multipart/form-data with parts `manifest` (plugin.toml) and `component` (the .wasm)"),
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
        (status = 400, description = "Not the expected multipart parts", body = crate::openapi::ErrorDoc),
        (status = 401, description = "No or unknown token", body = crate::openapi::ErrorDoc), (status = 403, description = "The token lacks the provider role, or the name belongs to another provider (`plugin-owned`)", body = crate::openapi::ErrorDoc),
        (status = 409, description = "That name and version exist", body = crate::openapi::ErrorDoc),
        (status = 413, description = "Over the publishing limit", body = crate::openapi::ErrorDoc),
        (status = 422, description = "The plugin fails a check: manifest, digest, world, imports, pack range, record types, compile limits", body = crate::openapi::ErrorDoc),
        (status = 503, description = "Every compilation slot is busy; retry after `Retry-After` seconds", body = crate::openapi::ErrorDoc),
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
    let claimant = owner_name(&caller);
    let published = tokio::task::spawn_blocking(move || {
        publish_plugin_checked(&state, &claimant, &manifest, &component).map(|entry| {
            let catalog = state.catalog();
            plugin_json(&catalog, &entry)
        })
    })
    .await
    .map_err(|e| ApiError::internal("publishing stopped", &e))??;
    tracing::info!(plugin = %published["name"], version = %published["version"], by = %caller.name, "plugin published");
    Ok((StatusCode::CREATED, Json(published)))
}

fn unprocessable(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// Who a caller publishes as: its token's name, or the operator for admins.
fn owner_name(caller: &Caller) -> String {
    if caller.roles.contains(&Role::Admin) {
        OPERATOR.to_string()
    } else {
        caller.name.clone()
    }
}

fn publish_plugin_checked(
    state: &AppState,
    claimant: &str,
    manifest_text: &str,
    component: &[u8],
) -> Result<Entry, ApiError> {
    let manifest = PluginManifest::from_toml(manifest_text)
        .map_err(|e| unprocessable("bad-manifest", format!("plugin.toml: {e}")))?;
    // The name first: nothing of another's plugin is compiled or stored.
    // It is claimed only once every check passed (below).
    may_publish(state, Kind::Plugin, &manifest.name, claimant, false)?;
    conform_sandbox::verify_digest(&manifest.name, component, &manifest.component.sha256)
        .map_err(|e| refusal(RegistryError::Sandbox(e)))?;
    let exists = |catalog: &Catalog| {
        catalog
            .plugins
            .get_version(&manifest.name, &manifest.version)
            .is_ok()
    };
    let conflict = || {
        ApiError::new(
            StatusCode::CONFLICT,
            "plugin-exists",
            format!(
                "plugin `{}` {} is published already; versions are immutable, publish a new version",
                manifest.name, manifest.version
            ),
        )
    };
    let plugins_dir = {
        let catalog = state.catalog();
        if exists(&catalog) {
            return Err(conflict());
        }
        catalog.plugins.dir().to_path_buf()
    };

    let staging = ScratchFolder::new(plugins_dir.join(".staging").join(random_hex::<12>()?));
    let write = |path: &Path, bytes: &[u8]| {
        std::fs::create_dir_all(staging.path())
            .and_then(|()| std::fs::write(path, bytes))
            .map_err(|e| ApiError::internal("cannot store the plugin", &e))
    };
    write(
        &staging.path().join("plugin.toml"),
        manifest_text.as_bytes(),
    )?;
    write(&staging.path().join(&manifest.component.file), component)?;
    let mut entry = Registry::read_entry(staging.path())
        .map_err(|e| unprocessable("bad-manifest", e.to_string()))?;

    // Checks against the pack and compilation happen outside any lock: a
    // waiting writer would otherwise hold up every request behind it.
    let (pack, limits) = {
        let catalog = state.catalog();
        let pack = pack_for(&catalog.packs, &entry.manifest, None)?.clone();
        (pack, catalog.plugins.limits_of(&entry))
    };
    let compiled =
        conform_engine::registry::load(&entry, limits, &state.sandbox, &pack).map_err(refusal)?;

    let mut catalog = state.catalog_mut();
    if exists(&catalog) {
        return Err(conflict());
    }
    may_publish(state, Kind::Plugin, &manifest.name, claimant, true)?;
    let target = plugins_dir.join(format!("{}-{}", manifest.name, manifest.version));
    std::fs::rename(staging.path(), &target)
        .map_err(|e| ApiError::internal("cannot store the plugin", &e))?;
    staging.keep();
    entry.dir = target;
    catalog
        .plugins
        .insert(entry.clone())
        .map_err(|e| ApiError::internal("cannot register the plugin", &e))?;
    state.remember(&entry, compiled);
    Ok(entry)
}

/// The API error for a plugin the registry or sandbox refuses.
fn refusal(e: RegistryError) -> ApiError {
    let message = e.to_string();
    match e {
        RegistryError::Sandbox(SandboxError::ForbiddenImport { import, .. }) => {
            unprocessable("plugin-imports", message)
                .with_details(serde_json::json!({ "import": import }))
        }
        RegistryError::Sandbox(SandboxError::DigestMismatch {
            expected, actual, ..
        }) => unprocessable("digest-mismatch", message)
            .with_details(serde_json::json!({ "expected": expected, "actual": actual })),
        RegistryError::Sandbox(SandboxError::WrongWorld { .. }) => {
            unprocessable("plugin-world", message)
        }
        RegistryError::Sandbox(SandboxError::Invalid { .. }) => {
            unprocessable("plugin-invalid", message)
        }
        RegistryError::Sandbox(SandboxError::Busy { .. }) => ApiError::busy(message),
        RegistryError::Sandbox(SandboxError::TooComplex { why, .. }) => {
            unprocessable("plugin-too-complex", message)
                .with_details(serde_json::json!({ "why": why }))
        }
        RegistryError::UnknownRecordType { record_type, .. } => {
            unprocessable("unknown-record-type", message)
                .with_details(serde_json::json!({ "record_type": record_type }))
        }
        _ => unprocessable("plugin-unusable", message),
    }
}

/// `POST /v1/packs`: publishes a pack (a tar or tar.gz of its folder).
#[utoipa::path(
    post,
    path = "/v1/packs",
    request_body(content = String, content_type = "application/gzip", description = "The pack's folder as a tar or tar.gz archive"),
    responses(
        (status = 201, description = "Checked and installed"),
        (status = 400, description = "Not a usable archive", body = crate::openapi::ErrorDoc),
        (status = 401, description = "No or unknown token", body = crate::openapi::ErrorDoc), (status = 403, description = "The token lacks the publisher role, or the id belongs to another publisher (`pack-owned`)", body = crate::openapi::ErrorDoc),
        (status = 409, description = "That id and version exist", body = crate::openapi::ErrorDoc),
        (status = 413, description = "Over the publishing limit, packed or unpacked", body = crate::openapi::ErrorDoc),
        (status = 415, description = "Not a tar or gzip body", body = crate::openapi::ErrorDoc),
        (status = 422, description = "The pack fails its checks; `details.errors` lists every problem", body = crate::openapi::ErrorDoc),
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
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
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
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "upload-broken",
                format!("the upload broke off: {e}"),
            )
        })?;
        if (archive.len() + chunk.len()) as u64 > max {
            return Err(ApiError::body_too_large(max));
        }
        archive.extend_from_slice(&chunk);
    }
    let claimant = owner_name(&caller);
    let published = tokio::task::spawn_blocking(move || install_pack(&state, &claimant, &archive))
        .await
        .map_err(|e| ApiError::internal("publishing stopped", &e))??;
    tracing::info!(pack = %published["id"], version = %published["version"], by = %caller.name, "pack published");
    Ok((StatusCode::CREATED, Json(published)))
}

fn install_pack(
    state: &AppState,
    claimant: &str,
    archive: &[u8],
) -> Result<serde_json::Value, ApiError> {
    // Removed whatever happens: an installed pack has been moved out of it.
    let staging = ScratchFolder::new(
        state
            .catalog()
            .packs
            .staging_dir()
            .join(random_hex::<12>()?),
    );
    let limits = UnpackLimits {
        bytes: state.config.limits.max_pack_unpacked_bytes,
        files: state.config.limits.max_pack_files,
    };
    let root = archive::unpack(archive, staging.path(), limits).map_err(|e| match e {
        ArchiveError::TooLarge { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "archive-too-large",
            e.to_string(),
        ),
        _ => ApiError::new(StatusCode::BAD_REQUEST, "bad-archive", e.to_string()),
    })?;
    // The id first: nothing of another's pack is checked.
    if let Some(id) = manifest_id(&root) {
        may_publish(state, Kind::Pack, &id, claimant, false)?;
    }
    // Paths in messages are shown relative to the archive, not the server's disk.
    let prefix = format!("{}/", root.display());
    let pack = Pack::check(&root).map_err(|errors| {
        let errors: Vec<String> = errors
            .iter()
            .map(|e| e.to_string().replace(&prefix, ""))
            .collect();
        unprocessable(
            "pack-invalid",
            format!(
                "the pack fails {} check(s); `details.errors` lists each: {}",
                errors.len(),
                errors.join("; ")
            ),
        )
        .with_details(serde_json::json!({ "errors": errors }))
    })?;
    let id = pack.manifest().id.clone();
    let mut catalog = state.catalog_mut();
    if catalog.packs.get(&id, &pack.manifest().version).is_none() {
        may_publish(state, Kind::Pack, &id, claimant, true)?;
    }
    let installed = catalog.packs.install(pack).map_err(|e| match e {
        PackStoreError::Exists { .. } => {
            ApiError::new(StatusCode::CONFLICT, "pack-exists", e.to_string())
        }
        other => ApiError::internal("cannot install the pack", &other),
    })?;
    Ok(pack_json(&installed))
}

/// `Ok` if `claimant` may publish under `name`: nobody else owns it. With
/// `claim`, the name becomes the claimant's if it was nobody's (done only
/// once every other check passed); else `403 plugin-owned`/`pack-owned`.
fn may_publish(
    state: &AppState,
    kind: Kind,
    name: &str,
    claimant: &str,
    claim: bool,
) -> Result<(), ApiError> {
    let owners = &state.owners;
    let verdict = if claim {
        owners.claim(kind, name, claimant)
    } else {
        owners.check(kind, name, claimant)
    }
    .map_err(|e| ApiError::internal("the catalog store failed", &e))?;
    verdict.map_err(|_| {
        let (what, who, own, code) = match kind {
            Kind::Plugin => ("plugin name", "provider", "a name", "plugin-owned"),
            Kind::Pack => ("pack", "publisher", "an id", "pack-owned"),
        };
        ApiError::new(
            StatusCode::FORBIDDEN,
            code,
            format!(
                "{what} `{name}` belongs to another {who}; publish under {own} of your own, or ask an admin to transfer this one"
            ),
        )
        .with_details(serde_json::json!({ kind.as_str(): name }))
    })
}

/// The id a pack folder's manifest gives, if it reads (the full check
/// comes later and reports any problem).
fn manifest_id(root: &Path) -> Option<String> {
    let path = root.join("pack.toml");
    let size = std::fs::symlink_metadata(&path).ok()?.len();
    if size > conform_pack::MAX_PACK_FILE_BYTES {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    Some(conform_model::PackManifest::from_toml(&text).ok()?.id)
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
        (status = 400, description = "The new owner is not a provider token", body = crate::openapi::ErrorDoc),
        (status = 401, description = "No or unknown token", body = crate::openapi::ErrorDoc),
        (status = 403, description = "The token is not an admin", body = crate::openapi::ErrorDoc),
        (status = 404, description = "No such plugin", body = crate::openapi::ErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn transfer_plugin(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    UrlPath(name): UrlPath<String>,
    body: Result<Json<NewOwner>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let exists = state.catalog().plugins.get(&name).is_ok();
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
        (status = 400, description = "The new owner is not a publisher token", body = crate::openapi::ErrorDoc),
        (status = 401, description = "No or unknown token", body = crate::openapi::ErrorDoc),
        (status = 403, description = "The token is not an admin", body = crate::openapi::ErrorDoc),
        (status = 404, description = "No such pack", body = crate::openapi::ErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn transfer_pack(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    body: Result<Json<NewOwner>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let exists = !state.catalog().packs.versions(&id).is_empty();
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
            StatusCode::BAD_REQUEST,
            "bad-body",
            format!("{}: send {{\"owner\": \"TOKEN-NAME\"}}", e.body_text()),
        )
    })?;
    let (what, role) = match kind {
        Kind::Plugin => ("plugin", Role::Provider),
        Kind::Pack => ("pack", Role::Publisher),
    };
    if !exists {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("unknown-{what}").as_str(),
            format!("no {what} `{name}` here"),
        ));
    }
    // Admin tokens publish as the operator: a name given to one of them
    // would belong to nobody who can publish it.
    let tokens = state.tokens();
    let token = tokens.iter().find(|t| t.name == owner);
    let eligible =
        token.is_some_and(|t| t.roles.contains(&role) && !t.roles.contains(&Role::Admin));
    if owner != OPERATOR && !eligible {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-owner",
            format!(
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
