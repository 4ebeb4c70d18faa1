//! The catalog of an installation: every pack and plugin version in its
//! [`DataDir`], the one cache of compiled plugins, and publishing.
//!
//! Publishing checks a plugin or pack in a staging folder, compiles a
//! plugin, and only when every check passed moves the folder into place,
//! claims the name and adds the version (the "nothing is published
//! half-checked" invariant). Who may publish under a name is the caller's
//! policy, asked through a [`NameGate`]. Versions are never edited or
//! removed, so a job recorded against versions can rerun.

use std::path::Path;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use conform_model::{PluginLimits, PluginManifest};
use conform_pack::Pack;
use conform_sandbox::{LoadedPlugin, Sandbox};
use semver::Version;

use crate::archive::{self, ArchiveError, UnpackLimits};
use crate::compiled::{self, CompiledPlugins};
use crate::layout::DataDir;
use crate::packs::{PackStore, PackStoreError};
use crate::registry::{self, Entry, Registry, RegistryError, MAPPING_FILE};
use crate::scratch::{random_hex, ScratchFolder};

/// The packs and plugins installed, as read at one moment.
pub struct Listing {
    /// Every pack version.
    pub packs: PackStore,
    /// Every plugin version.
    pub plugins: Registry,
}

/// A plugin ready to convert: its manifest, the pack version it runs
/// against, the compiled component.
pub struct Resolved {
    /// The plugin's manifest.
    pub manifest: PluginManifest,
    /// The pack version it runs against.
    pub pack: Arc<Pack>,
    /// The compiled component.
    pub plugin: LoadedPlugin,
}

/// Why a plugin cannot be resolved, or the catalog not opened.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// No plugin of that name (or version) is installed.
    #[error("no plugin `{asked}` here; installed: {}", list(installed))]
    UnknownPlugin {
        /// The name asked for.
        name: String,
        /// The name, with `@VERSION` if one was asked for.
        asked: String,
        /// The installed plugin names.
        installed: Vec<String>,
    },
    /// No installed pack version is one the plugin runs against.
    #[error("{0}")]
    NoMatchingPack(Box<PackWanted>),
    /// The plugin does not suit the pack version, or does not compile.
    #[error("plugin `{plugin}` {version} cannot run {}: {source}", against.as_deref().map_or("here".to_string(), |p| format!("against pack {p}")))]
    Unusable {
        /// The plugin.
        plugin: String,
        /// Its version.
        version: Version,
        /// The pack (`` `id` version``) it does not suit, if that is why.
        against: Option<String>,
        /// Why.
        source: Arc<RegistryError>,
    },
    /// A folder of the data directory cannot be made.
    #[error("cannot make the folder `{}`: {source}", path.display())]
    Folder {
        /// The folder.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The plugins of the data directory do not load.
    #[error(transparent)]
    Plugins(#[from] RegistryError),
    /// The packs of the data directory do not load.
    #[error(transparent)]
    Packs(#[from] PackStoreError),
}

/// The pack a plugin asked for when none installed suits it.
#[derive(Debug)]
pub struct PackWanted {
    /// The plugin.
    pub plugin: String,
    /// The pack id it targets.
    pub pack: String,
    /// The version range it targets.
    pub range: String,
    /// The pack version asked for, if one was.
    pub pinned: Option<Version>,
    /// The installed versions of that pack.
    pub installed: Vec<String>,
}

impl std::fmt::Display for PackWanted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let PackWanted {
            plugin,
            pack,
            range,
            pinned,
            installed,
        } = self;
        let installed = list(installed);
        match pinned {
            Some(v) => write!(
                f,
                "plugin `{plugin}` runs against pack `{pack}` {range}, and `{pack}@{v}` is not one of those installed (installed: {installed}); pin one of them, or leave `pack` out for the newest"
            ),
            None => write!(
                f,
                "plugin `{plugin}` targets pack `{pack}` {range}, and no installed version matches (installed: {installed}); publish a matching pack first"
            ),
        }
    }
}

impl CatalogError {
    /// Whether the plugin only could not compile yet (every compilation slot
    /// busy): worth a retry, not a refusal.
    pub fn is_busy(&self) -> bool {
        matches!(self, CatalogError::Unusable { source, .. } if compiled::is_busy(source))
    }
}

/// Why a publication is refused.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The manifest does not read.
    #[error("{0}")]
    BadManifest(String),
    /// The name belongs to someone else (the [`NameGate`]'s verdict, in
    /// its words).
    #[error("{message}")]
    NameTaken {
        /// The name.
        name: String,
        /// What the gate says of it.
        message: String,
    },
    /// The name gate could not answer.
    #[error("the name owners could not be asked: {0}")]
    GateFailed(String),
    /// That plugin version is published already.
    #[error("plugin `{name}` {version} is published already; versions are immutable, publish a new version")]
    PluginExists {
        /// The plugin.
        name: String,
        /// Its version.
        version: Version,
    },
    /// That pack version is published already.
    #[error(transparent)]
    PackExists(PackStoreError),
    /// The checked pack could not be installed.
    #[error(transparent)]
    Install(PackStoreError),
    /// The checked plugin could not be added to the registry.
    #[error(transparent)]
    Register(RegistryError),
    /// The plugin fails a check of the registry or the sandbox.
    #[error(transparent)]
    Refused(RegistryError),
    /// No installed pack suits the plugin.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The pack archive is refused.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The mapping fails its check; each problem as `mapping.toml:LINE: …`.
    #[error("the mapping fails {} check(s); `details.errors` lists each: {}", .0.len(), .0.join("; "))]
    MappingInvalid(Vec<String>),
    /// The pack fails its checks; each problem, with paths relative to the
    /// archive.
    #[error("the pack fails {} check(s); `details.errors` lists each: {}", .0.len(), .0.join("; "))]
    PackInvalid(Vec<String>),
    /// The data directory could not be written.
    #[error("cannot {doing}: {source}")]
    Storage {
        /// What was being done.
        doing: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Who may publish under a name: asked before anything of a publication is
/// checked, and asked to claim the name once everything passed.
pub trait NameGate {
    /// `Ok` if the publisher may use `name` (nobody else owns it), else
    /// [`PublishError::NameTaken`].
    fn check(&self, name: &str) -> Result<(), PublishError>;
    /// Makes `name` the publisher's if it was nobody's; like [`NameGate::check`]
    /// otherwise.
    fn claim(&self, name: &str) -> Result<(), PublishError>;
}

/// The packs and plugins of a data directory, and their compiled plugins.
pub struct Catalog {
    data: DataDir,
    cap: PluginLimits,
    listing: RwLock<Listing>,
    sandbox: Sandbox,
    compiled: CompiledPlugins,
}

impl Catalog {
    /// Reads every pack and plugin version of `data` (removing what an
    /// interrupted publication left); plugins get at most `cap`. Nothing is
    /// compiled here.
    pub fn open(
        data: DataDir,
        sandbox: Sandbox,
        cap: PluginLimits,
    ) -> Result<Catalog, CatalogError> {
        for (folder, e) in data.remove_interrupted_publications() {
            tracing::warn!(folder = %folder.display(), error = %e, "cannot remove an interrupted publication's files");
        }
        let packs = PackStore::open(data.packs())?;
        std::fs::create_dir_all(data.plugins()).map_err(|source| CatalogError::Folder {
            path: data.plugins().to_path_buf(),
            source,
        })?;
        let plugins = Registry::open(data.plugins())?.cap_limits(cap);
        Ok(Catalog {
            data,
            cap,
            listing: RwLock::new(Listing { packs, plugins }),
            sandbox,
            compiled: CompiledPlugins::default(),
        })
    }

    /// Reads the pack and plugin folders again, for versions another
    /// process installed there (a replica, through the shared files);
    /// whether the listing grew. Installed versions never change or go, so
    /// the new listing only adds to the old (requests wait while the
    /// folders are read).
    pub fn refresh(&self) -> Result<bool, CatalogError> {
        // Read under the write lock: a version this process installs
        // meanwhile is on the disk this reads, never dropped by it.
        let mut listing = self.listing_mut();
        let packs = PackStore::open(self.data.packs())?;
        let plugins = Registry::open(self.data.plugins())?.cap_limits(self.cap);
        let versions = |listing: &Listing| {
            (
                listing.packs.version_count(),
                listing.plugins.entries().len(),
            )
        };
        let fresh = Listing { packs, plugins };
        if versions(&fresh) <= versions(&listing) {
            return Ok(false);
        }
        *listing = fresh;
        Ok(true)
    }

    /// The data directory the catalog reads.
    pub fn data(&self) -> &DataDir {
        &self.data
    }

    /// The packs and plugins, for reading; not to be held while compiling.
    pub fn listing(&self) -> RwLockReadGuard<'_, Listing> {
        self.listing.read().expect("not poisoned")
    }

    fn listing_mut(&self) -> RwLockWriteGuard<'_, Listing> {
        self.listing.write().expect("not poisoned")
    }

    /// The sandbox plugins compile and run in.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// How many plugin versions are compiled and ready.
    pub fn compiled_count(&self) -> usize {
        self.compiled.len()
    }

    /// A plugin (its newest version, or `version`) with the pack it runs
    /// against (the newest in its range, or `pack_version`, which must be in
    /// its range), compiled once. The listing is read under its lock;
    /// compiling happens after the lock is released.
    pub fn resolve(
        &self,
        name: &str,
        version: Option<&Version>,
        pack_version: Option<&Version>,
    ) -> Result<Resolved, CatalogError> {
        let (entry, pack, limits) = {
            let listing = self.listing();
            let entry = listing.plugin(name, version)?;
            let pack = listing.pack_for(&entry.manifest, pack_version)?.clone();
            (entry.clone(), pack, listing.plugins.limits_of(entry))
        };
        let plugin = self
            .compiled
            .get(&entry, limits, &self.sandbox, &pack)
            .map_err(|source| unusable(&entry.manifest, &pack, source))?;
        Ok(Resolved {
            manifest: entry.manifest,
            pack,
            plugin,
        })
    }

    /// Checks a plugin (its manifest, digest, world, imports, target pack,
    /// record types), compiles it, and installs it as
    /// `plugins/<name>-<version>/`. The name is checked with `gate` before
    /// anything else and claimed only once every check passed.
    pub fn publish_plugin(
        &self,
        manifest_text: &str,
        component: &[u8],
        gate: &dyn NameGate,
    ) -> Result<Entry, PublishError> {
        let manifest = PluginManifest::from_toml(manifest_text)
            .map_err(|e| PublishError::BadManifest(format!("plugin.toml: {e}")))?;
        self.publish(&manifest, manifest_text, component, None, gate)
    }

    /// Checks a mapping (`mapping_text`, a `mapping.toml`) against the
    /// newest pack it targets, and installs it as a plugin version whose
    /// component is `interpreter` (the mapping interpreter's), beside the
    /// mapping: listed, pinned and run as any plugin, its name owned as a
    /// plugin's. Every problem of the mapping is refused at its line.
    pub fn publish_mapping(
        &self,
        mapping_text: &str,
        interpreter: &[u8],
        gate: &dyn NameGate,
    ) -> Result<Entry, PublishError> {
        let mapping = conform_mapping::MappingFile::parse(MAPPING_FILE, mapping_text)
            .map_err(|problems| PublishError::MappingInvalid(problems.lines()))?;
        let manifest = mapping.plugin_manifest(conform_model::plugin::ComponentRef {
            file: crate::mapped::INTERPRETER_FILE.into(),
            sha256: conform_sandbox::sha256_hex(interpreter),
        });
        manifest
            .check()
            .map_err(|e| PublishError::BadManifest(format!("{MAPPING_FILE}: {e}")))?;
        let manifest_text = toml::to_string(&manifest)
            .map_err(|e| PublishError::BadManifest(format!("{MAPPING_FILE}: {e}")))?;
        self.publish(
            &manifest,
            &manifest_text,
            interpreter,
            Some(mapping_text),
            gate,
        )
    }

    /// Stages a plugin version (and its mapping, if it is one), checks it
    /// against the newest pack it targets, compiles it and installs it.
    fn publish(
        &self,
        manifest: &PluginManifest,
        manifest_text: &str,
        component: &[u8],
        mapping: Option<&str>,
        gate: &dyn NameGate,
    ) -> Result<Entry, PublishError> {
        // The name first: nothing of another's plugin is compiled or stored.
        gate.check(&manifest.name)?;
        conform_sandbox::verify_digest(&manifest.name, component, &manifest.component.sha256)
            .map_err(|e| PublishError::Refused(e.into()))?;
        self.refuse_existing(&self.listing(), manifest)?;
        let staging = self.stage_plugin(manifest, manifest_text, component, mapping)?;
        let mut entry = Registry::read_entry(staging.path())
            .map_err(|e| PublishError::BadManifest(e.to_string()))?;
        // Checked against the pack and compiled outside any lock: a waiting
        // writer would otherwise hold up every request behind it.
        let (pack, limits) = {
            let listing = self.listing();
            let pack = listing.pack_for(&entry.manifest, None)?.clone();
            (pack, listing.plugins.limits_of(&entry))
        };
        let compiled =
            registry::load(&entry, limits, &self.sandbox, &pack).map_err(PublishError::Refused)?;
        let mut listing = self.listing_mut();
        self.refuse_existing(&listing, manifest)?;
        gate.claim(&manifest.name)?;
        let target = self.data.plugin_version(&manifest.name, &manifest.version);
        std::fs::rename(staging.path(), &target).map_err(storage("store the plugin"))?;
        staging.keep();
        entry.dir = target;
        listing
            .plugins
            .insert(entry.clone())
            .map_err(PublishError::Register)?;
        self.compiled.remember(&entry, &pack, compiled);
        Ok(entry)
    }

    /// Unpacks a pack archive (within `limits`), checks every schema and
    /// table, and installs it as `packs/<id>/<version>/`. The id is checked
    /// with `gate` before the pack is, and claimed once it passed.
    pub fn publish_pack(
        &self,
        archive: &[u8],
        limits: UnpackLimits,
        gate: &dyn NameGate,
    ) -> Result<Arc<Pack>, PublishError> {
        // Removed whatever happens: an installed pack has been moved out of it.
        let staging =
            ScratchFolder::new(self.data.pack_staging().join(
                random_hex::<12>().map_err(storage("find randomness for a staging folder"))?,
            ));
        let root = archive::unpack(archive, staging.path(), limits)?;
        // The id first: nothing of another's pack is checked.
        if let Some(id) = manifest_id(&root) {
            gate.check(&id)?;
        }
        // Paths in messages are shown relative to the archive, not the disk.
        let prefix = format!("{}/", root.display());
        let pack = Pack::check(&root).map_err(|errors| {
            PublishError::PackInvalid(
                errors
                    .iter()
                    .map(|e| e.to_string().replace(&prefix, ""))
                    .collect(),
            )
        })?;
        let mut listing = self.listing_mut();
        let (id, version) = (&pack.manifest().id, &pack.manifest().version);
        if listing.packs.get(id, version).is_none() {
            gate.claim(id)?;
        }
        listing.packs.install(pack).map_err(|e| match e {
            PackStoreError::Exists { .. } => PublishError::PackExists(e),
            other => PublishError::Install(other),
        })
    }

    fn refuse_existing(
        &self,
        listing: &Listing,
        manifest: &PluginManifest,
    ) -> Result<(), PublishError> {
        if listing
            .plugins
            .get_version(&manifest.name, &manifest.version)
            .is_ok()
        {
            return Err(PublishError::PluginExists {
                name: manifest.name.clone(),
                version: manifest.version.clone(),
            });
        }
        Ok(())
    }

    /// Writes a plugin's manifest and component (and a mapping's
    /// `mapping.toml`) into a fresh staging folder.
    fn stage_plugin(
        &self,
        manifest: &PluginManifest,
        manifest_text: &str,
        component: &[u8],
        mapping: Option<&str>,
    ) -> Result<ScratchFolder, PublishError> {
        let name = random_hex::<12>().map_err(storage("find randomness for a staging folder"))?;
        let staging = ScratchFolder::new(self.data.plugin_staging().join(name));
        std::fs::create_dir_all(staging.path())
            .and_then(|()| std::fs::write(staging.path().join("plugin.toml"), manifest_text))
            .and_then(|()| std::fs::write(staging.path().join(&manifest.component.file), component))
            .and_then(|()| match mapping {
                Some(text) => std::fs::write(staging.path().join(MAPPING_FILE), text),
                None => Ok(()),
            })
            .map_err(storage("store the plugin"))?;
        Ok(staging)
    }
}

impl Listing {
    /// A plugin version: `version`, or the newest.
    pub fn plugin(&self, name: &str, version: Option<&Version>) -> Result<&Entry, CatalogError> {
        match version {
            Some(v) => self.plugins.get_version(name, v),
            None => self.plugins.get(name),
        }
        .map_err(|_| {
            let mut installed: Vec<String> = self
                .plugins
                .entries()
                .iter()
                .map(|e| e.manifest.name.clone())
                .collect();
            installed.sort_unstable();
            installed.dedup();
            CatalogError::UnknownPlugin {
                name: name.to_string(),
                asked: version.map_or_else(|| name.to_string(), |v| format!("{name}@{v}")),
                installed,
            }
        })
    }

    /// The pack a plugin runs against: `exact` if given (and in the
    /// plugin's range), else the newest version within its range.
    pub fn pack_for(
        &self,
        manifest: &PluginManifest,
        exact: Option<&Version>,
    ) -> Result<&Arc<Pack>, CatalogError> {
        let target = &manifest.target;
        let found = match exact {
            Some(v) if target.versions.matches(v) => self.packs.get(&target.pack, v),
            Some(_) => None,
            None => self.packs.newest(&target.pack, &target.versions),
        };
        found.ok_or_else(|| {
            CatalogError::NoMatchingPack(Box::new(PackWanted {
                plugin: manifest.name.clone(),
                pack: target.pack.clone(),
                range: target.versions.to_string(),
                pinned: exact.cloned(),
                installed: self
                    .packs
                    .versions(&target.pack)
                    .iter()
                    .map(|p| p.manifest().version.to_string())
                    .collect(),
            }))
        })
    }
}

/// The error of a plugin that does not suit `pack` or does not compile.
fn unusable(manifest: &PluginManifest, pack: &Pack, source: Arc<RegistryError>) -> CatalogError {
    let against = matches!(
        *source,
        RegistryError::PackMismatch { .. } | RegistryError::UnknownRecordType { .. }
    )
    .then(|| format!("`{}` {}", pack.manifest().id, pack.manifest().version));
    CatalogError::Unusable {
        plugin: manifest.name.clone(),
        version: manifest.version.clone(),
        against,
        source,
    }
}

fn storage(doing: &'static str) -> impl FnOnce(std::io::Error) -> PublishError {
    move |source| PublishError::Storage { doing, source }
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

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
