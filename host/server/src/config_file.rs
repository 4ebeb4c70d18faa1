//! Edits the tokens of a data directory's `conform.toml` in place, for
//! `conform token create|list|revoke`: everything else in the file (other
//! settings, comments, order) stays as the operator wrote it. A running
//! server picks the change up by itself (see
//! [`super::AppState::reload_tokens`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::config::{Role, ServerConfig, TokenConfig};

/// `conform.toml` of a data directory, open for editing.
pub struct ConfigFile {
    path: PathBuf,
    document: toml_edit::DocumentMut,
}

impl ConfigFile {
    /// Reads `conform.toml` of `data_dir`.
    pub fn open(data_dir: &Path) -> Result<ConfigFile> {
        let path = conform_engine::DataDir::new(data_dir).config_file();
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read `{}`: is this a data directory? `conform serve --data DIR` sets one up",
                path.display()
            )
        })?;
        let document = text
            .parse::<toml_edit::DocumentMut>()
            .with_context(|| format!("`{}` is not valid TOML", path.display()))?;
        Ok(ConfigFile { path, document })
    }

    /// The configuration as it stands, checked.
    pub fn config(&self) -> Result<ServerConfig> {
        let config: ServerConfig = toml::from_str(&self.document.to_string())
            .with_context(|| format!("`{}`", self.path.display()))?;
        config
            .check()
            .with_context(|| format!("`{}`", self.path.display()))?;
        Ok(config)
    }

    /// Adds a token (refused if its name is taken).
    pub fn add_token(&mut self, token: &TokenConfig) -> Result<()> {
        if self.config()?.tokens.iter().any(|t| t.name == token.name) {
            anyhow::bail!(
                "a token named `{}` exists; revoke it first, or choose another name",
                token.name
            );
        }
        let mut table = toml_edit::Table::new();
        table["name"] = toml_edit::value(token.name.as_str());
        table["sha256"] = toml_edit::value(token.sha256.as_str());
        let mut roles = toml_edit::Array::new();
        for role in &token.roles {
            roles.push(role.as_str());
        }
        table["roles"] = toml_edit::value(roles);
        let tokens = self
            .document
            .entry("tokens")
            .or_insert_with(|| toml_edit::Item::ArrayOfTables(Default::default()))
            .as_array_of_tables_mut()
            .context("`tokens` in conform.toml is not a list of [[tokens]] tables")?;
        tokens.push(table);
        self.config().map(drop)
    }

    /// Removes the token named `name`. The last admin token is kept: without
    /// it nobody could publish for the operator or give names away.
    pub fn revoke_token(&mut self, name: &str) -> Result<()> {
        let config = self.config()?;
        let token = config
            .tokens
            .iter()
            .find(|t| t.name == name)
            .with_context(|| {
                format!("no token is named `{name}`; `conform token list` shows them")
            })?;
        let admins = config
            .tokens
            .iter()
            .filter(|t| t.roles.contains(&Role::Admin))
            .count();
        if token.roles.contains(&Role::Admin) && admins == 1 {
            anyhow::bail!("`{name}` is the last admin token; create another admin token first");
        }
        let tokens = self
            .document
            .get_mut("tokens")
            .and_then(toml_edit::Item::as_array_of_tables_mut)
            .context("`tokens` in conform.toml is not a list of [[tokens]] tables")?;
        tokens.retain(|table| table.get("name").and_then(|n| n.as_str()) != Some(name));
        self.config().map(drop)
    }

    /// Writes the file back: a new file renamed over the old one (0600), so
    /// that a server reading it never sees half of it.
    pub fn save(&self) -> Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let folder = self.path.parent().unwrap_or(Path::new("."));
        let part = folder.join(".conform.toml.part");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&part)
            .with_context(|| format!("cannot write `{}`", part.display()))?;
        file.write_all(self.document.to_string().as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&part, &self.path)
            .with_context(|| format!("cannot replace `{}`", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_added_and_revoked_and_the_rest_of_the_file_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let original = format!(
            "# the operator's note\nlisten = \"127.0.0.1:9000\"\n\n[[tokens]]\nname = \"admin\"\nsha256 = \"{}\"\nroles = [\"admin\"]\n\n[limits]\njob_slots = 3 # tuned\n",
            "a".repeat(64)
        );
        std::fs::write(dir.path().join("conform.toml"), &original).unwrap();
        let mut file = ConfigFile::open(dir.path()).unwrap();
        let token = TokenConfig {
            name: "acme".into(),
            sha256: "b".repeat(64),
            roles: vec![Role::Uploader, Role::Provider],
        };
        file.add_token(&token).unwrap();
        assert!(file.add_token(&token).is_err(), "a name is unique");
        file.save().unwrap();
        let text = std::fs::read_to_string(dir.path().join("conform.toml")).unwrap();
        assert!(text.starts_with("# the operator's note\n"), "{text}");
        assert!(text.contains("job_slots = 3 # tuned"), "{text}");
        let config = ConfigFile::open(dir.path()).unwrap().config().unwrap();
        assert_eq!(config.tokens[1], token);

        let mut file = ConfigFile::open(dir.path()).unwrap();
        let last_admin = file.revoke_token("admin").unwrap_err().to_string();
        assert!(last_admin.contains("last admin"), "{last_admin}");
        assert!(file.revoke_token("nobody").is_err());
        file.revoke_token("acme").unwrap();
        file.save().unwrap();
        let config = ConfigFile::open(dir.path()).unwrap().config().unwrap();
        assert_eq!(config.tokens.len(), 1);
    }
}
