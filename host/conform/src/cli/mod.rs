//! Command-line parsing and the commands.

mod cases;
mod convert;
mod mapping;
mod outputs;
mod pack;
mod plugin;
mod plugins;
mod remote;
mod serve;
mod summary;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Every file converted; rows may still have been rejected (see the error report).
pub const EXIT_OK: u8 = 0;
/// Set-up failed (pack, plugin, paths) or a file could not be converted.
pub const EXIT_FAILURE: u8 = 1;

const EXIT_CODES: &str = "\
Exit codes:
  0  every input file was converted; rejected rows are in the error report
  1  a file could not be converted, or set-up failed (pack, plugin, paths)
  2  the command line is wrong";

/// Converts enterprises' exports into validated records of a unified standard.
#[derive(Debug, Parser)]
#[command(name = "conform", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Log filter (tracing syntax: `info`, `conform=debug`) [default: `info`
    /// for `serve`, `warn` otherwise].
    #[arg(long, global = true, env = "CONFORM_LOG")]
    pub log: Option<String>,
    /// Log lines as `text` or `json` (one object per line, for collectors).
    #[arg(
        long,
        global = true,
        env = "CONFORM_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert a file, or every file of a folder, into records of the standard.
    Convert(convert::ConvertArgs),
    /// List the plugins found and whether each loads against the pack.
    Plugins(plugins::PluginsArgs),
    /// Write, build, test and check a plugin: `new`, `build`, `test`,
    /// `check`, `sdk`.
    Plugin(plugin::PluginArgs),
    /// Start a pack and check it: `new`, `check`.
    Pack(pack::PackArgs),
    /// Check a declarative mapping against its pack: `check`.
    Mapping(mapping::MappingArgs),
    /// Serve the HTTP API (see the README's API section).
    Serve(serve::ServeArgs),
    /// Creates, lists and revokes the server's API tokens.
    Token(token::TokenArgs),
    /// Load a schema pack, compiling every schema and checking every table
    /// (as `pack check`).
    CheckPack {
        /// The pack's folder.
        dir: PathBuf,
    },
    /// Internal: compiles a component read on stdin to machine code on
    /// stdout, its data memory capped at MEMORY_MIB (run by the sandbox).
    #[command(hide = true)]
    CompileComponent {
        /// The memory cap in MiB.
        memory_mib: u64,
    },
    /// Internal: reads a workbook on stdin and writes its sheet's rows on
    /// stdout, its memory and CPU time capped (run by the decoder).
    #[command(hide = true)]
    ReadWorkbook {
        /// The request, as JSON (`conform_decode::ChildArgs`).
        request: String,
    },
}

/// Where plugins and the pack are found; shared by the commands.
#[derive(Debug, Clone, clap::Args)]
pub struct Locations {
    /// A schema pack's folder, or a folder of pack folders: each plugin
    /// runs against the newest pack there of the id and versions it targets.
    #[arg(long, env = "CONFORM_PACK", default_value = "standards")]
    pub pack: PathBuf,
    /// The folder of plugin folders (each a `plugin.toml` and its component).
    #[arg(long, env = "CONFORM_PLUGINS", default_value = "target/plugins")]
    pub plugins: PathBuf,
    /// Where compiled plugins are cached [default: PLUGINS/.cache].
    #[arg(long, env = "CONFORM_CACHE")]
    pub cache_dir: Option<PathBuf>,
}

impl Locations {
    pub(crate) fn sandbox(&self) -> anyhow::Result<conform_sandbox::Sandbox> {
        let cache_dir = Some(
            self.cache_dir
                .clone()
                .unwrap_or_else(|| self.plugins.join(".cache")),
        );
        Ok(conform_sandbox::Sandbox::new(
            conform_sandbox::SandboxConfig {
                cache_dir,
                compiler: conform_engine::subprocess_compiler(),
                ..conform_sandbox::SandboxConfig::default()
            },
        )?)
    }

    pub(crate) fn packs(&self) -> anyhow::Result<Packs> {
        Ok(Packs::load(&self.pack)?)
    }
}

/// The packs a command serves.
pub use conform_engine::local_packs::LocalPacks as Packs;

/// How log lines are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logs to stderr, filtered by `--log` (the server logs requests at `info`).
pub fn init_logging(cli: &Cli) {
    let default = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_new(cli.log.as_deref().unwrap_or(default))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

/// Runs the command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Convert(args) => convert::run(args),
        Command::Plugins(args) => plugins::run(args),
        Command::Plugin(args) => plugin::run(args),
        Command::Pack(args) => pack::run(args),
        Command::Mapping(args) => mapping::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Token(args) => token::run(args),
        Command::CompileComponent { memory_mib } => {
            let engine = conform_sandbox::engine(false)?;
            let code = conform_sandbox::compile_component_main(&engine, memory_mib);
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
        Command::CheckPack { dir } => Ok(pack::check(&dir)),
        Command::ReadWorkbook { request } => {
            let args =
                conform_decode::ChildArgs::from_word(&request).map_err(anyhow::Error::msg)?;
            let code = conform_decode::read_workbook_main(&args);
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
    }
}
