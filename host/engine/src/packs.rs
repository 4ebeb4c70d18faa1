//! Packs by id and version, side by side on disk: `<root>/<id>/<version>/`.
//!
//! Versions are never edited or removed once installed, so a job recorded
//! against a pack version converts the same way after a restart. A plugin
//! runs against the newest installed version within its range.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use conform_pack::{Pack, PackError};
use semver::{Version, VersionReq};

/// Why the pack store cannot be read or a pack cannot be installed.
#[derive(Debug, thiserror::Error)]
pub enum PackStoreError {
    /// A folder of the store cannot be read or written.
    #[error("pack store `{}`: {source}", path.display())]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An installed pack does not load.
    #[error("installed pack `{}` does not load: {source}", path.display())]
    Broken {
        /// Its folder.
        path: PathBuf,
        /// Why.
        source: Box<PackError>,
    },
    /// An installed pack's folder does not match its manifest.
    #[error("`{}` holds pack `{id}` {version}; it belongs in `{id}/{version}/`", path.display())]
    Misplaced {
        /// The folder.
        path: PathBuf,
        /// The manifest's id.
        id: String,
        /// The manifest's version.
        version: Version,
    },
    /// That id and version are installed already; versions are immutable.
    #[error("pack `{id}` {version} is installed already; publish it under a new version")]
    Exists {
        /// The pack id.
        id: String,
        /// The version.
        version: Version,
    },
}

/// The installed packs.
#[derive(Debug)]
pub struct PackStore {
    root: PathBuf,
    packs: BTreeMap<String, BTreeMap<Version, Arc<Pack>>>,
}

impl PackStore {
    /// Loads every pack below `root` (created if missing). Any broken or
    /// misplaced pack is an error: the store never half-loads.
    pub fn open(root: impl AsRef<Path>) -> Result<PackStore, PackStoreError> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(io(&root))?;
        let mut store = PackStore {
            root: root.clone(),
            packs: BTreeMap::new(),
        };
        for id_dir in visible_dirs(&root).map_err(io(&root))? {
            for version_dir in visible_dirs(&id_dir).map_err(io(&id_dir))? {
                let pack = Pack::load(&version_dir).map_err(|source| PackStoreError::Broken {
                    path: version_dir.clone(),
                    source: Box::new(source),
                })?;
                let m = pack.manifest();
                if id_dir.file_name() != Some(m.id.as_ref())
                    || version_dir.file_name() != Some(m.version.to_string().as_ref())
                {
                    return Err(PackStoreError::Misplaced {
                        path: version_dir,
                        id: m.id.clone(),
                        version: m.version.clone(),
                    });
                }
                store.insert(pack);
            }
        }
        Ok(store)
    }

    fn insert(&mut self, pack: Pack) -> Arc<Pack> {
        let pack = Arc::new(pack);
        let m = pack.manifest();
        self.packs
            .entry(m.id.clone())
            .or_default()
            .insert(m.version.clone(), pack.clone());
        pack
    }

    /// The folder new packs are unpacked into before their checks; on the
    /// same file system as the store, so installing is a rename.
    pub fn staging_dir(&self) -> PathBuf {
        self.root.join(crate::layout::STAGING)
    }

    /// Moves a pack that passed [`Pack::check`] in a staging folder into the
    /// store, unless its version is installed already.
    pub fn install(&mut self, checked: Pack) -> Result<Arc<Pack>, PackStoreError> {
        let (id, version) = (
            checked.manifest().id.clone(),
            checked.manifest().version.clone(),
        );
        if self.get(&id, &version).is_some() {
            return Err(PackStoreError::Exists { id, version });
        }
        let id_dir = self.root.join(&id);
        let target = id_dir.join(version.to_string());
        std::fs::create_dir_all(&id_dir).map_err(io(&id_dir))?;
        std::fs::rename(checked.dir(), &target).map_err(io(&target))?;
        // Checked already: not loaded again, so that installing (under the
        // catalog's write lock) costs a rename, whatever the pack's size.
        let mut pack = checked;
        pack.moved_to(target);
        Ok(self.insert(pack))
    }

    /// One version of a pack.
    pub fn get(&self, id: &str, version: &Version) -> Option<&Arc<Pack>> {
        self.packs.get(id)?.get(version)
    }

    /// The newest version of pack `id` that `range` accepts.
    pub fn newest(&self, id: &str, range: &VersionReq) -> Option<&Arc<Pack>> {
        self.packs
            .get(id)?
            .iter()
            .rev()
            .find(|(version, _)| range.matches(version))
            .map(|(_, pack)| pack)
    }

    /// The versions of pack `id`, oldest first.
    pub fn versions(&self, id: &str) -> Vec<&Arc<Pack>> {
        self.packs
            .get(id)
            .map(|v| v.values().collect())
            .unwrap_or_default()
    }

    /// The ids of the installed packs, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.packs.keys().map(String::as_str)
    }

    /// How many pack versions are installed, of every id.
    pub fn version_count(&self) -> usize {
        self.packs.values().map(BTreeMap::len).sum()
    }
}

/// The store error of an I/O failure on `path`.
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PackStoreError {
    let path = path.to_path_buf();
    move |source| PackStoreError::Io { path, source }
}

/// Sub-folders whose names do not start with `.` (staging and the like).
fn visible_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if entry.file_type()?.is_dir() && !hidden {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of the sample pack at `version`, with the decimals of parts' lengths changed.
    fn variant(into: &Path, version: &str, length_decimals: u32) {
        crate::test_support::copy_dir(&crate::test_support::sample_pack(), into);
        let manifest = into.join("pack.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(
            &manifest,
            text.replace("version = \"1.0.0\"", &format!("version = \"{version}\"")),
        )
        .unwrap();
        let units = into.join("rules/units.toml");
        let text = std::fs::read_to_string(&units).unwrap();
        std::fs::write(
            &units,
            text.replace(
                "length_mm = { unit = \"mm\", decimals = 2 }",
                &format!("length_mm = {{ unit = \"mm\", decimals = {length_decimals} }}"),
            ),
        )
        .unwrap();
    }

    #[test]
    fn the_newest_version_within_the_range_wins_and_versions_are_immutable() {
        let root = tempfile::tempdir().unwrap();
        let mut store = PackStore::open(root.path()).unwrap();
        for (version, decimals) in [("1.0.0", 2), ("1.1.0", 1), ("2.0.0", 0)] {
            let staged = store.staging_dir().join(version);
            variant(&staged, version, decimals);
            store.install(Pack::check(&staged).unwrap()).unwrap();
        }
        let v1 = VersionReq::parse("^1.0").unwrap();
        assert_eq!(
            store
                .newest("sample-regional", &v1)
                .unwrap()
                .manifest()
                .version,
            Version::new(1, 1, 0)
        );
        let any = VersionReq::parse(">=1").unwrap();
        assert_eq!(
            store
                .newest("sample-regional", &any)
                .unwrap()
                .manifest()
                .version,
            Version::new(2, 0, 0)
        );
        assert!(store.newest("other", &any).is_none());

        let staged = store.staging_dir().join("again");
        variant(&staged, "1.1.0", 3);
        let err = store.install(Pack::check(&staged).unwrap()).unwrap_err();
        assert!(matches!(err, PackStoreError::Exists { .. }), "{err}");

        // Reopened from disk, the store holds the same three versions.
        let reopened = PackStore::open(root.path()).unwrap();
        assert_eq!(reopened.versions("sample-regional").len(), 3);
    }

    #[test]
    fn a_pack_in_the_wrong_folder_is_refused_at_open() {
        let root = tempfile::tempdir().unwrap();
        variant(&root.path().join("sample-regional/9.9.9"), "1.0.0", 2);
        let err = PackStore::open(root.path()).unwrap_err();
        assert!(
            err.to_string()
                .contains("it belongs in `sample-regional/1.0.0/`"),
            "{err}"
        );
    }
}
