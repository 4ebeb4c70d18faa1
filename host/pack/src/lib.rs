//! Schema packs: the unified standard as data.
//!
//! A pack is a folder with a manifest (`pack.toml`), one JSON Schema per
//! record type and the rule tables. [`Pack::load`] reads it, compiles every
//! schema (formats asserted) and checks every table, so that an error in a
//! pack surfaces when it is published or loaded, naming the file and entry,
//! never halfway through a conversion.
//!
//! The [`Standard`] built from a pack serves the rules — unit conversion,
//! grading, service levels, package codes, times — once, for every plugin.
//!
//! This crate knows nothing of wasmtime or HTTP: it is the pack model and its
//! services as plain Rust.

mod class_pattern;
mod contract_v0_1;
mod error;
mod files;
mod flat_schema;
mod format1;
mod number;
mod record_json;
mod record_rules;
mod service_error;
pub mod tables;
mod tree;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use conform_model::PackManifest;

pub use contract_v0_1::{codes, Grade, Service, Standard};
pub use error::PackError;
pub use files::MAX_PACK_FILE_BYTES;
pub use record_json::parse_record;
pub use record_rules::{RecordRules, RuleViolation};
pub use service_error::ServiceError;
pub use tree::{written_as_its_float, Place, TreeJson, TreeNode, TreeParts, TreeRecord, TreeValue};
pub use validate::{RecordValidator, SchemaFields, Violation};

/// A loaded, checked schema pack.
pub struct Pack {
    manifest: PackManifest,
    dir: PathBuf,
    validators: BTreeMap<String, RecordValidator>,
    record_rules: RecordRules,
    standard: Arc<Standard>,
}

impl std::fmt::Debug for Pack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pack")
            .field("id", &self.manifest.id)
            .field("version", &self.manifest.version)
            .finish()
    }
}

impl Pack {
    /// Loads the pack in `dir`: reads the manifest, compiles every record
    /// type's schema and checks every rule table. Every problem found is
    /// reported, not only the first ([`PackError::Several`]).
    pub fn load(dir: impl AsRef<Path>) -> Result<Pack, PackError> {
        Pack::check(dir).map_err(|mut errors| {
            if errors.len() == 1 {
                errors.remove(0)
            } else {
                PackError::Several(errors)
            }
        })
    }

    /// Like [`Pack::load`], with every problem as its own entry: what a
    /// publisher is shown when a pack is refused.
    pub fn check(dir: impl AsRef<Path>) -> Result<Pack, Vec<PackError>> {
        let folder = files::PackFolder::open(dir.as_ref()).map_err(|e| vec![e])?;
        let dir = folder.dir().to_path_buf();
        let manifest_path = dir.join("pack.toml");
        let text = folder.read_path(&manifest_path).map_err(|e| vec![e])?;
        let manifest = PackManifest::from_toml(&text).map_err(|source| {
            vec![PackError::Manifest {
                path: manifest_path.clone(),
                source,
            }]
        })?;

        let mut errors = Vec::new();
        let mut validators = BTreeMap::new();
        for (record_type, file) in &manifest.record_types {
            let entry = format!("record_types.{record_type}");
            match folder
                .read(&entry, file)
                .and_then(|(path, text)| RecordValidator::load(&path, &text, record_type))
            {
                Ok(validator) => {
                    validators.insert(record_type.clone(), validator);
                }
                Err(e) => errors.push(e),
            }
        }

        let schemas_compiled = errors.is_empty();
        let (tables, v0_1, table_errors) = match &manifest.rules {
            Some(rules) => format1::load(&folder, rules),
            None => {
                let (tables, errors) = read_declared_tables(&folder, &manifest);
                let v0_1 = manifest.contract.get("0.1.0").cloned().unwrap_or_default();
                (tables, v0_1, errors)
            }
        };
        errors.extend(table_errors);
        let mut record_rules = RecordRules::default();
        if let (Some(file), true) = (&manifest.record_rules, schemas_compiled) {
            let read = folder.read("record_rules", file).and_then(|(path, text)| {
                let parsed = toml::from_str(&text).map_err(|source| PackError::RuleSyntax {
                    path: path.clone(),
                    source,
                })?;
                RecordRules::from_file(&path, parsed, &validators)
            });
            match read {
                Ok(rules) => record_rules = rules,
                Err(e) => errors.push(e),
            }
        }
        // Fields are checked against schemas that compiled; a broken schema
        // is reported once, not again for each of its fields.
        if schemas_compiled {
            for (_, table) in tables.iter() {
                if let tables::Table::Units(units) = table {
                    if let Err(e) = units.check_fields(&validators) {
                        errors.push(e);
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let standard = Standard::new(tables, v0_1, &manifest_path).map_err(|e| vec![e])?;
        let standard = Arc::new(standard);
        Ok(Pack {
            record_rules,
            manifest,
            dir,
            validators,
            standard,
        })
    }

    /// The pack's manifest.
    pub fn manifest(&self) -> &PackManifest {
        &self.manifest
    }

    /// The folder the pack was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records that the pack's folder was moved (renamed) to `dir`, as the
    /// pack store does when it installs a checked pack.
    pub fn moved_to(&mut self, dir: PathBuf) {
        self.dir = dir;
    }

    /// The pack's standard services.
    pub fn standard(&self) -> &Arc<Standard> {
        &self.standard
    }

    /// The validator of a record type, if the pack has it.
    pub fn validator(&self, record_type: &str) -> Option<&RecordValidator> {
        self.validators.get(record_type)
    }

    /// The validator of `record_type` when its valid records are written
    /// as the trees they came as ([`RecordValidator::write_tree`]): a type
    /// with no record rules (they read values) whose schema
    /// [writes trees](RecordValidator::writes_trees).
    pub fn tree_writer(&self, record_type: &str) -> Option<&RecordValidator> {
        self.validator(record_type)
            .filter(|v| v.writes_trees() && !self.record_rules.applies_to(record_type))
    }

    /// Every record rule of `record_type` that `record` (valid against its
    /// schema) breaks, in the order the pack states them.
    pub fn check_record_rules(
        &self,
        record_type: &str,
        record: &serde_json::Value,
    ) -> Vec<RuleViolation> {
        self.record_rules.check(record_type, record)
    }

    /// The record types of the pack, in name order.
    pub fn record_types(&self) -> impl Iterator<Item = &str> {
        self.validators.keys().map(String::as_str)
    }
}

/// Reads the files of the tables a format-2 manifest declares, and
/// builds them.
fn read_declared_tables(
    folder: &files::PackFolder,
    manifest: &PackManifest,
) -> (tables::Tables, Vec<PackError>) {
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for (name, declared) in &manifest.tables {
        match folder.read(&format!("tables.{name}"), &declared.file) {
            Ok((path, text)) => files.push(tables::load::TableFile {
                name: name.clone(),
                kind: declared.kind,
                path,
                text,
            }),
            Err(e) => errors.push(e),
        }
    }
    let (tables, load_errors) = tables::load::load(files);
    errors.extend(load_errors);
    (tables, errors)
}
