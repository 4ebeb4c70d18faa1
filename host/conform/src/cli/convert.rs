//! `conform convert`: a file or a folder of files into records of the standard.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use conform_engine::compiled::CompiledPlugins;
use conform_engine::mapped::{MappedPlugin, INTERPRETER_FILE};
use conform_engine::pipeline::ConvertOptions;
use conform_engine::registry::Entry;
use conform_engine::sink::NdjsonSink;
use conform_engine::Registry;
use conform_mapping::MappingProblems;
use conform_model::plugin::PluginManifest;
use conform_model::{FailedFile, Summary};
use conform_pack::Pack;
use conform_sandbox::{LoadedPlugin, Sandbox};
use indicatif::{ProgressBar, ProgressStyle};

use super::outputs::{self, Target};
use super::{summary, Locations, Packs, EXIT_FAILURE, EXIT_OK};

/// How the summary is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryFormat {
    /// A table on stderr.
    Text,
    /// One JSON object (`rows_in`, `converted`, `rejected`, `files`) on stdout,
    /// or on stderr when the records go to stdout.
    Json,
}

/// Arguments of `conform convert`.
#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// A file to convert, or a folder whose files are each routed to the
    /// plugin whose manifest claims the file name.
    input: PathBuf,
    /// The plugin to use, `NAME` (its newest version) or `NAME@VERSION`
    /// (default: the plugin that claims each file's name).
    #[arg(long)]
    plugin: Option<String>,
    /// Convert with this mapping file (`mapping.toml`) instead of a plugin:
    /// checked against its pack (each problem at its line), then run by
    /// the mapping interpreter in the sandbox under the mapping's limits.
    #[arg(long, conflicts_with = "plugin")]
    mapping: Option<PathBuf>,
    /// The mapping interpreter's component [default:
    /// `mapping-interpreter/mapping-interpreter.wasm` in the folder above
    /// the `conform` binary's, where `cargo xtask build-plugins` puts it
    /// (`target/`); never looked for in the working folder].
    #[arg(long, env = "CONFORM_MAPPING_INTERPRETER")]
    interpreter: Option<PathBuf>,
    /// Records output, NDJSON, for a single file [default: stdout].
    #[arg(long, conflicts_with = "output_dir")]
    output: Option<PathBuf>,
    /// Error report, NDJSON, for a single file [default: stderr].
    #[arg(long, conflicts_with = "output_dir")]
    errors: Option<PathBuf>,
    /// Folder for `NAME.records.ndjson` and `NAME.errors.ndjson` per input file.
    #[arg(long)]
    output_dir: Option<PathBuf>,
    /// How to print the summary.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    summary: SummaryFormat,
    /// Worker threads [default: the number of cores].
    #[arg(long)]
    workers: Option<usize>,
    /// Rows per plugin call (fewer when their text reaches 512 KiB).
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    #[command(flatten)]
    locations: Locations,
}

/// The plugins of a run, each compiled once (the engine's cache, the
/// server's too): a folder of exports loads each plugin once.
struct Loaded<'a> {
    registry: &'a Registry,
    sandbox: &'a Sandbox,
    packs: &'a Packs,
    compiled: CompiledPlugins,
    /// The mapping of `--mapping`, ready to run.
    mapping: Option<Mapped<'a>>,
}

/// What converts a file: a plugin of the registry, or `--mapping`.
#[derive(Clone, Copy)]
enum With<'r> {
    Plugin(&'r Entry),
    Mapping,
}

/// A mapping run by the interpreter, and the pack it was checked against.
struct Mapped<'a> {
    mapped: MappedPlugin,
    pack: &'a Pack,
}

impl<'a> Loaded<'a> {
    /// The plugin, compiled, the pack it runs against and its manifest.
    fn get(&mut self, with: With<'_>) -> Result<(LoadedPlugin, &'a Pack, PluginManifest)> {
        let entry = match with {
            With::Plugin(entry) => entry,
            With::Mapping => {
                let Mapped { mapped, pack } = self.mapping.as_ref().expect("--mapping was given");
                return Ok((mapped.plugin.clone(), pack, mapped.manifest.clone()));
            }
        };
        let limits = self.registry.limits_of(entry);
        let pack = self.packs.for_plugin(&entry.manifest)?;
        let plugin = self
            .compiled
            .get(entry, limits, self.sandbox, pack)
            .map_err(|e| anyhow::anyhow!("{}", with_causes(e.as_ref())))?;
        Ok((plugin, pack, entry.manifest.clone()))
    }

    /// What converts the file `name`: the mapping, `--plugin`, or the
    /// plugin that claims the name (`None`: no plugin does).
    fn chosen(&self, args: &ConvertArgs, name: &str) -> Result<Option<With<'a>>> {
        let registry = self.registry;
        Ok(match (&self.mapping, &args.plugin) {
            (Some(_), _) => Some(With::Mapping),
            (None, Some(plugin)) => Some(With::Plugin(pinned(registry, plugin)?)),
            (None, None) => registry.claiming(name).map(With::Plugin),
        })
    }
}

/// Reads the mapping `file`, checks it against the newest pack of `packs`
/// it targets and loads the interpreter (`interpreter`, or the default one
/// beside the binary) to run it.
fn mapped<'p>(
    file: &Path,
    interpreter: Option<&Path>,
    packs: &'p Packs,
    sandbox: &Sandbox,
) -> Result<Mapped<'p>> {
    let targeted = super::mapping::targeted(file, packs)?.map_err(problems_in)?;
    let program = targeted.compile().map_err(problems_in)?;
    let wasm = interpreter_component(interpreter)?;
    let mapped = MappedPlugin::load(&targeted.mapping, &program, &wasm, sandbox)?;
    Ok(Mapped {
        mapped,
        pack: targeted.pack,
    })
}

/// The mapping interpreter's component: `path`, or the default one.
pub(crate) fn interpreter_component(path: Option<&Path>) -> Result<Vec<u8>> {
    let path = match path {
        Some(path) => path.to_path_buf(),
        None => default_interpreter()?,
    };
    std::fs::read(&path).with_context(|| {
        format!(
            "cannot read the mapping interpreter `{}`: build it with `cargo xtask build-plugins`, or name it with --interpreter",
            path.display()
        )
    })
}

/// `mapping-interpreter/mapping-interpreter.wasm` in the folder above the
/// binary's (`target/` for `target/debug/conform`): the binary's own, not
/// whatever the working folder holds.
fn default_interpreter() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the conform binary's folder")?;
    let above = exe
        .parent()
        .and_then(Path::parent)
        .context("the conform binary has no folder above its own")?;
    Ok(above.join("mapping-interpreter").join(INTERPRETER_FILE))
}

/// A mapping's problems, each at its line, and how many.
fn problems_in(problems: MappingProblems) -> anyhow::Error {
    anyhow::anyhow!(
        "{problems}\n{} problem(s) in {}",
        problems.problems.len(),
        problems.file
    )
}

/// An error and its causes on one line, as `{:#}` shows an `anyhow` chain.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let shown = e.to_string();
        if !text.ends_with(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        cause = e.source();
    }
    text
}

/// The plugin `--plugin` names: `NAME` or `NAME@VERSION`.
fn pinned<'r>(registry: &'r Registry, reference: &str) -> Result<&'r Entry> {
    let (name, version) =
        conform_engine::registry::parse_reference(reference).map_err(anyhow::Error::msg)?;
    Ok(match version {
        Some(v) => registry.get_version(name, &v)?,
        None => registry.get(name)?,
    })
}

pub fn run(args: ConvertArgs) -> Result<ExitCode> {
    outputs::remove_pending_on_interrupt();
    let metadata = std::fs::metadata(&args.input)
        .with_context(|| format!("cannot read `{}`: check the path", args.input.display()))?;
    let packs = args.locations.packs()?;
    let registry = Registry::open(&args.locations.plugins)?;
    if let Some(reference) = &args.plugin {
        pinned(&registry, reference)?;
    }

    let sandbox = args.locations.sandbox()?;
    let mapping = match &args.mapping {
        Some(file) => Some(mapped(file, args.interpreter.as_deref(), &packs, &sandbox)?),
        None => None,
    };
    let mut loaded = Loaded {
        registry: &registry,
        sandbox: &sandbox,
        packs: &packs,
        compiled: CompiledPlugins::default(),
        mapping,
    };
    let options = ConvertOptions {
        workers: args.workers.unwrap_or(ConvertOptions::default().workers),
        batch_size: args.batch_size,
        // A workbook is read in a child process, capped as the server's.
        workbooks: conform_decode::WorkbookOptions {
            spool_dir: None,
            reader: conform_engine::subprocess_workbook_reader(
                conform_engine::WORKBOOK_MEMORY_MIB,
                conform_engine::WORKBOOK_CPU_SECONDS,
            ),
        },
        ..ConvertOptions::default()
    };
    let (total, records_on_stdout) = if metadata.is_dir() {
        (convert_folder(&args, &mut loaded, &options)?, false)
    } else {
        convert_one(&args, &mut loaded, &options)?
    };
    report(&args, &total, records_on_stdout)
}

/// Converts every file of the input folder into `--output-dir`, each with
/// the plugin that claims its name (or `--plugin`); a file no plugin claims,
/// or that fails, is listed and the others go on.
fn convert_folder(
    args: &ConvertArgs,
    loaded: &mut Loaded<'_>,
    options: &ConvertOptions,
) -> Result<Summary> {
    let Some(out_dir) = &args.output_dir else {
        bail!(
            "`{}` is a folder: pass `--output-dir DIR` for the records and error reports",
            args.input.display()
        );
    };
    outputs::check_output_dir(&args.input, out_dir)?;
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create `{}`", out_dir.display()))?;
    let listing = files_in(&args.input)?;
    let mut total = Summary {
        skipped: listing.skipped,
        ..Summary::default()
    };
    let inputs = listing.files;
    for path in &inputs {
        let (records, errors) = outputs_in(out_dir, &file_name(path));
        for target in [records, errors] {
            if let Some(input) = inputs.iter().find(|i| outputs::same_file(i, &target)) {
                bail!(
                    "`{}` would overwrite the input `{}`: choose another `--output-dir`",
                    target.display(),
                    input.display()
                );
            }
        }
    }
    for path in inputs {
        let name = file_name(&path);
        let with = match loaded.chosen(args, &name)? {
            Some(with) => with,
            None => {
                total.failed.push(FailedFile {
                        file: name.clone(),
                        message: "no plugin claims this file name: pass `--plugin NAME` or add a plugin whose manifest's `input.files` matches it".into(),
                    });
                continue;
            }
        };
        let (records, errors) = outputs_in(out_dir, &name);
        let (records, errors) = (Target::Path(records), Target::Path(errors));
        match convert_file(&path, with, loaded, options, &records, &errors) {
            Ok(file_summary) => total.add(file_summary),
            Err(e) => total.failed.push(FailedFile {
                file: name,
                message: format!("{e:#}"),
            }),
        }
    }
    Ok(total)
}

/// Converts the one input file to `--output`/`--errors`, `--output-dir`,
/// or stdout and stderr; says whether the records went to stdout.
fn convert_one(
    args: &ConvertArgs,
    loaded: &mut Loaded<'_>,
    options: &ConvertOptions,
) -> Result<(Summary, bool)> {
    let name = file_name(&args.input);
    let with = loaded.chosen(args, &name)?.with_context(|| {
        format!("no plugin claims `{name}`: pass `--plugin NAME` (see `conform plugins`)")
    })?;
    let (records, errors) = match &args.output_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            let (records, errors) = outputs_in(dir, &name);
            (Some(records), Some(errors))
        }
        None => (args.output.clone(), args.errors.clone()),
    };
    let records = Target::of(records.as_deref(), Target::Stdout);
    let errors = Target::of(errors.as_deref(), Target::Stderr);
    outputs::check(
        &args.input,
        &[("--output", &records), ("--errors", &errors)],
    )?;
    let mut total = Summary::default();
    total.add(convert_file(
        &args.input,
        with,
        loaded,
        options,
        &records,
        &errors,
    )?);
    Ok((total, records == Target::Stdout))
}

/// Prints the summary (as a table, or JSON on stdout unless the records
/// are there) and chooses the exit code: failure if any file failed, was
/// skipped or stopped early.
fn report(args: &ConvertArgs, total: &Summary, records_on_stdout: bool) -> Result<ExitCode> {
    match args.summary {
        SummaryFormat::Text => eprint!("{}", summary::table(total)),
        SummaryFormat::Json => {
            let json = serde_json::to_string(total)?;
            if records_on_stdout {
                eprintln!("{json}");
            } else {
                println!("{json}");
            }
        }
    }
    let stopped = total.files.iter().any(|f| f.error.is_some());
    Ok(ExitCode::from(
        if total.failed.is_empty() && total.skipped.is_empty() && !stopped {
            EXIT_OK
        } else {
            EXIT_FAILURE
        },
    ))
}

/// What a folder holds for conversion.
struct Listing {
    /// Its regular, visible files (symbolic links to them included), by name.
    files: Vec<PathBuf>,
    /// Visible entries that are neither files nor folders, with the reason.
    skipped: Vec<FailedFile>,
}

/// The regular, visible files of a folder, sorted by name; sub-folders are
/// not descended into, and special files are listed as skipped, never opened.
fn files_in(dir: &Path) -> Result<Listing> {
    let mut listing = Listing {
        files: Vec::new(),
        skipped: Vec::new(),
    };
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("cannot list `{}`", dir.display()))?
    {
        let path = entry
            .with_context(|| format!("cannot list `{}`", dir.display()))?
            .path();
        let name = file_name(&path);
        if name.starts_with('.') {
            continue;
        }
        let reason = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => {
                listing.files.push(path);
                continue;
            }
            Ok(m) if m.is_dir() => continue,
            Ok(m) => special_file(&m),
            Err(e) => format!("a symbolic link that leads nowhere or in a loop ({e})"),
        };
        listing.skipped.push(FailedFile {
            file: name,
            message: format!("{reason}; only regular files are converted"),
        });
    }
    listing.files.sort();
    listing.skipped.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(listing)
}

/// What kind of special file `metadata` describes.
fn special_file(metadata: &std::fs::Metadata) -> String {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    if kind.is_fifo() {
        "a named pipe (FIFO)".into()
    } else if kind.is_socket() {
        "a socket".into()
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device".into()
    } else {
        "not a regular file".into()
    }
}

/// The records and error report of input `name` in an output folder.
fn outputs_in(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{name}.records.ndjson")),
        dir.join(format!("{name}.errors.ndjson")),
    )
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn convert_file(
    path: &Path,
    with: With<'_>,
    loaded: &mut Loaded,
    options: &ConvertOptions,
    records: &Target,
    errors: &Target,
) -> Result<conform_model::FileSummary> {
    let (plugin, pack, manifest) = loaded.get(with)?;
    let input = File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let size = input.metadata().map(|m| m.len()).unwrap_or(0);
    let records = outputs::open(records)?;
    let errors = outputs::open(errors)?;
    let pending: Vec<outputs::Pending> = [records.pending, errors.pending]
        .into_iter()
        .flatten()
        .collect();
    let (records, errors) = (records.writer, errors.writer);
    let mut sink = NdjsonSink::new(records, errors);

    let read = Arc::new(AtomicU64::new(0));
    let counted = CountingReader {
        inner: input,
        read: read.clone(),
    };
    let bar = (std::io::stderr().is_terminal() && size > 1 << 20).then(|| {
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {per_sec} eta {eta}",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        bar.set_message(file_name(path));
        bar
    });
    let mut progress = |_: &conform_model::FileSummary| {
        if let Some(bar) = &bar {
            bar.set_position(read.load(Ordering::Relaxed));
        }
    };
    let summary = conform_engine::Conversion {
        pack,
        plugin: &plugin,
        manifest: &manifest,
        options,
    }
    .run(counted, &file_name(path), &mut sink, &mut progress)
    .with_context(|| format!("converting `{}`", path.display()))?;
    drop(sink);
    for file in pending {
        file.commit()?;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(summary)
}

/// Counts the bytes read, for the progress bar.
struct CountingReader<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
