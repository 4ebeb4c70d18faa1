//! The data directory of an installation: the one place that knows where
//! each of its files lives. The server, the CLI's `serve --init` and the
//! catalog ask it; none of them joins file names of its own.
//!
//! ```text
//! <data>/conform.toml          settings and tokens (hashed)
//! <data>/admin.token           the first admin token, until the operator deletes it
//! <data>/packs/<id>/<version>/ pack versions (`packs` is configurable)
//! <data>/plugins/<name>-<version>/  plugin versions (`plugins` is configurable)
//! <data>/cache/                compiled plugins, keyed and signed
//! <data>/spool/                unnamed files of uploads not yet read
//! <data>/jobs/<id>/            a job's upload and outputs
//! <data>/jobs.sqlite           the job queue
//! <data>/catalog.sqlite        who owns each plugin name and pack id
//! ```
//!
//! Publishing writes into a `.staging` folder beside the versions and moves
//! the checked folder into place; a staging folder left by a crash is
//! removed at start.

use std::path::{Path, PathBuf};

use semver::Version;

/// The name of the folder, inside the plugin and pack folders, where
/// publications are checked before they are moved into place.
pub(crate) const STAGING: &str = ".staging";

/// Where an installation's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
    packs: PathBuf,
    plugins: PathBuf,
}

impl DataDir {
    /// The data directory `root` with its packs and plugins in the default
    /// folders `packs/` and `plugins/`.
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir::with_folders(root, "packs", "plugins")
    }

    /// The data directory `root` with packs and plugins in the given folders
    /// (relative to `root`, or absolute), as the settings name them.
    pub fn with_folders(
        root: impl Into<PathBuf>,
        packs: impl AsRef<Path>,
        plugins: impl AsRef<Path>,
    ) -> DataDir {
        let root = root.into();
        DataDir {
            packs: root.join(packs),
            plugins: root.join(plugins),
            root,
        }
    }

    /// The data directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The settings file, `conform.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.root.join("conform.toml")
    }

    /// The file a fresh installation writes its first admin token to.
    pub fn admin_token_file(&self) -> PathBuf {
        self.root.join("admin.token")
    }

    /// The folder of pack versions.
    pub fn packs(&self) -> &Path {
        &self.packs
    }

    /// The folder of one pack version.
    pub fn pack_version(&self, id: &str, version: &Version) -> PathBuf {
        self.packs.join(id).join(version.to_string())
    }

    /// Where packs are checked before they are installed.
    pub fn pack_staging(&self) -> PathBuf {
        self.packs.join(STAGING)
    }

    /// The folder of plugin versions.
    pub fn plugins(&self) -> &Path {
        &self.plugins
    }

    /// The folder of one plugin version.
    pub fn plugin_version(&self, name: &str, version: &Version) -> PathBuf {
        self.plugins.join(format!("{name}-{version}"))
    }

    /// Where plugins are checked before they are installed.
    pub fn plugin_staging(&self) -> PathBuf {
        self.plugins.join(STAGING)
    }

    /// The compiled-plugin cache.
    pub fn cache(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// Where uploads of streaming conversions spool.
    pub fn spool(&self) -> PathBuf {
        self.root.join("spool")
    }

    /// The folder of job folders.
    pub fn jobs(&self) -> PathBuf {
        self.root.join("jobs")
    }

    /// The job queue's database.
    pub fn jobs_database(&self) -> PathBuf {
        self.root.join("jobs.sqlite")
    }

    /// The database of name owners.
    pub fn catalog_database(&self) -> PathBuf {
        self.root.join("catalog.sqlite")
    }

    /// Removes the staging folders a crash left behind; returns those that
    /// could not be removed, with why.
    pub fn remove_interrupted_publications(&self) -> Vec<(PathBuf, std::io::Error)> {
        [self.plugin_staging(), self.pack_staging()]
            .into_iter()
            .filter(|staging| staging.exists())
            .filter_map(|staging| {
                std::fs::remove_dir_all(&staging)
                    .err()
                    .map(|e| (staging, e))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_folders_are_relative_to_the_data_directory_unless_absolute() {
        let data = DataDir::with_folders("/srv/conform", "standards", "/opt/plugins");
        assert_eq!(data.packs(), Path::new("/srv/conform/standards"));
        assert_eq!(data.plugins(), Path::new("/opt/plugins"));
        let version = Version::new(1, 2, 0);
        assert_eq!(
            data.pack_version("sample-regional", &version),
            Path::new("/srv/conform/standards/sample-regional/1.2.0")
        );
        assert_eq!(
            data.plugin_version("jinggong", &version),
            Path::new("/opt/plugins/jinggong-1.2.0")
        );
    }

    #[test]
    fn interrupted_publications_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let data = DataDir::new(root.path());
        std::fs::create_dir_all(data.plugin_staging().join("abc")).unwrap();
        std::fs::create_dir_all(data.pack_staging().join("def")).unwrap();
        assert!(data.remove_interrupted_publications().is_empty());
        assert!(!data.plugin_staging().exists());
        assert!(!data.pack_staging().exists());
    }
}
