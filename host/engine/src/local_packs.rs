//! Packs read from a folder given on the command line: one pack's folder,
//! or a folder of pack folders. Each plugin runs against the newest pack
//! there of the id and versions it targets (the CLI's `--pack`, and
//! `conform plugin test`).

use std::path::{Path, PathBuf};

use conform_model::PluginManifest;
use conform_pack::Pack;

/// Why the packs of a folder cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum LocalPacksError {
    /// The folder cannot be listed.
    #[error(
        "cannot read `{dir}` ({source}): give --pack a pack's folder or a folder of pack folders"
    )]
    Unreadable {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The folder holds no pack.
    #[error("`{dir}` holds no pack (a folder with a pack.toml): give --pack a pack's folder or a folder of pack folders")]
    Empty {
        /// The folder.
        dir: PathBuf,
    },
    /// A pack does not load.
    #[error("the pack in `{dir}` does not load: {source}")]
    Invalid {
        /// The pack's folder.
        dir: PathBuf,
        /// Why.
        source: Box<conform_pack::PackError>,
    },
    /// No pack there is one the plugin targets.
    #[error("plugin `{plugin}` targets pack `{pack}` {versions}, which is not among the packs given ({held}): point --pack at it")]
    NotTargeted {
        /// The plugin.
        plugin: String,
        /// The pack id it targets.
        pack: String,
        /// The versions it targets.
        versions: String,
        /// The packs there are, `id version`, comma-separated.
        held: String,
    },
}

/// The packs of one folder.
pub struct LocalPacks(Vec<Pack>);

impl LocalPacks {
    /// Loads `dir`: a pack's folder (it has a `pack.toml`), or each folder
    /// in it that has one.
    pub fn load(dir: &Path) -> Result<LocalPacks, LocalPacksError> {
        let load = |dir: &Path| {
            Pack::load(dir).map_err(|source| LocalPacksError::Invalid {
                dir: dir.to_path_buf(),
                source: Box::new(source),
            })
        };
        if dir.join("pack.toml").is_file() {
            return Ok(LocalPacks(vec![load(dir)?]));
        }
        let entries = std::fs::read_dir(dir).map_err(|source| LocalPacksError::Unreadable {
            dir: dir.to_path_buf(),
            source,
        })?;
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|dir| dir.join("pack.toml").is_file())
            .collect();
        dirs.sort();
        if dirs.is_empty() {
            return Err(LocalPacksError::Empty {
                dir: dir.to_path_buf(),
            });
        }
        Ok(LocalPacks(
            dirs.iter().map(|d| load(d)).collect::<Result<_, _>>()?,
        ))
    }

    /// Every pack, in folder order.
    pub fn iter(&self) -> impl Iterator<Item = &Pack> {
        self.0.iter()
    }

    /// The newest pack of the id and versions a plugin targets.
    pub fn for_plugin(&self, manifest: &PluginManifest) -> Result<&Pack, LocalPacksError> {
        let target = &manifest.target;
        self.newest(&manifest.name, &target.pack, &target.versions)
    }

    /// The newest pack `id` in `versions`, for `user` (a plugin's or a
    /// mapping's name, for the error).
    pub fn newest(
        &self,
        user: &str,
        id: &str,
        versions: &semver::VersionReq,
    ) -> Result<&Pack, LocalPacksError> {
        self.0
            .iter()
            .filter(|p| p.manifest().id == id && versions.matches(&p.manifest().version))
            .max_by(|a, b| a.manifest().version.cmp(&b.manifest().version))
            .ok_or_else(|| LocalPacksError::NotTargeted {
                plugin: user.to_string(),
                pack: id.to_string(),
                versions: versions.to_string(),
                held: self
                    .0
                    .iter()
                    .map(|p| format!("{} {}", p.manifest().id, p.manifest().version))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}
