//! The sandbox: untrusted plugin components under wasmtime, with limits.
//!
//! [`Sandbox`] owns the wasmtime engine. [`Sandbox::load`] checks a plugin's
//! component (its digest, that it imports the contract and nothing else),
//! compiles it once — caching the machine code on disk, keyed by the wasm's
//! SHA-256 and the engine — and prepares an `InstancePre`. A [`Worker`] holds
//! one store and instance for one thread of one job and converts batches.
//!
//! A plugin never brings the host down: a trap, a timeout or a memory limit
//! turns the affected rows into rejections with a host code
//! (`plugin-trap`, `plugin-timeout`, `plugin-memory`, `plugin-output`), and
//! the next batch runs in a fresh instance.

mod batch_v0_2;
mod bindings;
mod bindings_v0_2;
mod cache;
mod compile;
mod host;
mod input;
pub mod native;
mod result_v0_2;
mod worker;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use conform_model::PluginLimits;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

pub use compile::{compile_component_main, CompileLimits, Compiler};
pub use host::mapping::PROGRAM_IMPORT;
pub use host::MAX_LOG_LINES_PER_BATCH;
pub use input::InputRecord;
pub use worker::{OutputRecord, Problem, RecordBody, RowOutcome, Worker};

use host::HostState;

/// The component-model names a plugin may import: the interfaces of one
/// of the contracts (never of both).
pub const ALLOWED_IMPORTS: [&str; 5] = [
    "conform:plugin/types@0.1.0",
    "conform:plugin/standard@0.1.0",
    "conform:plugin/types@0.2.0",
    "conform:plugin/tables@0.2.0",
    "conform:plugin/log@0.2.0",
];

/// The plugin contracts the host serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    /// `conform:plugin/converter@0.1.0`: rows as JSON text, the first
    /// sample standard's services.
    V0_1,
    /// `conform:plugin/converter@0.2.0`: rows as typed cells, the pack's
    /// tables by name, records as trees.
    V0_2,
}

impl Contract {
    /// The contract's version, as its WIT package names it.
    pub fn version(self) -> &'static str {
        match self {
            Contract::V0_1 => "0.1.0",
            Contract::V0_2 => "0.2.0",
        }
    }
}

/// How often the epoch advances; time limits are multiples of it.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Why a plugin cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The engine could not be created.
    #[error("cannot start the WebAssembly engine: {0:#}")]
    Engine(wasmtime::Error),
    /// The component's bytes do not match the manifest's digest.
    #[error("plugin `{plugin}`: the component's sha256 is `{actual}` but the manifest says `{expected}`; rebuild the plugin or fix its manifest")]
    DigestMismatch {
        /// The plugin.
        plugin: String,
        /// The digest in the manifest.
        expected: String,
        /// The digest of the bytes.
        actual: String,
    },
    /// The bytes are not a valid component.
    #[error("plugin `{plugin}`: not a valid WebAssembly component: {source:#}")]
    Invalid {
        /// The plugin.
        plugin: String,
        /// What wasmtime said.
        source: wasmtime::Error,
    },
    /// The component imports something beyond the contract.
    #[error("plugin `{plugin}` imports `{import}`, which the contract does not offer: a plugin may import only {allowed}", allowed = ALLOWED_IMPORTS.join(" and "))]
    ForbiddenImport {
        /// The plugin.
        plugin: String,
        /// The refused import.
        import: String,
    },
    /// The component is over a size, time or memory cap of compiling.
    #[error(
        "plugin `{plugin}` is too complex to accept: {why}; make the component smaller or simpler"
    )]
    TooComplex {
        /// The plugin.
        plugin: String,
        /// Which cap it broke.
        why: String,
    },
    /// Every compilation slot stayed taken while this one waited.
    #[error("plugin `{plugin}` cannot be compiled now: the server is compiling other plugins; try again in a minute")]
    Busy {
        /// The plugin.
        plugin: String,
    },
    /// The component imports interfaces of two contracts.
    #[error("plugin `{plugin}` imports interfaces of both contract 0.1.0 and contract 0.2.0: build it against one")]
    MixedContracts {
        /// The plugin.
        plugin: String,
    },
    /// The component implements neither contract's `converter` world.
    #[error("plugin `{plugin}` implements neither `conform:plugin/converter@0.2.0` nor `conform:plugin/converter@0.1.0`: {source:#}")]
    WrongWorld {
        /// The plugin.
        plugin: String,
        /// What wasmtime said.
        source: wasmtime::Error,
    },
}

/// The lowercase hex SHA-256 of a component, as a manifest states it.
pub fn sha256_hex(wasm: &[u8]) -> String {
    hex::encode(Sha256::digest(wasm))
}

/// Checks that `wasm` is the component a manifest describes (its SHA-256
/// is `expected_sha256`); returns the digest.
pub fn verify_digest(
    plugin: &str,
    wasm: &[u8],
    expected_sha256: &str,
) -> Result<String, SandboxError> {
    let actual = sha256_hex(wasm);
    if actual != expected_sha256 {
        return Err(SandboxError::DigestMismatch {
            plugin: plugin.into(),
            expected: expected_sha256.into(),
            actual,
        });
    }
    Ok(actual)
}

/// Settings of the sandbox.
#[derive(Debug, Clone, Default)]
pub struct SandboxConfig {
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Pre-allocate instance slots (wasmtime's pooling allocator): faster
    /// instantiation, fixed virtual memory up front.
    pub pooling: bool,
    /// Where components are compiled: in a capped child process for
    /// untrusted components.
    pub compiler: Compiler,
    /// Caps on compiling one component.
    pub compile_limits: CompileLimits,
}

/// Instance slots of the pooling allocator.
const POOL_SLOTS: u32 = 64;

/// The wasmtime engine and the linker that serves the standard services.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Option<cache::Cache>,
    compiler: Compiler,
    compile_limits: CompileLimits,
    compile_slots: compile::Slots,
    ticker_stop: Arc<AtomicBool>,
    /// The mapping interpreters loaded, by digest: every mapping run by one
    /// shares its compiled code, whatever its folder's copy.
    interpreters: std::sync::Mutex<std::collections::HashMap<String, LoadedPlugin>>,
}

/// The engine settings every sandbox uses; a compiling child process makes
/// its engine with the same, so that its machine code loads here.
pub fn engine(pooling: bool) -> Result<Engine, SandboxError> {
    let mut wasm = Config::new();
    wasm.wasm_component_model(true);
    wasm.epoch_interruption(true);
    wasm.max_wasm_stack(1024 * 1024);
    // For profiling plugins: `perf` names their functions from
    // /tmp/perf-<pid>.map (see BENCHMARKS.md).
    if std::env::var_os("CONFORM_PERF_MAP").is_some() {
        wasm.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if pooling {
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_component_instances(POOL_SLOTS)
            .total_core_instances(POOL_SLOTS)
            .total_memories(POOL_SLOTS)
            .total_tables(POOL_SLOTS)
            .max_memory_size(conform_model::plugin::MAX_MEMORY_MIB as usize * 1024 * 1024);
        wasm.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&wasm).map_err(SandboxError::Engine)
}

impl Sandbox {
    /// Starts the engine and its epoch ticker.
    pub fn new(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let engine = engine(config.pooling)?;
        // A cache folder that cannot be trusted is not used: plugins are
        // compiled every time, and the log says why.
        let cache =
            config
                .cache_dir
                .as_deref()
                .and_then(|dir| match cache::Cache::open(dir, &engine) {
                    Ok(cache) => Some(cache),
                    Err(e) => {
                        tracing::warn!(error = %e, "compiled plugins are not cached");
                        None
                    }
                });
        let mut linker = Linker::new(&engine);
        host::v0_1::add_to_linker(&mut linker).map_err(SandboxError::Engine)?;
        host::v0_2::add_to_linker(&mut linker).map_err(SandboxError::Engine)?;
        host::mapping::add_to_linker(&mut linker).map_err(SandboxError::Engine)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let (ticking_engine, stop) = (engine.clone(), ticker_stop.clone());
        std::thread::Builder::new()
            .name("conform-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    ticking_engine.increment_epoch();
                }
            })
            .map_err(|e| SandboxError::Engine(e.into()))?;
        Ok(Sandbox {
            engine,
            linker,
            cache,
            compiler: config.compiler,
            compile_limits: config.compile_limits,
            compile_slots: compile::Slots::new(
                std::thread::available_parallelism().map_or(1, |n| n.get() / 2),
            ),
            ticker_stop,
            interpreters: Default::default(),
        })
    }

    /// Checks and compiles a plugin's component.
    ///
    /// `declared` are the record types the plugin's manifest says it emits;
    /// anything else it returns is refused row by row.
    pub fn load(
        &self,
        plugin: &str,
        wasm: &[u8],
        expected_sha256: &str,
        limits: PluginLimits,
        declared: Vec<String>,
    ) -> Result<LoadedPlugin, SandboxError> {
        self.load_component(plugin, wasm, expected_sha256, limits, declared, false)
    }

    /// Checks and compiles the mapping interpreter (a first-party
    /// component, `plugins/mapping-interpreter`): a plugin of contract
    /// 0.2.0 that may import [`PROGRAM_IMPORT`] too. It runs nothing until
    /// given a mapping by [`LoadedPlugin::for_mapping`].
    /// Loaded once per digest: later calls share the compiled code.
    pub fn load_interpreter(&self, wasm: &[u8]) -> Result<LoadedPlugin, SandboxError> {
        let sha256 = sha256_hex(wasm);
        let known = self
            .interpreters
            .lock()
            .expect("not poisoned")
            .get(&sha256)
            .cloned();
        if let Some(loaded) = known {
            return Ok(loaded);
        }
        let loaded = self.load_component(
            "mapping-interpreter",
            wasm,
            &sha256,
            PluginLimits::default(),
            Vec::new(),
            true,
        )?;
        if loaded.contract() != Contract::V0_2 {
            return Err(SandboxError::WrongWorld {
                plugin: "mapping-interpreter".into(),
                source: wasmtime::Error::msg("the mapping interpreter implements contract 0.2.0"),
            });
        }
        self.interpreters
            .lock()
            .expect("not poisoned")
            .insert(sha256, loaded.clone());
        Ok(loaded)
    }

    fn load_component(
        &self,
        plugin: &str,
        wasm: &[u8],
        expected_sha256: &str,
        limits: PluginLimits,
        declared: Vec<String>,
        interpreter: bool,
    ) -> Result<LoadedPlugin, SandboxError> {
        let actual = verify_digest(plugin, wasm, expected_sha256)?;
        let cached = self
            .cache
            .as_ref()
            .and_then(|c| c.lookup(&self.engine, &actual));
        let (component, fresh_code) = match cached {
            Some(component) => (component, None),
            None => {
                let patience = Duration::from_secs(self.compile_limits.seconds);
                let _slot =
                    self.compile_slots
                        .take(patience)
                        .ok_or_else(|| SandboxError::Busy {
                            plugin: plugin.into(),
                        })?;
                let code =
                    compile::precompile(&self.engine, &self.compiler, self.compile_limits, wasm)
                        .map_err(|e| match e {
                            compile::CompileError::TooComplex(why) => SandboxError::TooComplex {
                                plugin: plugin.into(),
                                why,
                            },
                            compile::CompileError::Invalid(message) => SandboxError::Invalid {
                                plugin: plugin.into(),
                                source: wasmtime::Error::msg(message),
                            },
                        })?;
                // SAFETY: `code` is what `Engine::precompile_component` made
                // of these bytes, here or in a child with the same settings.
                let component =
                    unsafe { Component::deserialize(&self.engine, &code) }.map_err(|source| {
                        SandboxError::Invalid {
                            plugin: plugin.into(),
                            source,
                        }
                    })?;
                (component, Some(code))
            }
        };
        check_imports(&self.engine, plugin, &component, interpreter)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(|pre| match bindings_v0_2::ConverterPre::new(pre.clone()) {
                Ok(v0_2) => Ok(worker::Pre::V0_2(v0_2)),
                Err(_) => bindings::ConverterPre::new(pre).map(worker::Pre::V0_1),
            })
            .map_err(|source| SandboxError::WrongWorld {
                plugin: plugin.into(),
                source,
            })?;
        // Cached only once every check passed: a refused component leaves
        // nothing behind.
        if let (Some(cache), Some(code)) = (&self.cache, fresh_code) {
            cache.store(&actual, &code);
        }
        Ok(LoadedPlugin {
            inner: Arc::new(worker::Plugin {
                name: plugin.into(),
                engine: self.engine.clone(),
                pre,
                limits,
                declared,
                program: None,
            }),
        })
    }

    /// The engine, for tools that inspect components.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// Refuses a component importing anything but one contract's interfaces
/// (and, for the mapping `interpreter`, [`PROGRAM_IMPORT`]).
fn check_imports(
    engine: &Engine,
    plugin: &str,
    component: &Component,
    interpreter: bool,
) -> Result<(), SandboxError> {
    let mut versions: Vec<String> = Vec::new();
    let imports = component.component_type();
    for (name, _) in imports.imports(engine) {
        if interpreter && name == PROGRAM_IMPORT {
            continue;
        }
        if !ALLOWED_IMPORTS.contains(&name) {
            return Err(SandboxError::ForbiddenImport {
                plugin: plugin.into(),
                import: name.into(),
            });
        }
        let version = name.rsplit('@').next().unwrap_or_default();
        if !versions.iter().any(|v| v == version) {
            versions.push(version.to_string());
        }
    }
    if versions.len() > 1 {
        return Err(SandboxError::MixedContracts {
            plugin: plugin.into(),
        });
    }
    Ok(())
}

/// A checked, compiled plugin, ready to instantiate. Cheap to clone.
#[derive(Clone)]
pub struct LoadedPlugin {
    inner: Arc<worker::Plugin>,
}

impl LoadedPlugin {
    /// A worker with its own store, serving the given standard.
    pub fn worker(&self, standard: Arc<conform_pack::Standard>) -> Worker {
        Worker::new(self.inner.clone(), standard)
    }

    /// The mapping interpreter (from [`Sandbox::load_interpreter`]) running
    /// `program` (a `conform_mapping::Program` as JSON) as the plugin
    /// `name`, under `limits`, declaring `declared` record types. The
    /// compiled interpreter is shared: each mapping costs only its program.
    pub fn for_mapping(
        &self,
        name: &str,
        program: &str,
        limits: PluginLimits,
        declared: Vec<String>,
    ) -> LoadedPlugin {
        let inner = &self.inner;
        LoadedPlugin {
            inner: Arc::new(worker::Plugin {
                name: name.into(),
                engine: inner.engine.clone(),
                pre: inner.pre.clone(),
                limits,
                declared,
                program: Some(program.into()),
            }),
        }
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The contract the plugin implements.
    pub fn contract(&self) -> Contract {
        self.inner.pre.contract()
    }

    /// The limits in force.
    pub fn limits(&self) -> PluginLimits {
        self.inner.limits
    }

    /// Creates a store, instantiates the plugin and drops both: what each
    /// worker pays once, measured by the benchmark.
    pub fn instantiate_once(&self, standard: Arc<conform_pack::Standard>) -> Result<(), String> {
        let worker = Worker::new(self.inner.clone(), standard);
        worker
            .instantiate()
            .map(drop)
            .map_err(|fault| fault.problem(&self.inner.name, &self.inner.limits).message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    fn load(sandbox: &Sandbox, wasm: &[u8]) -> Result<LoadedPlugin, SandboxError> {
        sandbox.load(
            "probe",
            wasm,
            &sha(wasm),
            PluginLimits::default(),
            vec!["part".into()],
        )
    }

    #[test]
    fn a_component_importing_wasi_is_refused_naming_the_import() {
        let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
        for import in [
            "wasi:filesystem/preopens@0.2.0",
            "wasi:sockets/tcp@0.2.0",
            "wasi:cli/environment@0.2.0",
            "wasi:clocks/wall-clock@0.2.0",
            "wasi:random/random@0.2.0",
            // The mapping interpreter's program: not for plugins.
            PROGRAM_IMPORT,
        ] {
            let wasm =
                wat::parse_str(format!("(component (import \"{import}\" (instance)))")).unwrap();
            let err = load(&sandbox, &wasm).err().expect("refused").to_string();
            assert!(err.contains(&format!("imports `{import}`")), "{err}");
        }
    }

    #[test]
    fn the_interpreter_may_import_its_program_and_nothing_else_beyond_the_contract() {
        let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
        let refusal = |imports: &str| {
            let wasm = wat::parse_str(format!(
                "(component (import \"{PROGRAM_IMPORT}\" (instance)) {imports})"
            ))
            .unwrap();
            sandbox
                .load_interpreter(&wasm)
                .err()
                .expect("refused")
                .to_string()
        };
        let err = refusal("(import \"wasi:filesystem/preopens@0.2.0\" (instance))");
        assert!(
            err.contains("imports `wasi:filesystem/preopens@0.2.0`"),
            "{err}"
        );
        // The program import alone passes the import check; this empty
        // component is then no converter.
        let err = refusal("");
        assert!(err.contains("implements neither"), "{err}");
    }

    #[test]
    fn a_component_of_another_world_is_refused() {
        let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
        let wasm = wat::parse_str("(component)").unwrap();
        let err = load(&sandbox, &wasm).err().expect("refused").to_string();
        assert!(
            err.contains("implements neither `conform:plugin/converter@0.2.0` nor `conform:plugin/converter@0.1.0`"),
            "{err}"
        );
    }

    #[test]
    fn a_component_importing_both_contracts_is_refused() {
        let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
        let wasm = wat::parse_str(
            "(component (import \"conform:plugin/types@0.1.0\" (instance)) (import \"conform:plugin/log@0.2.0\" (instance)))",
        )
        .unwrap();
        let err = load(&sandbox, &wasm).err().expect("refused").to_string();
        assert!(
            err.contains("both contract 0.1.0 and contract 0.2.0"),
            "{err}"
        );
    }

    #[test]
    fn bytes_that_are_no_component_or_do_not_match_the_digest_are_refused() {
        let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
        let err = load(&sandbox, b"not wasm")
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("not a valid WebAssembly component"), "{err}");
        let err = sandbox
            .load("probe", b"x", &sha(b"y"), PluginLimits::default(), vec![])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("sha256") && err.contains("rebuild the plugin"),
            "{err}"
        );
    }

    fn cached_sandbox(dir: &std::path::Path) -> Sandbox {
        Sandbox::new(SandboxConfig {
            cache_dir: Some(dir.to_path_buf()),
            ..SandboxConfig::default()
        })
        .unwrap()
    }

    fn entries(dir: &std::path::Path) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn refused_components_leave_nothing_in_the_cache() {
        let cache = tempfile::tempdir().unwrap();
        let sandbox = cached_sandbox(cache.path());
        let wasm = wat::parse_str("(component)").unwrap();
        assert!(load(&sandbox, &wasm).is_err());
        assert!(entries(cache.path()).is_empty());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cache.path().join("cache.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the cache key is private");
    }

    #[test]
    fn oversized_components_are_refused_before_compiling() {
        let sandbox = Sandbox::new(SandboxConfig {
            compile_limits: CompileLimits {
                max_component_bytes: 4,
                ..CompileLimits::default()
            },
            ..SandboxConfig::default()
        })
        .unwrap();
        let wasm = wat::parse_str("(component)").unwrap();
        let err = load(&sandbox, &wasm).err().expect("refused");
        assert!(matches!(err, SandboxError::TooComplex { .. }), "{err}");
    }
}
