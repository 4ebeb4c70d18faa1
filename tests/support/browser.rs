//! A real headless Chromium driven over the W3C WebDriver protocol by
//! Debian's `chromedriver` (`cargo xtask test` installs both): the few
//! commands the page's tests use, each one HTTP request with `ureq`.
//!
//! A test runs its body through [`Browser::run`]: when the body panics, a
//! screenshot of the page is kept in `target/browser-failures/NAME.png`
//! and its path printed before the panic goes on.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The W3C name of a web element's id in a response.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where the driver and the browser are (`CHROMEDRIVER`, `CHROMIUM` to
/// override).
fn programs() -> (PathBuf, PathBuf) {
    let find = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(default))
    };
    let driver = find("CHROMEDRIVER", "/usr/bin/chromedriver");
    let browser = find("CHROMIUM", "/usr/bin/chromium");
    for program in [&driver, &browser] {
        assert!(
            program.is_file(),
            "{} is missing: `cargo xtask test` installs Debian's chromium and chromium-driver (or set CHROMEDRIVER and CHROMIUM)",
            program.display()
        );
    }
    (driver, browser)
}

/// A browser session, and the folder its downloads land in.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    downloads: tempfile::TempDir,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub fn start() -> Browser {
        let (driver_path, browser_path) = programs();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while super::server::agent()
            .get(format!("{base}/status"))
            .call()
            .map(|r| r.status().as_u16() != 200)
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "chromedriver did not answer");
            std::thread::sleep(Duration::from_millis(100));
        }
        let downloads = tempfile::tempdir().unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            downloads,
            _profile: profile,
        };
        // The flags a closed network and a root user need: no sandbox, no
        // background connections, a fresh profile.
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser_path,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1200,1600",
                    format!("--user-data-dir={}", browser._profile.path().display())],
                "prefs": {
                    "download.default_directory": browser.downloads.path(),
                    "download.prompt_for_download": false,
                },
            },
        }}});
        let session = browser.command("POST", "/session", capabilities);
        browser.session = session["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        browser
    }

    /// Runs `body`, keeping a screenshot named `name` if it panics.
    pub fn run(&self, name: &str, body: impl FnOnce()) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
        if let Err(panic) = outcome {
            let folder = super::root().join("target/browser-failures");
            std::fs::create_dir_all(&folder).unwrap();
            let path = folder.join(format!("{name}.png"));
            self.screenshot(&path);
            eprintln!("the page when the test failed: {}", path.display());
            std::panic::resume_unwind(panic);
        }
    }

    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let agent = super::server::agent();
        let response = match method {
            "GET" => agent.get(&url).call(),
            "DELETE" => agent.delete(&url).call(),
            _ => agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.to_string().as_bytes()),
        }
        .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = response.status().as_u16();
        let answer: Value =
            serde_json::from_str(&response.into_body().read_to_string().unwrap()).unwrap();
        assert_eq!(status, 200, "WebDriver {method} {path}: {answer}");
        answer["value"].clone()
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", json!({ "url": url }));
    }

    /// The element `css` selects, waiting up to 10 s for it.
    pub fn find(&self, css: &str) -> String {
        let mut found = None;
        self.wait(&format!("an element `{css}`"), || {
            let answer = super::server::agent()
                .post(format!("{}/session/{}/element", self.base, self.session))
                .header("Content-Type", "application/json")
                .send(
                    json!({"using": "css selector", "value": css})
                        .to_string()
                        .as_bytes(),
                )
                .ok()?;
            (answer.status().as_u16() == 200).then_some(())?;
            let value: Value =
                serde_json::from_str(&answer.into_body().read_to_string().ok()?).ok()?;
            found = value["value"][ELEMENT].as_str().map(str::to_string);
            found.as_ref().map(|_| ())
        });
        found.expect("found")
    }

    /// Clicks the element `css` selects.
    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.command("POST", &format!("/element/{element}/click"), json!({}));
    }

    /// Types `text` into the element `css` selects (a file input takes a
    /// path).
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        );
    }

    /// The value a script returns (`arguments` are `args`).
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
    }

    /// The text content of the element `css` selects (empty if none).
    pub fn text(&self, css: &str) -> String {
        self.script(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
            json!([css]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Whether the element `css` selects is shown (neither it nor a parent hidden).
    pub fn shown(&self, css: &str) -> bool {
        self.script(
            "const e = document.querySelector(arguments[0]); return !!e && !e.closest('[hidden]');",
            json!([css]),
        )
        .as_bool()
        .unwrap_or(false)
    }

    /// Waits up to `seconds` for `ready` to give `Some`.
    pub fn wait_until<T>(
        &self,
        what: &str,
        seconds: u64,
        mut ready: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if let Some(value) = ready() {
                return value;
            }
            assert!(Instant::now() < deadline, "waited {seconds} s for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait(&self, what: &str, ready: impl FnMut() -> Option<()>) {
        self.wait_until(what, 10, ready)
    }

    /// The file named `name` once downloaded (waiting up to 20 s), moved
    /// out of the downloads folder so the next download of that name is
    /// new.
    pub fn downloaded(&self, name: &str) -> Vec<u8> {
        let path = self.downloads.path().join(name);
        self.wait_until(&format!("the download `{name}`"), 20, || {
            // Chromium writes `NAME.crdownload`, then renames it.
            path.is_file().then_some(())
        });
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        bytes
    }

    /// Saves a PNG of the page to `path`.
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let data = self.command("GET", "/screenshot", Value::Null);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .unwrap_or_default();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = super::server::agent()
                .delete(format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
