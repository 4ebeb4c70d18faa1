//! `conform mapping check`: a declarative mapping checked against the pack
//! it targets, every problem at its line (running mappings comes next:
//! see `docs/mappings.md`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{EXIT_FAILURE, EXIT_OK};

/// Arguments of `conform mapping`.
#[derive(Debug, clap::Args)]
pub struct MappingArgs {
    #[command(subcommand)]
    command: MappingCommand,
}

#[derive(Debug, clap::Subcommand)]
enum MappingCommand {
    /// Check a mapping file against the pack it targets: every field,
    /// table, unit and pattern it names; each problem with its line.
    Check {
        /// The mapping file (`mapping.toml`).
        file: PathBuf,
        /// The pack's folder [default: `standards/<the pack the mapping targets>`].
        #[arg(long, env = "CONFORM_PACK")]
        pack: Option<PathBuf>,
    },
}

/// Runs `conform mapping …`.
pub fn run(args: MappingArgs) -> Result<ExitCode> {
    match args.command {
        MappingCommand::Check { file, pack } => check(&file, pack.as_deref()),
    }
}

fn check(file: &Path, pack: Option<&Path>) -> Result<ExitCode> {
    let shown = file.display().to_string();
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read mapping `{shown}`"))?;
    let mapping = match conform_mapping::check::parse(&shown, &text) {
        Ok(mapping) => mapping,
        Err(problems) => return Ok(report(&problems)),
    };
    let pack_dir = pack.map_or_else(
        || Path::new("standards").join(mapping.target.pack.get_ref()),
        Path::to_path_buf,
    );
    let pack = conform_pack::Pack::load(&pack_dir).with_context(|| {
        format!(
            "cannot load pack `{}` from `{}` (name its folder with --pack)",
            mapping.target.pack.get_ref(),
            pack_dir.display()
        )
    })?;
    match conform_mapping::load(file, &pack) {
        Ok(mapping) => {
            println!(
                "mapping `{}` {} maps onto `{}` of pack `{}` {}: {} fields, no problem",
                mapping.name.get_ref(),
                mapping.version,
                mapping.target.record_type.get_ref(),
                pack.manifest().id,
                pack.manifest().version,
                mapping.fields.len()
            );
            Ok(ExitCode::from(EXIT_OK))
        }
        Err(conform_mapping::MappingError::Problems(problems)) => Ok(report(&problems)),
        Err(e) => Err(e.into()),
    }
}

/// Prints every problem as `file:line: message`; a failing exit.
fn report(problems: &conform_mapping::MappingProblems) -> ExitCode {
    for line in problems.lines() {
        eprintln!("{line}");
    }
    eprintln!(
        "{} problem(s) in {}",
        problems.problems.len(),
        problems.file
    );
    ExitCode::from(EXIT_FAILURE)
}
