//! `conform pack new`: a pack folder that passes `conform pack check` and
//! shows each part a standards body fills in: one record type with its
//! schema, a unit catalogue giving a field its canonical unit, a code list
//! with names and terms, and a README saying what to edit. A starting
//! point, labelled as such; the pack guide (`standards/README.md`) has
//! every table kind.

use std::path::{Path, PathBuf};

use crate::AuthorError;

/// A new pack folder, `parent/id`, for publisher `publisher`; refuses a
/// folder that exists and is not empty, or an id the manifest refuses.
pub fn new_pack(parent: &Path, id: &str, publisher: &str) -> Result<PathBuf, AuthorError> {
    let id_ok = (1..=64).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !id_ok {
        return Err(AuthorError::Scaffold {
            message: format!(
                "pack id `{}` must be 1 to 64 lowercase letters, digits or `-`, starting with a letter",
                id.escape_debug()
            ),
        });
    }
    let dir = parent.join(id);
    if std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(AuthorError::Scaffold {
            message: format!(
                "`{}` exists and is not empty: choose another id or folder",
                dir.display()
            ),
        });
    }
    let manifest = manifest(id, publisher);
    conform_model::pack::PackManifest::from_toml(&manifest).map_err(|e| AuthorError::Scaffold {
        message: e.to_string(),
    })?;
    for (path, text) in [
        ("pack.toml", manifest.as_str()),
        ("schemas/item.schema.json", &schema(id)),
        ("rules/units.toml", UNITS),
        ("rules/packaging.toml", PACKAGING),
        ("README.md", &readme(id)),
    ] {
        crate::write_file(&dir.join(path), text)?;
    }
    Ok(dir)
}

fn manifest(id: &str, publisher: &str) -> String {
    format!(
        r#"# A pack made by `conform pack new`: edit the record types, schemas and
# tables, then `conform pack check .`. Published versions are immutable:
# publish a change as a new version.
id = "{id}"
version = "0.1.0"
publisher = {publisher}
description = "Records of the {id} standard."

[record_types]
item = "schemas/item.schema.json"

# The pack's tables, each of a generic kind (code-list, class-set,
# thresholds, scheme, unit-catalogue, term-levels, time-format).
[tables]
units = {{ kind = "unit-catalogue", file = "rules/units.toml" }}
packaging = {{ kind = "code-list", file = "rules/packaging.toml" }}
"#,
        publisher = toml::Value::String(publisher.into()),
    )
}

fn schema(id: &str) -> String {
    format!(
        r#"{{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "urn:{id}:0.1.0:item",
  "title": "item",
  "description": "An item as an enterprise declares it.",
  "type": "object",
  "additionalProperties": false,
  "required": ["item_no", "name", "mass_kg", "packaging"],
  "properties": {{
    "item_no": {{ "type": "string", "pattern": "^[A-Z0-9][A-Z0-9-]{{2,31}}$" }},
    "name": {{ "type": "string", "minLength": 1, "maxLength": 200 }},
    "mass_kg": {{ "type": "number", "exclusiveMinimum": 0 }},
    "packaging": {{ "enum": ["CT", "BG"] }}
  }}
}}
"#
    )
}

const UNITS: &str = r#"# Units beyond the built-in SI and imperial ones, each an exact multiple
# of a known unit.
[units]
"公斤" = { factor = "1", unit = "kg" }
"斤" = { factor = "0.5", unit = "kg" }

# The canonical unit and decimals of each quantity field: values are
# converted exactly, then rounded half to even once.
[fields.item]
mass_kg = { unit = "kg", decimals = 3 }
"#;

const PACKAGING: &str = r#"# Package codes and the terms enterprises write for them, in any case; a
# code stands for itself. Any other term is refused.
match = "unicode-lowercase"
code_is_term = true

[codes]
CT = "carton"
BG = "bag"

[terms]
"纸箱" = "CT"
"carton" = "CT"
"编织袋" = "BG"
"bag" = "BG"
"#;

fn readme(id: &str) -> String {
    format!(
        "# {id}\n\nA pack made by `conform pack new` as a starting point: one record type\n\
         (`item`), a unit catalogue and a code list. Replace them with the\n\
         standard's own, check with `conform pack check .`, and publish the\n\
         folder as a tar.gz to a server (`POST /v1/packs`, a publisher's token).\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_pack_loads() {
        let parent = tempfile::tempdir().unwrap();
        let dir = new_pack(parent.path(), "acme-standard", "Acme \"Standards\" Office").unwrap();
        let pack = conform_pack::Pack::check(&dir).unwrap_or_else(|errors| {
            panic!(
                "{}",
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        assert_eq!(pack.manifest().publisher, "Acme \"Standards\" Office");
        assert_eq!(pack.record_types().collect::<Vec<_>>(), ["item"]);
        let again = new_pack(parent.path(), "acme-standard", "x")
            .unwrap_err()
            .to_string();
        assert!(again.contains("exists and is not empty"), "{again}");
    }
}
