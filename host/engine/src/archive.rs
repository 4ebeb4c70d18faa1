//! Pack archives: a published archive (tar, or tar.gz) unpacked into a
//! staging folder, safely: only plain files and folders, only relative
//! paths inside the folder, and the unpacked size and file count capped
//! whatever the archive claims (a gzip bomb stops at the cap); and an
//! installed pack's folder archived again ([`archive_folder`]) for whoever
//! tests against the pack a server runs.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Why an archive is refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// It unpacks to more than allowed.
    #[error(
        "the archive unpacks to more than {limit} {what}; a pack is a folder of small text files"
    )]
    TooLarge {
        /// Bytes or files.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// An entry would land outside the folder, or is not a plain file or folder.
    #[error("archive entry `{path}` is refused: {why}")]
    Unsafe {
        /// The entry's path.
        path: String,
        /// Why.
        why: &'static str,
    },
    /// It is not a tar archive.
    #[error("not a readable tar or tar.gz archive: {0}")]
    Malformed(String),
    /// It holds no `pack.toml` at its root or in its one top folder.
    #[error("the archive has no `pack.toml` at its root or in a single top folder; archive the pack's folder")]
    NoManifest,
}

/// `dir`'s regular files (symbolic links, special files and anything whose
/// name starts with `.` left out: a `.git` or `.env` is no part of a pack) as a
/// tar.gz under one top folder `top`, sorted by path, with fixed times and
/// modes: the same folder gives the same bytes, and [`unpack`] reads it
/// back. For installed packs, whose size the publishing limits bound.
pub fn archive_folder(dir: &Path, top: &str) -> std::io::Result<Vec<u8>> {
    let mut files = Vec::new();
    collect_files(dir, Path::new(""), &mut files)?;
    files.sort();
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gzip);
    tar.mode(tar::HeaderMode::Deterministic);
    for relative in files {
        let bytes = std::fs::read(dir.join(&relative))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(
            &mut header,
            Path::new(top).join(&relative),
            bytes.as_slice(),
        )?;
    }
    tar.into_inner()?.finish()
}

/// The regular files under `dir/relative`, as paths relative to `dir`.
fn collect_files(dir: &Path, relative: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir.join(relative))? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = relative.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_files(dir, &path, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Caps on what one archive may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct UnpackLimits {
    /// Total bytes of the files.
    pub bytes: u64,
    /// Number of entries.
    pub files: u32,
}

/// Unpacks `archive` into `into` (which must not exist) and returns the
/// folder holding `pack.toml`.
pub fn unpack(archive: &[u8], into: &Path, limits: UnpackLimits) -> Result<PathBuf, ArchiveError> {
    let malformed = |e: std::io::Error| ArchiveError::Malformed(e.to_string());
    std::fs::create_dir_all(into).map_err(malformed)?;
    let reader: Box<dyn Read> = if archive.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(archive))
    } else {
        Box::new(archive)
    };
    let mut tar = tar::Archive::new(reader);
    let mut written: u64 = 0;
    let mut files: u32 = 0;
    for entry in tar.entries().map_err(malformed)? {
        let mut entry = entry.map_err(malformed)?;
        files += 1;
        if files > limits.files {
            return Err(ArchiveError::TooLarge {
                what: "files",
                limit: limits.files.into(),
            });
        }
        let path = entry.path().map_err(malformed)?.into_owned();
        let shown = path.display().to_string();
        let relative = safe_relative(&path).ok_or_else(|| ArchiveError::Unsafe {
            path: shown.clone(),
            why: "its path leaves the pack folder",
        })?;
        let target = into.join(&relative);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target).map_err(malformed)?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(malformed)?;
                }
                let mut file = std::fs::File::create(&target).map_err(malformed)?;
                let room = limits.bytes - written;
                let copied = std::io::copy(&mut (&mut entry).take(room + 1), &mut file)
                    .map_err(malformed)?;
                written += copied;
                if copied > room {
                    return Err(ArchiveError::TooLarge {
                        what: "bytes",
                        limit: limits.bytes,
                    });
                }
            }
            _ => {
                return Err(ArchiveError::Unsafe {
                    path: shown,
                    why: "only plain files and folders are accepted (no links or devices)",
                })
            }
        }
    }
    if into.join("pack.toml").is_file() {
        return Ok(into.to_path_buf());
    }
    let tops: Vec<PathBuf> = std::fs::read_dir(into)
        .map_err(malformed)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    match tops.as_slice() {
        [only] if only.join("pack.toml").is_file() => Ok(only.clone()),
        _ => Err(ArchiveError::NoManifest),
    }
}

/// The path without `.` parts, if it stays inside its root.
fn safe_relative(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: UnpackLimits = UnpackLimits {
        bytes: 1 << 20,
        files: 100,
    };

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            // Written raw, so that hostile paths reach the unpacker as sent.
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn a_pack_in_one_top_folder_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let archive = tar_of(&[("mine/pack.toml", b"id = 'x'"), ("mine/rules/a.toml", b"")]);
        let root = unpack(&archive, &dir.path().join("u"), LIMITS).unwrap();
        assert_eq!(root, dir.path().join("u/mine"));
    }

    #[test]
    fn a_path_leaving_the_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let archive = tar_of(&[("../escape.toml", b"x")]);
        let err = unpack(&archive, &dir.path().join("u"), LIMITS).unwrap_err();
        assert!(err.to_string().contains("leaves the pack folder"), "{err}");
        assert!(!dir.path().join("escape.toml").exists());
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_cap() {
        use std::io::Write;
        let big = vec![0u8; 8 << 20];
        let archive = tar_of(&[("pack.toml", &big)]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&archive).unwrap();
        let gz = gz.finish().unwrap();
        assert!(gz.len() < 64 * 1024, "{} bytes", gz.len());
        let dir = tempfile::tempdir().unwrap();
        let err = unpack(&gz, &dir.path().join("u"), LIMITS).unwrap_err();
        assert!(
            matches!(err, ArchiveError::TooLarge { what: "bytes", .. }),
            "{err}"
        );
        let on_disk = std::fs::metadata(dir.path().join("u/pack.toml"))
            .unwrap()
            .len();
        assert!(on_disk <= LIMITS.bytes + 1, "{on_disk}");
    }

    #[test]
    fn a_symlink_is_refused() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder
            .append_link(&mut header, "pack.toml", "/etc/passwd")
            .unwrap();
        let archive = builder.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = unpack(&archive, &dir.path().join("u"), LIMITS).unwrap_err();
        assert!(err.to_string().contains("no links"), "{err}");
    }

    #[test]
    fn garbage_is_not_an_archive() {
        let dir = tempfile::tempdir().unwrap();
        let err = unpack(&[7u8; 1000], &dir.path().join("u"), LIMITS).unwrap_err();
        assert!(
            matches!(err, ArchiveError::Malformed(_) | ArchiveError::NoManifest),
            "{err}"
        );
    }
}
