//! Compiled components cached on disk, trusted only when provably ours.
//!
//! Loading precompiled machine code runs it, so a file in the cache is
//! deserialized only after its keyed digest checks out: each entry starts
//! with HMAC-SHA256, under a per-installation secret, of the entry's name
//! (the component's SHA-256 and the engine) and the machine code. A file
//! copied in from elsewhere — another plugin's entry under this name, or
//! bytes nobody compiled — fails the check and is compiled afresh, never
//! run. The folder and the secret are private to the installation (0700,
//! 0600).

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::component::Component;
use wasmtime::Engine;

/// Length of the keyed digest at the head of an entry.
const MAC_BYTES: usize = 32;

/// The cache folder and its secret.
pub(crate) struct Cache {
    dir: PathBuf,
    key: [u8; 32],
    engine_tag: String,
}

impl Cache {
    /// Opens the cache in `dir`, creating it (0700) and its secret (0600)
    /// if missing.
    pub(crate) fn open(dir: &Path, engine: &Engine) -> std::io::Result<Cache> {
        create_private_dir(dir)?;
        let key = load_or_create_key(&dir.join("cache.key"))?;
        let mut hasher = Sha256::default();
        sha2::Digest::update(&mut hasher, compatibility(engine));
        let engine_tag = hex::encode(&sha2::Digest::finalize(hasher)[..8]);
        Ok(Cache {
            dir: dir.to_path_buf(),
            key,
            engine_tag,
        })
    }

    fn entry_name(&self, sha256: &str) -> String {
        format!("{sha256}-{}.cwasm", self.engine_tag)
    }

    fn mac(&self, name: &str, code: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length works");
        mac.update(name.as_bytes());
        mac.update(&[0]);
        mac.update(code);
        mac
    }

    /// The component compiled earlier for `sha256`, if an entry exists and
    /// its keyed digest proves this installation wrote it for that name.
    pub(crate) fn lookup(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let name = self.entry_name(sha256);
        let path = self.dir.join(&name);
        let bytes = std::fs::read(&path).ok()?;
        if bytes.len() < MAC_BYTES {
            tracing::warn!(entry = %name, "ignoring a truncated cache entry");
            return None;
        }
        let (tag, code) = bytes.split_at(MAC_BYTES);
        if self.mac(&name, code).verify_slice(tag).is_err() {
            tracing::warn!(entry = %name, "ignoring a cache entry this installation did not write; compiling afresh");
            return None;
        }
        // SAFETY: the keyed digest proves these bytes are what
        // `Engine::precompile_component` produced here for this name, under
        // an engine with the same compatibility hash.
        match unsafe { Component::deserialize(engine, code) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(entry = %name, error = %e, "ignoring an unusable cache entry");
                None
            }
        }
    }

    /// Keeps machine code compiled for `sha256`; a failure only costs a
    /// compilation next time.
    pub(crate) fn store(&self, sha256: &str, code: &[u8]) {
        let name = self.entry_name(sha256);
        let tag = self.mac(&name, code).finalize().into_bytes();
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = private_file(&tmp)
            .and_then(|mut f| {
                f.write_all(&tag)?;
                f.write_all(code)?;
                f.sync_all()
            })
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!(entry = %name, error = %e, "cannot cache the compiled component; it will be compiled again next time");
        }
    }
}

/// What makes machine code usable by an engine.
fn compatibility(engine: &Engine) -> Vec<u8> {
    use std::hash::{Hash, Hasher};
    struct Bytes(Vec<u8>);
    impl Hasher for Bytes {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
    }
    let mut bytes = Bytes(Vec::new());
    engine.precompile_compatibility_hash().hash(&mut bytes);
    bytes.0
}

/// Creates the cache folder (0700), or checks that an existing one is a
/// real folder of this user that no one else can write: a cache someone
/// else controls could hold their key and their code.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    let refuse = |why: &str| {
        std::io::Error::other(format!(
            "`{}` {why}; remove it (it is only a cache) or choose another cache folder",
            dir.display()
        ))
    };
    if !meta.is_dir() {
        return Err(refuse("is not a folder (a symbolic link?)"));
    }
    if meta.uid() != effective_uid() {
        return Err(refuse("belongs to another user"));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// The key file's text, if it exists: read only if it is a plain file of
/// this user that no one else can read or write.
fn read_private(path: &Path) -> std::io::Result<Option<String>> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    let mut file = match file {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() || meta.uid() != effective_uid() || meta.permissions().mode() & 0o077 != 0 {
        return Err(std::io::Error::other(format!(
            "`{}` is not a private file of this user; delete it to start a fresh cache",
            path.display()
        )));
    }
    let mut text = String::new();
    (&mut file).take(256).read_to_string(&mut text)?;
    Ok(Some(text))
}

fn load_or_create_key(path: &Path) -> std::io::Result<[u8; 32]> {
    let parse = |text: &str| -> Option<[u8; 32]> { hex::decode(text.trim()).ok()?.try_into().ok() };
    if let Some(text) = read_private(path)? {
        return parse(&text).ok_or_else(|| {
            std::io::Error::other(format!(
                "`{}` is not a cache key: delete it to start a fresh cache",
                path.display()
            ))
        });
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
    match private_file(path) {
        Ok(mut file) => {
            file.write_all(hex::encode(key).as_bytes())?;
            file.sync_all()?;
            Ok(key)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = read_private(path)?.unwrap_or_default();
            parse(&text).ok_or_else(|| std::io::Error::other("the cache key is being written"))
        }
        Err(e) => Err(e),
    }
}
