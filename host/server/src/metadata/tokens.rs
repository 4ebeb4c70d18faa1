//! API tokens in the database replicas share (`conform_tokens`): created,
//! listed and revoked by `conform token` on any machine that names the
//! database, and in force on every replica within seconds. Only SHA-256
//! digests are kept, as in `conform.toml`.

use std::sync::Arc;

use super::database::Database;
use super::{TableError, TableResult};
use crate::config::{Role, TokenConfig};

/// The tokens table in the shared database.
pub struct SharedTokens {
    database: Arc<Database>,
}

impl SharedTokens {
    pub(crate) fn new(database: Arc<Database>) -> SharedTokens {
        SharedTokens { database }
    }

    /// Every token, by name; a row that fails [`TokenConfig::check`]
    /// (written by hand) is left out, with a warning.
    pub fn list(&self) -> TableResult<Vec<TokenConfig>> {
        self.database.run(|c| {
            let rows = c.query(
                "SELECT name, sha256, roles FROM conform_tokens ORDER BY name",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|row| TokenConfig {
                    name: row.get(0),
                    sha256: row.get(1),
                    roles: row
                        .get::<_, Vec<String>>(2)
                        .iter()
                        .filter_map(|r| Role::parse(r))
                        .collect(),
                })
                .filter(|token: &TokenConfig| match token.check() {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(token = %token.name, "a shared token is not in force: {e}");
                        false
                    }
                })
                .collect())
        })
    }

    /// Adds a token (refused, as in `conform.toml`, if it fails
    /// [`TokenConfig::check`]); false if one of that name exists.
    pub fn add(&self, token: &TokenConfig) -> TableResult<bool> {
        token.check().map_err(TableError::Refused)?;
        let (name, sha256) = (token.name.clone(), token.sha256.clone());
        let roles: Vec<String> = token.roles.iter().map(|r| r.as_str().to_string()).collect();
        self.database.run(move |c| {
            c.execute(
                "INSERT INTO conform_tokens (name, sha256, roles) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO NOTHING",
                &[&name, &sha256, &roles],
            )
            .map(|added| added == 1)
        })
    }

    /// Removes the token named `name`; whether there was one.
    pub fn revoke(&self, name: &str) -> TableResult<bool> {
        let name = name.to_string();
        self.database.run(move |c| {
            c.execute("DELETE FROM conform_tokens WHERE name = $1", &[&name])
                .map(|removed| removed == 1)
        })
    }
}
