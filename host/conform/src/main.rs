//! The `conform` binary: the CLI over conform-engine and conform-server.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the pipeline allocates and frees many short buffers across
/// threads (rows decoded on one, converted on another, written on a third),
/// where it costs a fraction of glibc's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(&args);
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::EXIT_FAILURE)
        }
    }
}
