//! Replicas sharing the work (`conform-bench replicas`): a real
//! PostgreSQL cluster started here (Debian's, as the tests start it), then
//! 1, 2 and 3 `conform serve` replicas on it and on one data folder. For
//! each set-up, bulk jobs of the Jinggong export are submitted round the
//! replicas and timed until the last is done; each replica's log says how
//! many it ran. The queue's own cost is measured apart: many one-row jobs
//! through one replica, on PostgreSQL and on the default SQLite.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::load::Server;
use crate::report::{write_between_markers, Markers};

#[path = "../../../tests/support/postgres.rs"]
#[allow(dead_code)]
mod postgres;

/// The markers around this benchmark's part of BENCHMARKS.md.
const REPLICAS: Markers = Markers {
    begin: "<!-- replicas:begin -->",
    end: "<!-- replicas:end -->",
};

/// Arguments of `conform-bench replicas`.
#[derive(Debug, clap::Args)]
pub struct ReplicasArgs {
    /// Jobs per set-up.
    #[arg(long, default_value_t = 24)]
    jobs: usize,
    /// Rows of each job (the Jinggong export, GB18030 CSV).
    #[arg(long, default_value_t = 20_000)]
    rows: u64,
    /// One-row jobs for the queue's own cost.
    #[arg(long, default_value_t = 200)]
    tiny_jobs: usize,
    /// Runs of each set-up, interleaved; the median is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Replica counts to measure, comma-separated.
    #[arg(long, default_value = "1,2,3", value_delimiter = ',')]
    replicas: Vec<usize>,
    /// Writes the results into this Markdown file between its markers.
    #[arg(long)]
    write: Option<PathBuf>,
    /// How the run was started, for the report.
    #[arg(long, default_value = "cargo xtask bench-replicas")]
    command_line: String,
}

/// What one set-up measured.
struct Shared {
    replicas: usize,
    seconds: f64,
    rows: u64,
    /// Jobs each replica ran.
    spread: Vec<usize>,
}

/// Runs the benchmark; prints the report, and writes it if asked.
pub fn run(args: ReplicasArgs) -> Result<()> {
    let mut body = Vec::new();
    crate::generate::generate("jinggong-parts", args.rows, &mut body)?;
    let mut tiny = Vec::new();
    crate::generate::generate("jinggong-parts", 1, &mut tiny)?;
    // Every set-up runs `rounds` times, interleaved round by round; the
    // median run is reported.
    let mut runs: Vec<Vec<Shared>> = args.replicas.iter().map(|_| Vec::new()).collect();
    let (mut on_postgres, mut on_sqlite) = (Vec::new(), Vec::new());
    for round in 1..=args.rounds {
        for (n, &replicas) in args.replicas.iter().enumerate() {
            eprintln!(
                "conform-bench: round {round}, {replicas} replica(s), {} jobs of {} rows",
                args.jobs, args.rows
            );
            runs[n].push(measure_shared(replicas, args.jobs, &body, args.rows)?);
        }
        eprintln!(
            "conform-bench: round {round}, the queue's cost, {} one-row jobs",
            args.tiny_jobs
        );
        on_postgres.push(per_job(Some(postgres::database()), args.tiny_jobs, &tiny)?);
        on_sqlite.push(per_job(None, args.tiny_jobs, &tiny)?);
    }
    let shared: Vec<Shared> = runs
        .into_iter()
        .map(|mut set_up| {
            set_up.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
            set_up.swap_remove(set_up.len() / 2)
        })
        .collect();
    let (on_postgres, on_sqlite) = (median(on_postgres), median(on_sqlite));
    let report = report(&args, &shared, on_postgres, on_sqlite);
    print!("{report}");
    if let Some(path) = &args.write {
        write_between_markers(path, REPLICAS, &report)?;
    }
    Ok(())
}

/// The middle value of `values` (the upper one of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `replicas` servers on one fresh database and one data folder.
fn start_replicas(replicas: usize, database: Option<String>, tag: &str) -> Result<Vec<Server>> {
    let folder =
        std::env::temp_dir().join(format!("conform-replicas-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    let mut env = vec![("CONFORM_LIMITS_JOBS_PER_TOKEN", "100000".to_string())];
    if let Some(url) = database {
        env.push(("CONFORM_STORAGE_DATABASE_URL", url));
        env.push(("CONFORM_STORAGE_LEASE_SECONDS", "30".into()));
    }
    (0..replicas)
        .map(|n| {
            // The first sets the folder up; the others join it.
            let server = Server::start_in(folder.clone(), &format!("replica-{n}.log"), &env);
            if n == 0 {
                std::thread::sleep(Duration::from_millis(200));
            }
            server
        })
        .collect()
}

/// An uploader token: in the shared database when there is one (every
/// replica takes it), else in the data folder's conform.toml.
fn uploader(servers: &[Server], database: Option<&str>) -> Result<String> {
    let mut command = std::process::Command::new(crate::run::sibling_binary("conform"));
    command
        .args([
            "token",
            "create",
            "bench-uploads",
            "--role",
            "uploader",
            "--data",
        ])
        .arg(servers[0].data.join("data"));
    if let Some(url) = database {
        command.env("CONFORM_STORAGE_DATABASE_URL", url);
    }
    let output = command.output()?;
    if !output.status.success() {
        bail!(
            "conform token create: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let token = String::from_utf8(output.stdout)?.trim().to_string();
    let until = Instant::now() + Duration::from_secs(30);
    for server in servers {
        server.wait_for_token(&token, until)?;
    }
    Ok(token)
}

/// Submits `jobs` jobs of `body` round the replicas; the seconds from the
/// first submission to the last job done.
fn submit_and_wait(servers: &[Server], token: &str, jobs: usize, body: &[u8]) -> Result<f64> {
    let started = Instant::now();
    let ids = (0..jobs)
        .map(|n| servers[n % servers.len()].submit(token, "jinggong-parts", body))
        .collect::<Result<Vec<_>>>()?;
    let until = Instant::now() + Duration::from_secs(3600);
    for id in &ids {
        servers[0].wait_until_done(token, id, until)?;
    }
    Ok(started.elapsed().as_secs_f64())
}

fn measure_shared(replicas: usize, jobs: usize, body: &[u8], rows: u64) -> Result<Shared> {
    let url = postgres::database();
    let servers = start_replicas(replicas, Some(url.clone()), &format!("{replicas}"))?;
    let token = uploader(&servers, Some(&url))?;
    let seconds = submit_and_wait(&servers, &token, jobs, body)?;
    let spread = servers
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let log = std::fs::read_to_string(s.data.join(format!("replica-{n}.log")))
                .unwrap_or_default();
            log.lines().filter(|l| l.contains("job started")).count()
        })
        .collect();
    Ok(Shared {
        replicas,
        seconds,
        rows: rows * jobs as u64,
        spread,
    })
}

/// Milliseconds per one-row job through one replica, on `database` or
/// SQLite.
fn per_job(database: Option<String>, jobs: usize, body: &[u8]) -> Result<f64> {
    let tag = if database.is_some() {
        "queue-postgres"
    } else {
        "queue-sqlite"
    };
    let servers = start_replicas(1, database.clone(), tag)?;
    let token = uploader(&servers, database.as_deref()).context("the queue's token")?;
    let seconds = submit_and_wait(&servers, &token, jobs, body)?;
    Ok(seconds * 1000.0 / jobs as f64)
}

fn report(args: &ReplicasArgs, shared: &[Shared], on_postgres: f64, on_sqlite: f64) -> String {
    use std::fmt::Write;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut md = format!(
        "Produced by `{}` on {cores} cores: replicas on one PostgreSQL (Debian's, started by the benchmark) and one data folder, each with the default job slots (one per core) and workers; jobs of {} rows of the Jinggong export submitted round the replicas by one uploader token. Each set-up ran {} times, interleaved round by round; the median run is shown.\n\n",
        args.command_line, args.rows, args.rounds
    );
    md += "### Jobs shared by replicas\n\n| replicas | jobs | rows | seconds | rows/s | jobs run by each replica |\n| ---: | ---: | ---: | ---: | ---: | --- |\n";
    for s in shared {
        let spread: Vec<String> = s.spread.iter().map(usize::to_string).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.2} | {:.0} | {} |",
            s.replicas,
            args.jobs,
            s.rows,
            s.seconds,
            s.rows as f64 / s.seconds,
            spread.join(" / ")
        );
    }
    let _ = write!(
        md,
        "\n### The queue's own cost\n\n| job records in | one-row jobs | ms per job, accepted to done |\n| --- | ---: | ---: |\n| PostgreSQL | {} | {on_postgres:.1} |\n| SQLite (the default) | {} | {on_sqlite:.1} |\n\n",
        args.tiny_jobs, args.tiny_jobs
    );
    md
}
