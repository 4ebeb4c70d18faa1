//! The PostgreSQL database replicas share: its tables, made at the first
//! start, and a few connection threads that run queries for the server.
//!
//! The `postgres` client blocks on a runtime of its own, which must not run
//! inside the server's: queries run on this module's threads, and a caller
//! waits for the answer as it waits for SQLite's lock.

use std::path::Path;
use std::time::Duration;

use postgres::config::SslMode;
use postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{TableError, TableResult};

/// Connections (and threads) one replica opens.
const CONNECTIONS: usize = 4;

/// How long a caller waits for a query before the database counts as down;
/// a query still queued then is dropped unrun, and one running is stopped
/// by the server at this statement timeout.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// Queries waiting for a connection at most; more are refused at once.
const QUEUE: usize = 1024;

/// Every table, made once by whichever replica starts first (DDL under an
/// advisory lock: replicas starting together do not race).
const SCHEMA: &str = "
    SELECT pg_advisory_xact_lock(7361626);
    CREATE TABLE IF NOT EXISTS conform_jobs (
        seq BIGSERIAL UNIQUE,
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, plugin TEXT NOT NULL, file TEXT NOT NULL,
        state TEXT NOT NULL, created_at BIGINT NOT NULL,
        rows_in BIGINT NOT NULL DEFAULT 0, converted BIGINT NOT NULL DEFAULT 0,
        rejected BIGINT NOT NULL DEFAULT 0, error TEXT,
        plugin_version TEXT NOT NULL DEFAULT '', pack_version TEXT NOT NULL DEFAULT '',
        error_code TEXT, attempts INTEGER NOT NULL DEFAULT 0,
        started_at BIGINT, finished_at BIGINT,
        lease_owner TEXT, lease_until BIGINT,
        cancel_requested BOOLEAN NOT NULL DEFAULT FALSE);
    CREATE INDEX IF NOT EXISTS conform_jobs_by_state ON conform_jobs (state, owner, seq);
    CREATE INDEX IF NOT EXISTS conform_jobs_by_owner ON conform_jobs (owner, seq);
    CREATE TABLE IF NOT EXISTS conform_job_turns (owner TEXT PRIMARY KEY, turn BIGINT NOT NULL);
    CREATE SEQUENCE IF NOT EXISTS conform_job_turn_seq;
    CREATE TABLE IF NOT EXISTS conform_owners (
        kind TEXT NOT NULL, name TEXT NOT NULL, owner TEXT NOT NULL,
        PRIMARY KEY (kind, name));
    CREATE TABLE IF NOT EXISTS conform_publications (
        seq BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
        published_at BIGINT NOT NULL, UNIQUE (kind, name, version));
    CREATE TABLE IF NOT EXISTS conform_tokens (
        name TEXT PRIMARY KEY, sha256 TEXT NOT NULL, roles TEXT[] NOT NULL);";

/// One query, run on a connection thread.
type Task = Box<dyn FnOnce(&mut Client) + Send>;

/// The shared database, as one replica (`replica`) reaches it.
pub(crate) struct Database {
    tasks: crossbeam_channel::Sender<Task>,
    replica: String,
}

impl Database {
    /// Connects to `url`, makes the tables that are missing, and starts
    /// the connection threads. `replica` names this process; `ca_file`, if
    /// given, holds the certificates (PEM) the server's is checked against
    /// besides the system's.
    pub(crate) fn open(
        url: &str,
        replica: String,
        ca_file: Option<&Path>,
    ) -> TableResult<Database> {
        let mut config: postgres::Config = url.parse().map_err(|_| {
            TableError::Unreachable(
                "the database URL cannot be read; it looks like postgres://user:password@host:5432/database".into(),
            )
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        // A connection that went dead (a fail-over, a dropped route) is
        // noticed in seconds, not at the kernel's two hours; no statement
        // runs past the time its caller waits.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .tcp_user_timeout(ANSWER_WITHIN);
        let timeout = format!("-c statement_timeout={}", ANSWER_WITHIN.as_millis());
        let options = match config.get_options() {
            Some(given) => format!("{given} {timeout}"),
            None => timeout,
        };
        config.options(&options);
        config.application_name(&format!("conform {replica}"));
        let tls = tls(&config, ca_file)?;
        let mut client = connect(&config, &tls)?;
        client.batch_execute(&format!("BEGIN; {SCHEMA} COMMIT;"))?;
        let mut first = Some(client);
        let (tasks, queue) = crossbeam_channel::bounded::<Task>(QUEUE);
        for n in 0..CONNECTIONS {
            let (queue, config, tls) = (queue.clone(), config.clone(), tls.clone());
            let mut client = first.take();
            std::thread::Builder::new()
                .name(format!("conform-postgres-{n}"))
                .spawn(move || {
                    for task in queue {
                        let live = match client.take().filter(|c| !c.is_closed()) {
                            Some(c) => Some(c),
                            None => connect(&config, &tls)
                                .inspect_err(|e| {
                                    tracing::warn!(error = %e, "cannot connect to the shared database");
                                })
                                .ok(),
                        };
                        // A task without a connection is dropped: its caller
                        // hears that the database is down.
                        if let Some(mut c) = live {
                            task(&mut c);
                            client = Some(c);
                        }
                    }
                })
                .map_err(|e| TableError::Unreachable(format!("cannot start a thread: {e}")))?;
        }
        Ok(Database { tasks, replica })
    }

    /// This process's name in the records it holds (leases).
    pub(crate) fn replica(&self) -> &str {
        &self.replica
    }

    /// Runs `query` on a connection thread and waits for its answer.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send + 'static,
    ) -> TableResult<T> {
        let (answer, answered) = crossbeam_channel::bounded(1);
        let deadline = std::time::Instant::now() + ANSWER_WITHIN;
        let task: Task = Box::new(move |client| {
            // Its caller has stopped waiting: a late claim or insert would
            // act for nobody.
            if std::time::Instant::now() < deadline {
                let _ = answer.send(query(client));
            }
        });
        self.tasks
            .send_timeout(task, ANSWER_WITHIN)
            .map_err(|_| TableError::Unreachable("every connection is busy or gone".into()))?;
        match answered.recv_timeout(ANSWER_WITHIN) {
            Ok(result) => Ok(result?),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(TableError::Unreachable(
                format!("no answer within {} s", ANSWER_WITHIN.as_secs()),
            )),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(TableError::Unreachable(
                "cannot connect; the log has details".into(),
            )),
        }
    }
}

/// Connects with TLS when there is a connector, in plain text otherwise.
fn connect(
    config: &postgres::Config,
    tls: &Option<MakeRustlsConnect>,
) -> Result<Client, postgres::Error> {
    match tls {
        Some(tls) => config.connect(tls.clone()),
        None => config.connect(NoTls),
    }
}

/// The TLS connector the URL's `sslmode` asks for: none for `disable`;
/// otherwise (`prefer`, the default, and `require`) one that checks the
/// server's certificate against the system's roots and `ca_file`'s.
/// With `prefer`, a server that offers no TLS is spoken to in plain text.
fn tls(
    config: &postgres::Config,
    ca_file: Option<&Path>,
) -> TableResult<Option<MakeRustlsConnect>> {
    if config.get_ssl_mode() == SslMode::Disable {
        return Ok(None);
    }
    let mut roots = rustls::RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(system.certs);
    if let Some(path) = ca_file {
        use rustls::pki_types::pem::PemObject;
        let unreadable = |e: &dyn std::fmt::Display| {
            TableError::Unreachable(format!(
                "storage.database_ca_file `{}` cannot be read as PEM certificates: {e}",
                path.display()
            ))
        };
        let certificates = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| unreadable(&e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unreadable(&e))?;
        for certificate in certificates {
            roots.add(certificate).map_err(|e| unreadable(&e))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TableError::Unreachable(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(MakeRustlsConnect::new(client)))
}
