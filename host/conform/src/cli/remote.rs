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
    /// Send the token over plain http:// to a host other than this machine
    /// (only on a network you trust: anyone on the path can read it).
    #[arg(long)]
    pub allow_http: bool,
}

impl ServerArgs {
    /// The server, when an address was given.
    pub fn connect(&self) -> Result<Option<Server>> {
        self.url
            .as_deref()
            .map(|url| connect(url, self.allow_http))
            .transpose()
    }

    /// The server; an error saying how to name one when none was given.
    pub fn require(&self) -> Result<Server> {
        match &self.url {
            Some(url) => connect(url, self.allow_http),
            None => anyhow::bail!(
                "no server: give --server URL (or set CONFORM_SERVER) and the token in {TOKEN_VAR}"
            ),
        }
    }
}

/// Says what a server answered to a publication of a `kind` ("plugin",
/// "mapping"): its name and version, its pack range and the pack version
/// it runs against.
pub fn print_published(kind: &str, server: &Server, published: &serde_json::Value) {
    let shown = |key: &str| published[key].as_str().unwrap_or("?").to_string();
    println!(
        "published {kind} `{}` {} to {}: pack `{}` {}, runs against {}",
        shown("name"),
        shown("version"),
        server.url(),
        shown("pack"),
        shown("pack_versions"),
        published["runs_against"]
            .as_str()
            .unwrap_or("no pack version yet")
    );
}

fn connect(url: &str, allow_http: bool) -> Result<Server> {
    check_address(url, allow_http)?;
    let token = std::env::var(TOKEN_VAR).unwrap_or_default();
    let token = token.trim();
    if token.is_empty() {
        anyhow::bail!(
            "set {TOKEN_VAR} to your token for {url} (the server's operator makes one with `conform token create`)"
        );
    }
    Ok(Server::new(url, token))
}

/// An https:// address, or http:// to this machine (or anywhere, when
/// allowed): a token sent in clear can be read by anyone on the path.
fn check_address(url: &str, allow_http: bool) -> Result<()> {
    if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or_default();
        let host = match host.rsplit_once(':') {
            Some((name, _port)) if !host.ends_with(']') => name,
            _ => host,
        };
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        if !loopback && !allow_http {
            anyhow::bail!(
                "--server `{url}` is plain http://, which would send your token unencrypted: use https://, or --allow-http on a network you trust"
            );
        }
    } else if !url.starts_with("https://") {
        anyhow::bail!("--server `{url}` is not an https:// (or http://) address");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_address;

    #[test]
    fn a_token_goes_in_clear_only_to_this_machine_unless_allowed() {
        for ok in [
            "https://conform.example.org",
            "http://127.0.0.1:8080",
            "http://localhost/",
            "http://[::1]:9",
            "http://[::1]",
        ] {
            assert!(check_address(ok, false).is_ok(), "{ok}");
        }
        for refused in [
            "http://conform.corp",
            "http://10.0.0.5:8080/x",
            "http://localhost.evil.org",
        ] {
            let err = check_address(refused, false).unwrap_err().to_string();
            assert!(err.contains("--allow-http"), "{refused}: {err}");
            assert!(check_address(refused, true).is_ok(), "{refused}");
        }
        assert!(check_address("ftp://x", true).is_err());
        assert!(check_address("conform.example.org", true).is_err());
    }
}
