//! `conform token create|list|revoke`: the server's API tokens, edited in
//! its data directory's `conform.toml`, or, when the configuration names a
//! shared database (`CONFORM_STORAGE_DATABASE_URL`), in that database for
//! every replica (only their SHA-256 digests are kept). A running server
//! picks the change up within seconds, or at once on SIGHUP.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use conform_server::config_file::ConfigFile;
use conform_server::{hash_token, new_token, Role, TokenConfig};

use super::EXIT_OK;

/// Arguments of `conform token`.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The server's data directory.
    #[arg(
        long,
        global = true,
        env = "CONFORM_DATA",
        default_value = "target/conform-data"
    )]
    data: PathBuf,
    #[command(subcommand)]
    action: TokenAction,
}

#[derive(Debug, clap::Subcommand)]
enum TokenAction {
    /// Creates a token with its roles and prints it, once, on stdout.
    Create {
        /// A name for logs and ownership: letters, digits, `.`, `_`, `-`.
        #[arg(value_parser = token_name)]
        name: String,
        /// A role: uploader, provider, publisher, metrics or admin (repeat
        /// for several).
        #[arg(long = "role", required = true, value_parser = role)]
        roles: Vec<Role>,
    },
    /// Lists the tokens' names and roles (the tokens themselves are not kept).
    List,
    /// Revokes the token named NAME.
    Revoke {
        /// The token's name.
        name: String,
    },
}

fn token_name(text: &str) -> Result<String, String> {
    let fine = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if text.is_empty() || text.len() > 64 || !text.chars().all(fine) {
        return Err(
            "use 1 to 64 letters, digits, `.`, `_` or `-` (the name shows in logs and metrics)"
                .into(),
        );
    }
    Ok(text.to_string())
}

fn role(text: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).map_err(|_| {
        format!("`{text}` is no role: use uploader, provider, publisher, metrics or admin")
    })
}

/// Runs `conform token …`.
pub fn run(args: TokenArgs) -> Result<ExitCode> {
    let mut file = ConfigFile::open(&args.data)?;
    let config = conform_server::config::ServerConfig::load(&args.data)?;
    let shared = if config.storage.database_url.is_empty() {
        None
    } else {
        let data = conform_engine::DataDir::new(&args.data);
        conform_server::metadata::Metadata::open(&data, &config.storage)?.tokens
    };
    match args.action {
        TokenAction::Create { name, mut roles } => {
            roles.dedup();
            let token = new_token()?;
            let config = TokenConfig {
                name: name.clone(),
                sha256: hash_token(&token),
                roles,
            };
            match &shared {
                Some(shared) => {
                    if file.config()?.tokens.iter().any(|t| t.name == name)
                        || !shared.add(&config)?
                    {
                        anyhow::bail!("a token named `{name}` exists; revoke it first, or choose another name");
                    }
                }
                None => {
                    file.add_token(&config)?;
                    file.save()?;
                }
            }
            println!("{token}");
            eprintln!(
                "conform: token `{name}` created; it is shown only now. {}",
                when_in_force(&shared)
            );
        }
        TokenAction::List => {
            let mut tokens = file.config()?.tokens;
            if let Some(shared) = &shared {
                tokens.extend(shared.list()?);
            }
            for token in tokens {
                let roles: Vec<&str> = token.roles.iter().map(|r| r.as_str()).collect();
                println!("{}\t{}", token.name, roles.join(","));
            }
        }
        TokenAction::Revoke { name } => {
            let in_file = file.config()?.tokens.iter().any(|t| t.name == name);
            match &shared {
                Some(shared) if !in_file => revoke_shared(shared, &file, &name)?,
                _ => {
                    file.revoke_token(&name)?;
                    file.save()?;
                }
            }
            let edited = if in_file { &None } else { &shared };
            eprintln!(
                "conform: token `{name}` revoked; names it owns stay its name's. {}",
                when_in_force(edited)
            );
        }
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// When running servers see the change.
fn when_in_force(shared: &Option<conform_server::metadata::SharedTokens>) -> &'static str {
    match shared {
        Some(_) => "Every replica on the database sees the change within a few seconds.",
        None => "A running server sees the change within seconds (or at once on SIGHUP).",
    }
}

/// Revokes a token of the shared database, keeping the last admin token
/// of the file and the database together.
fn revoke_shared(
    shared: &conform_server::metadata::SharedTokens,
    file: &ConfigFile,
    name: &str,
) -> Result<()> {
    let listed = shared.list()?;
    let Some(token) = listed.iter().find(|t| t.name == name) else {
        anyhow::bail!("no token is named `{name}`; `conform token list` shows them");
    };
    let admins = file
        .config()?
        .tokens
        .iter()
        .chain(&listed)
        .filter(|t| t.roles.contains(&Role::Admin))
        .count();
    if token.roles.contains(&Role::Admin) && admins == 1 {
        anyhow::bail!("`{name}` is the last admin token; create another admin token first");
    }
    shared.revoke(name)?;
    Ok(())
}
