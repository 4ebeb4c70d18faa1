//! Grading: the standard's class of a lot is the lower of the crosswalk of its
//! source grade and the class of its minimum fruit diameter.

use std::collections::BTreeMap;
use std::path::Path;

use conform_model::pack::GradingTable;
use rust_decimal::Decimal;

use crate::tables::class_set::ClassSet;
use crate::tables::thresholds::Thresholds;

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
    /// The class of a fruit diameter.
    size: Thresholds,
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
            rank(entry, &t.class)?;
            thresholds.push((min, t));
        }
        thresholds.sort_by_key(|t| std::cmp::Reverse(t.0));
        rank("diameter.below".into(), &table.diameter.below)?;
        let size = size_thresholds(path, &table, thresholds)?;

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
            size,
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
        let size_rank = self.size.rank(diameter_mm)?;
        // Classes are listed best first: the lower class has the higher index.
        let class = &self.classes[crosswalk_rank.max(size_rank)];
        Ok(Grade {
            class: class.clone(),
            system: sys.id.clone(),
        })
    }
}

/// The format-1 diameter classes as a thresholds table (higher is better),
/// worded as contract 0.1.0 worded a diameter that is not a number.
fn size_thresholds(
    path: &Path,
    table: &GradingTable,
    by_descending_diameter: Vec<(Decimal, &conform_model::pack::DiameterThreshold)>,
) -> Result<Thresholds, PackError> {
    use conform_model::pack::{Bound, ClassSetTable, Direction, ErrorWording, ThresholdsTable};
    let classes = ClassSet::from_table(
        path,
        ClassSetTable {
            classes: table.classes.clone(),
        },
    )?;
    let thresholds = ThresholdsTable {
        classes: "classes".into(),
        direction: Direction::HigherIsBetter,
        quantity: "diameter".into(),
        bounds: by_descending_diameter
            .into_iter()
            .map(|(_, t)| Bound {
                at_least: Some(t.min_mm.clone()),
                at_most: None,
                class: t.class.clone(),
            })
            .collect(),
        otherwise: table.diameter.below.clone(),
        errors: std::collections::BTreeMap::from([(
            "not-a-number".to_string(),
            ErrorWording {
                code: Some(codes::NOT_A_NUMBER.to_string()),
                message: None,
            },
        )]),
    };
    Thresholds::from_table(path, thresholds, &classes)
        .map_err(|e| PackError::table(path, "diameter", e.to_string()))
}
