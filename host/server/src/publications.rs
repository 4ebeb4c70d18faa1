//! Plugin and pack versions crossing replicas. A replica that installs a
//! version announces it: its files to the shared files, then a row in the
//! shared database (`conform_publications`). Every replica follows the
//! rows: a version it lacks is fetched into a staging folder, moved into
//! place whole, and the catalog read again. Without a shared database
//! there is one process and nothing to announce.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use conform_engine::{Catalog, DataDir};
use semver::Version;

use crate::files::{local, FileStore, FilesError};
use crate::metadata::database::Database;
use crate::metadata::TableResult;
use crate::owners::Kind;

/// One published version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Publication {
    /// A plugin's or a pack's.
    pub kind: Kind,
    /// The plugin name or pack id.
    pub name: String,
    /// Its version.
    pub version: Version,
}

impl Publication {
    /// The version's folder in `data`.
    fn folder(&self, data: &DataDir) -> PathBuf {
        match self.kind {
            Kind::Plugin => data.plugin_version(&self.name, &self.version),
            Kind::Pack => data.packs().join(&self.name).join(self.version.to_string()),
        }
    }

    /// The shared key of the version's folder.
    fn key(&self) -> String {
        match self.kind {
            Kind::Plugin => format!("plugins/{}-{}", self.name, self.version),
            Kind::Pack => format!("packs/{}/{}", self.name, self.version),
        }
    }

    /// Whether `catalog` has this version already (wherever its folder is).
    fn is_listed(&self, catalog: &Catalog) -> bool {
        let listing = catalog.listing();
        match self.kind {
            Kind::Plugin => listing
                .plugins
                .get_version(&self.name, &self.version)
                .is_ok(),
            Kind::Pack => listing.packs.get(&self.name, &self.version).is_some(),
        }
    }

    /// Where a fetched copy is put together before it moves into place.
    fn staging(&self, data: &DataDir) -> PathBuf {
        match self.kind {
            Kind::Plugin => data.plugin_staging(),
            Kind::Pack => data.pack_staging(),
        }
    }
}

/// The publications of the replicas sharing a database.
pub(crate) struct Publications {
    database: Option<Arc<Database>>,
    files: Arc<dyn FileStore>,
    /// The last row installed here.
    seen: Mutex<i64>,
}

impl Publications {
    /// Publications through `database` (none: one process), their files in
    /// `files`.
    pub(crate) fn new(database: Option<Arc<Database>>, files: Arc<dyn FileStore>) -> Publications {
        Publications {
            database,
            files,
            seen: Mutex::new(0),
        }
    }

    /// Whether other replicas follow what this one publishes.
    pub(crate) fn is_shared(&self) -> bool {
        self.database.is_some()
    }

    /// Shares a version installed here in `folder`: its files, then its
    /// row (a version announced twice keeps its first row). Blocks.
    pub(crate) fn announce(&self, folder: &Path, publication: &Publication) -> TableResult<()> {
        let Some(database) = &self.database else {
            return Ok(());
        };
        for file in files_below(folder)? {
            let relative = file.strip_prefix(folder).unwrap_or(&file);
            let key = format!("{}/{}", publication.key(), relative.to_string_lossy());
            self.files.put(&key, &file)?;
        }
        let (kind, name, version) = (
            publication.kind.as_str(),
            publication.name.clone(),
            publication.version.to_string(),
        );
        database.run(move |c| {
            c.execute(
                "INSERT INTO conform_publications (kind, name, version, published_at)
                 VALUES ($1, $2, $3, EXTRACT(EPOCH FROM now())::BIGINT)
                 ON CONFLICT (kind, name, version) DO NOTHING",
                &[&kind, &name, &version],
            )
            .map(drop)
        })
    }

    /// Announces every version of `catalog` (at a start: versions
    /// installed before this replica shared its catalog, or whose
    /// announcement failed).
    pub(crate) fn announce_all(&self, catalog: &Catalog) -> TableResult<()> {
        if !self.is_shared() {
            return Ok(());
        }
        let installed: Vec<(PathBuf, Publication)> = {
            let listing = catalog.listing();
            let plugins = listing.plugins.entries().iter().map(|e| {
                let publication = Publication {
                    kind: Kind::Plugin,
                    name: e.manifest.name.clone(),
                    version: e.manifest.version.clone(),
                };
                (e.dir.clone(), publication)
            });
            let packs = listing.packs.ids().flat_map(|id| {
                listing.packs.versions(id).into_iter().map(|pack| {
                    let publication = Publication {
                        kind: Kind::Pack,
                        name: id.to_string(),
                        version: pack.manifest().version.clone(),
                    };
                    (pack.dir().to_path_buf(), publication)
                })
            });
            packs.chain(plugins).collect()
        };
        for (folder, publication) in &installed {
            self.announce(folder, publication)?;
        }
        Ok(())
    }

    /// Installs the versions other replicas announced since the last call
    /// and reads the catalog again; how many arrived. Blocks.
    pub(crate) fn follow(&self, catalog: &Catalog) -> TableResult<usize> {
        let Some(database) = &self.database else {
            return Ok(0);
        };
        let mut seen = self.seen.lock().expect("not poisoned");
        let after = *seen;
        let rows = database.run(move |c| {
            c.query(
                "SELECT seq, kind, name, version FROM conform_publications WHERE seq > $1 ORDER BY seq",
                &[&after],
            )
        })?;
        let mut arrived = 0;
        for row in &rows {
            let kind = match row.get::<_, &str>(1) {
                "pack" => Kind::Pack,
                _ => Kind::Plugin,
            };
            let Ok(version) = Version::parse(row.get(3)) else {
                continue;
            };
            let publication = Publication {
                kind,
                name: row.get(2),
                version,
            };
            if !publication.is_listed(catalog) && self.install(catalog.data(), &publication)? {
                arrived += 1;
            }
            *seen = row.get(0);
        }
        // Read again even when the files were there already (one data
        // folder shared by every replica): the catalog may not know them.
        if !rows.is_empty()
            && catalog
                .refresh()
                .map_err(|e| FilesError::Settings(e.to_string()))?
        {
            tracing::info!(
                versions = rows.len(),
                "versions published by other replicas are served"
            );
        }
        Ok(arrived)
    }

    /// Fetches a version this replica lacks; whether it did.
    fn install(&self, data: &DataDir, publication: &Publication) -> TableResult<bool> {
        let target = publication.folder(data);
        if target.exists() || !self.files.is_shared() {
            return Ok(false);
        }
        let prefix = format!("{}/", publication.key());
        let staging = tempfile::Builder::new()
            .prefix(".incoming-")
            .tempdir_in({
                let folder = publication.staging(data);
                std::fs::create_dir_all(&folder).map_err(local(&folder))?;
                folder
            })
            .map_err(local(&publication.staging(data)))?;
        for key in self.files.list(&prefix)? {
            let relative = key.strip_prefix(&prefix).unwrap_or(&key);
            if relative
                .split('/')
                .any(|part| part.is_empty() || part == "..")
            {
                continue;
            }
            self.files.get(&key, &staging.path().join(relative))?;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(local(parent))?;
        }
        let fetched = staging.keep();
        if let Err(e) = std::fs::rename(&fetched, &target) {
            let _ = std::fs::remove_dir_all(&fetched);
            return Err(local(&target)(e).into());
        }
        Ok(true)
    }
}

/// Every regular file below `folder`.
fn files_below(folder: &Path) -> Result<Vec<PathBuf>, FilesError> {
    let mut files = Vec::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(next) = folders.pop() {
        for entry in std::fs::read_dir(&next).map_err(local(&next))? {
            let entry = entry.map_err(local(&next))?;
            let kind = entry.file_type().map_err(local(&entry.path()))?;
            if kind.is_dir() {
                folders.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}
