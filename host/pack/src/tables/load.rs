//! Builds a pack's declared tables (format 2) from their files. A table may
//! name others: a thresholds table its class set and the unit catalogue it
//! rounds by, a scheme its class set and parts, a code list the table it
//! takes its codes from. Tables are built in the order those references
//! need, so each is checked against tables already checked; a table whose
//! reference failed to load is not reported again.

use std::collections::HashSet;
use std::path::PathBuf;

use conform_model::pack::{
    ClassSetTable, CodeListTable, SchemeTable, TableKind, TermLevelsTable, ThresholdsTable,
    TimeTable, UnitsTable,
};
use serde::de::DeserializeOwned;

use super::class_set::ClassSet;
use super::code_list::CodeList;
use super::scheme::{Part, Scheme};
use super::term_levels::TermLevels;
use super::thresholds::Thresholds;
use super::time_format::TimeFormat;
use super::units::Units;
use super::{Table, Tables};
use crate::PackError;

/// A declared table's file, read.
pub(crate) struct TableFile {
    /// The table's name in `[tables]`.
    pub name: String,
    /// Its kind.
    pub kind: TableKind,
    /// Its file, for messages.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// A table's file, parsed as its kind.
enum Parsed {
    Units(UnitsTable),
    TimeFormat(TimeTable),
    ClassSet(ClassSetTable),
    TermLevels(TermLevelsTable),
    CodeList(CodeListTable),
    Thresholds(ThresholdsTable),
    Scheme(SchemeTable),
}

impl Parsed {
    fn of(file: &TableFile) -> Result<Parsed, PackError> {
        Ok(match file.kind {
            TableKind::UnitCatalogue => Parsed::Units(parse(file)?),
            TableKind::TimeFormat => Parsed::TimeFormat(parse(file)?),
            TableKind::ClassSet => Parsed::ClassSet(parse(file)?),
            TableKind::TermLevels => Parsed::TermLevels(parse(file)?),
            TableKind::CodeList => Parsed::CodeList(parse(file)?),
            TableKind::Thresholds => Parsed::Thresholds(parse(file)?),
            TableKind::Scheme => Parsed::Scheme(parse(file)?),
        })
    }

    /// When it is built: after the tables it may name.
    fn stage(&self) -> u8 {
        match self {
            Parsed::Units(_)
            | Parsed::TimeFormat(_)
            | Parsed::ClassSet(_)
            | Parsed::TermLevels(_) => 0,
            // A code list may take its codes from a class set, or from a
            // code list that takes none from elsewhere.
            Parsed::CodeList(list) if list.codes_from.is_none() => 1,
            Parsed::CodeList(_) | Parsed::Thresholds(_) => 2,
            Parsed::Scheme(_) => 3,
        }
    }

    /// The tables it names.
    fn names(&self) -> Vec<&str> {
        match self {
            Parsed::CodeList(list) => list.codes_from.iter().map(String::as_str).collect(),
            Parsed::Thresholds(t) => std::iter::once(t.classes.as_str())
                .chain(t.rounding.iter().map(|r| r.table.as_str()))
                .collect(),
            Parsed::Scheme(s) => std::iter::once(s.classes.as_str())
                .chain(s.parts.iter().map(String::as_str))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Every table of `files`, checked, and every problem found.
pub(crate) fn load(files: Vec<TableFile>) -> (Tables, Vec<PackError>) {
    let mut tables = Tables::default();
    let mut failed: HashSet<String> = HashSet::new();
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for file in files {
        match Parsed::of(&file) {
            Ok(table) => parsed.push((file, table)),
            Err(error) => {
                errors.push(error);
                failed.insert(file.name);
            }
        }
    }
    parsed.sort_by_key(|(_, table)| table.stage());
    for (file, table) in parsed {
        // A table whose reference failed is not reported again.
        if table.names().iter().any(|name| failed.contains(*name)) {
            failed.insert(file.name);
            continue;
        }
        match build(&file, table, &tables) {
            Ok(table) => tables.insert(file.name, table),
            Err(error) => {
                errors.push(error);
                failed.insert(file.name);
            }
        }
    }
    (tables, errors)
}

/// The checked table of a parsed file, against the tables built before it.
fn build(file: &TableFile, table: Parsed, tables: &Tables) -> Result<Table, PackError> {
    let path = file.path.as_path();
    Ok(match table {
        Parsed::Units(table) => Table::from(Units::from_table(path, table)?),
        Parsed::TimeFormat(table) => Table::from(TimeFormat::from_table(path, table)?),
        Parsed::ClassSet(table) => Table::from(ClassSet::from_table(path, table)?),
        Parsed::TermLevels(table) => Table::from(TermLevels::from_table(path, table)?),
        Parsed::CodeList(table) => {
            if let Some(source) = &table.codes_from {
                codes_belong_to(file, &table, source, tables)?;
            }
            Table::from(CodeList::from_table(path, table)?)
        }
        Parsed::Thresholds(table) => {
            let classes = class_set(file, "classes", &table.classes, tables)?;
            let units = table.rounding.as_ref().and_then(|r| tables.units(&r.table));
            Table::from(Thresholds::from_table(path, table, classes, units)?)
        }
        Parsed::Scheme(table) => {
            let classes = class_set(file, "classes", &table.classes, tables)?;
            let part = |name: &str| match tables.get(name)? {
                Table::CodeList(list) => Some(Part::Codes(list.clone())),
                Table::Thresholds(bounds) => Some(Part::Bounds(bounds.clone())),
                _ => None,
            };
            Table::from(Scheme::from_table(path, table, classes, part)?)
        }
    })
}

/// The file's text as the kind's table.
fn parse<T: DeserializeOwned>(file: &TableFile) -> Result<T, PackError> {
    toml::from_str(&file.text).map_err(|source| PackError::RuleSyntax {
        path: file.path.clone(),
        source,
    })
}

/// The class set `name`, named by `entry` of `file`.
fn class_set<'t>(
    file: &TableFile,
    entry: &str,
    name: &str,
    tables: &'t Tables,
) -> Result<&'t ClassSet, PackError> {
    tables.class_set(name).ok_or_else(|| {
        PackError::table(
            &file.path,
            entry,
            format!("`{name}` is not a class-set table of the pack"),
        )
    })
}

/// Checks that every code `list` gives is a class of the class set, or a
/// code of the code list, named `source`; an error names the entry.
fn codes_belong_to(
    file: &TableFile,
    list: &CodeListTable,
    source: &str,
    tables: &Tables,
) -> Result<(), PackError> {
    let belongs: Box<dyn Fn(&str) -> bool + '_> = match tables.get(source) {
        Some(Table::ClassSet(set)) => Box::new(|code| set.rank(code).is_some()),
        Some(Table::CodeList(other)) => {
            let theirs = other.codes();
            Box::new(move |code| theirs.contains(code))
        }
        _ => {
            return Err(PackError::table(
                &file.path,
                "codes_from",
                format!("`{source}` is not a class set or a code list of the pack (a code list that takes its codes from another cannot be a source itself)"),
            ))
        }
    };
    let given = list
        .codes
        .keys()
        .map(|code| (format!("codes.{code}"), code))
        .chain(
            list.terms
                .iter()
                .map(|(term, code)| (format!("terms.{term}"), code)),
        )
        .chain(list.scopes.iter().flat_map(|(scope, s)| {
            s.terms
                .iter()
                .map(move |(term, code)| (format!("scopes.{scope}.terms.{term}"), code))
        }));
    for (entry, code) in given {
        if !belongs(code) {
            return Err(PackError::table(
                &file.path,
                entry,
                format!(
                    "`{code}` is not a code of `{source}`, which this list takes its codes from"
                ),
            ));
        }
    }
    Ok(())
}
