//! `conform plugin new | build | test | check | publish | sdk`: what a
//! provider needs to write, test and publish a plugin outside any Conform
//! checkout (the work is `conform-author`'s).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use conform_author::build::{build_plugin, Built};
use conform_author::cases::{find_cases, Harness};
use conform_author::scaffold::{new_plugin, ExportFormat, Language, NewPlugin};
use conform_author::server::Server;
use conform_model::TextEncoding;

use super::remote::ServerArgs;
use super::{Packs, EXIT_OK};

/// Arguments of `conform plugin`.
#[derive(Debug, clap::Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    command: PluginCommand,
}

#[derive(Debug, clap::Subcommand)]
enum PluginCommand {
    /// Make a plugin project that builds and passes its own test: the SDK
    /// and the contract inside it, a mapping of each field of a record type
    /// from the column of the same name, a sample export and its output.
    New(NewArgs),
    /// Build the project into a component, check it as a server does, and
    /// write it with its manifest (digest filled in) to
    /// `target/conform/plugins/NAME/`.
    Build(ProjectArgs),
    /// Check a built plugin as a server does at publication: its manifest,
    /// the component's digest, that it compiles, imports only the contract
    /// and exports a converter; with `--pack`, that the pack it targets
    /// serves it (record types, tables, contract).
    Check(CheckArgs),
    /// Write the SDK and the contract this `conform` carries into the
    /// project's `.conform/` again (after upgrading Conform).
    Sdk(ProjectArgs),
    /// Build, then convert each case (`tests/cases/*/`, or the folders
    /// given) against the pack and compare with the expected files; a file
    /// given is converted and its records and rejections printed.
    Test(TestArgs),
    /// Build (unless a built plugin is named), then publish to a server
    /// (`POST /v1/plugins`) with the provider token in CONFORM_TOKEN.
    Publish(PublishArgs),
}

/// Arguments of `conform plugin new`.
#[derive(Debug, clap::Args)]
struct NewArgs {
    /// The plugin's name: lowercase letters, digits and `-`; the project's
    /// folder too.
    name: String,
    /// The language the plugin is written in.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    lang: Lang,
    /// The export's format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// The export's character encoding.
    #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
    encoding: Encoding,
    /// The folder of the pack the plugin targets.
    #[arg(long, env = "CONFORM_PACK")]
    pack: PathBuf,
    /// The record type it emits [default: the pack's first].
    #[arg(long)]
    record_type: Option<String>,
    /// Who provides it (the manifest's `provider`).
    #[arg(long, default_value = "unnamed provider")]
    provider: String,
    /// The folder the project's folder is made in.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Lang {
    /// Rust, on the Conform plugin SDK.
    Rust,
    /// Python, on the Conform Python SDK, built with componentize-py.
    Python,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    /// Comma-separated with a header row.
    Csv,
    /// Tab-separated with a header row.
    Tsv,
    /// One JSON object per line.
    Ndjson,
    /// One JSON array of objects.
    Json,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Encoding {
    /// UTF-8.
    #[value(name = "utf-8")]
    Utf8,
    /// GB18030.
    Gb18030,
    /// GBK.
    Gbk,
}

/// The project a command works on.
#[derive(Debug, clap::Args)]
struct ProjectArgs {
    /// The plugin project's folder.
    #[arg(long, default_value = ".")]
    project: PathBuf,
}

/// Arguments of `conform plugin check`.
#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// A plugin's folder (its `plugin.toml` and component), or its
    /// `plugin.toml` [default: the project's built plugin].
    path: Option<PathBuf>,
    #[command(flatten)]
    project: ProjectArgs,
    /// The pack to check it against (none: the plugin alone).
    #[command(flatten)]
    pack: PackSource,
}

/// Where the pack a plugin is checked or tested against comes from.
#[derive(Debug, clap::Args)]
struct PackSource {
    /// A pack's folder, or a folder of pack folders: the plugin runs against
    /// the newest there of the id and versions it targets.
    #[arg(long, env = "CONFORM_PACK")]
    pack: Option<PathBuf>,
    /// Without `--pack`: the newest pack version a server has that the
    /// plugin targets, fetched into `target/conform/packs/SERVER/`.
    #[command(flatten)]
    server: ServerArgs,
}

/// A [`PackSource`] resolved (the server's token read) before any build.
enum PackOrigin {
    Folder(PathBuf),
    Server(Server),
    Neither,
}

impl PackSource {
    fn origin(&self) -> Result<PackOrigin> {
        // A folder given wins: the server (and its token) is not needed.
        if let Some(folder) = &self.pack {
            return Ok(PackOrigin::Folder(folder.clone()));
        }
        Ok(match self.server.connect()? {
            Some(server) => PackOrigin::Server(server),
            None => PackOrigin::Neither,
        })
    }
}

/// Arguments of `conform plugin publish`.
#[derive(Debug, clap::Args)]
struct PublishArgs {
    /// A built plugin's folder, or its `plugin.toml` [default: the
    /// project, built first].
    path: Option<PathBuf>,
    #[command(flatten)]
    project: ProjectArgs,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `conform plugin test`.
#[derive(Debug, clap::Args)]
struct TestArgs {
    /// Case folders (each with a `case.toml`), or export files to convert
    /// and show [default: every folder of `tests/cases/`].
    cases: Vec<PathBuf>,
    #[command(flatten)]
    project: ProjectArgs,
    /// The pack to test against.
    #[command(flatten)]
    pack: PackSource,
    /// Write the expected files from the output (after checking it by eye).
    #[arg(long)]
    bless: bool,
    /// Print every record converted, not only the rejections.
    #[arg(long)]
    records: bool,
}

/// Runs `conform plugin …`.
pub fn run(args: PluginArgs) -> Result<ExitCode> {
    match args.command {
        PluginCommand::New(args) => new(args),
        PluginCommand::Build(args) => {
            build(&args.project)?;
            Ok(ExitCode::from(EXIT_OK))
        }
        PluginCommand::Test(args) => test(args),
        PluginCommand::Check(args) => check(args),
        PluginCommand::Publish(args) => publish(args),
        PluginCommand::Sdk(args) => {
            if !args.project.join("plugin.toml").is_file() {
                anyhow::bail!(
                    "`{}` has no plugin.toml: point --project at a plugin project",
                    args.project.display()
                );
            }
            let language = Language::of_project(&args.project)?;
            conform_author::sdk_files::write_sdk(&args.project, language)?;
            println!(
                "wrote the SDK and the contract {} into {}",
                conform_author::sdk_files::CONTRACT,
                args.project
                    .join(conform_author::sdk_files::VENDOR_DIR)
                    .display()
            );
            Ok(ExitCode::from(EXIT_OK))
        }
    }
}

fn new(args: NewArgs) -> Result<ExitCode> {
    let request = NewPlugin {
        name: args.name,
        parent: args.dir,
        language: match args.lang {
            Lang::Rust => Language::Rust,
            Lang::Python => Language::Python,
        },
        format: match args.format {
            Format::Csv => ExportFormat::Csv,
            Format::Tsv => ExportFormat::Tsv,
            Format::Ndjson => ExportFormat::Ndjson,
            Format::Json => ExportFormat::Json,
        },
        encoding: match args.encoding {
            Encoding::Utf8 => TextEncoding::Utf8,
            Encoding::Gb18030 => TextEncoding::Gb18030,
            Encoding::Gbk => TextEncoding::Gbk,
        },
        pack: args.pack.clone(),
        record_type: args.record_type,
        provider: args.provider,
    };
    let made = new_plugin(&request)?;
    println!(
        "made plugin `{}` ({} records) in {}:",
        request.name,
        made.record_type,
        made.dir.display()
    );
    for file in &made.files {
        println!("  {file}");
    }
    println!(
        "  {}/ (the SDK and the contract)\nnext:\n  cd {}\n  conform plugin test --pack {}",
        conform_author::sdk_files::VENDOR_DIR,
        made.dir.display(),
        absolute(&args.pack).display()
    );
    Ok(ExitCode::from(EXIT_OK))
}

/// Builds the project in `project`, saying where the result is.
fn build(project: &Path) -> Result<(Built, conform_sandbox::Sandbox)> {
    let sandbox = sandbox(project)?;
    let built = build_plugin(project, &sandbox)?;
    println!(
        "built plugin `{}`: {} bytes, sha256 {} -> {}",
        built.name,
        built.size,
        built.sha256,
        built.dir.display()
    );
    Ok((built, sandbox))
}

/// A sandbox compiling in-process (the provider's own code) with its cache
/// in the project's `target/`.
fn sandbox(project: &Path) -> Result<conform_sandbox::Sandbox> {
    Ok(conform_sandbox::Sandbox::new(
        conform_sandbox::SandboxConfig {
            cache_dir: Some(project.join("target/conform/cache")),
            ..conform_sandbox::SandboxConfig::default()
        },
    )?)
}

/// The folder of a built plugin named by a folder or its `plugin.toml`.
fn plugin_dir(path: &Path) -> PathBuf {
    if path.is_file() {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    } else {
        path.to_path_buf()
    }
}

fn check(args: CheckArgs) -> Result<ExitCode> {
    let project = &args.project.project;
    let dir = match &args.path {
        Some(path) => plugin_dir(path),
        None => built_dir(project)?,
    };
    let origin = args.pack.origin()?;
    let sandbox = sandbox(project)?;
    let (manifest, plugin) = Harness::load(&dir, &sandbox)?;
    println!(
        "plugin `{}` {} ({}): digest, imports and world as a server checks them: ok, contract {}",
        manifest.name,
        manifest.version,
        dir.display(),
        plugin.contract().version()
    );
    if let Some(packs) = packs_for(&manifest, &origin, project)? {
        let pack = packs.for_plugin(&manifest)?;
        conform_engine::registry::check_pack(&manifest, pack)?;
        conform_engine::registry::check_contract(&plugin, pack)?;
        println!(
            "pack `{}` {} serves it: record types {}",
            pack.manifest().id,
            pack.manifest().version,
            manifest.target.record_types.join(", ")
        );
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// The folder of the project's built plugin (`target/conform/plugins/NAME`).
fn built_dir(project: &Path) -> Result<PathBuf> {
    let plugins = project.join(conform_author::build::BUILT_DIR);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&plugins)
        .with_context(|| {
            format!(
                "no built plugin in `{}`: run `conform plugin build`, or name the plugin's folder",
                plugins.display()
            )
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("plugin.toml").is_file())
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => anyhow::bail!(
            "no built plugin in `{}`: run `conform plugin build`",
            plugins.display()
        ),
        _ => anyhow::bail!(
            "several plugins in `{}`: name the one to check",
            plugins.display()
        ),
    }
}

/// The packs a plugin is checked or tested against: the folder given, or
/// the newest version a server has that the plugin targets, fetched into
/// the project's `target/conform/packs/`; `None` when neither is given.
fn packs_for(
    manifest: &conform_model::PluginManifest,
    origin: &PackOrigin,
    project: &Path,
) -> Result<Option<Packs>> {
    let server = match origin {
        PackOrigin::Folder(folder) => return Ok(Some(Packs::load(folder)?)),
        PackOrigin::Server(server) => server,
        PackOrigin::Neither => return Ok(None),
    };
    let target = &manifest.target;
    let version = server.newest_pack(&target.pack, Some(&target.versions))?;
    let into = project
        .join("target/conform/packs")
        .join(server.folder_name());
    std::fs::create_dir_all(&into).with_context(|| format!("cannot make `{}`", into.display()))?;
    let folder = server.fetch_pack(&target.pack, &version, &into)?;
    println!(
        "pack `{}` {version} from {} -> {}",
        target.pack,
        server.url(),
        folder.display()
    );
    Ok(Some(Packs::load(&folder)?))
}

fn publish(args: PublishArgs) -> Result<ExitCode> {
    let server = args.server.require()?;
    let dir = match &args.path {
        Some(path) => plugin_dir(path),
        None => build(&args.project.project)?.0.dir,
    };
    let manifest_path = dir.join("plugin.toml");
    let manifest_text = std::fs::read(&manifest_path)
        .with_context(|| format!("cannot read `{}`", manifest_path.display()))?;
    let manifest =
        conform_model::PluginManifest::from_toml(&String::from_utf8_lossy(&manifest_text))
            .with_context(|| format!("`{}`", manifest_path.display()))?;
    let component_path = dir.join(&manifest.component.file);
    let component = std::fs::read(&component_path)
        .with_context(|| format!("cannot read `{}`", component_path.display()))?;
    let published = server.publish_plugin(&manifest_text, &component)?;
    super::remote::print_published("plugin", &server, &published);
    Ok(ExitCode::from(EXIT_OK))
}

fn test(args: TestArgs) -> Result<ExitCode> {
    let project = &args.project.project;
    let origin = args.pack.origin()?;
    if let PackOrigin::Neither = origin {
        anyhow::bail!(
            "give the pack to test against: --pack DIR (a pack's folder), or --server URL to fetch the one a server runs"
        );
    }
    let (built, sandbox) = build(project)?;
    let (manifest, plugin) = Harness::load(&built.dir, &sandbox)?;
    let packs =
        packs_for(&manifest, &origin, project)?.expect("a pack folder or a server was given");
    let harness = Harness {
        manifest: &manifest,
        plugin: &plugin,
        packs: &packs,
    };
    let cases = if args.cases.is_empty() {
        find_cases(&conform_author::scaffold::cases_dir(project))?
    } else {
        args.cases.clone()
    };
    if cases.is_empty() {
        anyhow::bail!(
            "no cases in `{}`: add a folder with a case.toml, an input and the expected files",
            conform_author::scaffold::cases_dir(project).display()
        );
    }
    super::cases::run_cases(
        &harness,
        &cases,
        |name| project.join("target/conform/test").join(name),
        &super::cases::CaseOptions {
            bless: args.bless,
            records: args.records,
            command: "conform plugin test",
        },
    )
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
