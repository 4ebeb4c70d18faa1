//! Format 1: the five fixed rule tables of a `[rules]` manifest, read as
//! the generic kinds under fixed names, serving the contract 0.1.0 they
//! imply. Packs published in format 1 keep loading and answering as they
//! did; this translation is frozen with them, and is the only host code
//! (with the 0.1.0 contract's own) that knows what those tables were about.

mod grading;
mod packaging;
mod service_levels;

use std::path::{Path, PathBuf};

use conform_model::pack::ContractTables;
use conform_model::pack_format1::RuleFiles;
use serde::de::DeserializeOwned;

use crate::files::PackFolder;
use crate::tables::time_format::TimeFormat;
use crate::tables::units::Units;
use crate::tables::{Table, Tables};
use crate::PackError;

/// The unit catalogue a format-1 units table is read as.
const UNITS: &str = "units";
/// The time format a format-1 time table is read as.
const TIME: &str = "time";

/// The tables of `[rules]`, checked, the contract 0.1.0 they serve, and
/// every problem found.
pub(crate) fn load(
    folder: &PackFolder,
    rules: &RuleFiles,
) -> (Tables, ContractTables, Vec<PackError>) {
    let mut tables = Tables::default();
    let mut errors = Vec::new();
    let mut add =
        |entry: &str,
         file: &str,
         read_as: &dyn Fn(&Path, &str, &mut Tables) -> Result<(), PackError>| {
            let added = folder
                .read(entry, file)
                .and_then(|(path, text)| read_as(&path, &text, &mut tables));
            if let Err(e) = added {
                errors.push(e);
            }
        };
    add("rules.units", &rules.units, &|path, text, tables| {
        let units = Units::from_table(path, parse(path, text)?)?;
        tables.insert(UNITS, Table::from(units));
        Ok(())
    });
    add("rules.grading", &rules.grading, &|path, text, tables| {
        grading::add(path, parse(path, text)?, tables)
    });
    add(
        "rules.service_levels",
        &rules.service_levels,
        &|path, text, tables| service_levels::add(path, parse(path, text)?, tables),
    );
    add(
        "rules.packaging",
        &rules.packaging,
        &|path, text, tables| packaging::add(path, parse(path, text)?, tables),
    );
    add("rules.time", &rules.time, &|path, text, tables| {
        let time = TimeFormat::from_table(path, parse(path, text)?)?;
        tables.insert(TIME, Table::from(time));
        Ok(())
    });
    let contract = ContractTables {
        to_canonical: Some(UNITS.into()),
        grade: Some(grading::SCHEME.into()),
        service_level: Some(service_levels::NAME.into()),
        package_code: Some(packaging::NAME.into()),
        time: Some(TIME.into()),
    };
    (tables, contract, errors)
}

/// A rule file's text as its table.
fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, PackError> {
    toml::from_str(text).map_err(|source| PackError::RuleSyntax {
        path: PathBuf::from(path),
        source,
    })
}
