//! Service levels, format 1: a carrier's own term → the standard's level
//! whose hours equal the carrier's promise. The format-1 table is read as a
//! term-levels table scoped by carrier (carriers as written, terms in any
//! case), worded as contract 0.1.0 worded its refusals.

use std::collections::BTreeMap;
use std::path::Path;

use conform_model::pack::{ErrorWording, Matching, TermLevelsTable, TermScope};
use conform_model::pack_format1::ServiceLevelTable;

use crate::contract_v0_1::codes;
use crate::tables::term_levels::TermLevels;
use crate::tables::{Table, Tables};
use crate::PackError;

/// The term-levels table a format-1 service-level table is read as.
pub(crate) const NAME: &str = "service-levels";

/// Reads a format-1 service-level table into `tables`, as term levels
/// scoped by carrier.
pub(crate) fn add(
    path: &Path,
    table: ServiceLevelTable,
    tables: &mut Tables,
) -> Result<(), PackError> {
    // Checked here first, so that a problem names the entry of this
    // file, not of the table it is read as.
    let promised: std::collections::BTreeSet<u32> = table.levels.values().copied().collect();
    for (carrier, terms) in &table.carriers {
        for (term, hours) in terms {
            if !promised.contains(hours) {
                return Err(PackError::table(
                    path,
                    format!("carriers.{carrier}.{term}"),
                    format!("{hours} h matches no service level of `levels`"),
                ));
            }
        }
    }
    let wording = |code: &str, message: &str| ErrorWording {
        code: Some(code.to_string()),
        message: Some(message.to_string()),
    };
    let levels = TermLevelsTable {
        matching: Matching::UnicodeLowercase,
        scope_match: Some(Matching::Exact),
        scope_required: true,
        levels: table.levels,
        terms: BTreeMap::new(),
        scopes: table
            .carriers
            .into_iter()
            .map(|(carrier, terms)| {
                let scope = TermScope {
                    names: Vec::new(),
                    terms,
                };
                (carrier, scope)
            })
            .collect(),
        errors: BTreeMap::from([
            (
                "unknown-scope".to_string(),
                wording(
                    codes::UNKNOWN_CARRIER,
                    "carrier `{scope}` has no service-level table in the pack",
                ),
            ),
            (
                "scope-required".to_string(),
                wording(
                    codes::UNKNOWN_CARRIER,
                    "service term `{term}` names no carrier",
                ),
            ),
            (
                "unknown-term".to_string(),
                wording(
                    codes::UNKNOWN_SERVICE_TERM,
                    "`{term}` is not a service term of carrier `{scope}` (known: {known})",
                ),
            ),
        ]),
    };
    tables.insert(NAME, Table::from(TermLevels::from_table(path, levels)?));
    Ok(())
}
