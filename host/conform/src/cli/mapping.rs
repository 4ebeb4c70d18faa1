//! `conform mapping check`: a declarative mapping checked against the pack
//! it targets, every problem at its line; and the reading of a mapping
//! that `conform convert --mapping` shares. See `docs/mappings.md`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use conform_engine::local_packs::LocalPacks;
use conform_mapping::{MappingFile, MappingProblems, Program};
use conform_pack::Pack;

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
        /// The pack's folder, or a folder of packs: the newest version of
        /// the pack the mapping targets is taken [default: `standards`].
        #[arg(long, env = "CONFORM_PACK")]
        pack: Option<PathBuf>,
        /// A sample export: every column the mapping names must be one of
        /// its columns (a CSV header, the keys of its first rows).
        #[arg(long)]
        sample: Option<PathBuf>,
    },
    /// Publish a mapping to a server (`POST /v1/mappings`) with the
    /// provider token in CONFORM_TOKEN: checked there against the newest
    /// pack it targets, then listed, pinned and run as a plugin of its name.
    Publish {
        /// The mapping file (`mapping.toml`).
        file: PathBuf,
        #[command(flatten)]
        server: super::remote::ServerArgs,
    },
    /// Run a mapping's test cases: each case's input converted by the
    /// mapping (checked first, its columns against the input's) and
    /// compared with the case's expected files, as `conform plugin test`.
    Test(TestArgs),
}

/// Arguments of `conform mapping test`.
#[derive(Debug, clap::Args)]
struct TestArgs {
    /// The mapping file (`mapping.toml`).
    file: PathBuf,
    /// Case folders (each a `case.toml` naming its input, `expected.ndjson`,
    /// `expected.errors.ndjson`), or export files to convert and show
    /// [default: every folder of `tests/cases/` beside the mapping].
    cases: Vec<PathBuf>,
    /// The mapping interpreter's component [default: beside the binary, as
    /// `conform convert --mapping` finds it].
    #[arg(long, env = "CONFORM_MAPPING_INTERPRETER")]
    interpreter: Option<PathBuf>,
    /// Write the expected files from the output (after checking it by eye).
    #[arg(long)]
    bless: bool,
    /// Print every record converted, not only the rejections.
    #[arg(long)]
    records: bool,
    #[command(flatten)]
    locations: super::Locations,
}

/// Runs `conform mapping …`.
pub fn run(args: MappingArgs) -> Result<ExitCode> {
    match args.command {
        MappingCommand::Check { file, pack, sample } => {
            check(&file, pack.as_deref(), sample.as_deref())
        }
        MappingCommand::Test(args) => test(&args),
        MappingCommand::Publish { file, server } => publish(&file, &server),
    }
}

/// A mapping file read and parsed, with the pack it targets.
pub(crate) struct Targeted<'p> {
    /// The file as the user named it.
    pub(crate) shown: String,
    /// Its text.
    pub(crate) text: String,
    /// The mapping.
    pub(crate) mapping: MappingFile,
    /// The newest pack of `packs` the mapping targets.
    pub(crate) pack: &'p Pack,
}

impl Targeted<'_> {
    /// The program to run, or every problem of the mapping at its line.
    pub(crate) fn compile(&self) -> Result<Program, MappingProblems> {
        conform_mapping::compile(&self.mapping, &self.text, self.pack)
            .map_err(|problems| MappingProblems::new(&self.shown, problems))
    }
}

/// Reads the mapping `file` and finds the pack it targets in `packs`; a
/// file that does not parse is its problems.
pub(crate) fn targeted<'p>(
    file: &Path,
    packs: &'p LocalPacks,
) -> Result<Result<Targeted<'p>, MappingProblems>> {
    let shown = file.display().to_string();
    let text = conform_mapping::read(file)?;
    let mapping = match MappingFile::parse(&shown, &text) {
        Ok(mapping) => mapping,
        Err(problems) => return Ok(Err(problems)),
    };
    let id = mapping.target.pack.get_ref();
    // The id becomes a folder's name only once it is a plain one.
    if !conform_model::pack::is_pack_id(id) {
        anyhow::bail!("{shown}: `{id}` is not a pack id (lowercase letters, digits, `-`)");
    }
    let pack = packs.newest(
        mapping.name.get_ref(),
        id,
        mapping.target.versions.get_ref(),
    )?;
    Ok(Ok(Targeted {
        shown,
        text,
        mapping,
        pack,
    }))
}

fn check(file: &Path, pack: Option<&Path>, sample: Option<&Path>) -> Result<ExitCode> {
    let packs_dir = pack.unwrap_or(Path::new("standards"));
    let packs = LocalPacks::load(packs_dir).with_context(|| {
        format!(
            "no pack for mapping `{}` (name the pack's folder, or a folder of packs, with --pack)",
            file.display()
        )
    })?;
    let Targeted {
        shown,
        text,
        mapping,
        pack,
    } = match targeted(file, &packs)? {
        Ok(targeted) => targeted,
        Err(problems) => return Ok(report(&problems)),
    };
    let mut problems = conform_mapping::check::check(&mapping, &text, pack);
    if problems.is_empty() {
        if let Some(sample) = sample {
            let columns = conform_mapping::check::sample_columns(&mapping, sample)
                .map_err(anyhow::Error::msg)?;
            problems = conform_mapping::check::check_columns(
                &mapping,
                &text,
                &sample.display().to_string(),
                &columns,
            );
        }
    }
    if !problems.is_empty() {
        return Ok(report(&MappingProblems::new(&shown, problems)));
    }
    println!(
        "mapping `{}` {} maps onto `{}` of pack `{}` {}: {} fields, no problem{}",
        mapping.name.get_ref(),
        mapping.version,
        mapping.target.record_type.get_ref(),
        pack.manifest().id,
        pack.manifest().version,
        mapping.fields.len(),
        if sample.is_some() {
            "; every column it names is in the sample"
        } else {
            ""
        }
    );
    Ok(ExitCode::from(EXIT_OK))
}

fn publish(file: &Path, server: &super::remote::ServerArgs) -> Result<ExitCode> {
    let server = server.require()?;
    let text = conform_mapping::read(file)?;
    let published = server.publish_mapping(text.as_bytes())?;
    super::remote::print_published("mapping", &server, &published);
    Ok(ExitCode::from(EXIT_OK))
}

fn test(args: &TestArgs) -> Result<ExitCode> {
    let packs = args.locations.packs()?;
    let targeted = match targeted(&args.file, &packs)? {
        Ok(targeted) => targeted,
        Err(problems) => return Ok(report(&problems)),
    };
    let program = match targeted.compile() {
        Ok(program) => program,
        Err(problems) => return Ok(report(&problems)),
    };
    let folder = args.file.parent().unwrap_or(Path::new("."));
    let cases = if args.cases.is_empty() {
        conform_author::cases::find_cases(&folder.join("tests/cases"))?
    } else {
        args.cases.clone()
    };
    if cases.is_empty() {
        anyhow::bail!(
            "no cases in `{}`: add a folder with a case.toml, an input and the expected files",
            folder.join("tests/cases").display()
        );
    }
    // Each case's input holds every column the mapping names.
    for case in &cases {
        let input = if case.is_file() {
            case.clone()
        } else {
            case.join(conform_author::cases::case_input(case)?)
        };
        let columns = conform_mapping::check::sample_columns(&targeted.mapping, &input)
            .map_err(anyhow::Error::msg)?;
        let missing = conform_mapping::check::check_columns(
            &targeted.mapping,
            &targeted.text,
            &input.display().to_string(),
            &columns,
        );
        if !missing.is_empty() {
            return Ok(report(&MappingProblems::new(&targeted.shown, missing)));
        }
    }
    let sandbox = args.locations.sandbox()?;
    let wasm = super::convert::interpreter_component(args.interpreter.as_deref())?;
    let mapped =
        conform_engine::mapped::MappedPlugin::load(&targeted.mapping, &program, &wasm, &sandbox)?;
    let harness = conform_author::cases::Harness {
        manifest: &mapped.manifest,
        plugin: &mapped.plugin,
        packs: &packs,
    };
    super::cases::run_cases(
        &harness,
        &cases,
        |name| folder.join("target/conform/test").join(name),
        &super::cases::CaseOptions {
            bless: args.bless,
            records: args.records,
            command: "conform mapping test",
        },
    )
}

/// Prints every problem as `file:line: message`; a failing exit.
fn report(problems: &MappingProblems) -> ExitCode {
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
