//! Package codes: enterprises' packaging terms → the pack's codes. The
//! format-1 table is read as a code list whose codes stand for themselves,
//! matched as contract 0.1.0 matched them, worded as 0.1.0 worded them.

use std::collections::BTreeMap;
use std::path::Path;

use conform_model::pack::{CodeEntry, CodeListTable, ErrorWording, Matching};
use conform_model::pack_format1::PackagingTable;

use crate::contract_v0_1::codes;
use crate::tables::code_list::CodeList;
use crate::tables::{Table, Tables};
use crate::PackError;

/// The code list a format-1 packaging table is read as.
pub(crate) const NAME: &str = "packaging";

/// Reads a format-1 packaging table into `tables`, as a code list.
pub(crate) fn add(
    path: &Path,
    table: PackagingTable,
    tables: &mut Tables,
) -> Result<(), PackError> {
    let unknown_term = ErrorWording {
        code: Some(codes::UNKNOWN_PACKAGE_TERM.to_string()),
        message: Some(
            "packaging term `{term}` maps to no package code of the pack (known: {known})"
                .to_string(),
        ),
    };
    let list = CodeListTable {
        matching: Matching::UnicodeLowercase,
        code_is_term: true,
        codes_from: None,
        scope_match: None,
        scope_required: false,
        codes: table
            .codes
            .into_iter()
            .map(|(code, label)| (code, CodeEntry::Label(label)))
            .collect(),
        terms: table.terms,
        scopes: BTreeMap::new(),
        errors: BTreeMap::from([("unknown-term".to_string(), unknown_term)]),
    };
    tables.insert(NAME, Table::from(CodeList::from_table(path, list)?));
    Ok(())
}
