//! Folders being written before they are accepted (uploads of jobs, plugins
//! and packs being checked): random names, removed unless kept, so that a
//! refused or broken-off upload leaves nothing behind.

use std::path::{Path, PathBuf};

/// `N` random bytes as lowercase hex: job ids and scratch folder names.
pub fn random_hex<const N: usize>() -> std::io::Result<String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// A folder removed (with what it holds) when dropped, unless kept.
pub struct ScratchFolder {
    path: PathBuf,
    kept: bool,
}

impl ScratchFolder {
    /// Guards `path`; the folder itself is created by the caller.
    pub fn new(path: PathBuf) -> ScratchFolder {
        ScratchFolder { path, kept: false }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves the folder (or what it was moved to) in place.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for ScratchFolder {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
