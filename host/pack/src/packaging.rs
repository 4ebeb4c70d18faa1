//! Package codes: enterprises' packaging terms → the pack's codes.

use std::collections::BTreeMap;
use std::path::Path;

use conform_model::pack::PackagingTable;

use crate::service_error::{codes, ServiceError};
use crate::PackError;

/// The checked packaging table.
#[derive(Debug, Clone)]
pub(crate) struct Packaging {
    /// term (lowercased) → code; codes map to themselves.
    terms: BTreeMap<String, String>,
    /// The codes and terms as the table writes them, for messages.
    known: Vec<String>,
}

impl Packaging {
    pub(crate) fn from_table(path: &Path, table: PackagingTable) -> Result<Packaging, PackError> {
        let mut terms: BTreeMap<String, String> = table
            .codes
            .keys()
            .map(|code| (code.to_lowercase(), code.clone()))
            .collect();
        for (term, code) in &table.terms {
            if !table.codes.contains_key(code) {
                return Err(PackError::table(
                    path,
                    format!("terms.{term}"),
                    format!("code `{code}` is not one of `codes`"),
                ));
            }
            terms.insert(term.to_lowercase(), code.clone());
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
            .get(&term.trim().to_lowercase())
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
