//! The plugin registry: plugin folders on disk, each a `plugin.toml` and its
//! component, found by name or by the input files they claim.

use std::path::{Path, PathBuf};

use conform_model::{PluginLimits, PluginManifest};
use conform_pack::Pack;
use conform_sandbox::{Contract, LoadedPlugin, Sandbox, SandboxError};
use globset::{Glob, GlobMatcher};
use semver::Version;

/// The most a plugin may ask for, whatever its manifest says.
pub const HOST_MAX_LIMITS: PluginLimits = PluginLimits {
    memory_mib: conform_model::plugin::MAX_MEMORY_MIB,
    batch_millis: 30_000,
    output_bytes_per_record: 1024 * 1024,
    records_per_input: 1000,
};

/// Why a plugin cannot be found or loaded.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The plugins folder does not exist.
    #[error("plugin folder `{}` does not exist: build the plugins with `cargo xtask build-plugins` or pass `--plugins DIR`", .0.display())]
    NoPluginDir(PathBuf),
    /// No plugin has that name.
    #[error("no plugin named `{name}` in `{}`; available: {}", dir.display(), if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    UnknownPlugin {
        /// The name asked for.
        name: String,
        /// The folder searched.
        dir: PathBuf,
        /// The plugins there.
        known: Vec<String>,
    },
    /// A manifest is invalid.
    #[error("plugin manifest `{}`: {message}", path.display())]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The component file cannot be read.
    #[error("cannot read the component `{}` of plugin `{plugin}`: {source}", path.display())]
    MissingComponent {
        /// The plugin.
        plugin: String,
        /// The component file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The plugin targets another pack or pack version.
    #[error("plugin `{plugin}` targets pack `{wants}` but the loaded pack is `{pack}`; pass `--pack` with a matching pack")]
    PackMismatch {
        /// The plugin.
        plugin: String,
        /// The pack id and version range it targets.
        wants: String,
        /// The loaded pack's id and version.
        pack: String,
    },
    /// The plugin emits a record type the pack does not have.
    #[error(
        "plugin `{plugin}` declares record type `{record_type}`, which pack `{pack}` does not have"
    )]
    UnknownRecordType {
        /// The plugin.
        plugin: String,
        /// The record type.
        record_type: String,
        /// The pack.
        pack: String,
    },
    /// The plugin names a table the pack lacks, or has of another kind.
    #[error("plugin `{plugin}` uses table `{table}` {why}")]
    MissingTable {
        /// The plugin.
        plugin: String,
        /// The table.
        table: String,
        /// The kind it needs and what the pack has instead.
        why: String,
    },
    /// The plugin uses a contract the pack serves no table to.
    #[error("plugin `{plugin}` uses contract {contract}, which pack `{pack}` does not serve (it binds no table to that contract's functions): use a pack that does, or a version of the plugin on contract 0.2.0")]
    ContractNotServed {
        /// The plugin.
        plugin: String,
        /// The contract version.
        contract: &'static str,
        /// The pack's id and version.
        pack: String,
    },
    /// Two folders hold the same plugin name and version.
    #[error("plugin `{plugin}` {version} is in both `{}` and `{}`; versions are immutable, remove one", first.display(), second.display())]
    Duplicate {
        /// The plugin.
        plugin: String,
        /// Its version.
        version: Version,
        /// The first folder.
        first: PathBuf,
        /// The second folder.
        second: PathBuf,
    },
    /// A published mapping does not check against the pack it runs with.
    #[error("mapping `{plugin}` does not fit pack `{pack}`:\n{problems}")]
    Mapping {
        /// The mapping.
        plugin: String,
        /// The pack's id and version.
        pack: String,
        /// Each problem as `mapping.toml:LINE: message`.
        problems: String,
    },
    /// The sandbox refused the component.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
}

/// The file beside a plugin manifest that makes the plugin a mapping: its
/// component is then the mapping interpreter, running this mapping.
pub const MAPPING_FILE: &str = "mapping.toml";

/// One plugin folder.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The plugin's manifest.
    pub manifest: PluginManifest,
    /// The folder holding the manifest and the component.
    pub dir: PathBuf,
    claims: Vec<GlobMatcher>,
    /// Whether the folder holds a [`MAPPING_FILE`] (read once).
    mapping: bool,
}

/// The plugins found in a folder.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
    entries: Vec<Entry>,
    cap: PluginLimits,
}

impl Entry {
    /// Whether the plugin is a published mapping (its folder holds a
    /// [`MAPPING_FILE`]).
    pub fn is_mapping(&self) -> bool {
        self.mapping
    }
}

impl Registry {
    /// Reads every `*/plugin.toml` below `dir`. A broken manifest is an error
    /// naming its file: a registry never half-loads.
    pub fn open(dir: impl AsRef<Path>) -> Result<Registry, RegistryError> {
        let dir = dir.as_ref().to_path_buf();
        let listing =
            std::fs::read_dir(&dir).map_err(|_| RegistryError::NoPluginDir(dir.clone()))?;
        let mut folders: Vec<PathBuf> = listing
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("plugin.toml").is_file())
            .collect();
        folders.sort();
        let mut registry = Registry {
            dir,
            entries: Vec::new(),
            cap: HOST_MAX_LIMITS,
        };
        for folder in folders {
            let entry = Registry::read_entry(&folder)?;
            registry.insert(entry)?;
        }
        Ok(registry)
    }

    /// Reads the plugin in `folder` (its `plugin.toml`), without loading it.
    pub fn read_entry(folder: &Path) -> Result<Entry, RegistryError> {
        let path = folder.join("plugin.toml");
        let bad = |message: String| RegistryError::BadManifest {
            path: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
        let manifest = PluginManifest::from_toml(&text).map_err(|e| bad(e.to_string()))?;
        let claims = manifest
            .input
            .files
            .iter()
            .map(|pattern| {
                Glob::new(pattern)
                    .map(|g| g.compile_matcher())
                    .map_err(|e| bad(format!("file pattern `{pattern}`: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Entry {
            manifest,
            dir: folder.to_path_buf(),
            claims,
            mapping: folder.join(MAPPING_FILE).is_file(),
        })
    }

    /// Adds a plugin; a second copy of a name and version is refused.
    pub fn insert(&mut self, entry: Entry) -> Result<(), RegistryError> {
        let m = &entry.manifest;
        if let Some(existing) = self
            .entries
            .iter()
            .find(|e| e.manifest.name == m.name && e.manifest.version == m.version)
        {
            return Err(RegistryError::Duplicate {
                plugin: m.name.clone(),
                version: m.version.clone(),
                first: existing.dir.clone(),
                second: entry.dir.clone(),
            });
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Caps every plugin's limits at `cap` (itself capped at
    /// [`HOST_MAX_LIMITS`]) from here on.
    pub fn cap_limits(mut self, cap: PluginLimits) -> Registry {
        self.cap = cap.capped_by(HOST_MAX_LIMITS);
        self
    }

    /// The limits a plugin runs with: its manifest's, capped.
    pub fn limits_of(&self, entry: &Entry) -> PluginLimits {
        entry.manifest.limits.capped_by(self.cap)
    }

    /// The folder the registry reads.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The plugins: those read at open in name order of their folders, then
    /// those inserted since.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The plugin of that name, its newest version if there are several.
    pub fn get(&self, name: &str) -> Result<&Entry, RegistryError> {
        self.entries
            .iter()
            .filter(|e| e.manifest.name == name)
            .max_by(|a, b| a.manifest.version.cmp(&b.manifest.version))
            .ok_or_else(|| self.unknown(name))
    }

    /// One version of a plugin.
    pub fn get_version(&self, name: &str, version: &Version) -> Result<&Entry, RegistryError> {
        self.entries
            .iter()
            .find(|e| e.manifest.name == name && &e.manifest.version == version)
            .ok_or_else(|| self.unknown(&format!("{name}@{version}")))
    }

    fn unknown(&self, name: &str) -> RegistryError {
        let mut known: Vec<String> = self
            .entries
            .iter()
            .map(|e| e.manifest.name.clone())
            .collect();
        known.dedup();
        RegistryError::UnknownPlugin {
            name: name.into(),
            dir: self.dir.clone(),
            known,
        }
    }

    /// The plugin whose manifest claims a file name (the first, in name order).
    pub fn claiming(&self, file_name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.claims.iter().any(|g| g.is_match(file_name)))
    }

    /// Checks a plugin against the pack and loads it into the sandbox.
    pub fn load(
        &self,
        entry: &Entry,
        sandbox: &Sandbox,
        pack: &Pack,
    ) -> Result<LoadedPlugin, RegistryError> {
        load(entry, self.limits_of(entry), sandbox, pack)
    }
}

/// Checks a plugin against the pack and loads it into the sandbox with
/// `limits`; needs no registry, so that a caller can compile without
/// holding one.
pub fn load(
    entry: &Entry,
    limits: PluginLimits,
    sandbox: &Sandbox,
    pack: &Pack,
) -> Result<LoadedPlugin, RegistryError> {
    check_pack(&entry.manifest, pack)?;
    let manifest = &entry.manifest;
    let path = entry.dir.join(&manifest.component.file);
    let wasm = std::fs::read(&path).map_err(|source| RegistryError::MissingComponent {
        plugin: manifest.name.clone(),
        path: path.clone(),
        source,
    })?;
    let plugin = if entry.is_mapping() {
        load_mapping(entry, &wasm, limits, sandbox, pack)?
    } else {
        sandbox.load(
            &manifest.name,
            &wasm,
            &manifest.component.sha256,
            limits,
            manifest.target.record_types.clone(),
        )?
    };
    check_contract(&plugin, pack)?;
    Ok(plugin)
}

/// A mapping's folder loaded: its `mapping.toml` checked against `pack`
/// and compiled, run by the interpreter (`wasm`, the folder's component).
fn load_mapping(
    entry: &Entry,
    wasm: &[u8],
    limits: PluginLimits,
    sandbox: &Sandbox,
    pack: &Pack,
) -> Result<LoadedPlugin, RegistryError> {
    let manifest = &entry.manifest;
    conform_sandbox::verify_digest(&manifest.name, wasm, &manifest.component.sha256)?;
    let path = entry.dir.join(MAPPING_FILE);
    let text = conform_mapping::read(&path).map_err(|e| RegistryError::BadManifest {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let refused = |problems: conform_mapping::MappingProblems| RegistryError::Mapping {
        plugin: manifest.name.clone(),
        pack: format!("{} {}", pack.manifest().id, pack.manifest().version),
        problems: problems.to_string(),
    };
    let mapping = conform_mapping::MappingFile::parse(MAPPING_FILE, &text).map_err(refused)?;
    let program = conform_mapping::compile(&mapping, &text, pack).map_err(|problems| {
        refused(conform_mapping::MappingProblems::new(
            MAPPING_FILE,
            problems,
        ))
    })?;
    Ok(crate::mapped::interpreter_running(
        sandbox, wasm, manifest, &program, limits,
    )?)
}

/// Checks that `pack` serves the contract a loaded plugin implements: a
/// 0.1.0 plugin needs a pack that binds tables to 0.1.0's functions (every
/// pack of format 1 does); 0.2.0 plugins open tables by name.
pub fn check_contract(plugin: &LoadedPlugin, pack: &Pack) -> Result<(), RegistryError> {
    if plugin.contract() == Contract::V0_1 && !pack.standard().serves_v0_1() {
        let m = pack.manifest();
        return Err(RegistryError::ContractNotServed {
            plugin: plugin.name().to_string(),
            contract: Contract::V0_1.version(),
            pack: format!("{} {}", m.id, m.version),
        });
    }
    Ok(())
}

/// Checks that `pack` is one a plugin runs against: its id and version in
/// the plugin's target, every record type it emits in the pack. Needed for
/// every pack a compiled plugin is used with, not only the first.
pub fn check_pack(manifest: &PluginManifest, pack: &Pack) -> Result<(), RegistryError> {
    let pack_manifest = pack.manifest();
    if manifest.target.pack != pack_manifest.id
        || !manifest.target.versions.matches(&pack_manifest.version)
    {
        return Err(RegistryError::PackMismatch {
            plugin: manifest.name.clone(),
            wants: format!("{} {}", manifest.target.pack, manifest.target.versions),
            pack: format!("{} {}", pack_manifest.id, pack_manifest.version),
        });
    }
    if let Some(record_type) = manifest
        .target
        .record_types
        .iter()
        .find(|t| pack.validator(t).is_none())
    {
        return Err(RegistryError::UnknownRecordType {
            plugin: manifest.name.clone(),
            record_type: record_type.clone(),
            pack: pack_manifest.id.clone(),
        });
    }
    for (table, kind) in &manifest.target.tables {
        let has = match pack.standard().tables().get(table) {
            Some(found) if found.kind() == *kind => continue,
            Some(found) => format!("has as a {}", found.kind().name()),
            None => "does not have".to_string(),
        };
        return Err(RegistryError::MissingTable {
            plugin: manifest.name.clone(),
            table: table.clone(),
            why: format!(
                "({}), which pack `{} {}` {has}",
                kind.name(),
                pack_manifest.id,
                pack_manifest.version
            ),
        });
    }
    Ok(())
}

/// A plugin reference as users write it: `NAME` (the newest version) or
/// `NAME@VERSION`.
pub fn parse_reference(text: &str) -> Result<(&str, Option<Version>), String> {
    match text.split_once('@') {
        None => Ok((text, None)),
        Some((name, version)) => Version::parse(version)
            .map(|v| (name, Some(v)))
            .map_err(|e| format!("`{text}`: `{version}` is not a version ({e}); write NAME@1.2.3")),
    }
}
