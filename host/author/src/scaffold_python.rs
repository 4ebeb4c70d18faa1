//! The Python mapping `conform plugin new --lang python` writes: each field
//! of the record type read from the column of the same name, on the
//! Python SDK (`conform_plugin`), as the Rust scaffold does.

use crate::sample::{FieldKind, SampleField};
use crate::scaffold::NewPlugin;

/// Python keywords (hard and soft) and the names the generated code uses.
const TAKEN: [&str; 45] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield", "match", "case", "type", "_", "row", "cx", "checks", "record", "self",
    "boolean",
];

/// The names `app.py` imports from the SDK.
const IMPORTED: [&str; 6] = [
    "Checks",
    "Plugin",
    "Problem",
    "Record",
    "Records",
    "converter",
];

/// The mapping's Python source (`app.py`).
pub(crate) fn mapping_source(
    request: &NewPlugin,
    pack: &conform_pack::Pack,
    record_type: &str,
    fields: &[SampleField],
) -> String {
    let mut class = crate::scaffold::type_name(&request.name);
    // Not a name the module imports (`checks` would make `class Checks`).
    if IMPORTED.contains(&class.as_str()) {
        class.push_str("Plugin");
    }
    let variables = crate::scaffold::variable_names(fields, &TAKEN);
    let (mut reads, mut writes, mut optional) = (String::new(), String::new(), String::new());
    for (field, variable) in fields.iter().zip(&variables) {
        // A JSON string literal is a Python one, escapes and all.
        let name = serde_json::to_string(&field.name).expect("a string");
        let read = match field.kind {
            FieldKind::Text | FieldKind::Decimal => format!("row.text, {name}"),
            FieldKind::Integer => format!("row.count, {name}"),
            FieldKind::Boolean => format!("lambda: boolean(row.text({name}), {name})"),
        };
        let write = field.kind.record_method();
        if field.required {
            reads.push_str(&format!("        {variable} = checks.take({read})\n"));
            writes.push_str(&format!("        record.{write}({name}, {variable})\n"));
        } else {
            // Absent is fine; present but wrong is a problem of the row.
            reads.push_str(&format!("        {variable} = checks.optional({read})\n"));
            optional.push_str(&format!(
                "        if {variable} is not None:\n            record.{write}({name}, {variable})\n"
            ));
        }
    }
    let needs_boolean = fields.iter().any(|f| f.kind == FieldKind::Boolean);
    let boolean_helper = if needs_boolean {
        "\n\ndef boolean(value, column):\n    \"\"\"`true` or `false`, else a `wrong-type` problem at `column`.\"\"\"\n    if value in (\"true\", \"false\"):\n        return value == \"true\"\n    raise Problem(\"wrong-type\", f\"`{value}` is not `true` or `false`\", at=column)\n"
    } else {
        ""
    };
    let record_type = serde_json::to_string(record_type).expect("a string");
    let pack = pack.manifest().id.as_str();
    let name = &request.name;
    format!(
        r#""""`{name}`: {name} exports into {record_type} records of pack `{pack}`.

Written by `conform plugin new`: each field is read from the column of the
same name. Rename the columns to your export's, convert units and codes with
the pack's tables (`conform_plugin.tables`), then run `conform plugin test`
(and `--bless` once the output is what you want).
"""

from conform_plugin import Checks, Plugin, Problem, Record, Records, converter


class {class}(Plugin):
    """The mapping."""

    def convert(self, row, cx):
        # Every problem of the row is collected before it is rejected.
        checks = Checks()
{reads}        checks.finish()

        record = Record({record_type})
{writes}{optional}        return Records.one(record)
{boolean_helper}

# What componentize-py exports: the plugin, run over each batch.
WitWorld = converter({class}())
"#
    )
}
