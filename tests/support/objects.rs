//! An S3-compatible object store for the tests: moto's server (PyPI
//! `moto[server]`, which `cargo xtask test` installs) on a loopback port,
//! one per test process, a bucket per test. It stops when the test process
//! ends.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The endpoint of this test process's store, started at the first call.
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(start)
}

/// A fresh bucket: the environment a server needs to keep its files there
/// (`CONFORM_STORAGE_OBJECT_STORE_URL` and the `AWS_*` variables).
pub fn bucket() -> Vec<(&'static str, String)> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let endpoint = endpoint();
    let made = ureq::put(&format!("{endpoint}/{name}")).send_empty();
    assert!(made.is_ok(), "the test store makes bucket {name}: {made:?}");
    vec![
        (
            "CONFORM_STORAGE_OBJECT_STORE_URL",
            format!("s3://{name}/conform"),
        ),
        ("AWS_ENDPOINT", endpoint.to_string()),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
    ]
}

fn start() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut moto = Command::new("python3");
    moto.args([
        "-m",
        "moto.server",
        "-H",
        "127.0.0.1",
        "-p",
        &port.to_string(),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    super::postgres::spawn_for_the_process(
        moto,
        libc::SIGKILL,
        "python3 starts moto's server (PyPI moto[server]; `cargo xtask test` installs it)",
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto's server did not start within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    endpoint
}
