//! What the server holds: configuration, the packs and plugins (a catalog
//! that grows as they are published), the sandbox, the jobs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::State;
use axum::Json;
use conform_engine::{Catalog, DataDir};
use conform_sandbox::{CompileLimits, Sandbox, SandboxConfig};
use semver::Version;

use super::config::ServerConfig;
use super::error::ApiError;

pub(crate) use conform_engine::catalog::{Listing, Resolved};

/// The server's shared state.
pub struct AppState {
    /// The configuration.
    pub config: ServerConfig,
    /// The packs and plugins, and the compiled plugins.
    pub(crate) catalog: Catalog,
    /// Who owns each plugin name.
    pub(crate) owners: super::owners::Owners,
    /// Plugin and pack versions announced to, and followed from, other replicas.
    pub(crate) publications: super::publications::Publications,
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
    data: DataDir,
    /// The tokens in force: the configuration's, as last (re)loaded, and
    /// those of the shared database whose names the configuration does
    /// not use.
    tokens: RwLock<Arc<Vec<super::config::TokenConfig>>>,
    /// The tokens of `conform.toml`, as last (re)loaded.
    file_tokens: Mutex<Vec<super::config::TokenConfig>>,
    /// The tokens of the shared database, if there is one, as last read.
    shared_tokens: Option<(
        super::metadata::SharedTokens,
        Mutex<Vec<super::config::TokenConfig>>,
    )>,
    /// Held while the tokens are reloaded.
    reloading: Mutex<()>,
    /// Set at the shutdown deadline: conversions still running stop.
    stopping: tokio::sync::watch::Sender<bool>,
    /// The mapping interpreter's component, which published mappings run
    /// in (each keeps its own copy); `None`: mappings cannot be published.
    interpreter: std::sync::OnceLock<Arc<[u8]>>,
}

impl AppState {
    /// Loads the packs and plugins named by the configuration, relative to
    /// `data_dir`. Nothing is compiled here: [`AppState::warm_up`] compiles
    /// in the background, and a request compiles what it needs first.
    pub fn open(data_dir: &Path, config: ServerConfig) -> anyhow::Result<AppState> {
        config.check()?;
        let data = DataDir::with_folders(data_dir, &config.packs, &config.plugins);
        let catalog = Catalog::open(
            data.clone(),
            sandbox(&data, &config.limits)?,
            config.plugin_limits.limits(),
        )?;
        let metadata = super::metadata::Metadata::open(&data, &config.storage)?;
        let files = super::files::open(&config.storage)?;
        let owners = metadata.owners;
        let publications =
            super::publications::Publications::new(metadata.database.clone(), files.clone());
        publications.announce_all(&catalog)?;
        publications.follow(&catalog)?;
        // Spooled uploads are unnamed files: nothing is left to clean up.
        let spool_folder = data.spool();
        std::fs::create_dir_all(&spool_folder)?;
        {
            let listing = catalog.listing();
            owners.seed(
                super::owners::Kind::Plugin,
                listing
                    .plugins
                    .entries()
                    .iter()
                    .map(|e| e.manifest.name.as_str()),
            )?;
            owners.seed(super::owners::Kind::Pack, listing.packs.ids())?;
        }
        let memory = super::memory::MemoryBudget::new(
            config.limits.plugin_memory_mib,
            u64::from(config.plugin_limits.limits().memory_mib),
        );
        tracing::info!(mib = memory.total_mib(), "plugin memory budget");
        let state = AppState {
            jobs: Arc::new(open_jobs(&data, metadata.jobs, files.clone())?),
            data,
            tokens: RwLock::new(Arc::new(config.tokens.clone())),
            file_tokens: Mutex::new(config.tokens.clone()),
            shared_tokens: metadata.tokens.map(|t| (t, Mutex::new(Vec::new()))),
            reloading: Mutex::new(()),
            config,
            catalog,
            owners,
            publications,
            running: Mutex::new(HashMap::new()),
            metrics: super::metrics::Metrics::default(),
            memory,
            spool_folder,
            stopping: tokio::sync::watch::Sender::new(false),
            interpreter: std::sync::OnceLock::new(),
        };
        state.reload_shared_tokens();
        Ok(state)
    }

    /// Gives the server the mapping interpreter's component (`wasm`), so
    /// that providers can publish mappings; without it they cannot.
    pub fn set_interpreter(&self, wasm: Vec<u8>) {
        let _ = self.interpreter.set(wasm.into());
    }

    /// The mapping interpreter's component, if the server has one.
    pub(crate) fn interpreter(&self) -> Option<Arc<[u8]>> {
        self.interpreter.get().cloned()
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
                    .listing()
                    .plugins
                    .entries()
                    .iter()
                    .map(|e| (e.manifest.name.clone(), e.manifest.version.clone()))
                    .collect();
                versions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                for (name, version) in versions {
                    if let Err(e) = state.catalog.resolve(&name, Some(&version), None) {
                        tracing::warn!(plugin = %name, %version, error = %e, "plugin does not load");
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
        let config = match ServerConfig::load(self.data.root()) {
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
        let mut file_tokens = self.file_tokens.lock().expect("not poisoned");
        if *file_tokens != config.tokens {
            tracing::info!(tokens = config.tokens.len(), "tokens reloaded");
            *file_tokens = config.tokens;
            drop(file_tokens);
            self.put_tokens_in_force();
        }
    }

    /// Reads the shared database's tokens again (`conform token` on any
    /// machine naming it); a database that does not answer changes
    /// nothing.
    pub(crate) fn reload_shared_tokens(&self) {
        let Some((table, last)) = &self.shared_tokens else {
            return;
        };
        let listed = match table.list() {
            Ok(listed) => listed,
            Err(e) => {
                tracing::error!(error = %e, "the shared tokens cannot be read; the tokens in force stay");
                return;
            }
        };
        let mut last = last.lock().expect("not poisoned");
        if *last != listed {
            tracing::info!(tokens = listed.len(), "shared tokens reloaded");
            *last = listed;
            drop(last);
            self.put_tokens_in_force();
        }
    }

    /// The tokens of `conform.toml`, then those of the shared database
    /// whose names the file does not use.
    fn put_tokens_in_force(&self) {
        let mut merged = self.file_tokens.lock().expect("not poisoned").clone();
        if let Some((_, shared)) = &self.shared_tokens {
            for token in shared.lock().expect("not poisoned").iter() {
                if merged.iter().any(|t| t.name == token.name) {
                    tracing::warn!(token = %token.name, "a shared token has the name of one in conform.toml; the file's is in force");
                } else {
                    merged.push(token.clone());
                }
            }
        }
        *self.tokens.write().expect("not poisoned") = Arc::new(merged);
    }

    /// Reloads the tokens whenever `conform.toml` changes (checked every
    /// two seconds), so that `conform token create` needs no signal.
    pub fn watch_config(self: &Arc<Self>) {
        let state = self.clone();
        let path = self.data.config_file();
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
            workbooks: self.workbook_options(),
            ..conform_engine::ConvertOptions::default()
        }
    }

    /// How the server reads workbooks: in a child process capped by
    /// `workbook_memory_mib` and `workbook_cpu_seconds`, spooled to the
    /// data disk (which `min_free_disk_bytes` guards), never to a small /tmp.
    pub(crate) fn workbook_options(&self) -> conform_decode::WorkbookOptions {
        let limits = &self.config.limits;
        conform_decode::WorkbookOptions {
            spool_dir: Some(self.spool_folder.clone()),
            reader: conform_engine::subprocess_workbook_reader(
                limits.workbook_memory_mib,
                limits.workbook_cpu_seconds,
            ),
        }
    }

    /// The packs and plugins, for reading; not to be held across an await
    /// or while compiling.
    pub(crate) fn listing(&self) -> std::sync::RwLockReadGuard<'_, Listing> {
        self.catalog.listing()
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

    /// A plugin version with the pack version it runs against, compiled
    /// ([`Catalog::resolve`]).
    pub(crate) fn resolve(
        &self,
        name: &str,
        version: Option<&Version>,
        pack_version: Option<&Version>,
    ) -> Result<Resolved, ApiError> {
        Ok(self.catalog.resolve(name, version, pack_version)?)
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
}

/// Opens the job store and removes what interrupted uploads left.
fn open_jobs(
    data: &DataDir,
    table: Box<dyn super::jobs::JobTable>,
    files: Arc<dyn super::files::FileStore>,
) -> anyhow::Result<super::jobs::JobStore> {
    let dir = data.jobs();
    std::fs::create_dir_all(&dir)?;
    let jobs = super::jobs::JobStore::with_table(table, files, dir)?;
    let removed = jobs.remove_orphans()?;
    if removed > 0 {
        tracing::info!(
            folders = removed,
            "removed the leftovers of interrupted uploads"
        );
    }
    Ok(jobs)
}

/// The sandbox of a server: compiled plugins cached in the data
/// directory, untrusted components compiled in a capped child process.
fn sandbox(data: &DataDir, limits: &super::config::ServerLimits) -> anyhow::Result<Sandbox> {
    let compiler = conform_engine::subprocess_compiler();
    if matches!(compiler, conform_sandbox::Compiler::InProcess) {
        tracing::warn!("this binary is not `conform`: plugins compile in-process, without the time and memory caps of compile_seconds and compile_memory_mib");
    }
    Ok(Sandbox::new(SandboxConfig {
        cache_dir: Some(data.cache()),
        pooling: false,
        compiler,
        compile_limits: CompileLimits {
            max_component_bytes: limits.max_component_bytes,
            seconds: limits.compile_seconds,
            memory_mib: limits.compile_memory_mib,
        },
    })?)
}

/// `GET /readyz`: the job store answers and the disk has room; 503 if not.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Ready: the job store answers, the disk has room"), (status = 503, description = "Not ready: the job store or the disk", body = crate::error::ErrorDoc)))]
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
    let loaded = state.catalog.compiled_count();
    let listing = state.listing();
    Ok(Json(serde_json::json!({
        "status": "ready",
        "plugins_loaded": loaded,
        "packs": listing.packs.ids().collect::<Vec<_>>(),
        "free_disk_bytes": free,
    })))
}
