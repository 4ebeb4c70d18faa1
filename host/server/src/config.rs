//! The server's configuration (`conform.toml` in the data directory).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use conform_model::PluginLimits;
use serde::{Deserialize, Serialize};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Converts files and sees its own jobs.
    Uploader,
    /// Publishes plugins.
    Provider,
    /// Publishes packs.
    Publisher,
    /// Reads `/metrics`.
    Metrics,
    /// Everything.
    Admin,
}

impl Role {
    /// The role named `name` (`uploader` …), if there is one.
    pub fn parse(name: &str) -> Option<Role> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }

    /// The role's name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Uploader => "uploader",
            Role::Provider => "provider",
            Role::Publisher => "publisher",
            Role::Metrics => "metrics",
            Role::Admin => "admin",
        }
    }
}

/// One API token: its name, SHA-256 digest and roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// A name for logs and ownership (`acme-uploads`).
    pub name: String,
    /// Lowercase hex SHA-256 of the token.
    pub sha256: String,
    /// What it may do.
    pub roles: Vec<Role>,
}

impl TokenConfig {
    /// Checks what TOML cannot: the digest is 64 lowercase hex digits, the
    /// name is not the operator's, there is a role.
    pub fn check(&self) -> Result<(), String> {
        let hex = self.sha256.len() == 64
            && self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex {
            return Err("sha256 must be 64 lowercase hex digits, the SHA-256 of the token (`printf %s TOKEN | sha256sum`)".into());
        }
        if self.name.is_empty() || self.name == super::owners::OPERATOR {
            return Err(format!(
                "a token needs a name other than `{}`, which stands for the operator",
                super::owners::OPERATOR
            ));
        }
        if self.roles.is_empty() {
            return Err("give the token at least one role".into());
        }
        Ok(())
    }
}

/// Limits of the server. Each answers with a JSON error when hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerLimits {
    /// Largest upload to convert, in bytes (default 4 GiB): 413 `body-too-large`.
    pub max_body_bytes: u64,
    /// Streaming conversions running at once per token (default 4): 429
    /// `too-many-conversions`.
    pub concurrent_per_token: u32,
    /// Bulk jobs queued or running at once per token (default 16): 429
    /// `too-many-jobs`.
    pub jobs_per_token: u32,
    /// Rows one conversion or job takes (default 100 000 000); the file stops
    /// there with `rows-limit`.
    pub max_rows_per_job: u64,
    /// Seconds one conversion or job may run (default 3600); it stops there
    /// with `time-limit`.
    pub max_job_seconds: u64,
    /// Slowest accepted upload, in bytes per second averaged from the start
    /// (default 1024), after a grace period: 408 `upload-too-slow`.
    pub min_upload_bytes_per_second: u64,
    /// Seconds an upload may take before its speed is judged (default 30).
    pub upload_grace_seconds: u64,
    /// Seconds a client has to send a request's head (default 30); the
    /// connection is closed after that.
    pub header_read_seconds: u64,
    /// Largest plugin or pack upload, in bytes (default 64 MiB): 413.
    pub max_publish_bytes: u64,
    /// Largest unpacked size of a pack archive, in bytes (default 256 MiB):
    /// 413 `archive-too-large`.
    pub max_pack_unpacked_bytes: u64,
    /// Most files in a pack archive (default 10 000): 413 `archive-too-large`.
    pub max_pack_files: u32,
    /// Largest plugin component, in bytes (default 32 MiB): 422
    /// `plugin-too-complex`.
    pub max_component_bytes: u64,
    /// Seconds compiling one component may take (default 60): 422
    /// `plugin-too-complex`. Compiling runs in a child process.
    pub compile_seconds: u64,
    /// Data memory compiling one component may use, in MiB (default 2048):
    /// 422 `plugin-too-complex`.
    pub compile_memory_mib: u64,
    /// Data memory reading one workbook (.xlsx, .xls, .ods) may use, in
    /// MiB (default 1024); beyond it the file stops, refused. Reading runs
    /// in a child process.
    pub workbook_memory_mib: u64,
    /// CPU seconds reading one workbook may take (default 600).
    pub workbook_cpu_seconds: u64,
    /// Error-report lines of one code per file (default 1000); the rest are
    /// counted in a `report-truncated` line.
    pub max_report_lines_per_code: u64,
    /// Bulk jobs running at once (default 0: one per core).
    pub job_slots: u32,
    /// Jobs of one token running at once (default 0: one fewer than the
    /// slots, at least one), so that other tokens' jobs always find a slot.
    pub running_jobs_per_token: u32,
    /// Connections open at once (default 0: from the file-descriptor
    /// limit, which is raised to its hard limit at start); more wait in the
    /// kernel's backlog until one closes.
    pub max_connections: u32,
    /// Seconds a finished job (its row, upload and outputs) is kept
    /// (default 30 days); `DELETE /v1/jobs/{id}` deletes one at once.
    pub job_retention_seconds: u64,
    /// Free disk space, in bytes, an upload must leave (default 1 GiB):
    /// `507 insufficient-storage`, and `/readyz` answers 503 below it.
    pub min_free_disk_bytes: u64,
    /// Seconds an answer may go unread while the client sends nothing
    /// either (default 60); the connection is closed and its conversion
    /// stops.
    pub write_stall_seconds: u64,
    /// Seconds requests in flight get to finish after a shutdown signal
    /// (default 30); conversions still running then end with a
    /// `shutting-down` summary line.
    pub shutdown_seconds: u64,
    /// Memory for plugin instances of all conversions and jobs together, in
    /// MiB (default 0: half the machine's memory). A conversion reserves its
    /// instances' memory limit before it starts; when the rest is too small,
    /// a streaming conversion gets 503 `memory-busy` and a job waits.
    pub plugin_memory_mib: u64,
}

impl ServerLimits {
    /// Bulk jobs running at once: `job_slots`, or one per core.
    pub fn job_slots(&self) -> u32 {
        if self.job_slots > 0 {
            return self.job_slots;
        }
        std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
    }

    /// Jobs of one token running at once: `running_jobs_per_token`, or one
    /// fewer than the slots (at least one).
    pub fn running_jobs_per_token(&self) -> u32 {
        if self.running_jobs_per_token > 0 {
            return self.running_jobs_per_token;
        }
        self.job_slots().saturating_sub(1).max(1)
    }
}

/// The longest time any `*_seconds` limit may be: ten years (beyond, the
/// clock arithmetic would overflow).
const MAX_SECONDS: u64 = 10 * 365 * 24 * 3600;

impl ServerLimits {
    /// Checks the time limits: each at most [`MAX_SECONDS`], and those a
    /// zero would turn against every client (closing each connection at
    /// once, failing each compilation) at least one second.
    pub fn check(&self) -> anyhow::Result<()> {
        let times = [
            ("header_read_seconds", self.header_read_seconds, 1),
            ("write_stall_seconds", self.write_stall_seconds, 1),
            ("compile_seconds", self.compile_seconds, 1),
            ("max_job_seconds", self.max_job_seconds, 1),
            ("upload_grace_seconds", self.upload_grace_seconds, 0),
            ("shutdown_seconds", self.shutdown_seconds, 0),
            ("job_retention_seconds", self.job_retention_seconds, 0),
        ];
        for (name, value, least) in times {
            if value < least || value > MAX_SECONDS {
                anyhow::bail!("limits.{name} is {value}: use {least} to {MAX_SECONDS} seconds");
            }
        }
        Ok(())
    }
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_body_bytes: 4 << 30,
            concurrent_per_token: 4,
            jobs_per_token: 16,
            max_rows_per_job: 100_000_000,
            max_job_seconds: 3600,
            min_upload_bytes_per_second: 1024,
            upload_grace_seconds: 30,
            header_read_seconds: 30,
            max_publish_bytes: 64 << 20,
            max_pack_unpacked_bytes: 256 << 20,
            max_pack_files: 10_000,
            max_component_bytes: 32 << 20,
            compile_seconds: 60,
            compile_memory_mib: 2048,
            workbook_memory_mib: conform_engine::WORKBOOK_MEMORY_MIB,
            workbook_cpu_seconds: conform_engine::WORKBOOK_CPU_SECONDS,
            max_report_lines_per_code: conform_engine::pipeline::DEFAULT_REPORT_LINES_PER_CODE,
            job_slots: 0,
            running_jobs_per_token: 0,
            max_connections: 0,
            job_retention_seconds: 30 * 24 * 3600,
            min_free_disk_bytes: 1 << 30,
            write_stall_seconds: 60,
            shutdown_seconds: 30,
            plugin_memory_mib: 0,
        }
    }
}

/// Caps on what any plugin's manifest may ask for (`[plugin_limits]`); an
/// unset cap is the host's maximum ([`conform_engine::registry::HOST_MAX_LIMITS`]),
/// and no cap can exceed it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields, default)]
pub struct PluginCaps {
    /// Linear memory of one instance, in MiB (host maximum 512).
    pub memory_mib: Option<u32>,
    /// Wall time of one plugin call, in milliseconds (host maximum 30 000).
    pub batch_millis: Option<u32>,
    /// Bytes of output per input row (host maximum 1 MiB).
    pub output_bytes_per_record: Option<u32>,
    /// Records per input row (host maximum 1000).
    pub records_per_input: Option<u32>,
}

impl PluginCaps {
    /// The caps as limits, each at most the host's maximum.
    pub fn limits(&self) -> PluginLimits {
        let host = conform_engine::registry::HOST_MAX_LIMITS;
        PluginLimits {
            memory_mib: self.memory_mib.unwrap_or(host.memory_mib),
            batch_millis: self.batch_millis.unwrap_or(host.batch_millis),
            output_bytes_per_record: self
                .output_bytes_per_record
                .unwrap_or(host.output_bytes_per_record),
            records_per_input: self.records_per_input.unwrap_or(host.records_per_input),
        }
        .capped_by(host)
    }
}

/// The configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (default loopback only: `127.0.0.1:8080`).
    #[serde(default = "default_listen")]
    #[schemars(with = "String")]
    pub listen: SocketAddr,
    /// The pack store (`<id>/<version>/` folders), relative to the data directory.
    #[serde(default = "default_packs")]
    pub packs: PathBuf,
    /// The plugins' folder, relative to the data directory.
    #[serde(default = "default_plugins")]
    pub plugins: PathBuf,
    /// API tokens.
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// Limits.
    #[serde(default)]
    pub limits: ServerLimits,
    /// Caps on plugins' own limits.
    #[serde(default)]
    pub plugin_limits: PluginCaps,
    /// Where job records live: this server's SQLite file (the default) or
    /// a PostgreSQL database that replicas share.
    #[serde(default)]
    pub storage: StorageConfig,
}

/// Where a server keeps what its replicas share.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// The PostgreSQL database of the job records
    /// (`postgres://user:password@host:5432/conform`; every replica names
    /// the same one). Empty (the default): `jobs.sqlite` in the data
    /// directory, for one process. Better set by the environment
    /// (`CONFORM_STORAGE_DATABASE_URL`) than written here: it holds a
    /// password.
    pub database_url: String,
    /// Certificates (PEM) the database server's is checked against, beside
    /// the system's: for a server with a certificate of a private CA.
    /// TLS is used when the URL's `sslmode` is `prefer` (the default: TLS
    /// if the server offers it) or `require`; `sslmode=disable` turns it off.
    #[schemars(with = "String")]
    pub database_ca_file: std::path::PathBuf,
    /// The object store of the files replicas share (`s3://bucket/prefix`;
    /// its endpoint and credentials from `AWS_ENDPOINT`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, and `AWS_ALLOW_HTTP=true`
    /// for a plain-HTTP endpoint). Empty (the default): the data directory
    /// holds the only copy. Needs `database_url`: the database says which
    /// files exist.
    pub object_store_url: String,
    /// Seconds a replica's claim on a running job lasts unless renewed
    /// (default 30; renewed every third of it). A job whose replica died is
    /// taken up by another once this has passed.
    pub lease_seconds: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            database_url: String::new(),
            database_ca_file: std::path::PathBuf::new(),
            object_store_url: String::new(),
            lease_seconds: 30,
        }
    }
}

impl StorageConfig {
    /// Checks the lease's length and that the database URL reads.
    pub fn check(&self) -> anyhow::Result<()> {
        if !(3..=3600).contains(&self.lease_seconds) {
            anyhow::bail!(
                "storage.lease_seconds is {}: use 3 to 3600 seconds",
                self.lease_seconds
            );
        }
        if !self.object_store_url.is_empty() && self.database_url.is_empty() {
            anyhow::bail!("storage.object_store_url needs storage.database_url: replicas learn from the database which files the store holds");
        }
        if !self.database_url.is_empty() {
            // The error would repeat the URL, password and all: only its kind is told.
            self.database_url
                .parse::<postgres::Config>()
                .map_err(|_| anyhow::anyhow!("storage.database_url cannot be read: write it as postgres://user:password@host:5432/database"))?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for StorageConfig {
    /// The database URL is left out: it holds a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig")
            .field(
                "database_url",
                &if self.database_url.is_empty() {
                    "(SQLite in the data directory)"
                } else {
                    "(set)"
                },
            )
            .field("database_ca_file", &self.database_ca_file)
            .field("object_store_url", &self.object_store_url)
            .field("lease_seconds", &self.lease_seconds)
            .finish()
    }
}

/// The prefix of the environment variables that override `[limits]`.
pub const LIMITS_PREFIX: &str = "CONFORM_LIMITS_";
/// The prefix of the environment variables that override `[plugin_limits]`.
pub const PLUGIN_LIMITS_PREFIX: &str = "CONFORM_PLUGIN_LIMITS_";
/// The prefix of the environment variables that override `[storage]`.
pub const STORAGE_PREFIX: &str = "CONFORM_STORAGE_";

/// `section` with each of its fields named by a `PREFIX<FIELD>` variable
/// of `vars` set to that variable's value: its text for a text setting,
/// its whole number for the others.
fn override_section<T: Serialize + serde::de::DeserializeOwned>(
    section: &T,
    prefix: &str,
    vars: &[(String, String)],
) -> anyhow::Result<T> {
    let mut value = serde_json::to_value(section)?;
    let fields = value
        .as_object_mut()
        .expect("a settings section is a table");
    for (name, text) in vars.iter().filter(|(name, _)| name.starts_with(prefix)) {
        let field = name[prefix.len()..].to_ascii_lowercase();
        if !fields.contains_key(&field) {
            let known: Vec<String> = fields
                .keys()
                .map(|k| format!("{prefix}{}", k.to_ascii_uppercase()))
                .collect();
            anyhow::bail!("{name}: no such setting; these are: {}", known.join(", "));
        }
        if fields[&field].is_string() {
            fields.insert(field, text.trim().into());
            continue;
        }
        let number: u64 = text
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}=`{text}`: expected a whole number"))?;
        fields.insert(field, number.into());
    }
    serde_json::from_value(value).map_err(|e| anyhow::anyhow!("the {prefix}* variables: {e}"))
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_packs() -> PathBuf {
    PathBuf::from("packs")
}

fn default_plugins() -> PathBuf {
    PathBuf::from("plugins")
}

impl ServerConfig {
    /// Reads `conform.toml` of a data directory and checks it.
    pub fn load(data_dir: &Path) -> anyhow::Result<ServerConfig> {
        let path = conform_engine::DataDir::new(data_dir).config_file();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", path.display()))?;
        let mut config: ServerConfig =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?;
        // Only `CONFORM_*` names matter; other variables may be any bytes.
        config.apply_env(std::env::vars_os().filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            name.starts_with("CONFORM_")
                .then(|| (name, value.to_string_lossy().into_owned()))
        }))?;
        config
            .check()
            .map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?;
        Ok(config)
    }

    /// Overrides limits with the `CONFORM_LIMITS_<NAME>` variables of
    /// `vars` (`CONFORM_LIMITS_MAX_BODY_BYTES=…`), plugin caps with the
    /// `CONFORM_PLUGIN_LIMITS_<NAME>` ones and storage with the
    /// `CONFORM_STORAGE_<NAME>` ones; a variable naming no setting is
    /// an error, so that a misspelt one is not silently ignored.
    pub fn apply_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<()> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        self.limits = override_section(&self.limits, LIMITS_PREFIX, &vars)?;
        self.plugin_limits = override_section(&self.plugin_limits, PLUGIN_LIMITS_PREFIX, &vars)?;
        self.storage = override_section(&self.storage, STORAGE_PREFIX, &vars)?;
        Ok(())
    }

    /// Checks what TOML cannot: every token's digest is 64 lowercase hex
    /// digits, names are unique and not reserved, every token has a role.
    pub fn check(&self) -> anyhow::Result<()> {
        let mut names = std::collections::HashSet::new();
        for (i, token) in self.tokens.iter().enumerate() {
            let at = format!("tokens[{i}] (name `{}`)", token.name);
            token.check().map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
            if !names.insert(token.name.as_str()) {
                anyhow::bail!("{at}: another token has this name; names must be unique");
            }
        }
        self.limits.check()?;
        self.storage.check()?;
        let budget = self.limits.plugin_memory_mib;
        let instance = u64::from(self.plugin_limits.limits().memory_mib);
        if budget > 0 && budget < instance {
            anyhow::bail!("limits.plugin_memory_mib ({budget}) is below the memory one plugin instance may take (plugin_limits.memory_mib, {instance}): raise it, or lower plugin_limits.memory_mib");
        }
        Ok(())
    }

    /// The configuration of a fresh data directory: one admin token.
    pub fn fresh(admin_token_sha256: String) -> ServerConfig {
        ServerConfig {
            listen: default_listen(),
            packs: default_packs(),
            plugins: default_plugins(),
            tokens: vec![TokenConfig {
                name: "admin".into(),
                sha256: admin_token_sha256,
                roles: vec![Role::Admin],
            }],
            limits: ServerLimits::default(),
            plugin_limits: PluginCaps::default(),
            storage: StorageConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_variables_override_limits_and_a_misspelt_one_is_refused() {
        let mut config = ServerConfig::fresh("0".repeat(64));
        config
            .apply_env(vars(&[
                ("CONFORM_LIMITS_MAX_BODY_BYTES", "1000"),
                ("CONFORM_PLUGIN_LIMITS_MEMORY_MIB", "32"),
                ("CONFORM_LOG", "debug"),
            ]))
            .unwrap();
        assert_eq!(config.limits.max_body_bytes, 1000);
        assert_eq!(config.plugin_limits.memory_mib, Some(32));
        let misspelt = config
            .apply_env(vars(&[("CONFORM_LIMITS_MAX_BODDY_BYTES", "1")]))
            .unwrap_err()
            .to_string();
        assert!(
            misspelt.contains("CONFORM_LIMITS_MAX_BODY_BYTES"),
            "{misspelt}"
        );
        let word = config
            .apply_env(vars(&[("CONFORM_LIMITS_JOB_SLOTS", "many")]))
            .unwrap_err()
            .to_string();
        assert!(word.contains("whole number"), "{word}");
        config
            .apply_env(vars(&[("CONFORM_LIMITS_HEADER_READ_SECONDS", "0")]))
            .unwrap();
        let zero = config.check().unwrap_err().to_string();
        assert!(zero.contains("limits.header_read_seconds is 0"), "{zero}");
    }
}
