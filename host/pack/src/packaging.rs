//! Package codes: enterprises' packaging terms → the pack's codes.

use std::collections::BTreeMap;
use std::path::Path;

use conform_model::pack::PackagingTable;

use crate::service_error::{codes, ServiceError};
use crate::tables::matching::{key, Matching};

/// How packaging terms and codes are matched (contract 0.1.0).
const RULE: Matching = Matching::UnicodeLowercase;
use crate::PackError;

/// The checked packaging table.
#[derive(Debug, Clone)]
pub(crate) struct Packaging {
    /// term (its key under [`RULE`]) → code; codes map to themselves.
    terms: BTreeMap<String, String>,
    /// The codes and terms as the table writes them, for messages.
    known: Vec<String>,
}

impl Packaging {
    pub(crate) fn from_table(path: &Path, table: PackagingTable) -> Result<Packaging, PackError> {
        let mut terms: BTreeMap<String, String> = table
            .codes
            .keys()
            .map(|code| (key(RULE, code).into_owned(), code.clone()))
            .collect();
        for (term, code) in &table.terms {
            if !table.codes.contains_key(code) {
                return Err(PackError::table(
                    path,
                    format!("terms.{term}"),
                    format!("code `{code}` is not one of `codes`"),
                ));
            }
            terms.insert(key(RULE, term).into_owned(), code.clone());
        }
        let known = table
            .codes
            .keys()
            .chain(table.terms.keys())
            .cloned()
            .collect();
        Ok(Packaging { terms, known })
    }

    pub(crate) fn code(&self, term: &str) -> Result<String, ServiceError> {
        self.terms
            .get(key(RULE, term).as_ref())
            .cloned()
            .ok_or_else(|| {
                ServiceError::new(
                    codes::UNKNOWN_PACKAGE_TERM,
                    format!(
                        "packaging term `{term}` maps to no package code of the pack (known: {})",
                        self.known.join(", ")
                    ),
                )
            })
    }
}
