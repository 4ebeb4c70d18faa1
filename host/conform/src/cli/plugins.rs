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
    let packs = args.locations.packs()?;
    let registry = Registry::open(&args.locations.plugins)?;
    let sandbox = args.locations.sandbox()?;
    let mut all_ok = true;
    for entry in registry.entries() {
        let m = &entry.manifest;
        let loaded = packs
            .for_plugin(m)
            .map_err(anyhow::Error::from)
            .and_then(|pack| Ok(registry.load(entry, &sandbox, pack)?));
        let status = match loaded {
            Ok(plugin) => format!("ok, contract {}", plugin.contract().version()),
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
