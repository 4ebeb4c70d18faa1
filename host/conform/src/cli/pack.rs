//! `conform pack new | check`: what a standards body needs to start a pack
//! and to see every problem of one before publishing it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

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
    }
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
        Err(errors) => {
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
    }
}
