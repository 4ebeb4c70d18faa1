//! Grading, format 1: the standard's class of a lot is the lower of the
//! crosswalk of its source grade and the class of its minimum fruit
//! diameter. The format-1 table is read as the generic kinds: a class set,
//! a code list of crosswalks scoped by grading system, thresholds over the
//! diameter, and a scheme taking the lowest; worded as contract 0.1.0
//! worded its refusals.

use std::collections::BTreeMap;
use std::path::Path;

use conform_model::pack::{
    Bound, ClassSetTable, CodeListTable, CodeScope, Combine, Direction, ErrorWording, Matching,
    SchemeTable, ThresholdsTable,
};
use conform_model::pack_format1::GradingTable;
use rust_decimal::Decimal;

use crate::contract_v0_1::codes;
use crate::number::parse_decimal;
use crate::tables::class_set::ClassSet;
use crate::tables::code_list::CodeList;
use crate::tables::scheme::{Part, Scheme};
use crate::tables::thresholds::Thresholds;
use crate::tables::{Table, Tables};
use crate::PackError;

/// The tables a format-1 grading table is read as, by name: the classes,
/// the crosswalks, the size thresholds and the scheme that combines them
/// (the one contract 0.1.0's `grade` reads).
pub(crate) const CLASSES: &str = "grading-classes";
/// See [`CLASSES`].
pub(crate) const SYSTEMS: &str = "grading-systems";
/// See [`CLASSES`].
pub(crate) const SIZE: &str = "grading-size";
/// See [`CLASSES`].
pub(crate) const SCHEME: &str = "grading";

/// Reads a format-1 grading table into `tables`, as the generic kinds.
pub(crate) fn add(path: &Path, table: GradingTable, tables: &mut Tables) -> Result<(), PackError> {
    let classes = ClassSet::from_table(
        path,
        ClassSetTable {
            classes: table.classes.clone(),
        },
    )?;
    let rank = |entry: String, class: &str| {
        classes.rank(class).map(|_| ()).ok_or_else(|| {
            PackError::table(
                path,
                entry,
                format!(
                    "class `{class}` is not one of `classes` ({})",
                    classes.shown()
                ),
            )
        })
    };
    let mut by_diameter = Vec::new();
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
        by_diameter.push((min, t));
    }
    by_diameter.sort_by_key(|t| std::cmp::Reverse(t.0));
    rank("diameter.below".into(), &table.diameter.below)?;
    for (id, system) in &table.systems {
        for (grade, class) in &system.crosswalk {
            rank(format!("systems.{id}.crosswalk.{grade}"), class)?;
        }
    }
    // Checked here first, so that a problem names the entry of this
    // file, not of the tables it is read as.
    let mut names = BTreeMap::new();
    for (id, system) in &table.systems {
        for name in std::iter::once(id).chain(&system.names) {
            let lowered = name.trim().to_lowercase();
            if names
                .insert(lowered.clone(), id)
                .is_some_and(|other| other != id)
            {
                return Err(PackError::table(
                    path,
                    format!("systems.{id}"),
                    format!("name `{lowered}` is used by two grading systems"),
                ));
            }
        }
    }
    let crosswalks = std::sync::Arc::new(crosswalks(path, &table)?);
    let size = std::sync::Arc::new(size_thresholds(path, &table, &classes, by_diameter)?);
    let scheme = Scheme::from_table(
        path,
        SchemeTable {
            classes: CLASSES.into(),
            combine: Combine::Lowest,
            parts: vec![SYSTEMS.into(), SIZE.into()],
        },
        &classes,
        |name| match name {
            SYSTEMS => Some(Part::Codes(crosswalks.clone())),
            _ => Some(Part::Bounds(size.clone())),
        },
    )?;
    tables.insert(CLASSES, Table::from(classes));
    tables.insert(SYSTEMS, Table::CodeList(crosswalks));
    tables.insert(SIZE, Table::Thresholds(size));
    tables.insert(SCHEME, Table::from(scheme));
    Ok(())
}

/// The crosswalks as a code list: a system's grades are its terms (matched
/// as written), systems are scopes matched by id or name in any case.
fn crosswalks(path: &Path, table: &GradingTable) -> Result<CodeList, PackError> {
    let wording = |code: &str, message: &str| ErrorWording {
        code: Some(code.to_string()),
        message: Some(message.to_string()),
    };
    let list = CodeListTable {
        matching: Matching::Exact,
        code_is_term: false,
        codes_from: Some(CLASSES.into()),
        scope_match: Some(Matching::UnicodeLowercase),
        scope_required: true,
        codes: BTreeMap::new(),
        terms: BTreeMap::new(),
        scopes: table
            .systems
            .iter()
            .map(|(id, system)| {
                let scope = CodeScope {
                    names: system.names.clone(),
                    terms: system.crosswalk.clone(),
                };
                (id.clone(), scope)
            })
            .collect(),
        errors: BTreeMap::from([
            (
                "unknown-scope".to_string(),
                wording(
                    codes::UNKNOWN_GRADING_SYSTEM,
                    "grading system `{scope}` has no crosswalk in the pack",
                ),
            ),
            (
                "scope-required".to_string(),
                wording(
                    codes::UNKNOWN_GRADING_SYSTEM,
                    "grade `{term}` names no grading system",
                ),
            ),
            (
                "unknown-term".to_string(),
                wording(
                    codes::UNKNOWN_GRADE,
                    "grade `{term}` is not a grade of `{scope_id}` (known: {known})",
                ),
            ),
        ]),
    };
    CodeList::from_table(path, list)
}

/// The diameter classes as a thresholds table (higher is better), worded
/// as contract 0.1.0 worded a diameter that is not a number.
fn size_thresholds(
    path: &Path,
    table: &GradingTable,
    classes: &ClassSet,
    by_descending_diameter: Vec<(Decimal, &conform_model::pack_format1::DiameterThreshold)>,
) -> Result<Thresholds, PackError> {
    let thresholds = ThresholdsTable {
        classes: CLASSES.into(),
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
        rounding: None,
        errors: BTreeMap::from([(
            "not-a-number".to_string(),
            ErrorWording {
                code: Some(codes::NOT_A_NUMBER.to_string()),
                message: None,
            },
        )]),
    };
    Thresholds::from_table(path, thresholds, classes, None)
        .map_err(|e| PackError::table(path, "diameter", e.to_string()))
}
