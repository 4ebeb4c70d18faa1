//! What the server holds: configuration, the packs and plugins (a catalog
//! that grows as they are published), the sandbox, the jobs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use conform_model::PluginManifest;
use conform_pack::Pack;
use conform_sandbox::{LoadedPlugin, Sandbox, SandboxConfig};
use semver::Version;

use super::config::ServerConfig;
use super::error::ApiError;
use crate::packs::PackStore;
use crate::registry::Entry;
use crate::Registry;

/// The packs and plugins the server knows. Published ones are added; none
/// is ever edited or removed, so a job recorded against versions can rerun.
pub(crate) struct Catalog {
    /// Every pack version.
    pub packs: PackStore,
    /// Every plugin version.
    pub plugins: Registry,
}

/// A plugin ready to convert: its manifest, the pack version it runs
/// against, the compiled component.
pub(crate) struct Resolved {
    pub manifest: PluginManifest,
    pub pack: Arc<Pack>,
    pub plugin: LoadedPlugin,
}

/// The server's shared state.
pub struct AppState {
    /// The configuration.
    pub config: ServerConfig,
    catalog: RwLock<Catalog>,
    pub(crate) sandbox: Sandbox,
    /// Compiled plugins by name and version: a published version never
    /// changes, and its limits, record types and name are compiled in
    /// (two plugins sharing a component are still two plugins).
    loaded: Mutex<HashMap<(String, Version), LoadedPlugin>>,
    /// Conversions running per token name.
    pub(crate) running: Mutex<HashMap<String, u32>>,
    /// Bulk jobs.
    pub(crate) jobs: Arc<super::jobs::JobStore>,
    /// Counters for `/metrics`.
    pub(crate) metrics: super::metrics::Metrics,
}

impl AppState {
    /// Loads the packs and plugins named by the configuration, relative to `data_dir`.
    pub fn open(data_dir: &Path, config: ServerConfig) -> anyhow::Result<AppState> {
        let packs = PackStore::open(data_dir.join(&config.packs))?;
        let plugins_dir = data_dir.join(&config.plugins);
        std::fs::create_dir_all(&plugins_dir)?;
        let plugins = Registry::open(&plugins_dir)?.cap_limits(config.plugin_limits.limits());
        let sandbox = Sandbox::new(SandboxConfig {
            cache_dir: Some(data_dir.join("cache")),
            pooling: false,
        })?;
        let state = AppState {
            config,
            catalog: RwLock::new(Catalog { packs, plugins }),
            sandbox,
            loaded: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            jobs: Arc::new(super::jobs::JobStore::open(data_dir)?),
            metrics: super::metrics::Metrics::default(),
        };
        // Compile every plugin version at start-up, so that a broken one is
        // known now (from the on-disk cache, this is quick).
        let versions: Vec<(String, Version)> = state
            .catalog()
            .plugins
            .entries()
            .iter()
            .map(|e| (e.manifest.name.clone(), e.manifest.version.clone()))
            .collect();
        for (name, version) in versions {
            if let Err(e) = state.resolve(&name, Some(&version), None) {
                tracing::warn!(plugin = %name, %version, error = %e.body.message, "plugin does not load");
            }
        }
        Ok(state)
    }

    /// How conversions and jobs run: all cores, the configured limits.
    pub(crate) fn convert_options(&self) -> crate::ConvertOptions {
        let limits = &self.config.limits;
        crate::ConvertOptions {
            max_rows: Some(limits.max_rows_per_job),
            max_duration: Some(std::time::Duration::from_secs(limits.max_job_seconds)),
            ..crate::ConvertOptions::default()
        }
    }

    /// The catalog, for reading.
    pub(crate) fn catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        self.catalog.read().expect("not poisoned")
    }

    /// The catalog, for publishing.
    pub(crate) fn catalog_mut(&self) -> RwLockWriteGuard<'_, Catalog> {
        self.catalog.write().expect("not poisoned")
    }

    /// A plugin (its newest version, or `version`) with the pack it runs
    /// against (the newest in its range, or `pack_version`), compiled once.
    pub(crate) fn resolve(
        &self,
        name: &str,
        version: Option<&Version>,
        pack_version: Option<&Version>,
    ) -> Result<Resolved, ApiError> {
        let catalog = self.catalog();
        let entry = match version {
            Some(v) => catalog.plugins.get_version(name, v),
            None => catalog.plugins.get(name),
        }
        .map_err(|e| {
            ApiError::new(StatusCode::NOT_FOUND, "unknown-plugin", e.to_string())
                .with_details(serde_json::json!({ "plugin": name }))
        })?;
        let pack = pack_for(&catalog.packs, &entry.manifest, pack_version)?.clone();
        let plugin = self.compiled(&catalog.plugins, entry, &pack)?;
        Ok(Resolved {
            manifest: entry.manifest.clone(),
            pack,
            plugin,
        })
    }

    /// The compiled component of a plugin, compiled at its first use.
    fn compiled(
        &self,
        registry: &Registry,
        entry: &Entry,
        pack: &Pack,
    ) -> Result<LoadedPlugin, ApiError> {
        if let Some(p) = self.loaded.lock().expect("not poisoned").get(&key(entry)) {
            return Ok(p.clone());
        }
        let plugin = registry.load(entry, &self.sandbox, pack).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "plugin-unusable",
                e.to_string(),
            )
        })?;
        self.remember(entry, plugin.clone());
        Ok(plugin)
    }

    /// Keeps a plugin compiled (by [`AppState::compiled`] or at publishing).
    pub(crate) fn remember(&self, entry: &Entry, plugin: LoadedPlugin) {
        self.loaded
            .lock()
            .expect("not poisoned")
            .insert(key(entry), plugin);
    }
}

/// What identifies a compiled plugin.
fn key(entry: &Entry) -> (String, Version) {
    (entry.manifest.name.clone(), entry.manifest.version.clone())
}

/// The pack a plugin runs against: `exact` if given, else the newest
/// version within the plugin's range.
pub(crate) fn pack_for<'a>(
    packs: &'a PackStore,
    manifest: &PluginManifest,
    exact: Option<&Version>,
) -> Result<&'a Arc<Pack>, ApiError> {
    let target = &manifest.target;
    let found = match exact {
        Some(v) => packs.get(&target.pack, v),
        None => packs.newest(&target.pack, &target.versions),
    };
    found.ok_or_else(|| {
        let installed: Vec<String> = packs
            .versions(&target.pack)
            .iter()
            .map(|p| p.manifest().version.to_string())
            .collect();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no-matching-pack",
            format!(
                "plugin `{}` targets pack `{}` {}, and no installed version matches (installed: {}); publish a matching pack first",
                manifest.name,
                target.pack,
                exact.map_or_else(|| target.versions.to_string(), |v| format!("={v}")),
                if installed.is_empty() { "none".into() } else { installed.join(", ") },
            ),
        )
        .with_details(serde_json::json!({ "pack": target.pack, "versions": target.versions.to_string(), "installed": installed }))
    })
}

/// `GET /readyz`: the packs and plugins are loaded.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "The packs and plugins are loaded")))]
pub(crate) async fn ready(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let loaded = state.loaded.lock().expect("not poisoned").len();
    let catalog = state.catalog();
    Json(serde_json::json!({
        "status": "ready",
        "plugins_loaded": loaded,
        "packs": catalog.packs.ids().collect::<Vec<_>>(),
    }))
}
