//! `conform plugin new`: a plugin project that builds and passes its own
//! test before anyone edits it: the SDK and the WIT inside it
//! ([`crate::sdk_files`]), a mapping of each field of the chosen record
//! type from the column of the same name, a sample export of one row, and
//! the records line that row must become (validated against the pack here,
//! so the expected output is the pack's word, not the scaffold's).

use std::path::{Path, PathBuf};

use conform_model::TextEncoding;
use serde_json::{Map, Value};

use crate::sample::{sample_fields, FieldKind, SampleField};
use crate::AuthorError;

/// The languages a plugin project can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Rust, on the SDK `conform-plugin-sdk`.
    Rust,
    /// Python, on the SDK `conform_plugin`, built with componentize-py.
    Python,
}

impl Language {
    /// The language of the project in `project`: a `Cargo.toml` is Rust,
    /// an `app.py` Python.
    pub fn of_project(project: &Path) -> Result<Language, AuthorError> {
        if project.join("Cargo.toml").is_file() {
            Ok(Language::Rust)
        } else if project.join("app.py").is_file() {
            Ok(Language::Python)
        } else {
            Err(AuthorError::Build {
                message: format!(
                    "`{}` has neither a Cargo.toml (Rust) nor an app.py (Python): point --project at a plugin project",
                    project.display()
                ),
            })
        }
    }
}

/// The format of the export a new plugin reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated, with a header row.
    Csv,
    /// Tab-separated, with a header row.
    Tsv,
    /// One JSON object per line.
    Ndjson,
    /// One JSON array of objects.
    Json,
}

impl ExportFormat {
    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Tsv => "tsv",
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::Json => "json",
        }
    }

    /// The line the sample export's one row starts on (after a header, or
    /// the array's `[`; first for NDJSON).
    fn sample_line(self) -> u64 {
        match self {
            ExportFormat::Ndjson => 1,
            ExportFormat::Csv | ExportFormat::Tsv | ExportFormat::Json => 2,
        }
    }

    /// The manifest's `[input.format…]` for it.
    fn manifest_section(self) -> &'static str {
        match self {
            ExportFormat::Csv => "[input.format.csv]\ndelimiter = \",\"\n",
            ExportFormat::Tsv => "[input.format.csv]\ndelimiter = \"\\t\"\n",
            ExportFormat::Ndjson => "format = \"ndjson\"\n",
            ExportFormat::Json => "format = \"json\"\n",
        }
    }
}

/// What `conform plugin new` is asked for.
#[derive(Debug, Clone)]
pub struct NewPlugin {
    /// The plugin's name (lowercase letters, digits, `-`): its folder's too.
    pub name: String,
    /// The folder the project's folder is made in.
    pub parent: PathBuf,
    /// The language.
    pub language: Language,
    /// The export's format.
    pub format: ExportFormat,
    /// The export's encoding.
    pub encoding: TextEncoding,
    /// The folder of the pack the plugin targets.
    pub pack: PathBuf,
    /// The record type it emits (default: the pack's first).
    pub record_type: Option<String>,
    /// Who provides it, for the manifest.
    pub provider: String,
}

/// The project made, and what the scaffold chose.
#[derive(Debug, Clone)]
pub struct Scaffolded {
    /// The project's folder.
    pub dir: PathBuf,
    /// The record type it emits.
    pub record_type: String,
    /// The files written, relative to `dir`.
    pub files: Vec<String>,
}

/// Makes the project `parent/name`; refuses a folder that exists and is
/// not empty, and anything the pack or the record type cannot give.
pub fn new_plugin(request: &NewPlugin) -> Result<Scaffolded, AuthorError> {
    check_name(&request.name)?;
    let pack = conform_pack::Pack::load(&request.pack).map_err(|e| AuthorError::Scaffold {
        message: format!(
            "the pack in `{}` does not load: {e}",
            request.pack.display()
        ),
    })?;
    let manifest = pack.manifest();
    let record_type = match &request.record_type {
        Some(t) if manifest.record_types.contains_key(t) => t.clone(),
        Some(t) => {
            return Err(AuthorError::Scaffold {
                message: format!(
                    "pack `{}` has no record type `{t}`; it has: {}",
                    manifest.id,
                    manifest
                        .record_types
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        }
        None => manifest
            .record_types
            .keys()
            .next()
            .cloned()
            .ok_or_else(|| AuthorError::Scaffold {
                message: format!("pack `{}` has no record types", manifest.id),
            })?,
    };
    if !is_plain_name(&record_type) {
        return Err(AuthorError::Scaffold {
            message: format!(
                "record type `{}` is not a plain name (letters, digits, `_`, `-`); the scaffold writes it into source and manifest, so map it by hand",
                record_type.escape_debug()
            ),
        });
    }
    let schema_path = pack.dir().join(&manifest.record_types[&record_type]);
    let schema: Value = serde_json::from_str(&crate::read_file(&schema_path)?).map_err(|e| {
        AuthorError::Scaffold {
            message: format!("`{}` is not JSON: {e}", schema_path.display()),
        }
    })?;
    let fields = sample_fields(&record_type, &schema)?;
    let dir = request.parent.join(&request.name);
    if std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(AuthorError::Scaffold {
            message: format!(
                "`{}` exists and is not empty: choose another name or folder",
                dir.display()
            ),
        });
    }
    let export = format!("{}-sample.{}", request.name, request.format.extension());
    let plugin_toml = plugin_manifest(request, &pack, &record_type);
    check_manifest(&plugin_toml)?;
    let record = sample_record(&fields);
    check_record(&pack, &record_type, &record)?;
    let expected = conform_engine::pipeline::output_line(
        &record_type,
        &record,
        &export,
        request.format.sample_line(),
    );

    let case = "tests/cases/sample";
    let mut files: Vec<(String, Vec<u8>)> = match request.language {
        Language::Rust => vec![
            (
                "Cargo.toml".into(),
                cargo_manifest(&request.name).into_bytes(),
            ),
            (
                "src/lib.rs".into(),
                mapping_source(request, &pack, &record_type, &fields).into_bytes(),
            ),
        ],
        Language::Python => vec![(
            "app.py".into(),
            crate::scaffold_python::mapping_source(request, &pack, &record_type, &fields)
                .into_bytes(),
        )],
    };
    files.extend([
        ("plugin.toml".into(), plugin_toml.into_bytes()),
        (".gitignore".into(), b"/target\n__pycache__/\n".to_vec()),
        (
            format!("{case}/case.toml"),
            format!("# The sample export and what it must become (`conform plugin test`).\ninput = \"{export}\"\n").into_bytes(),
        ),
        (format!("{case}/{export}"), sample_export(request.format, request.encoding, &fields)?),
        (format!("{case}/expected.ndjson"), format!("{expected}\n").into_bytes()),
        (format!("{case}/expected.errors.ndjson"), Vec::new()),
    ]);
    files.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, bytes) in &files {
        crate::write_bytes(&dir.join(path), bytes)?;
    }
    crate::sdk_files::write_sdk(&dir, request.language)?;
    Ok(Scaffolded {
        dir,
        record_type,
        files: files.into_iter().map(|(path, _)| path).collect(),
    })
}

/// Names cargo and Rust would refuse as a package, beside the manifest's rule.
const RESERVED_NAMES: [&str; 6] = [
    "test",
    "core",
    "std",
    "alloc",
    "proc-macro",
    "conform-plugin-sdk",
];

/// A plugin name usable as the manifest's name, a folder and a cargo
/// package: 1 to 64 lowercase letters, digits or `-`, starting with a
/// letter, not a name cargo reserves. Checked before anything is written.
fn check_name(name: &str) -> Result<(), AuthorError> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !RESERVED_NAMES.contains(&name);
    if ok {
        Ok(())
    } else {
        Err(AuthorError::Scaffold {
            message: format!(
                "plugin name `{}` must be 1 to 64 lowercase letters, digits or `-`, start with a letter, and not be one of {}",
                name.escape_debug(),
                RESERVED_NAMES.join(", ")
            ),
        })
    }
}

/// Letters, digits, `_` or `-`: safe in a path, a manifest and a comment.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `text` as a TOML basic string, escaped.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.into()).to_string()
}

/// The project's `Cargo.toml`: a workspace of its own, built small and fast.
fn cargo_manifest(name: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
conform-plugin-sdk = {{ path = "{vendor}/sdk" }}

# A project of its own, even inside another workspace's folder.
[workspace]

# `conform plugin build` builds this profile.
[profile.release]
opt-level = 3
lto = true
codegen-units = 1
strip = true
panic = "abort"
"#,
        vendor = crate::sdk_files::VENDOR_DIR
    )
}

/// The plugin's source manifest (`conform plugin build` adds `[component]`).
fn plugin_manifest(request: &NewPlugin, pack: &conform_pack::Pack, record_type: &str) -> String {
    let manifest = pack.manifest();
    let version = &manifest.version;
    let encoding = match request.encoding {
        TextEncoding::Utf8 => "utf-8",
        TextEncoding::Gb18030 => "gb18030",
        TextEncoding::Gbk => "gbk",
    };
    format!(
        r#"# The plugin's manifest; `conform plugin build` writes it beside the
# component with `[component]` (file and digest) filled in.
name = "{name}"
version = "0.1.0"
provider = {provider}
description = {description}

[input]
encoding = "{encoding}"
# The file names this plugin claims when a folder is converted.
files = ["{name}*.{extension}"]
{format}
[target]
pack = {pack}
versions = "^{major}.{minor}"
record_types = [{record_type}]
"#,
        name = request.name,
        provider = toml_string(&request.provider),
        description = toml_string(&format!(
            "Converts {} exports into `{record_type}` records of pack `{}`.",
            request.name, manifest.id
        )),
        pack = toml_string(&manifest.id),
        record_type = toml_string(record_type),
        extension = request.format.extension(),
        format = request.format.manifest_section(),
        major = version.major,
        minor = version.minor,
    )
}

/// The name, format and target of the manifest, checked as a build will
/// (with a placeholder `[component]`, which the build fills in).
fn check_manifest(source: &str) -> Result<conform_model::PluginManifest, AuthorError> {
    let refused = |message: String| AuthorError::Scaffold { message };
    let with_component =
        crate::build::with_component(source, "plugin.wasm", &"0".repeat(64)).map_err(refused)?;
    conform_model::PluginManifest::from_toml(&with_component).map_err(|e| refused(e.to_string()))
}

/// The record the sample row becomes.
fn sample_record(fields: &[SampleField]) -> Value {
    let members: Map<String, Value> = fields
        .iter()
        .map(|f| (f.name.clone(), f.value.clone()))
        .collect();
    Value::Object(members)
}

fn check_record(
    pack: &conform_pack::Pack,
    record_type: &str,
    record: &Value,
) -> Result<(), AuthorError> {
    let broken = |why: String| {
        AuthorError::Scaffold {
        message: format!(
            "the scaffold could not make up a `{record_type}` record the pack accepts ({why}); scaffold another record type and map this one by hand"
        ),
    }
    };
    let validator = pack
        .validator(record_type)
        .ok_or_else(|| broken("no schema".into()))?;
    validator.validate(record).map_err(|violations| {
        broken(
            violations
                .iter()
                .map(|v| format!("{}: {}", v.instance_path, v.message))
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    match pack.check_record_rules(record_type, record).first() {
        Some(rule) => Err(broken(format!("{}: {}", rule.array, rule.error.message))),
        None => Ok(()),
    }
}

/// The sample export: a header (or keys) and one row, in the encoding.
fn sample_export(
    format: ExportFormat,
    encoding: TextEncoding,
    fields: &[SampleField],
) -> Result<Vec<u8>, AuthorError> {
    let text = match format {
        ExportFormat::Csv | ExportFormat::Tsv => {
            let delimiter = if format == ExportFormat::Csv {
                b','
            } else {
                b'\t'
            };
            let mut writer = csv::WriterBuilder::new()
                .delimiter(delimiter)
                .from_writer(Vec::new());
            let io = |e: csv::Error| AuthorError::Scaffold {
                message: format!("writing the sample export: {e}"),
            };
            writer
                .write_record(fields.iter().map(|f| f.name.as_str()))
                .map_err(io)?;
            writer
                .write_record(fields.iter().map(SampleField::cell))
                .map_err(io)?;
            String::from_utf8(writer.into_inner().map_err(|e| AuthorError::Scaffold {
                message: format!("writing the sample export: {e}"),
            })?)
            .expect("the fields are UTF-8")
        }
        ExportFormat::Ndjson => format!("{}\n", sample_object(fields)),
        ExportFormat::Json => format!("[\n  {}\n]\n", sample_object(fields)),
    };
    Ok(match encoding {
        TextEncoding::Utf8 => text.into_bytes(),
        TextEncoding::Gb18030 | TextEncoding::Gbk => {
            encoding_rs::GB18030.encode(&text).0.into_owned()
        }
    })
}

/// The sample row as a JSON object: every value as text, as an export
/// of strings gives it (the mapping reads text either way).
fn sample_object(fields: &[SampleField]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|f| (f.name.clone(), Value::String(f.cell())))
            .collect(),
    )
}

/// The mapping's Rust source.
fn mapping_source(
    request: &NewPlugin,
    pack: &conform_pack::Pack,
    record_type: &str,
    fields: &[SampleField],
) -> String {
    let type_name = type_name(&request.name);
    let variables = variable_names(fields, &TAKEN);
    let mut reads = String::new();
    let mut writes = String::new();
    let mut optional = String::new();
    for (field, variable) in fields.iter().zip(&variables) {
        // Debug-formatting a str writes a valid Rust literal, escapes and all.
        let name = format!("{:?}", field.name);
        let read = match field.kind {
            FieldKind::Text | FieldKind::Decimal => format!("row.text({name})"),
            FieldKind::Integer => format!("row.count({name})"),
            FieldKind::Boolean => format!("row.text({name}).and_then(|v| boolean(v, {name}))"),
        };
        let write = field.kind.record_method();
        if field.required {
            reads.push_str(&format!("        let {variable} = checks.take({read});\n"));
            writes.push_str(&format!(
                "            .{write}({name}, {variable}.unwrap_or_default())\n"
            ));
        } else {
            // Absent is fine; present but wrong is a problem of the row.
            reads.push_str(&format!(
                "        let {variable} = match {read} {{\n            Err(problem) if problem.code == \"missing-field\" => None,\n            other => checks.take(other),\n        }};\n"
            ));
            optional.push_str(&format!(
                "        if let Some(value) = {variable} {{\n            record.{write}({name}, value);\n        }}\n"
            ));
        }
    }
    let writes = match writes.trim_end_matches('\n') {
        "" => String::new(),
        chain => format!("        record\n{chain};\n"),
    };
    let needs_boolean = fields.iter().any(|f| f.kind == FieldKind::Boolean);
    let boolean_helper = if needs_boolean {
        "\n/// `true` or `false`, else a `wrong-type` problem at `column`.\nfn boolean(value: &str, column: &str) -> Result<bool, Problem> {\n    value.parse().map_err(|_| {\n        Problem::new(\"wrong-type\", format!(\"`{value}` is not `true` or `false`\")).at(column)\n    })\n}\n"
    } else {
        ""
    };
    let problem_import = if needs_boolean { "Problem, " } else { "" };
    let record_binding = format!("        let mut record = Record::new({record_type:?});\n");
    format!(
        r#"//! `{name}`: {name} exports into `{record_type}` records of pack `{pack}`.
//!
//! Written by `conform plugin new`: each field is read from the column of
//! the same name. Rename the columns to your export's, convert units and
//! codes with the pack's tables (`conform_plugin_sdk::tables`), then run
//! `conform plugin test` (and `--bless` once the output is what you want).

use conform_plugin_sdk::{{export_plugin, Checks, Cx, Plugin, {problem_import}Record, Records, Rejected, Row}};

/// The mapping.
pub struct {type_name};

impl Plugin for {type_name} {{
    fn convert(row: &Row<'_>, _cx: &mut Cx) -> Result<Records, Rejected> {{
        // Every problem of the row is collected before it is rejected.
        let mut checks = Checks::default();
{reads}        checks.finish()?;

{record_binding}{writes}{optional}        Ok(Records::one(record))
    }}
}}
{boolean_helper}
export_plugin!({type_name});
"#,
        name = request.name,
        pack = pack.manifest().id,
    )
}

/// `my-plugin` → `MyPlugin`.
pub(crate) fn type_name(name: &str) -> String {
    let mut out = String::new();
    for part in name.split('-').filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, "Plugin");
    }
    out
}

/// Rust keywords (strict and reserved) and the names the generated code
/// uses itself.
const TAKEN: [&str; 55] = [
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv",
    "typeof", "unsized", "virtual", "yield", "try", "gen", "row", "checks", "record", "value",
];

/// A variable for each field: its name when that is a plain lowercase
/// identifier and not in `taken` (the language's keywords, the names the
/// generated code uses), else `field_N`; every one distinct.
pub(crate) fn variable_names(fields: &[SampleField], taken: &[&str]) -> Vec<String> {
    let plain = |name: &str| {
        name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !taken.contains(&name)
    };
    let mut used: Vec<String> = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let mut variable = if plain(&field.name) {
            field.name.clone()
        } else {
            format!("field_{index}")
        };
        while used.contains(&variable) {
            variable.push('_');
        }
        used.push(variable);
    }
    used
}

/// Where a scaffolded project keeps its sample case.
pub fn cases_dir(project: &Path) -> PathBuf {
    project.join("tests/cases")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, required: bool) -> SampleField {
        SampleField {
            name: name.into(),
            kind: FieldKind::Text,
            required,
            value: Value::String("x".into()),
        }
    }

    #[test]
    fn names_are_checked_before_anything_is_made_of_them() {
        for bad in [
            "9lives",
            "test",
            "conform-plugin-sdk",
            "../x",
            "Acme",
            "a b",
            "",
        ] {
            let refused = check_name(bad).unwrap_err().to_string();
            assert!(
                refused.contains("must be 1 to 64 lowercase"),
                "{bad}: {refused}"
            );
        }
        check_name("acme-parts-2").unwrap();
        assert!(
            !is_plain_name("it\u{8}em") && !is_plain_name("a\"b") && is_plain_name("fabric_roll")
        );
    }

    #[test]
    fn field_names_become_distinct_variables_and_escaped_literals() {
        let fields = [
            field("for", true),
            field("field_0", true),
            field("a\"b\n}", true),
            field("值", false),
            field("value", true),
        ];
        let variables = variable_names(&fields, &TAKEN);
        assert_eq!(
            variables,
            ["field_0", "field_0_", "field_2", "field_3", "field_4"]
        );
        let request = NewPlugin {
            name: "p".into(),
            parent: PathBuf::new(),
            language: Language::Rust,
            format: ExportFormat::Csv,
            encoding: TextEncoding::Utf8,
            pack: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../standards/sample-regional"),
            record_type: None,
            provider: "p".into(),
        };
        let pack = conform_pack::Pack::load(&request.pack).unwrap();
        let source = mapping_source(&request, &pack, "part", &fields);
        assert!(source.contains(r#"row.text("a\"b\n}")"#), "{source}");
        assert!(
            source.contains(r#"Err(problem) if problem.code == "missing-field" => None"#),
            "{source}"
        );
        assert!(!source.contains("let for "), "{source}");
    }

    #[test]
    fn every_format_and_encoding_makes_a_project_whose_manifest_loads() {
        let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../standards/sample-regional");
        let parent = tempfile::tempdir().unwrap();
        let formats = [
            ExportFormat::Csv,
            ExportFormat::Tsv,
            ExportFormat::Ndjson,
            ExportFormat::Json,
        ];
        for (i, format) in formats.into_iter().enumerate() {
            let encoding = [TextEncoding::Utf8, TextEncoding::Gb18030][i % 2];
            let made = new_plugin(&NewPlugin {
                name: format!("p{i}"),
                parent: parent.path().to_path_buf(),
                language: Language::Rust,
                format,
                encoding,
                pack: pack.clone(),
                record_type: Some("shipment".into()),
                provider: "test".into(),
            })
            .unwrap_or_else(|e| panic!("{format:?}: {e}"));
            let manifest = std::fs::read_to_string(made.dir.join("plugin.toml")).unwrap();
            let parsed = check_manifest(&manifest).unwrap();
            assert_eq!(parsed.input.encoding, encoding, "{format:?}");
            let export = std::fs::read(made.dir.join(format!(
                "tests/cases/sample/p{i}-sample.{}",
                format.extension()
            )))
            .unwrap();
            assert!(!export.is_empty());
        }
    }
}
