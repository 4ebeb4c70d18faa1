//! Where the server's shared records live: the job records, the owners of
//! names, the catalog's record of publications and (with a shared
//! database) API tokens. One setting chooses the
//! engine for all of them ([`crate::config::StorageConfig`]): the data
//! directory's SQLite files (the default, one process) or one PostgreSQL
//! database that replicas share ([`database::Database`]). Each kind of
//! record has its own seam (`JobTable`, `OwnerTable`) with one table per
//! engine behind it.

pub(crate) mod database;
mod tokens;

pub use tokens::SharedTokens;

/// A failure of where the server keeps what it shares: a table, or the
/// shared files.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The SQLite file failed.
    #[error("the server's database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL answered with an error.
    #[error("the shared database: {0}")]
    Postgres(#[from] postgres::Error),
    /// PostgreSQL cannot be reached (or did not answer in time).
    #[error("the shared database cannot be reached: {0}")]
    Unreachable(String),
    /// The shared files failed.
    #[error(transparent)]
    Files(#[from] crate::files::FilesError),
    /// What was asked to be written breaks a rule of the records.
    #[error("{0}")]
    Refused(String),
    /// This process's lease on a job lapsed and another took the job over:
    /// its end is not recorded by this one.
    #[error("the job was taken over by another replica after this one's lease lapsed")]
    LeaseLost,
}

/// What a table answers.
pub type TableResult<T> = Result<T, TableError>;

/// Every table of a server, on the engine the storage settings choose.
pub struct Metadata {
    /// The job records.
    pub jobs: Box<dyn crate::jobs::JobTable>,
    /// Who owns each plugin name and pack id.
    pub owners: crate::owners::Owners,
    /// API tokens kept in the shared database (beside `conform.toml`'s),
    /// if there is one.
    pub tokens: Option<SharedTokens>,
    /// The shared database, if the tables are in one.
    pub(crate) database: Option<std::sync::Arc<database::Database>>,
}

impl Metadata {
    /// Opens the tables `storage` names: in the shared PostgreSQL database
    /// if it gives one (made at its first use), else in the SQLite files of
    /// the data directory `data`.
    pub fn open(
        data: &conform_engine::DataDir,
        storage: &crate::config::StorageConfig,
    ) -> anyhow::Result<Metadata> {
        let database = database(storage)?;
        let lease = std::time::Duration::from_secs(storage.lease_seconds);
        Ok(Metadata {
            jobs: crate::jobs::open_table(data, database.clone(), lease)?,
            owners: crate::owners::Owners::open(data, database.clone())?,
            tokens: database.clone().map(SharedTokens::new),
            database,
        })
    }
}

/// The shared database `storage` names, if it names one.
fn database(
    storage: &crate::config::StorageConfig,
) -> anyhow::Result<Option<std::sync::Arc<database::Database>>> {
    if storage.database_url.is_empty() {
        return Ok(None);
    }
    let ca_file = Some(storage.database_ca_file.as_path()).filter(|p| !p.as_os_str().is_empty());
    let database = database::Database::open(&storage.database_url, replica_name(), ca_file)
        .map_err(|e| {
            // The causes say what failed (a refused connection, a
            // certificate of an unknown issuer, a password).
            let mut message = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(inner) = cause {
                let text = inner.to_string();
                if !message.contains(&text) {
                    message = format!("{message}: {text}");
                }
                cause = inner.source();
            }
            anyhow::anyhow!("{message}; check storage.database_url (CONFORM_STORAGE_DATABASE_URL), storage.database_ca_file and that the database is up")
        })?;
    Ok(Some(std::sync::Arc::new(database)))
}

/// A name for this process among replicas (in the leases it holds, in the
/// names of its part files): host, process id and a random part (a
/// restarted process is another replica).
pub(crate) fn replica_name() -> String {
    let random = conform_engine::scratch::random_hex::<4>().unwrap_or_default();
    let mut host = [0u8; 64];
    // SAFETY: gethostname writes at most `host.len()` bytes into `host`.
    let host = if unsafe { libc::gethostname(host.as_mut_ptr().cast(), host.len()) } == 0 {
        let end = host.iter().position(|&b| b == 0).unwrap_or(host.len());
        String::from_utf8_lossy(&host[..end]).into_owned()
    } else {
        "host".to_string()
    };
    format!("{host}-{}-{random}", std::process::id())
}
