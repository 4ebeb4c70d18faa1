//! `conform plugins`: what plugins there are and whether they load.

use std::process::ExitCode;

use conform_engine::Registry;

use super::{Locations, EXIT_FAILURE, EXIT_OK};

/// Arguments of `conform plugins`.
#[derive(Debug, clap::Args)]
pub struct PluginsArgs {
    #[command(flatten)]
    locations: Locations,
}

pub fn run(args: PluginsArgs) -> anyhow::Result<ExitCode> {
    let pack = args.locations.pack()?;
    let registry = Registry::open(&args.locations.plugins)?;
    let sandbox = args.locations.sandbox()?;
    let mut all_ok = true;
    for entry in registry.entries() {
        let m = &entry.manifest;
        let status = match registry.load(entry, &sandbox, &pack) {
            Ok(_) => "ok".to_string(),
            Err(e) => {
                all_ok = false;
                format!("does not load: {e}")
            }
        };
        println!(
            "{} {} ({}) -> {}: {status}",
            m.name,
            m.version,
            m.input.files.join(", "),
            m.target.record_types.join(", ")
        );
    }
    Ok(ExitCode::from(if all_ok { EXIT_OK } else { EXIT_FAILURE }))
}
