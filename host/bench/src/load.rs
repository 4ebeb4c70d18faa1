//! `conform-bench load`: the server under load, measured from outside.
//!
//! Starts the real `conform serve` (beside this binary) on a fresh data
//! directory and loopback, makes tenant tokens with `conform token create`,
//! and measures:
//!
//! - **streaming conversions** of the swift-express sample (8 rows) by 8, 32
//!   and 64 clients at once, each sending its next request when the answer
//!   to the last has fully arrived, over kept-alive connections and over a
//!   new connection per request: requests per second, p50 and p99 latency
//!   (from sending, or connecting, to the last byte of the answer);
//! - **fairness**: how long a tenant's 8-row job takes while another tenant
//!   has large jobs queued, against the same job on an idle server.
//!
//! The client is a few lines of HTTP/1.1 over `std::net`, so that the
//! measurement pays for no client library and this crate builds no HTTP
//! stack. Every answer is checked to end with its summary line.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::report::{write_between_markers, Markers};
use crate::root;

/// Arguments of `conform-bench load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Seconds each client count and connection mode is measured.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Client counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [8, 32, 64])]
    clients: Vec<usize>,
    /// Rows of each of the other tenant's large jobs in the fairness run.
    #[arg(long, default_value_t = 200_000)]
    large_job_rows: u64,
    /// Write the results into this Markdown file, between its load markers.
    #[arg(long)]
    write: Option<PathBuf>,
    /// The command line to record in the report.
    #[arg(long, default_value = "cargo xtask bench-server")]
    command_line: String,
}

/// The markers around this report in BENCHMARKS.md.
const MARKERS: Markers = Markers {
    begin: "<!-- load:begin -->",
    end: "<!-- load:end -->",
};
const TENANT_A: &str = "tenant-a";
const TENANT_B: &str = "tenant-b";

/// Runs the load benchmark and prints (and maybe writes) the report.
pub fn run(args: LoadArgs) -> Result<()> {
    let server = Server::start()?;
    let tenant_a = server.create_token(TENANT_A)?;
    let tenant_b = server.create_token(TENANT_B)?;
    let sample = std::fs::read(root().join("tests/fixtures/samples/swift-express.ndjson"))?;
    let convert = Request {
        path: "/v1/convert?plugin=swift-express",
        token: &tenant_a,
        body: &sample,
    };
    // Compiled, warm, and the token in force.
    for _ in 0..20 {
        server.call("POST", &convert)?;
    }
    let mut streaming = Vec::new();
    for &clients in &args.clients {
        for keep_alive in [true, false] {
            let run = load(&server, &convert, clients, keep_alive, args.seconds)?;
            eprintln!(
                "{clients} clients, {}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                mode(keep_alive),
                run.per_second,
                run.p50_ms,
                run.p99_ms
            );
            streaming.push(run);
        }
    }
    let fairness = fairness(&server, &tenant_a, &tenant_b, args.large_job_rows)?;
    let report = report(&args, &streaming, &fairness);
    print!("{report}");
    if let Some(path) = &args.write {
        write_between_markers(path, MARKERS, &report)?;
    }
    Ok(())
}

fn mode(keep_alive: bool) -> &'static str {
    if keep_alive {
        "kept-alive connections"
    } else {
        "a connection per request"
    }
}

/// One measured streaming run.
struct LoadRun {
    clients: usize,
    keep_alive: bool,
    requests: usize,
    failures: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `clients` threads sending `request` back to back for `seconds`.
fn load(
    server: &Server,
    request: &Request<'_>,
    clients: usize,
    keep_alive: bool,
    seconds: f64,
) -> Result<LoadRun> {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let results: Vec<(Vec<f64>, usize)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(move || {
                    let (mut latencies, mut failures) = (Vec::new(), 0);
                    let mut connection: Option<Connection> = None;
                    while Instant::now() < until {
                        let sent = Instant::now();
                        let answer = if keep_alive {
                            let reused = match connection.take() {
                                Some(c) => Ok(c),
                                None => Connection::open(&server.addr),
                            };
                            reused.and_then(|mut c| {
                                let answer = c.post(&server.addr, request, true);
                                connection = Some(c);
                                answer
                            })
                        } else {
                            Connection::open(&server.addr)
                                .and_then(|mut c| c.post(&server.addr, request, false))
                        };
                        match answer {
                            Ok(answer) if answer.is_whole_conversion() => {
                                latencies.push(sent.elapsed().as_secs_f64() * 1000.0)
                            }
                            _ => {
                                failures += 1;
                                connection = None;
                            }
                        }
                    }
                    (latencies, failures)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a client thread does not panic"))
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let failures = results.iter().map(|(_, f)| f).sum();
    let mut latencies: Vec<f64> = results.into_iter().flat_map(|(l, _)| l).collect();
    if latencies.is_empty() {
        bail!("no request succeeded with {clients} clients");
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Ok(LoadRun {
        clients,
        keep_alive,
        requests: latencies.len(),
        failures,
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    })
}

/// What the fairness run measured.
struct Fairness {
    idle_ms: f64,
    loaded_ms: f64,
    large_jobs: usize,
    large_job_rows: u64,
    large_still_queued: usize,
}

/// Tenant B's 8-row job on an idle server, then while tenant A has more
/// large jobs queued than there are job slots.
fn fairness(server: &Server, tenant_a: &str, tenant_b: &str, large_rows: u64) -> Result<Fairness> {
    let small = std::fs::read(root().join("tests/fixtures/samples/swift-express.ndjson"))?;
    let idle_ms = server.job_until_done(tenant_b, &small)?;
    let mut large = Vec::new();
    crate::generate::generate("swift-express", large_rows, &mut large)?;
    let large_jobs = 4;
    let ids: Vec<String> = (0..large_jobs)
        .map(|_| server.submit(tenant_a, "swift-express", &large))
        .collect::<Result<_>>()?;
    // The first large job runs (or, small as a smoke run makes it, has run)
    // before the small one is sent.
    let wait_until = Instant::now() + Duration::from_secs(60);
    loop {
        match server.job_state(tenant_a, &ids[0])?.as_str() {
            "running" | "done" => break,
            "queued" if Instant::now() > wait_until => bail!("the large job never started"),
            "queued" => std::thread::sleep(Duration::from_millis(20)),
            other => bail!("the large job ended {other}"),
        }
    }
    let loaded_ms = server.job_until_done(tenant_b, &small)?;
    let large_still_queued = ids
        .iter()
        .map(|id| server.job_state(tenant_a, id))
        .collect::<Result<Vec<_>>>()?
        .iter()
        .filter(|s| *s == "queued")
        .count();
    for id in &ids {
        let _ = server.call(
            "DELETE",
            &Request {
                path: &format!("/v1/jobs/{id}"),
                token: tenant_a,
                body: b"",
            },
        );
    }
    Ok(Fairness {
        idle_ms,
        loaded_ms,
        large_jobs,
        large_job_rows: large_rows,
        large_still_queued,
    })
}

fn report(args: &LoadArgs, streaming: &[LoadRun], fairness: &Fairness) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Produced by `{}` on {cores} cores, server and clients on the same machine (loopback).\n",
        args.command_line
    );
    let _ = writeln!(md, "### Streaming conversions under load: swift-express sample (8 rows) per request, {} s per line\n", args.seconds);
    let _ = writeln!(
        md,
        "| clients | connections | requests | failed | requests/s | p50 (ms) | p99 (ms) |"
    );
    let _ = writeln!(md, "| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    for run in streaming {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} |",
            run.clients,
            mode(run.keep_alive),
            run.requests,
            run.failures,
            run.per_second,
            run.p50_ms,
            run.p99_ms
        );
    }
    // Measured where the cores are not saturated: the fewest clients.
    if let Some(run) = streaming
        .iter()
        .filter(|r| r.keep_alive)
        .min_by_key(|r| r.clients)
    {
        let _ = writeln!(
            md,
            "\nGoal: kept-alive p50 under 5 ms: {:.2} ms at {} clients ({}); with more clients the latency is queueing on the saturated cores.\n",
            run.p50_ms,
            run.clients,
            if run.p50_ms < 5.0 { "met" } else { "not met" }
        );
    }
    let _ = writeln!(
        md,
        "### Fairness: one tenant's small job while another's large jobs are queued\n"
    );
    let _ = writeln!(
        md,
        "| tenant B's 8-row job | seconds from submission to done |"
    );
    let _ = writeln!(md, "| --- | ---: |");
    let _ = writeln!(
        md,
        "| on an idle server | {:.2} |",
        fairness.idle_ms / 1000.0
    );
    let _ = writeln!(
        md,
        "| while tenant A has {} jobs of {} rows submitted ({} still queued after B's finished) | {:.2} |",
        fairness.large_jobs,
        fairness.large_job_rows,
        fairness.large_still_queued,
        fairness.loaded_ms / 1000.0
    );
    md
}

/// A request to send.
struct Request<'a> {
    path: &'a str,
    token: &'a str,
    body: &'a [u8],
}

/// An answer: status and body (de-chunked).
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    /// A 200 whose last line is the conversion's summary.
    fn is_whole_conversion(&self) -> bool {
        self.status == 200
            && self
                .body
                .split(|b| *b == b'\n')
                .rfind(|l| !l.is_empty())
                .is_some_and(|l| l.starts_with(b"{\"summary\""))
    }

    fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("the answer is not JSON")
    }
}

/// One HTTP/1.1 connection.
struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(addr: &str) -> Result<Connection> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Connection {
            reader: BufReader::new(stream),
        })
    }

    fn post(&mut self, addr: &str, request: &Request<'_>, keep_alive: bool) -> Result<Answer> {
        self.send("POST", addr, request, keep_alive)
    }

    fn send(
        &mut self,
        method: &str,
        addr: &str,
        request: &Request<'_>,
        keep_alive: bool,
    ) -> Result<Answer> {
        let connection = if keep_alive { "keep-alive" } else { "close" };
        let mut head = format!(
            "{method} {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: {connection}\r\nContent-Length: {}\r\n\r\n",
            request.path,
            request.token,
            request.body.len()
        )
        .into_bytes();
        head.extend_from_slice(request.body);
        self.reader.get_mut().write_all(&head)?;
        self.read_answer()
    }

    fn read_answer(&mut self) -> Result<Answer> {
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("not an HTTP status line: {line:?}"))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16)
                    .with_context(|| format!("not a chunk size: {line:?}"))?;
                let start = body.len();
                body.resize(start + size, 0);
                self.reader.read_exact(&mut body[start..])?;
                line.clear();
                self.reader.read_line(&mut line)?;
                if size == 0 {
                    break;
                }
            }
        } else if let Some(length) = length {
            body.resize(length, 0);
            self.reader.read_exact(&mut body)?;
        } else {
            self.reader.read_to_end(&mut body)?;
        }
        Ok(Answer { status, body })
    }
}

/// The `conform serve` process under test.
pub(crate) struct Server {
    child: Child,
    addr: String,
    pub(crate) data: PathBuf,
}

impl Server {
    /// Starts `conform serve` on a fresh data directory: the sample pack
    /// and plugins, the log (one line per request, as in production) to a
    /// file, streaming conversions per token not limited.
    fn start() -> Result<Server> {
        let data = std::env::temp_dir().join(format!("conform-load-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        Server::start_in(data, "server.log", &[])
    }

    /// Starts `conform serve` on `data/data` (fresh or another replica's),
    /// logging to `data/<log>`, with `env` set.
    pub(crate) fn start_in(data: PathBuf, log: &str, env: &[(&str, String)]) -> Result<Server> {
        std::fs::create_dir_all(&data)?;
        let log = data.join(log);
        let child = Command::new(crate::run::sibling_binary("conform"))
            .current_dir(root())
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data.join("data"))
            .env("CONFORM_LIMITS_CONCURRENT_PER_TOKEN", "1000")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("cannot start conform serve")?;
        let mut server = Server {
            child,
            addr: String::new(),
            data,
        };
        let until = Instant::now() + Duration::from_secs(60);
        server.addr = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(at) = text.find("listening on http://") {
                let rest = &text[at + "listening on http://".len()..];
                break rest.lines().next().unwrap_or_default().to_string();
            }
            if Instant::now() > until || server.child.try_wait()?.is_some() {
                bail!("conform serve did not start:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Ok(server)
    }

    /// Creates an uploader token with `conform token create` and waits
    /// until the server takes it (it reloads on SIGHUP).
    fn create_token(&self, name: &str) -> Result<String> {
        let output = Command::new(crate::run::sibling_binary("conform"))
            .args(["token", "create", name, "--role", "uploader", "--data"])
            .arg(self.data.join("data"))
            .output()?;
        if !output.status.success() {
            bail!(
                "conform token create: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let token = String::from_utf8(output.stdout)?.trim().to_string();
        // SAFETY: kill only sends a signal to the child started above.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGHUP) };
        self.wait_for_token(&token, Instant::now() + Duration::from_secs(10))?;
        Ok(token)
    }

    /// Waits until the server takes `token`, at most `until`.
    pub(crate) fn wait_for_token(&self, token: &str, until: Instant) -> Result<()> {
        let probe = Request {
            path: "/v1/token",
            token,
            body: b"",
        };
        while self.call("GET", &probe)?.status != 200 {
            if Instant::now() > until {
                bail!("the server at {} did not take a new token", self.addr);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// `method` with `request` on a new connection, closed after.
    fn call(&self, method: &str, request: &Request<'_>) -> Result<Answer> {
        Connection::open(&self.addr)?.send(method, &self.addr, request, false)
    }

    /// Submits a job of `plugin` with `body`; its id.
    pub(crate) fn submit(&self, token: &str, plugin: &str, body: &[u8]) -> Result<String> {
        let answer = self.call(
            "POST",
            &Request {
                path: &format!("/v1/jobs?plugin={plugin}"),
                token,
                body,
            },
        )?;
        if answer.status != 202 {
            bail!(
                "a job was not accepted ({}): {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
        }
        Ok(answer.json()?["id"]
            .as_str()
            .context("a job has an id")?
            .to_string())
    }

    fn job_state(&self, token: &str, id: &str) -> Result<String> {
        let answer = self.call(
            "GET",
            &Request {
                path: &format!("/v1/jobs/{id}"),
                token,
                body: b"",
            },
        )?;
        Ok(answer.json()?["state"].as_str().unwrap_or("").to_string())
    }

    /// Milliseconds from submitting a job to seeing it done.
    fn job_until_done(&self, token: &str, body: &[u8]) -> Result<f64> {
        let started = Instant::now();
        let id = self.submit(token, "swift-express", body)?;
        self.wait_until_done(token, &id, started + Duration::from_secs(3600))?;
        Ok(started.elapsed().as_secs_f64() * 1000.0)
    }

    /// Waits until job `id` is done, looking every 10 ms; an error if it
    /// ends otherwise or is not done by `until`.
    pub(crate) fn wait_until_done(&self, token: &str, id: &str, until: Instant) -> Result<()> {
        loop {
            match self.job_state(token, id)?.as_str() {
                "done" => return Ok(()),
                "queued" | "running" if Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                other => bail!("job {id} did not end done: {other}"),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
