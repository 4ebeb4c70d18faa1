//! Reading the files a pack manifest names, without ever leaving the pack.
//!
//! A pack comes from a publisher, not from the operator: every path its
//! manifest names is checked before it is opened. Absolute paths, `..` and
//! symbolic links leading out of the pack folder are refused naming the
//! manifest entry; only regular files are read, and at most
//! [`MAX_PACK_FILE_BYTES`] of them, so that a path to `/dev/zero` or a FIFO
//! costs nothing. No error quotes bytes of a file outside the pack.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Component, Path, PathBuf};

use crate::PackError;

/// The largest file a pack may hold: its manifest, a schema or a rule table.
pub const MAX_PACK_FILE_BYTES: u64 = 16 << 20;

/// The most bytes one check of a pack reads, all files together (a file
/// named by several entries counts each time): checking a pack costs a
/// bounded multiple of this, whatever its manifest says.
pub const MAX_PACK_READ_BYTES: u64 = 64 << 20;

/// A pack's folder, resolved once, through which its files are read.
#[derive(Debug, Clone)]
pub(crate) struct PackFolder {
    /// The folder as given (for messages and [`crate::Pack::dir`]).
    dir: PathBuf,
    /// The same folder with every symbolic link resolved.
    resolved: PathBuf,
    /// Bytes read so far.
    read: std::cell::Cell<u64>,
}

impl PackFolder {
    /// The pack folder `dir`, which must exist.
    pub(crate) fn open(dir: &Path) -> Result<PackFolder, PackError> {
        let resolved = dir.canonicalize().map_err(|source| PackError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(PackFolder {
            dir: dir.to_path_buf(),
            resolved,
            read: std::cell::Cell::new(0),
        })
    }

    /// The folder as given.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the manifest entry `entry` (`tables.units`) points, checked to
    /// be a relative path that stays inside the pack.
    pub(crate) fn path_of(&self, entry: &str, relative: &str) -> Result<PathBuf, PackError> {
        let outside = |why: &str| PackError::OutsidePack {
            entry: entry.to_string(),
            path: relative.to_string(),
            why: why.to_string(),
        };
        let path = Path::new(relative);
        if relative.is_empty() {
            return Err(outside("it is empty"));
        }
        for component in path.components() {
            match component {
                Component::Normal(_) | Component::CurDir => {}
                Component::ParentDir => return Err(outside("it climbs out with `..`")),
                Component::RootDir | Component::Prefix(_) => return Err(outside("it is absolute")),
            }
        }
        Ok(self.dir.join(path))
    }

    /// Reads the text of the file the manifest entry `entry` names.
    pub(crate) fn read(&self, entry: &str, relative: &str) -> Result<(PathBuf, String), PackError> {
        let path = self.path_of(entry, relative)?;
        let text = self.read_inside(&path, Some((entry, relative)))?;
        Ok((path, text))
    }

    /// Reads a file of the pack known by its own path (the manifest),
    /// refusing links out of the pack and special files like any entry.
    pub(crate) fn read_path(&self, path: &Path) -> Result<String, PackError> {
        self.read_inside(path, None)
    }

    fn read_inside(&self, path: &Path, entry: Option<(&str, &str)>) -> Result<String, PackError> {
        let io = |source: std::io::Error| match entry {
            Some((entry, relative)) => PackError::MissingFile {
                entry: entry.to_string(),
                path: relative.to_string(),
                source,
            },
            None => PackError::Io {
                path: path.to_path_buf(),
                source,
            },
        };
        let refuse = |why: &str| match entry {
            Some((entry, relative)) => PackError::OutsidePack {
                entry: entry.to_string(),
                path: relative.to_string(),
                why: why.to_string(),
            },
            None => PackError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(why.to_string()),
            },
        };
        let resolved = path.canonicalize().map_err(io)?;
        if !resolved.starts_with(&self.resolved) {
            return Err(refuse("a symbolic link leads out of the pack folder"));
        }
        // Not blocking on a FIFO, not following a link swapped in since.
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
                .open(&resolved)
                .map_err(io)?
        };
        let metadata = file.metadata().map_err(io)?;
        if !metadata.is_file() {
            return Err(refuse("it is not a regular file"));
        }
        // What was opened is still inside the pack (no folder of the path
        // was swapped for a link between the check and the open).
        if let Ok(opened) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
            if !opened.starts_with(&self.resolved) {
                return Err(refuse("a symbolic link leads out of the pack folder"));
            }
        }
        let too_large = || PackError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_PACK_FILE_BYTES,
        };
        let pack_too_large = || PackError::PackTooLarge {
            limit: MAX_PACK_READ_BYTES,
        };
        // Refused by its declared size before reading, and by what was
        // read after (a file may grow meanwhile).
        if metadata.len() > MAX_PACK_READ_BYTES.saturating_sub(self.read.get()) {
            return Err(pack_too_large());
        }
        if metadata.len() > MAX_PACK_FILE_BYTES {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        file.take(MAX_PACK_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_PACK_FILE_BYTES {
            return Err(too_large());
        }
        self.read.set(self.read.get() + bytes.len() as u64);
        if self.read.get() > MAX_PACK_READ_BYTES {
            return Err(pack_too_large());
        }
        String::from_utf8(bytes).map_err(|e| PackError::NotUtf8 {
            path: path.to_path_buf(),
            offset: e.utf8_error().valid_up_to(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_pack_are_refused_naming_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let folder = PackFolder::open(dir.path()).unwrap();
        for (path, why) in [
            ("/proc/self/environ", "absolute"),
            ("../../etc/passwd", "`..`"),
            ("rules/../../x", "`..`"),
            ("", "empty"),
        ] {
            let err = folder.read("rules.time", path).unwrap_err().to_string();
            assert!(
                err.contains("rules.time") && err.contains(why),
                "{path}: {err}"
            );
        }
    }

    #[test]
    fn links_out_of_the_pack_and_special_files_are_never_read() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("out.toml")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.toml")).unwrap();
        let folder = PackFolder::open(dir.path()).unwrap();
        let err = folder
            .read("rules.units", "out.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rules.units") && err.contains("symbolic link"),
            "{err}"
        );
        let err = folder
            .read("rules.units", "zero.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("rules.units"), "{err}");
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.toml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let folder = PackFolder::open(dir.path()).unwrap();
        let err = folder
            .read("rules.time", "pipe.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }

    #[test]
    fn one_file_named_many_times_counts_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let schema = std::fs::File::create(dir.path().join("big.json")).unwrap();
        schema.set_len(MAX_PACK_FILE_BYTES).unwrap();
        let folder = PackFolder::open(dir.path()).unwrap();
        let reads: Vec<_> = (0..5)
            .map(|_| folder.read("record_types.x", "big.json"))
            .collect();
        assert!(reads[..4].iter().all(Result::is_ok));
        assert!(matches!(reads[4], Err(PackError::PackTooLarge { .. })));
    }

    #[test]
    fn oversized_files_are_refused_without_reading_them_whole() {
        let dir = tempfile::tempdir().unwrap();
        let big = std::fs::File::create(dir.path().join("big.toml")).unwrap();
        big.set_len(MAX_PACK_FILE_BYTES + 1).unwrap();
        let folder = PackFolder::open(dir.path()).unwrap();
        let err = folder.read("rules.units", "big.toml").unwrap_err();
        assert!(matches!(err, PackError::TooLarge { .. }), "{err}");
    }
}
