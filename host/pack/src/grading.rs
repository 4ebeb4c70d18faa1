//! Grading: the standard's class of a lot is the lower of the crosswalk of its
//! source grade and the class of its minimum fruit diameter.

use std::collections::BTreeMap;
use std::path::Path;

use conform_model::pack::GradingTable;
use rust_decimal::Decimal;

use crate::number::parse_decimal;
use crate::service_error::{codes, ServiceError};
use crate::tables::matching::{key, Matching};

/// How grading systems are matched by id or name (contract 0.1.0).
const SYSTEMS: Matching = Matching::UnicodeLowercase;
/// How a system's grades are matched (contract 0.1.0): as written.
const GRADES: Matching = Matching::Exact;
use crate::PackError;

/// A lot's grade in the standard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grade {
    /// The standard's class.
    pub class: String,
    /// The pack's id of the source grading system.
    pub system: String,
}

#[derive(Debug, Clone)]
struct System {
    id: String,
    crosswalk: BTreeMap<String, usize>,
}

/// The checked grading table.
#[derive(Debug, Clone)]
pub(crate) struct Grading {
    classes: Vec<String>,
    /// (min diameter, class rank), by descending diameter.
    thresholds: Vec<(Decimal, usize)>,
    below: usize,
    /// System id and every name (lowercased) → system.
    systems: BTreeMap<String, System>,
}

impl Grading {
    pub(crate) fn from_table(path: &Path, table: GradingTable) -> Result<Grading, PackError> {
        if table.classes.is_empty() {
            return Err(PackError::table(
                path,
                "classes",
                "list the standard's classes, best first",
            ));
        }
        let rank = |entry: String, class: &str| {
            table
                .classes
                .iter()
                .position(|c| c == class)
                .ok_or_else(|| {
                    PackError::table(
                        path,
                        entry,
                        format!(
                            "class `{class}` is not one of `classes` {:?}",
                            table.classes
                        ),
                    )
                })
        };
        let mut thresholds = Vec::new();
        for (i, t) in table.diameter.thresholds.iter().enumerate() {
            let entry = format!("diameter.thresholds[{i}]");
            let min = parse_decimal(&t.min_mm).ok_or_else(|| {
                PackError::table(
                    path,
                    &entry,
                    format!("min_mm `{}` is not a decimal", t.min_mm),
                )
            })?;
            thresholds.push((min, rank(entry, &t.class)?));
        }
        thresholds.sort_by_key(|t| std::cmp::Reverse(t.0));
        let below = rank("diameter.below".into(), &table.diameter.below)?;

        let mut systems = BTreeMap::new();
        for (id, system) in &table.systems {
            let mut crosswalk = BTreeMap::new();
            for (grade, class) in &system.crosswalk {
                crosswalk.insert(
                    key(GRADES, grade).into_owned(),
                    rank(format!("systems.{id}.crosswalk.{grade}"), class)?,
                );
            }
            let resolved = System {
                id: id.clone(),
                crosswalk,
            };
            let names: std::collections::BTreeSet<String> = std::iter::once(id)
                .chain(&system.names)
                .map(|n| key(SYSTEMS, n).into_owned())
                .collect();
            for name in names {
                if systems.insert(name.clone(), resolved.clone()).is_some() {
                    return Err(PackError::table(
                        path,
                        format!("systems.{id}"),
                        format!("name `{name}` is used by two grading systems"),
                    ));
                }
            }
        }
        Ok(Grading {
            classes: table.classes,
            thresholds,
            below,
            systems,
        })
    }

    pub(crate) fn grade(
        &self,
        system: &str,
        grade: &str,
        diameter_mm: &str,
    ) -> Result<Grade, ServiceError> {
        let Some(sys) = self.systems.get(key(SYSTEMS, system).as_ref()) else {
            return Err(ServiceError::new(
                codes::UNKNOWN_GRADING_SYSTEM,
                format!("grading system `{system}` has no crosswalk in the pack"),
            ));
        };
        let Some(&crosswalk_rank) = sys.crosswalk.get(key(GRADES, grade).as_ref()) else {
            let known: Vec<&str> = sys.crosswalk.keys().map(String::as_str).collect();
            return Err(ServiceError::new(
                codes::UNKNOWN_GRADE,
                format!(
                    "grade `{grade}` is not a grade of `{}` (known: {})",
                    sys.id,
                    known.join(", ")
                ),
            ));
        };
        let diameter = parse_decimal(diameter_mm).ok_or_else(|| {
            ServiceError::new(
                codes::NOT_A_NUMBER,
                format!(
                    "diameter `{diameter_mm}` is not a plain decimal number: {}",
                    crate::units::PLAIN_NUMBER_HINT
                ),
            )
        })?;
        let size_rank = self
            .thresholds
            .iter()
            .find(|(min, _)| diameter >= *min)
            .map_or(self.below, |(_, rank)| *rank);
        // Classes are listed best first: the lower class has the higher index.
        let class = &self.classes[crosswalk_rank.max(size_rank)];
        Ok(Grade {
            class: class.clone(),
            system: sys.id.clone(),
        })
    }
}
