//! What the server holds: configuration, the packs and plugins (a catalog
//! that grows as they are published), the sandbox, the jobs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use conform_model::{PluginLimits, PluginManifest};
use conform_pack::Pack;
use conform_sandbox::{CompileLimits, LoadedPlugin, Sandbox, SandboxConfig};
use semver::Version;

use super::config::ServerConfig;
use super::error::ApiError;
use conform_engine::packs::PackStore;
use conform_engine::registry::{Entry, RegistryError};
use conform_engine::Registry;
use conform_sandbox::SandboxError;

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
    loaded: Mutex<HashMap<PluginKey, LoadedPlugin>>,
    /// One lock per plugin version being compiled, so that it is compiled
    /// once however many requests want it; no other lock is held meanwhile.
    compiling: Mutex<HashMap<PluginKey, Arc<Mutex<()>>>>,
    /// Plugin versions that failed to compile, and when: requests waiting
    /// for one get the same answer for a while instead of compiling again.
    failed: Mutex<HashMap<(PluginKey, Version), (std::time::Instant, ApiError)>>,
    /// Who owns each plugin name.
    pub(crate) owners: super::owners::Owners,
    /// Conversions running per token name.
    pub(crate) running: Mutex<HashMap<String, u32>>,
    /// Bulk jobs.
    pub(crate) jobs: Arc<super::jobs::JobStore>,
    /// Counters for `/metrics`.
    pub(crate) metrics: super::metrics::Metrics,
    /// Where uploads of streaming conversions spool (see [`super::spool`]).
    spool_folder: std::path::PathBuf,
    /// The memory plugin instances may take, all conversions together.
    pub(crate) memory: Arc<super::memory::MemoryBudget>,
    /// The data directory, whose `conform.toml` is read again for tokens.
    data_dir: std::path::PathBuf,
    /// The tokens in force: the configuration's, as last (re)loaded.
    tokens: RwLock<Arc<Vec<super::config::TokenConfig>>>,
    /// Held while the tokens are reloaded.
    reloading: Mutex<()>,
    /// Set at the shutdown deadline: conversions still running stop.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// Loads the packs and plugins named by the configuration, relative to
    /// `data_dir`. Nothing is compiled here: [`AppState::warm_up`] compiles
    /// in the background, and a request compiles what it needs first.
    pub fn open(data_dir: &Path, config: ServerConfig) -> anyhow::Result<AppState> {
        config.check()?;
        let packs = PackStore::open(data_dir.join(&config.packs))?;
        let plugins_dir = data_dir.join(&config.plugins);
        std::fs::create_dir_all(&plugins_dir)?;
        // Publishing that a crash interrupted left its staging folders.
        for staging in [plugins_dir.join(".staging"), packs.staging_dir()] {
            if staging.exists() {
                if let Err(e) = std::fs::remove_dir_all(&staging) {
                    tracing::warn!(error = %e, "cannot remove an interrupted publication's files");
                }
            }
        }
        let plugins = Registry::open(&plugins_dir)?.cap_limits(config.plugin_limits.limits());
        let limits = &config.limits;
        let compiler = conform_engine::subprocess_compiler();
        if matches!(compiler, conform_sandbox::Compiler::InProcess) {
            tracing::warn!("this binary is not `conform`: plugins compile in-process, without the time and memory caps of compile_seconds and compile_memory_mib");
        }
        let sandbox = Sandbox::new(SandboxConfig {
            cache_dir: Some(data_dir.join("cache")),
            pooling: false,
            compiler,
            compile_limits: CompileLimits {
                max_component_bytes: limits.max_component_bytes,
                seconds: limits.compile_seconds,
                memory_mib: limits.compile_memory_mib,
            },
        })?;
        let owners = super::owners::Owners::open(data_dir)?;
        // Spooled uploads are unnamed files: nothing is left to clean up.
        let spool_folder = data_dir.join("spool");
        std::fs::create_dir_all(&spool_folder)?;
        owners.seed(
            super::owners::Kind::Plugin,
            plugins.entries().iter().map(|e| e.manifest.name.as_str()),
        )?;
        owners.seed(super::owners::Kind::Pack, packs.ids())?;
        let memory = super::memory::MemoryBudget::new(
            config.limits.plugin_memory_mib,
            u64::from(config.plugin_limits.limits().memory_mib),
        );
        tracing::info!(mib = memory.total_mib(), "plugin memory budget");
        Ok(AppState {
            data_dir: data_dir.to_path_buf(),
            tokens: RwLock::new(Arc::new(config.tokens.clone())),
            reloading: Mutex::new(()),
            config,
            catalog: RwLock::new(Catalog { packs, plugins }),
            sandbox,
            loaded: Mutex::new(HashMap::new()),
            compiling: Mutex::new(HashMap::new()),
            failed: Mutex::new(HashMap::new()),
            owners,
            running: Mutex::new(HashMap::new()),
            jobs: Arc::new(open_jobs(data_dir)?),
            metrics: super::metrics::Metrics::default(),
            memory,
            spool_folder,
            stopping: tokio::sync::watch::Sender::new(false),
        })
    }

    /// Compiles every plugin version in a background thread (from the
    /// on-disk cache this is quick), so that a broken one is logged early
    /// and first requests find their plugin ready. The server answers
    /// meanwhile.
    pub fn warm_up(self: &Arc<Self>) {
        let state = self.clone();
        let spawned = std::thread::Builder::new()
            .name("conform-warm-up".into())
            .spawn(move || {
                // Newest versions first: those are what requests ask for.
                let mut versions: Vec<(String, Version)> = state
                    .catalog()
                    .plugins
                    .entries()
                    .iter()
                    .map(|e| (e.manifest.name.clone(), e.manifest.version.clone()))
                    .collect();
                versions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                for (name, version) in versions {
                    if let Err(e) = state.resolve(&name, Some(&version), None) {
                        tracing::warn!(plugin = %name, %version, error = %e.body.message, "plugin does not load");
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the warm-up; plugins compile at first use");
        }
    }

    /// How conversions and jobs run: all cores, the configured limits.
    /// Where streaming conversions spool the upload they have not read yet.
    pub(crate) fn spool_disk(&self) -> super::spool::SpoolDisk {
        super::spool::SpoolDisk {
            folder: self.spool_folder.clone(),
            min_free_bytes: self.config.limits.min_free_disk_bytes,
        }
    }

    /// The tokens in force.
    pub(crate) fn tokens(&self) -> Arc<Vec<super::config::TokenConfig>> {
        self.tokens.read().expect("not poisoned").clone()
    }

    /// Reads `conform.toml` again and puts its tokens in force (`conform
    /// token create|revoke`, an edit by hand); other settings need a
    /// restart, which the log says. A file that does not load changes
    /// nothing: the error is logged and the tokens in force stay.
    pub fn reload_tokens(&self) {
        // One reload at a time: the file watch and SIGHUP may race, and the
        // slower must not put back tokens the faster already dropped.
        let _one_at_a_time = self.reloading.lock().expect("not poisoned");
        let config = match ServerConfig::load(&self.data_dir) {
            Ok(config) => config,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "conform.toml does not load; the tokens in force stay");
                return;
            }
        };
        // `--listen`/`CONFORM_LISTEN` may override the file's address.
        let unchanged = ServerConfig {
            tokens: self.config.tokens.clone(),
            listen: self.config.listen,
            ..config.clone()
        };
        if unchanged != self.config {
            tracing::warn!("conform.toml changed more than its tokens: the other settings take effect at the next start");
        }
        let mut tokens = self.tokens.write().expect("not poisoned");
        if **tokens != config.tokens {
            tracing::info!(tokens = config.tokens.len(), "tokens reloaded");
            *tokens = Arc::new(config.tokens);
        }
    }

    /// Reloads the tokens whenever `conform.toml` changes (checked every
    /// two seconds), so that `conform token create` needs no signal.
    pub fn watch_config(self: &Arc<Self>) {
        let state = self.clone();
        let path = self.data_dir.join("conform.toml");
        let stamp = move || {
            std::fs::metadata(&path).ok().map(|m| {
                (
                    m.modified().ok(),
                    m.len(),
                    std::os::unix::fs::MetadataExt::ino(&m),
                )
            })
        };
        let spawned = std::thread::Builder::new()
            .name("conform-config-watch".into())
            .spawn(move || {
                let mut seen = stamp();
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(2));
                    let now = stamp();
                    if now != seen {
                        seen = now;
                        state.reload_tokens();
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot watch conform.toml; send SIGHUP after changing tokens");
        }
    }

    /// Stops the conversions still running: the shutdown deadline has come.
    pub fn stop_conversions(&self) {
        self.stopping.send_replace(true);
    }

    /// Completes once [`AppState::stop_conversions`] was called.
    pub(crate) async fn stopping(&self) {
        let mut stopping = self.stopping.subscribe();
        // The sender lives as long as `self`: `wait_for` cannot fail here.
        let _ = stopping.wait_for(|stop| *stop).await;
    }

    pub(crate) fn convert_options(&self) -> conform_engine::ConvertOptions {
        let limits = &self.config.limits;
        conform_engine::ConvertOptions {
            max_rows: Some(limits.max_rows_per_job),
            max_duration: Some(std::time::Duration::from_secs(limits.max_job_seconds)),
            max_report_lines_per_code: Some(limits.max_report_lines_per_code),
            ..conform_engine::ConvertOptions::default()
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

    /// [`AppState::resolve`] on a blocking thread: compiling a plugin at its
    /// first use never blocks an async worker.
    pub(crate) async fn resolve_async(
        self: &Arc<Self>,
        name: String,
        version: Option<Version>,
        pack_version: Option<Version>,
    ) -> Result<Resolved, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            state.resolve(&name, version.as_ref(), pack_version.as_ref())
        })
        .await
        .map_err(|e| ApiError::internal("resolving the plugin stopped", &e))?
    }

    /// A plugin (its newest version, or `version`) with the pack it runs
    /// against (the newest in its range, or `pack_version`, which must be in
    /// its range), compiled once. The catalog is read under its lock;
    /// compiling happens after the lock is released.
    pub(crate) fn resolve(
        &self,
        name: &str,
        version: Option<&Version>,
        pack_version: Option<&Version>,
    ) -> Result<Resolved, ApiError> {
        let (entry, pack, limits) = {
            let catalog = self.catalog();
            let entry = match version {
                Some(v) => catalog.plugins.get_version(name, v),
                None => catalog.plugins.get(name),
            }
            .map_err(|_| unknown_plugin(&catalog, name, version))?;
            let pack = pack_for(&catalog.packs, &entry.manifest, pack_version)?.clone();
            (entry.clone(), pack, catalog.plugins.limits_of(entry))
        };
        // Compiled once per plugin version, but checked against every pack
        // version it is used with (a newer pack may lack a record type).
        conform_engine::registry::check_pack(&entry.manifest, &pack).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "plugin-unusable",
                format!(
                    "plugin `{}` {} cannot run against pack `{}` {}: {e}",
                    entry.manifest.name,
                    entry.manifest.version,
                    pack.manifest().id,
                    pack.manifest().version
                ),
            )
        })?;
        let plugin = self.compiled(&entry, limits, &pack)?;
        Ok(Resolved {
            manifest: entry.manifest,
            pack,
            plugin,
        })
    }

    /// The compiled component of a plugin, compiled at its first use.
    fn compiled(
        &self,
        entry: &Entry,
        limits: PluginLimits,
        pack: &Pack,
    ) -> Result<LoadedPlugin, ApiError> {
        let key = key(entry);
        if let Some(p) = self.loaded.lock().expect("not poisoned").get(&key) {
            return Ok(p.clone());
        }
        let gate = self
            .compiling
            .lock()
            .expect("not poisoned")
            .entry(key.clone())
            .or_default()
            .clone();
        let _compiling = gate.lock().expect("not poisoned");
        if let Some(p) = self.loaded.lock().expect("not poisoned").get(&key) {
            return Ok(p.clone());
        }
        let failure_key = (key.clone(), pack.manifest().version.clone());
        if let Some((at, error)) = self.failed.lock().expect("not poisoned").get(&failure_key) {
            if at.elapsed() < FAILURE_MEMORY {
                return Err(error.clone());
            }
        }
        let plugin =
            conform_engine::registry::load(entry, limits, &self.sandbox, pack).map_err(|e| {
                if let RegistryError::Sandbox(SandboxError::Busy { .. }) = e {
                    return ApiError::busy(e.to_string());
                }
                tracing::warn!(plugin = %entry.manifest.name, error = %e, "plugin does not load");
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "plugin-unusable",
                    format!(
                        "plugin `{}` {} cannot run here: {}",
                        entry.manifest.name,
                        entry.manifest.version,
                        super::redact::redact(&e.to_string())
                    ),
                )
            });
        let plugin = match plugin {
            Ok(plugin) => plugin,
            Err(error) => {
                if error.status != StatusCode::SERVICE_UNAVAILABLE {
                    self.failed
                        .lock()
                        .expect("not poisoned")
                        .insert(failure_key, (std::time::Instant::now(), error.clone()));
                }
                return Err(error);
            }
        };
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

    /// The plugin and pack versions a job was accepted with.
    pub(crate) fn resolve_job_plugin(&self, job: &super::jobs::Job) -> Result<Resolved, ApiError> {
        let version = |v: &str| {
            Version::parse(v).map_err(|e| {
                ApiError::internal("the job record is damaged", &format!("`{v}`: {e}"))
            })
        };
        self.resolve(
            &job.plugin,
            Some(&version(&job.plugin_version)?),
            Some(&version(&job.pack_version)?),
        )
    }

    /// At a graceful shutdown: running jobs go back to the queue without
    /// counting the interrupted run as a crash.
    pub fn release_running_jobs(&self) {
        if let Err(e) = self.jobs.release_running() {
            tracing::error!(error = %e, "cannot return running jobs to the queue");
        }
    }

    /// How many plugin versions are compiled and ready.
    pub(crate) fn compiled_count(&self) -> usize {
        self.loaded.lock().expect("not poisoned").len()
    }
}

/// Opens the job store and removes what interrupted uploads left.
fn open_jobs(data_dir: &Path) -> anyhow::Result<super::jobs::JobStore> {
    let jobs = super::jobs::JobStore::open(data_dir)?;
    let removed = jobs.remove_orphans()?;
    if removed > 0 {
        tracing::info!(
            folders = removed,
            "removed the leftovers of interrupted uploads"
        );
    }
    Ok(jobs)
}

/// How long a plugin version that failed to compile is answered from memory.
const FAILURE_MEMORY: std::time::Duration = std::time::Duration::from_secs(60);

/// 404 for a plugin name (or version) that is not installed, listing what is.
pub(crate) fn unknown_plugin(catalog: &Catalog, name: &str, version: Option<&Version>) -> ApiError {
    let mut known: Vec<&str> = catalog
        .plugins
        .entries()
        .iter()
        .map(|e| e.manifest.name.as_str())
        .collect();
    known.sort_unstable();
    known.dedup();
    let asked = match version {
        Some(v) => format!("{name}@{v}"),
        None => name.to_string(),
    };
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown-plugin",
        format!(
            "no plugin `{asked}` here; installed: {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ),
    )
    .with_details(serde_json::json!({ "plugin": name, "installed": known }))
}

/// What identifies a compiled plugin: its name and version.
type PluginKey = (String, Version);

/// The key of a plugin version.
fn key(entry: &Entry) -> PluginKey {
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
        Some(v) if target.versions.matches(v) => packs.get(&target.pack, v),
        Some(_) => None,
        None => packs.newest(&target.pack, &target.versions),
    };
    found.ok_or_else(|| {
        let installed: Vec<String> = packs
            .versions(&target.pack)
            .iter()
            .map(|p| p.manifest().version.to_string())
            .collect();
        let installed_list = if installed.is_empty() {
            "none".to_string()
        } else {
            installed.join(", ")
        };
        let message = match exact {
            Some(v) => format!(
                "plugin `{}` runs against pack `{}` {}, and `{}@{v}` is not one of those installed (installed: {installed_list}); pin one of them, or leave `pack` out for the newest",
                manifest.name, target.pack, target.versions, target.pack
            ),
            None => format!(
                "plugin `{}` targets pack `{}` {}, and no installed version matches (installed: {installed_list}); publish a matching pack first",
                manifest.name, target.pack, target.versions
            ),
        };
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "no-matching-pack", message)
        .with_details(serde_json::json!({ "pack": target.pack, "versions": target.versions.to_string(), "installed": installed }))
    })
}

/// `GET /readyz`: the job store answers and the disk has room; 503 if not.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Ready: the job store answers, the disk has room"), (status = 503, description = "Not ready: the job store or the disk", body = crate::openapi::ErrorDoc)))]
pub(crate) async fn ready(
    State(state): State<Arc<AppState>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let checks = state.clone();
    let (database, free) = tokio::task::spawn_blocking(move || {
        (
            checks.jobs.is_healthy(),
            checks.jobs.free_bytes().unwrap_or(0),
        )
    })
    .await
    .map_err(|e| ApiError::internal("the readiness check stopped", &e))?;
    let min_free = state.config.limits.min_free_disk_bytes;
    if !database {
        return Err(ApiError::busy(
            "the job store does not answer; the log has details",
        ));
    }
    if free < min_free {
        return Err(ApiError::busy(format!(
            "{free} bytes free on the data disk, less than the {min_free} this server keeps free; free some space"
        )));
    }
    let loaded = state.compiled_count();
    let catalog = state.catalog();
    Ok(Json(serde_json::json!({
        "status": "ready",
        "plugins_loaded": loaded,
        "packs": catalog.packs.ids().collect::<Vec<_>>(),
        "free_disk_bytes": free,
    })))
}
