//! Plugin and pack versions crossing replicas. A replica that installs a
//! version announces it: its files to the shared files, then a row in the
//! shared database (`conform_publications`). Every replica follows the
//! rows: a version it lacks is fetched into a staging folder, moved into
//! place whole, and the catalog read again. Without a shared database
//! there is one process and nothing to announce.

use std::collections::HashSet;
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
            Kind::Pack => data.pack_version(&self.name, &self.version),
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

    /// The publication a row of `conform_publications` names.
    fn from_row(row: &postgres::Row) -> Option<Publication> {
        let kind = match row.get::<_, &str>(1) {
            "pack" => Kind::Pack,
            "plugin" => Kind::Plugin,
            _ => return None,
        };
        Some(Publication {
            kind,
            name: row.get(2),
            version: Version::parse(row.get(3)).ok()?,
        })
    }

    /// The file every copy of the version holds.
    fn manifest(&self) -> &'static str {
        match self.kind {
            Kind::Plugin => "plugin.toml",
            Kind::Pack => "pack.toml",
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

    /// Announces every version of `catalog` not announced yet (at a start:
    /// versions installed before this replica shared its catalog, or whose
    /// announcement failed).
    pub(crate) fn announce_all(&self, catalog: &Catalog) -> TableResult<()> {
        let Some(database) = &self.database else {
            return Ok(());
        };
        let announced: HashSet<(String, String, String)> = database.run(|c| {
            let rows = c.query("SELECT kind, name, version FROM conform_publications", &[])?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect())
        })?;
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
            let key = (
                publication.kind.as_str().to_string(),
                publication.name.clone(),
                publication.version.to_string(),
            );
            // A version announced already is never put again: its shared
            // copy stays the one first published.
            if !announced.contains(&key) {
                self.announce(folder, publication)?;
            }
        }
        Ok(())
    }

    /// Installs the versions other replicas announced since the last call
    /// (and in the last 10 minutes: a row numbered before another may
    /// commit after it) and reads the catalog again; how many arrived. A
    /// version that cannot be installed is logged and tried again at the
    /// next call; the others still arrive. Blocks.
    pub(crate) fn follow(&self, catalog: &Catalog) -> TableResult<usize> {
        let Some(database) = &self.database else {
            return Ok(0);
        };
        let mut seen = self.seen.lock().expect("not poisoned");
        let after = *seen;
        let rows = database.run(move |c| {
            c.query(
                "SELECT seq, kind, name, version FROM conform_publications
                 WHERE seq > $1 OR published_at >= EXTRACT(EPOCH FROM now())::BIGINT - 600
                 ORDER BY seq",
                &[&after],
            )
        })?;
        let mut arrived = 0;
        let mut new_rows = 0;
        for row in &rows {
            let seq: i64 = row.get(0);
            if seq > *seen {
                new_rows += 1;
                *seen = seq;
            }
            let Some(publication) = Publication::from_row(row) else {
                continue;
            };
            if publication.is_listed(catalog) {
                continue;
            }
            match self.install(catalog.data(), &publication) {
                Ok(true) => arrived += 1,
                Ok(false) => {}
                Err(e) => tracing::error!(
                    kind = publication.kind.as_str(), name = %publication.name,
                    version = %publication.version, error = %e,
                    "cannot install a version another replica published; tried again shortly"
                ),
            }
        }
        // Read again even when the files were there already (one data
        // folder shared by every replica): the catalog may not know them.
        if (new_rows > 0 || arrived > 0)
            && catalog
                .refresh()
                .map_err(|e| FilesError::Settings(e.to_string()))?
        {
            tracing::info!(
                versions = new_rows,
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
        // A listing that came back empty (another bucket or prefix, objects
        // gone) installs nothing, and is tried again.
        if !staging.path().join(publication.manifest()).is_file() {
            return Err(FilesError::Settings(format!(
                "the shared files hold no {} under `{prefix}`: check that every replica names the same object store",
                publication.manifest()
            ))
            .into());
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
