//! Where the files replicas share live: jobs' uploads and outputs, and
//! published plugin and pack versions. By default the data directory is
//! the only copy ([`LocalFiles`]: nothing to share). With
//! `[storage] object_store_url` every replica keeps working copies in its
//! own data directory and the object store holds the shared ones
//! ([`ObjectFiles`], any S3-compatible store): a file is put there before
//! the record that names it is written, and fetched by a replica that
//! lacks it. Keys are the files' paths relative to the data directory
//! (`jobs/<id>/upload`, `plugins/<name>-<version>/plugin.toml`), under the
//! URL's prefix.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as Key;
use object_store::ObjectStore;

/// A failure of the shared file store.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// The object store answered with an error, or could not be reached.
    #[error("the object store: {0}")]
    Store(#[from] object_store::Error),
    /// A working copy could not be read or written.
    #[error("the working copy `{path}`: {source}")]
    Local {
        /// The file or folder.
        path: std::path::PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The settings do not name a store this server can use.
    #[error("{0}")]
    Settings(String),
}

/// What the file store answers.
pub type FilesResult<T> = Result<T, FilesError>;

/// The error of an I/O failure on the working copy `path`.
pub fn local(path: &Path) -> impl FnOnce(std::io::Error) -> FilesError {
    let path = path.to_path_buf();
    move |source| FilesError::Local { path, source }
}

/// Where shared files are kept.
pub trait FileStore: Send + Sync {
    /// Copies the working copy `from` to `key`.
    fn put(&self, key: &str, from: &Path) -> FilesResult<()>;
    /// Copies `key` into the working copy `to` (written whole, then
    /// renamed into place); false if there is no such file.
    fn get(&self, key: &str, to: &Path) -> FilesResult<bool>;
    /// The keys under `prefix` (a folder's, ending in `/`).
    fn list(&self, prefix: &str) -> FilesResult<Vec<String>>;
    /// Deletes every file under `prefix`.
    fn delete_prefix(&self, prefix: &str) -> FilesResult<()>;
    /// Whether other processes read these files (replicas).
    fn is_shared(&self) -> bool;
}

/// The data directory as the only copy: every call is answered by the
/// working copies themselves.
pub struct LocalFiles;

impl FileStore for LocalFiles {
    fn put(&self, _key: &str, _from: &Path) -> FilesResult<()> {
        Ok(())
    }

    fn get(&self, _key: &str, to: &Path) -> FilesResult<bool> {
        Ok(to.is_file())
    }

    fn list(&self, _prefix: &str) -> FilesResult<Vec<String>> {
        Ok(Vec::new())
    }

    fn delete_prefix(&self, _prefix: &str) -> FilesResult<()> {
        Ok(())
    }

    fn is_shared(&self) -> bool {
        false
    }
}

/// Parts of this size are sent at a time: a file of any size is put
/// without being held in memory.
const PART_BYTES: usize = 8 << 20;

/// An S3-compatible object store, reached from a runtime of its own (the
/// callers are runner threads and blocking tasks of the server).
pub struct ObjectFiles {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// Shut down in the background when dropped (a runtime dropped inside
    /// another's task would panic).
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for ObjectFiles {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl ObjectFiles {
    /// The store at `url` (`s3://bucket/prefix`), its endpoint, region and
    /// credentials from the standard `AWS_*` environment variables
    /// (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`).
    pub fn open(url: &str) -> FilesResult<ObjectFiles> {
        let parsed = url::Url::parse(url).map_err(|e| {
            FilesError::Settings(format!(
                "storage.object_store_url `{url}` cannot be read ({e}); write it as s3://bucket/prefix"
            ))
        })?;
        if parsed.scheme() != "s3" {
            return Err(FilesError::Settings(format!(
                "storage.object_store_url `{url}` is not an s3:// URL; any S3-compatible store is reached as s3://bucket/prefix with AWS_ENDPOINT set"
            )));
        }
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_url(url)
            .build()?;
        let prefix = parsed.path().trim_matches('/').to_string();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("conform-objects")
            .enable_all()
            .build()
            .map_err(|e| {
                FilesError::Settings(format!("cannot start the object store's threads: {e}"))
            })?;
        Ok(ObjectFiles {
            store: Arc::new(store),
            prefix,
            runtime: Some(runtime),
        })
    }

    fn key(&self, key: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(key)
        } else {
            Key::from(format!("{}/{key}", self.prefix))
        }
    }

    /// Runs `work` on the store's runtime and waits for it.
    fn wait<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = FilesResult<T>> + Send + 'static,
    ) -> FilesResult<T> {
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        let runtime = self.runtime.as_ref().expect("dropped only at the end");
        runtime.spawn(async move {
            let _ = answer.send(work.await);
        });
        answered
            .recv()
            .map_err(|_| FilesError::Settings("the object store's runtime stopped".into()))?
    }
}

impl FileStore for ObjectFiles {
    fn put(&self, key: &str, from: &Path) -> FilesResult<()> {
        let (store, location, from) = (self.store.clone(), self.key(key), from.to_path_buf());
        self.wait(async move {
            use tokio::io::AsyncReadExt;
            let mut file = tokio::fs::File::open(&from).await.map_err(local(&from))?;
            let upload = store.put_multipart(&location).await?;
            let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
            let mut buffer = vec![0u8; 1 << 20];
            let copied: FilesResult<()> = async {
                loop {
                    let n = file.read(&mut buffer).await.map_err(local(&from))?;
                    if n == 0 {
                        return Ok(());
                    }
                    writer.wait_for_capacity(4).await?;
                    writer.write(&buffer[..n]);
                }
            }
            .await;
            match copied {
                Ok(()) => writer.finish().await.map(drop).map_err(Into::into),
                // Parts sent so far are not left in the store.
                Err(e) => {
                    let _ = writer.abort().await;
                    Err(e)
                }
            }
        })
    }

    fn get(&self, key: &str, to: &Path) -> FilesResult<bool> {
        let (store, location) = (self.store.clone(), self.key(key));
        let to = to.to_path_buf();
        self.wait(async move {
            let found = match store.get(&location).await {
                Ok(found) => found,
                Err(object_store::Error::NotFound { .. }) => return Ok(false),
                Err(e) => return Err(e.into()),
            };
            let folder = to.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(folder).map_err(local(folder))?;
            let mut part = tempfile::NamedTempFile::new_in(folder).map_err(local(folder))?;
            let mut bytes = found.into_stream();
            while let Some(chunk) = bytes.next().await {
                part.write_all(&chunk?).map_err(local(&to))?;
            }
            part.as_file().sync_all().map_err(local(&to))?;
            part.persist(&to).map_err(|e| local(&to)(e.error))?;
            Ok(true)
        })
    }

    fn list(&self, prefix: &str) -> FilesResult<Vec<String>> {
        let (store, location) = (self.store.clone(), self.key(prefix.trim_end_matches('/')));
        let strip = match self.prefix.as_str() {
            "" => String::new(),
            prefix => format!("{prefix}/"),
        };
        self.wait(async move {
            let mut keys = Vec::new();
            let mut listed = store.list(Some(&location));
            while let Some(meta) = listed.next().await {
                let key = meta?.location.to_string();
                keys.push(key.strip_prefix(&strip).unwrap_or(&key).to_string());
            }
            Ok(keys)
        })
    }

    fn delete_prefix(&self, prefix: &str) -> FilesResult<()> {
        let keys = self.list(prefix)?;
        let store = self.store.clone();
        let locations: Vec<Key> = keys.iter().map(|k| self.key(k)).collect();
        self.wait(async move {
            for location in locations {
                match store.delete(&location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        })
    }

    fn is_shared(&self) -> bool {
        true
    }
}

/// The file store the storage settings name.
pub fn open(storage: &crate::config::StorageConfig) -> FilesResult<Arc<dyn FileStore>> {
    if storage.object_store_url.is_empty() {
        return Ok(Arc::new(LocalFiles));
    }
    Ok(Arc::new(ObjectFiles::open(&storage.object_store_url)?))
}
