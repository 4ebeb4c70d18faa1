//! A real PostgreSQL cluster for the tests: Debian's `postgresql`
//! initialised in a temporary folder and listening on a loopback port, one
//! per test binary, each test in a database of its own. `cargo xtask test`
//! installs the package; run as root, the cluster runs as the `postgres`
//! user (initdb refuses root). It stops when the test process ends.
//! `conform-bench replicas` starts its cluster with this file too.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The running cluster.
pub struct Cluster {
    port: u16,
    /// Kept for the life of the process.
    folder: tempfile::TempDir,
}

/// The cluster of this test process, started at the first call.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| start(false))
}

/// A second cluster that speaks TLS, its certificate signed by a test CA
/// (`openssl`): a URL of its `postgres` database with `sslmode=require`,
/// and the CA's certificate (PEM).
pub fn tls_database() -> (String, std::path::PathBuf) {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    let cluster = CLUSTER.get_or_init(|| start(true));
    (
        format!("{}?sslmode=require", cluster.url("postgres")),
        cluster.folder.path().join("ca.crt"),
    )
}

/// A test CA and a server certificate for 127.0.0.1 signed by it, in
/// `folder` (`ca.crt`, `server.crt`, `server.key`).
fn certificates(folder: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(folder)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=conform test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(folder.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
    ]);
    if let Some((uid, gid)) = run_as() {
        for file in ["server.crt", "server.key"] {
            std::os::unix::fs::chown(folder.join(file), Some(uid), Some(gid)).unwrap();
        }
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        folder.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
}

/// A fresh, empty database in the cluster: its URL.
pub fn database() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let cluster = cluster();
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls)
        .expect("the test cluster answers");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("a test database is created");
    cluster.url(&name)
}

impl Cluster {
    /// The URL of one of its databases.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://conform@127.0.0.1:{}/{database}", self.port)
    }
}

/// The newest `…/postgresql/<version>/bin` folder.
fn binaries() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    found.sort_by_key(|bin| {
        bin.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().expect(
        "PostgreSQL is not installed (Debian package `postgresql`); `cargo xtask test` installs it",
    )
}

/// The user and group the cluster runs as: `postgres` when the tests run
/// as root, else the tests' own.
fn run_as() -> Option<(u32, u32)> {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return None;
    }
    let id = |flag: &str| {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the `postgres` user exists (Debian's package makes it)"
        );
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .unwrap()
    };
    Some((id("-u"), id("-g")))
}

/// A command of the cluster's binaries, as its user.
fn command(bin: &Path, name: &str) -> Command {
    let mut command = Command::new(bin.join(name));
    if let Some((uid, gid)) = run_as() {
        command.uid(uid).gid(gid);
    }
    command
}

/// Removes the folders of clusters whose test process has ended (a
/// process's statics are not dropped, so its folder stays behind it).
fn remove_stopped_clusters() {
    for entry in std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("conform-postgres-")
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn start(tls: bool) -> Cluster {
    let bin = binaries();
    remove_stopped_clusters();
    let folder = tempfile::Builder::new()
        .prefix(&format!("conform-postgres-{}-", std::process::id()))
        .tempdir()
        .unwrap();
    if let Some((uid, gid)) = run_as() {
        std::os::unix::fs::chown(folder.path(), Some(uid), Some(gid)).unwrap();
    }
    let data = folder.path().join("data");
    let init = command(&bin, "initdb")
        .args([
            "--auth=trust",
            "--username=conform",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "-D",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut postgres = command(&bin, "postgres");
    postgres
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(folder.path())
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=200",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if tls {
        certificates(folder.path());
        let file = |name: &str| folder.path().join(name).display().to_string();
        postgres.args([
            "-c".to_string(),
            "ssl=on".to_string(),
            "-c".to_string(),
            format!("ssl_cert_file={}", file("server.crt")),
            "-c".to_string(),
            format!("ssl_key_file={}", file("server.key")),
        ]);
    }
    spawn_for_the_process(postgres, libc::SIGQUIT, "postgres starts");
    let cluster = Cluster { port, folder };
    let deadline = Instant::now() + Duration::from_secs(60);
    while postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls).is_err() {
        assert!(
            Instant::now() < deadline,
            "the test cluster did not start within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    cluster
}

/// Starts `command` as a server for the rest of the test process: it gets
/// `signal` when the process ends (the parent-death signal, tied to a
/// thread that never ends). Panics with `what` if it cannot start.
pub fn spawn_for_the_process(mut command: Command, signal: i32, what: &str) {
    // SAFETY: prctl only sets the child's parent-death signal.
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, signal);
            Ok(())
        });
    }
    let (started, spawned) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let child = command.spawn();
        let failed = child.is_err();
        started.send(child.map(drop)).unwrap();
        if !failed {
            loop {
                std::thread::park();
            }
        }
    });
    if let Err(e) = spawned.recv().unwrap() {
        panic!("{what}: {e}");
    }
}
