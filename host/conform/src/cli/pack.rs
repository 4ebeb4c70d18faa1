//! `conform pack new | check | publish | fetch`: what a standards body
//! needs to start a pack, see every problem of one, and publish it; and
//! what a provider needs to test against the pack a server runs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::remote::ServerArgs;
use super::{EXIT_FAILURE, EXIT_OK};

/// Arguments of `conform pack`.
#[derive(Debug, clap::Args)]
pub struct PackArgs {
    #[command(subcommand)]
    command: PackCommand,
}

#[derive(Debug, clap::Subcommand)]
enum PackCommand {
    /// Make a pack folder to start from: one record type, a unit catalogue
    /// and a code list, which `pack check` accepts.
    New {
        /// The pack's id (the folder's name too).
        id: String,
        /// Who publishes it (the manifest's `publisher`).
        #[arg(long, default_value = "unnamed publisher")]
        publisher: String,
        /// The folder the pack's folder is made in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Load a pack as a server does at publication: every schema compiled,
    /// every table built; every problem listed, each naming its file.
    Check {
        /// The pack's folder.
        dir: PathBuf,
    },
    /// Check the pack, then publish it to a server (`POST /v1/packs`) with
    /// the publisher token in CONFORM_TOKEN.
    Publish {
        /// The pack's folder.
        dir: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Fetch a pack a server runs into `DIR/ID-VERSION/`.
    Fetch {
        /// The pack's id, with `@VERSION` or `@REQUIREMENT` (`@^1.0`) for
        /// other than the newest.
        pack: String,
        /// The folder the pack's folder is written in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Runs `conform pack …`.
pub fn run(args: PackArgs) -> Result<ExitCode> {
    match args.command {
        PackCommand::New { id, publisher, dir } => {
            let made = conform_author::pack_scaffold::new_pack(&dir, &id, &publisher)?;
            println!(
                "made pack `{id}` 0.1.0 in {}\nnext: edit it, then `conform pack check {}`",
                made.display(),
                made.display()
            );
            Ok(ExitCode::from(EXIT_OK))
        }
        PackCommand::Check { dir } => Ok(check(&dir)),
        PackCommand::Publish { dir, server } => publish(&dir, &server),
        PackCommand::Fetch { pack, dir, server } => fetch(&pack, &dir, &server),
    }
}

fn publish(dir: &std::path::Path, server: &ServerArgs) -> Result<ExitCode> {
    let server = server.require()?;
    // Every problem shown here, before anything is sent.
    let pack = match conform_pack::Pack::check(dir) {
        Ok(pack) => pack,
        Err(errors) => return Ok(print_problems(dir, &errors)),
    };
    let m = pack.manifest();
    let archive = conform_engine::archive::archive_folder(dir, &format!("{}-{}", m.id, m.version))
        .with_context(|| format!("cannot archive `{}`", dir.display()))?;
    let published = server.publish_pack(&archive)?;
    println!(
        "published pack `{}` {} to {}: record types {}",
        published["id"].as_str().unwrap_or(&m.id),
        published["version"].as_str().unwrap_or("?"),
        server.url(),
        pack.record_types().collect::<Vec<_>>().join(", ")
    );
    Ok(ExitCode::from(EXIT_OK))
}

fn fetch(pack: &str, dir: &std::path::Path, server: &ServerArgs) -> Result<ExitCode> {
    let server = server.require()?;
    let (id, versions) = match pack.split_once('@') {
        Some((id, versions)) => {
            let req = semver::VersionReq::parse(&format!("={versions}"))
                .or_else(|_| semver::VersionReq::parse(versions))
                .with_context(|| {
                    format!("`{versions}` is neither a version nor a requirement (`^1.0`)")
                })?;
            (id, Some(req))
        }
        None => (pack, None),
    };
    let version = server.newest_pack(id, versions.as_ref())?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make `{}`", dir.display()))?;
    let folder = server.fetch_pack(id, &version, dir)?;
    println!(
        "fetched pack `{id}` {version} from {} -> {}",
        server.url(),
        folder.display()
    );
    Ok(ExitCode::from(EXIT_OK))
}

/// Prints what the pack holds, or every problem; the exit code says which.
pub fn check(dir: &std::path::Path) -> ExitCode {
    match conform_pack::Pack::check(dir) {
        Ok(pack) => {
            let m = pack.manifest();
            println!(
                "pack `{}` {} loads: record types {}",
                m.id,
                m.version,
                pack.record_types().collect::<Vec<_>>().join(", ")
            );
            if !m.tables.is_empty() {
                let tables: Vec<String> = m
                    .tables
                    .iter()
                    .map(|(name, table)| format!("{name} ({})", table.kind.name()))
                    .collect();
                println!("tables: {}", tables.join(", "));
            }
            ExitCode::from(EXIT_OK)
        }
        Err(errors) => print_problems(dir, &errors),
    }
}

/// Prints every problem of the pack in `dir`; the failure exit code.
fn print_problems(dir: &std::path::Path, errors: &[impl std::fmt::Display]) -> ExitCode {
    eprintln!(
        "pack in `{}` has {} problem(s):",
        dir.display(),
        errors.len()
    );
    for error in errors {
        eprintln!("  {error}");
    }
    ExitCode::from(EXIT_FAILURE)
}
