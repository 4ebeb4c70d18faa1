//! Where `conform convert` writes, without ever destroying what is there.
//!
//! - An output naming the input file (directly, through a link, or as the
//!   file stdout or stderr was redirected to) is refused before anything is
//!   opened for writing; so are two outputs naming one file, and outputs
//!   naming a folder.
//! - A file output is written under a random temporary name beside it
//!   (created exclusively, never through a link someone planted) and renamed
//!   over the target only when the conversion succeeded; a symbolic link at
//!   the target is replaced, never followed. A failure, Ctrl-C or `SIGTERM`
//!   leaves the existing file as it was and removes the temporary one.
//! - `-`, `/dev/stdout` and `/dev/stderr` are the process's own streams
//!   (so `>> file` appends, and `> log 2>&1` works); other devices and
//!   pipes are written in place. Neither stream may be redirected onto the
//!   input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};

/// Where one output stream goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The process's stdout.
    Stdout,
    /// The process's stderr.
    Stderr,
    /// A path: a file replaced on success, or a device written in place.
    Path(PathBuf),
}

impl Target {
    /// The target a command-line path names; `None` is `default`.
    pub fn of(path: Option<&Path>, default: Target) -> Target {
        let Some(path) = path else { return default };
        match path.to_str() {
            Some("-" | "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1") => Target::Stdout,
            Some("/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2") => Target::Stderr,
            _ => Target::Path(path.to_path_buf()),
        }
    }

    /// The file the target writes to, as `metadata` sees it (for streams:
    /// the file they were redirected to).
    fn file(&self) -> Option<PathBuf> {
        match self {
            Target::Stdout => Some(PathBuf::from("/proc/self/fd/1")),
            Target::Stderr => Some(PathBuf::from("/proc/self/fd/2")),
            Target::Path(path) => Some(path.clone()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Target::Stdout => "stdout".into(),
            Target::Stderr => "stderr".into(),
            Target::Path(path) => format!("`{}`", path.display()),
        }
    }
}

/// Whether two paths name the same regular file: the same inode if both
/// exist, else the same path once their folders are resolved. Devices and
/// pipes (`/dev/null`) may be named twice.
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        return ma.is_file() && ma.dev() == mb.dev() && ma.ino() == mb.ino();
    }
    let resolved = |p: &Path| -> Option<PathBuf> {
        let parent = match p.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.canonicalize().ok()?,
            _ => std::env::current_dir().ok()?,
        };
        Some(parent.join(p.file_name()?))
    };
    matches!((resolved(a), resolved(b)), (Some(x), Some(y)) if x == y)
}

/// Refuses, before anything is opened for writing, outputs that would
/// overwrite the input or each other, and outputs that cannot be files.
pub fn check(input: &Path, outputs: &[(&str, &Target)]) -> Result<()> {
    for (flag, target) in outputs {
        if let Some(file) = target.file() {
            if same_file(input, &file) {
                bail!(
                    "{flag} {} is the input file `{}`: write the output elsewhere",
                    target.describe(),
                    input.display()
                );
            }
        }
        if let Target::Path(path) = target {
            if path.is_dir() {
                bail!(
                    "{flag} `{}` is a folder: name a file, or pass `--output-dir` for a folder",
                    path.display()
                );
            }
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            if parent.is_some_and(|p| !p.is_dir()) {
                bail!(
                    "{flag} `{}`: its folder does not exist; create it first",
                    path.display()
                );
            }
        }
    }
    // The summary, progress and logs go to stdout and stderr whatever the
    // outputs are: neither may be redirected onto the input.
    for (stream, fd) in [("stdout", 1), ("stderr", 2)] {
        if same_file(input, Path::new(&format!("/proc/self/fd/{fd}"))) {
            bail!(
                "{stream} is redirected to the input file `{}`: redirect it elsewhere",
                input.display()
            );
        }
    }
    for (i, (flag, a)) in outputs.iter().enumerate() {
        for (other, b) in &outputs[i + 1..] {
            let clash = match (a, b) {
                // Both streams may go to one file (`> log 2>&1`), each on its own.
                (Target::Stdout, Target::Stderr) | (Target::Stderr, Target::Stdout) => false,
                (Target::Stdout, Target::Stdout) | (Target::Stderr, Target::Stderr) => true,
                _ => match (a.file(), b.file()) {
                    (Some(x), Some(y)) => same_file(&x, &y),
                    _ => false,
                },
            };
            if clash {
                bail!(
                    "{flag} and {other} both name {}: give them different files",
                    a.describe()
                );
            }
        }
    }
    Ok(())
}

/// An opened output: its writer, and the temporary file to put in place on
/// success, if it is one.
pub struct Opened {
    /// Where to write.
    pub writer: Box<dyn Write>,
    /// Renamed over the target by [`Pending::commit`].
    pub pending: Option<Pending>,
}

/// Opens a target for writing.
pub fn open(target: &Target) -> Result<Opened> {
    let path = match target {
        Target::Stdout => {
            return Ok(Opened {
                writer: Box::new(std::io::stdout().lock()),
                pending: None,
            })
        }
        Target::Stderr => {
            return Ok(Opened {
                writer: Box::new(std::io::stderr()),
                pending: None,
            })
        }
        Target::Path(path) => path,
    };
    let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
    if special {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        return Ok(Opened {
            writer: Box::new(file),
            pending: None,
        });
    }
    let pending = Pending::create(path)?;
    let file = pending
        .temp
        .as_file()
        .try_clone()
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(Opened {
        writer: Box::new(file),
        pending: Some(pending),
    })
}

/// A file written under a temporary name beside its target; dropped
/// without [`Pending::commit`], the temporary file is removed (by
/// `NamedTempFile`; its entry in the interrupt list is then stale, and
/// harmless).
pub struct Pending {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl Pending {
    fn create(target: &Path) -> Result<Pending> {
        let folder = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".part")
            .tempfile_in(&folder)
            .with_context(|| {
                format!(
                    "cannot write `{}`: check that its folder is writable",
                    target.display()
                )
            })?;
        // The mode the file would have had: the old file's, or the umask's.
        let mode = std::fs::metadata(target).map_or_else(
            |_| 0o666 & !umask(),
            |m| {
                use std::os::unix::fs::PermissionsExt;
                m.permissions().mode()
            },
        );
        {
            use std::os::unix::fs::PermissionsExt;
            temp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("cannot write `{}`", target.display()))?;
        }
        register(temp.path());
        Ok(Pending {
            temp,
            target: target.to_path_buf(),
        })
    }

    /// Puts the file in place of its target (a link there is replaced).
    pub fn commit(self) -> Result<()> {
        let Pending { temp, target } = self;
        let path = temp.path().to_path_buf();
        temp.persist(&target)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot write `{}`", target.display()))?;
        unregister(&path);
        Ok(())
    }
}

/// The process's file-creation mask.
fn umask() -> u32 {
    // SAFETY: umask only sets the mask; it is set back at once. The CLI
    // opens outputs before its worker threads start.
    let mask = unsafe { libc::umask(0o022) };
    // SAFETY: as above: the mask read is put back.
    unsafe { libc::umask(mask) };
    mask
}

/// Temporary files to remove if the process is interrupted.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn register(path: &Path) {
    PENDING
        .lock()
        .expect("not poisoned")
        .push(path.to_path_buf());
}

fn unregister(path: &Path) {
    PENDING.lock().expect("not poisoned").retain(|p| p != path);
}

/// On Ctrl-C or `SIGTERM`: removes the temporary files and exits with 130.
pub fn remove_pending_on_interrupt() {
    let _ = ctrlc::set_handler(|| {
        for path in PENDING.lock().map(|p| p.clone()).unwrap_or_default() {
            let _ = std::fs::remove_file(path);
        }
        eprintln!("conform: interrupted; the outputs were left as they were");
        std::process::exit(130);
    });
}

/// Refuses an output folder that is the input folder: a second run would
/// read the first run's outputs as inputs.
pub fn check_output_dir(input_dir: &Path, output_dir: &Path) -> Result<()> {
    let (a, b) = (input_dir.canonicalize(), output_dir.canonicalize());
    if let (Ok(a), Ok(b)) = (a, b) {
        if a == b {
            bail!(
                "--output-dir `{}` is the input folder: write the outputs to another folder",
                output_dir.display()
            );
        }
    }
    Ok(())
}
