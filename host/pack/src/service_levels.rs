//! Service levels: a carrier's own term → the standard's level whose hours
//! equal the carrier's promise.

use std::collections::BTreeMap;
use std::path::Path;

use conform_model::pack::ServiceLevelTable;

use crate::service_error::{codes, ServiceError};
use crate::tables::matching::{key, Matching};

/// How carriers are matched (contract 0.1.0): as written.
const CARRIERS: Matching = Matching::Exact;
/// How service terms are matched (contract 0.1.0).
const TERMS: Matching = Matching::UnicodeLowercase;
use crate::PackError;

/// A resolved service level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The standard's level code (`SL48`).
    pub level: String,
    /// Hours within which delivery is promised.
    pub hours: u32,
}

/// The checked service level table.
#[derive(Debug, Clone)]
pub(crate) struct ServiceLevels {
    /// carrier → term (lowercased) → service
    carriers: BTreeMap<String, BTreeMap<String, Service>>,
}

impl ServiceLevels {
    pub(crate) fn from_table(
        path: &Path,
        table: ServiceLevelTable,
    ) -> Result<ServiceLevels, PackError> {
        let mut by_hours = BTreeMap::new();
        for (level, hours) in &table.levels {
            if by_hours.insert(*hours, level.clone()).is_some() {
                return Err(PackError::table(
                    path,
                    format!("levels.{level}"),
                    format!("two levels promise {hours} h"),
                ));
            }
        }
        let mut carriers = BTreeMap::new();
        for (carrier, terms) in &table.carriers {
            let mut resolved = BTreeMap::new();
            for (term, hours) in terms {
                let Some(level) = by_hours.get(hours) else {
                    return Err(PackError::table(
                        path,
                        format!("carriers.{carrier}.{term}"),
                        format!("{hours} h matches no service level of `levels`"),
                    ));
                };
                resolved.insert(
                    key(TERMS, term).into_owned(),
                    Service {
                        level: level.clone(),
                        hours: *hours,
                    },
                );
            }
            carriers.insert(key(CARRIERS, carrier).into_owned(), resolved);
        }
        Ok(ServiceLevels { carriers })
    }

    pub(crate) fn resolve(&self, carrier: &str, term: &str) -> Result<Service, ServiceError> {
        let Some(terms) = self.carriers.get(key(CARRIERS, carrier).as_ref()) else {
            return Err(ServiceError::new(
                codes::UNKNOWN_CARRIER,
                format!("carrier `{carrier}` has no service-level table in the pack"),
            ));
        };
        terms
            .get(key(TERMS, term).as_ref())
            .cloned()
            .ok_or_else(|| {
                let known: Vec<&str> = terms.keys().map(String::as_str).collect();
                ServiceError::new(
                    codes::UNKNOWN_SERVICE_TERM,
                    format!(
                        "`{term}` is not a service term of carrier `{carrier}` (known: {})",
                        known.join(", ")
                    ),
                )
            })
    }
}
