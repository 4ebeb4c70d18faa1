//! The one cache of compiled plugins, shared by the CLI and the server.
//!
//! A plugin version is compiled once however many callers want it at once:
//! one gate per version, and no other lock held while the sandbox compiles.
//! A version that failed to compile is answered from memory for a minute
//! (per pack version: a plugin can suit one pack version and not another)
//! instead of being compiled again by every request. A busy compiler is
//! not remembered: the next caller tries again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use conform_model::PluginLimits;
use conform_pack::Pack;
use conform_sandbox::{LoadedPlugin, Sandbox, SandboxError};
use semver::Version;

use crate::registry::{self, Entry, RegistryError};

/// How long a plugin version that failed to compile is answered from memory.
const FAILURE_MEMORY: Duration = Duration::from_secs(60);

/// What identifies a compiled plugin: its name and version (a published
/// version never changes, and its limits and record types are compiled in)
/// and, for a mapping, the pack version its program was compiled against
/// (the tables it resolves, the kinds it reads from the schema).
type PluginKey = (String, Version, Option<Version>);

/// A failed compilation of a plugin for a pack version, and when.
type Failure = (Instant, Arc<RegistryError>);

/// Compiled plugins by name and version.
#[derive(Default)]
pub struct CompiledPlugins {
    loaded: Mutex<HashMap<PluginKey, LoadedPlugin>>,
    compiling: Mutex<HashMap<PluginKey, Arc<Mutex<()>>>>,
    failed: Mutex<HashMap<(PluginKey, Version), Failure>>,
}

impl CompiledPlugins {
    /// The compiled plugin of `entry`, checked against `pack` and compiled
    /// with `limits` at its first use.
    pub fn get(
        &self,
        entry: &Entry,
        limits: PluginLimits,
        sandbox: &Sandbox,
        pack: &Pack,
    ) -> Result<LoadedPlugin, Arc<RegistryError>> {
        // Compiled once per plugin version, but checked against every pack
        // version it is used with (a newer pack may lack a record type).
        registry::check_pack(&entry.manifest, pack).map_err(Arc::new)?;
        let key = key(entry, pack);
        if let Some(plugin) = self.loaded(&key) {
            registry::check_contract(&plugin, pack).map_err(Arc::new)?;
            return Ok(plugin);
        }
        let gate = self
            .compiling
            .lock()
            .expect("not poisoned")
            .entry(key.clone())
            .or_default()
            .clone();
        let _compiling = gate.lock().expect("not poisoned");
        if let Some(plugin) = self.loaded(&key) {
            registry::check_contract(&plugin, pack).map_err(Arc::new)?;
            return Ok(plugin);
        }
        let failure_key = (key, pack.manifest().version.clone());
        if let Some((at, error)) = self.failed.lock().expect("not poisoned").get(&failure_key) {
            if at.elapsed() < FAILURE_MEMORY {
                return Err(error.clone());
            }
        }
        match registry::load(entry, limits, sandbox, pack) {
            Ok(plugin) => {
                self.remember(entry, pack, plugin.clone());
                Ok(plugin)
            }
            Err(error) => {
                if !is_busy(&error) {
                    // Once per failure: later calls are answered from memory.
                    tracing::warn!(plugin = %entry.manifest.name, version = %entry.manifest.version, %error, "plugin does not load");
                }
                let error = Arc::new(error);
                if !is_busy(&error) {
                    self.failed
                        .lock()
                        .expect("not poisoned")
                        .insert(failure_key, (Instant::now(), error.clone()));
                }
                Err(error)
            }
        }
    }

    /// Keeps a plugin compiled elsewhere (at publishing) for `pack`.
    pub fn remember(&self, entry: &Entry, pack: &Pack, plugin: LoadedPlugin) {
        self.loaded
            .lock()
            .expect("not poisoned")
            .insert(key(entry, pack), plugin);
    }

    /// How many plugin versions are compiled and ready.
    pub fn len(&self) -> usize {
        self.loaded.lock().expect("not poisoned").len()
    }

    /// Whether no plugin is compiled yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn loaded(&self, key: &PluginKey) -> Option<LoadedPlugin> {
        self.loaded.lock().expect("not poisoned").get(key).cloned()
    }
}

/// Whether a load failed only because every compilation slot was busy.
pub fn is_busy(error: &RegistryError) -> bool {
    matches!(error, RegistryError::Sandbox(SandboxError::Busy { .. }))
}

/// The key of a plugin version used with `pack`.
fn key(entry: &Entry, pack: &Pack) -> PluginKey {
    let compiled_for = entry.is_mapping().then(|| pack.manifest().version.clone());
    (
        entry.manifest.name.clone(),
        entry.manifest.version.clone(),
        compiled_for,
    )
}
