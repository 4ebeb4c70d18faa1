//! Reaching a Conform server from the authoring commands (`plugin publish`,
//! `plugin test --server`, `pack publish`, `pack fetch`): its address from
//! `--server` or `CONFORM_SERVER`, the token only from `CONFORM_TOKEN`
//! (never a command-line argument, which other users of the machine see).

use anyhow::Result;
use conform_author::server::Server;

/// The variable holding the token.
pub const TOKEN_VAR: &str = "CONFORM_TOKEN";

/// The server a command talks to.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// The server's address (`https://conform.example.org`); the token is
    /// read from the environment variable CONFORM_TOKEN.
    #[arg(long = "server", env = "CONFORM_SERVER", value_name = "URL")]
    pub url: Option<String>,
}

impl ServerArgs {
    /// The server, when an address was given.
    pub fn connect(&self) -> Result<Option<Server>> {
        self.url.as_deref().map(connect).transpose()
    }

    /// The server; an error saying how to name one when none was given.
    pub fn require(&self) -> Result<Server> {
        match &self.url {
            Some(url) => connect(url),
            None => anyhow::bail!(
                "no server: give --server URL (or set CONFORM_SERVER) and the token in {TOKEN_VAR}"
            ),
        }
    }
}

fn connect(url: &str) -> Result<Server> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        anyhow::bail!("--server `{url}` is not an http:// or https:// address");
    }
    let token = std::env::var(TOKEN_VAR).unwrap_or_default();
    let token = token.trim();
    if token.is_empty() {
        anyhow::bail!(
            "set {TOKEN_VAR} to your token for {url} (the server's operator makes one with `conform token create`)"
        );
    }
    Ok(Server::new(url, token))
}
