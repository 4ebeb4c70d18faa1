//! `conform serve`: the HTTP API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use conform_engine::DataDir;
use conform_server::{self as server, AppState, ServerConfig};

use super::EXIT_OK;

/// Arguments of `conform serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The data directory. A fresh one is set up with the seed pack and
    /// plugins and one admin token, printed once.
    #[arg(long, env = "CONFORM_DATA", default_value = "target/conform-data")]
    data: PathBuf,
    /// Address to listen on, overriding the configuration (default `127.0.0.1:8080`).
    #[arg(long, env = "CONFORM_LISTEN")]
    listen: Option<SocketAddr>,
    /// The packs copied into a fresh data directory: a pack's folder, or a
    /// folder of pack folders.
    #[arg(long, alias = "seed-pack", default_value = "standards")]
    seed_packs: PathBuf,
    /// The plugins copied into a fresh data directory.
    #[arg(long, default_value = "target/plugins")]
    seed_plugins: PathBuf,
    /// The mapping interpreter's component, which mappings published here
    /// run in [default: beside the binary, as `conform convert --mapping`
    /// finds it]; without one, mappings cannot be published.
    #[arg(long, env = "CONFORM_MAPPING_INTERPRETER")]
    mapping_interpreter: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    // Everything the server creates is the operator's alone: 0600 files,
    // 0700 folders (uploads, outputs, plugins, packs, the databases).
    // SAFETY: umask only sets the process's file-creation mask.
    unsafe { libc::umask(0o077) };
    if !DataDir::new(&args.data).config_file().is_file() {
        init(&args)?;
    }
    private_data_dir(&args.data)?;
    let mut config = ServerConfig::load(&args.data)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    let data = DataDir::with_folders(&args.data, &config.packs, &config.plugins);
    server::redact::hide_folders(&[
        (data.plugins(), "<plugins>"),
        (data.packs(), "<packs>"),
        (data.root(), "<data>"),
    ]);
    let listen = config.listen;
    let state = Arc::new(AppState::open(&args.data, config)?);
    match super::convert::interpreter_component(args.mapping_interpreter.as_deref()) {
        Ok(wasm) => state.set_interpreter(wasm),
        Err(e) => tracing::warn!(error = format!("{e:#}"), "mappings cannot be published"),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        eprintln!("conform: listening on http://{}", listener.local_addr()?);
        reload_tokens_on_hangup(state.clone());
        server::run(listener, state.clone(), shutdown_signal())
            .await
            .context("the server stopped")?;
        state.release_running_jobs();
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(ExitCode::from(EXIT_OK))
}

/// Reloads the tokens at each SIGHUP (which would otherwise end the process).
fn reload_tokens_on_hangup(state: Arc<AppState>) {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(mut hangups) => {
            tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    let state = state.clone();
                    let _ = tokio::task::spawn_blocking(move || state.reload_tokens()).await;
                }
            });
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot catch SIGHUP; tokens reload when conform.toml changes")
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("conform: shutting down; finishing requests in flight");
}

/// Makes the data directory the server user's alone (0700), whatever an
/// older version or the operator left: what is inside is then private too.
fn private_data_dir(data: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data)
        .with_context(|| format!("cannot read the data directory `{}`", data.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make `{}` private (0700)", data.display()))?;
        eprintln!(
            "conform: `{}` was readable by others; it is now private to this user (0700)",
            data.display()
        );
    }
    Ok(())
}

/// Sets up a fresh data directory: the seed pack and plugins, one admin token.
fn init(args: &ServeArgs) -> Result<()> {
    let data = DataDir::new(&args.data);
    let seeds = super::Locations {
        pack: args.seed_packs.clone(),
        plugins: args.seed_plugins.clone(),
        cache_dir: None,
    }
    .packs()
    .context("the seed packs do not load")?;
    for seed in seeds.iter() {
        let m = seed.manifest();
        copy_dir(seed.dir(), &data.pack_version(&m.id, &m.version))
            .with_context(|| format!("cannot copy the seed pack `{}`", seed.dir().display()))?;
    }
    let plugins = data.plugins();
    std::fs::create_dir_all(plugins)?;
    let seeds = std::fs::read_dir(&args.seed_plugins).with_context(|| {
        format!(
            "no plugins in `{}`: build them with `cargo xtask build-plugins`",
            args.seed_plugins.display()
        )
    })?;
    for entry in seeds {
        let path = entry?.path();
        if path.join("plugin.toml").is_file() {
            let m = conform_engine::Registry::read_entry(&path)?.manifest;
            let target = data.plugin_version(&m.name, &m.version);
            anyhow::ensure!(
                !target.exists(),
                "two seed plugins are `{}` {}; versions are immutable, keep one in `{}`",
                m.name,
                m.version,
                args.seed_plugins.display()
            );
            copy_dir(&path, &target)?;
        }
    }
    let token = server::new_token()?;
    let config = ServerConfig::fresh(server::hash_token(&token));
    std::fs::write(data.config_file(), toml::to_string(&config)?)?;
    // Not on stderr: that is the log stream, which collectors keep.
    let token_file = data.admin_token_file();
    std::fs::write(&token_file, format!("{token}\n"))
        .with_context(|| format!("cannot write `{}`", token_file.display()))?;
    eprintln!(
        "conform: set up `{}` with the sample packs and plugins",
        data.root().display()
    );
    eprintln!(
        "conform: the admin token is in `{}` (readable by this user only; it is stored hashed in conform.toml): keep it elsewhere and delete the file",
        token_file.display()
    );
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            // `fs::copy` keeps the source's permissions; the copy is private.
            std::fs::copy(entry.path(), &target)?;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}
