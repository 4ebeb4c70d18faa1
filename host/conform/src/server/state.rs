//! What the server holds: configuration, the pack, the plugins, the sandbox.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use conform_pack::Pack;
use conform_sandbox::{LoadedPlugin, Sandbox, SandboxConfig};

use super::auth::Caller;
use super::config::ServerConfig;
use super::error::ApiError;
use crate::registry::Entry;
use crate::Registry;

/// The server's shared state.
pub struct AppState {
    /// The configuration.
    pub config: ServerConfig,
    pub(crate) pack: Arc<Pack>,
    pub(crate) registry: Registry,
    sandbox: Sandbox,
    loaded: Mutex<HashMap<String, LoadedPlugin>>,
    /// Conversions running per token name.
    pub(crate) running: Mutex<HashMap<String, u32>>,
    /// Bulk jobs.
    pub(crate) jobs: Arc<super::jobs::JobStore>,
    /// Counters for `/metrics`.
    pub(crate) metrics: super::metrics::Metrics,
}

impl AppState {
    /// Loads the pack and the plugins named by the configuration, relative to `data_dir`.
    pub fn open(data_dir: &Path, config: ServerConfig) -> anyhow::Result<AppState> {
        let pack = Pack::load(data_dir.join(&config.pack))
            .map_err(|e| anyhow::anyhow!("the pack does not load: {e}"))?;
        let plugins = data_dir.join(&config.plugins);
        let registry = Registry::open(&plugins)?;
        let sandbox = Sandbox::new(SandboxConfig {
            cache_dir: Some(data_dir.join("cache")),
            pooling: false,
        })?;
        let state = AppState {
            config,
            pack: Arc::new(pack),
            registry,
            sandbox,
            loaded: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            jobs: Arc::new(super::jobs::JobStore::open(data_dir)?),
            metrics: super::metrics::Metrics::default(),
        };
        // Compile every plugin at start-up, so that a broken one is known now.
        for entry in state.registry.entries() {
            if let Err(e) = state.plugin(entry) {
                tracing::warn!(plugin = %entry.manifest.name, error = %e.body.message, "plugin does not load");
            }
        }
        Ok(state)
    }

    /// The registry entry of a plugin, or 404.
    pub(crate) fn entry(&self, plugin: &str) -> Result<&Entry, ApiError> {
        self.registry.get(plugin).map_err(|e| {
            ApiError::new(StatusCode::NOT_FOUND, "unknown-plugin", e.to_string())
                .with_details(serde_json::json!({ "plugin": plugin }))
        })
    }

    /// A plugin, loaded once.
    pub(crate) fn plugin(&self, entry: &Entry) -> Result<LoadedPlugin, ApiError> {
        let name = &entry.manifest.name;
        if let Some(p) = self.loaded.lock().expect("not poisoned").get(name) {
            return Ok(p.clone());
        }
        let plugin = self
            .registry
            .load(entry, &self.sandbox, &self.pack)
            .map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "plugin-unusable",
                    format!("{e}"),
                )
            })?;
        self.loaded
            .lock()
            .expect("not poisoned")
            .insert(name.clone(), plugin.clone());
        Ok(plugin)
    }
}

/// `GET /readyz`: the pack and plugins are loaded.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "The pack and plugins are loaded")))]
pub(crate) async fn ready(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let loaded = state.loaded.lock().expect("not poisoned").len();
    Json(
        serde_json::json!({ "status": "ready", "plugins_loaded": loaded, "pack": state.pack.manifest().id }),
    )
}

/// `GET /v1/plugins`: the plugins and what they convert.
#[utoipa::path(get, path = "/v1/plugins", responses((status = 200, description = "The plugins and what they convert"), (status = 401, description = "No or unknown token", body = crate::server::openapi::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn list_plugins(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
) -> Json<serde_json::Value> {
    let plugins: Vec<_> = state
        .registry
        .entries()
        .iter()
        .map(|e| {
            let m = &e.manifest;
            serde_json::json!({
                "name": m.name, "version": m.version.to_string(), "provider": m.provider,
                "description": m.description, "files": m.input.files, "pack": m.target.pack,
                "pack_versions": m.target.versions.to_string(), "record_types": m.target.record_types,
            })
        })
        .collect();
    Json(serde_json::json!({ "plugins": plugins }))
}

/// `GET /v1/packs`: the packs loaded.
#[utoipa::path(get, path = "/v1/packs", responses((status = 200, description = "The packs loaded"), (status = 401, description = "No or unknown token", body = crate::server::openapi::ErrorDoc)), security(("bearer" = [])))]
pub(crate) async fn list_packs(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
) -> Json<serde_json::Value> {
    let m = state.pack.manifest();
    Json(serde_json::json!({ "packs": [{
        "id": m.id, "version": m.version.to_string(), "publisher": m.publisher,
        "record_types": state.pack.record_types().collect::<Vec<_>>(),
    }]}))
}
