//! What a worker is handed: decoded rows with their place in the file.

use conform_model::RowFields;

use crate::bindings;

/// A decoded row to convert: its place in the file and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRecord {
    /// 1-based position among the file's rows.
    pub ordinal: u64,
    /// 1-based line on which the row starts.
    pub line: u64,
    /// A CSV row's cells, or a JSON object as text.
    pub fields: RowFields,
}

impl InputRecord {
    /// The row as contract 0.1.0 carries it: one JSON object as text.
    pub(crate) fn to_v0_1(&self) -> bindings::InputRecord {
        bindings::InputRecord {
            ordinal: self.ordinal,
            line: self.line,
            fields: self.fields.json().into_owned(),
        }
    }
}
