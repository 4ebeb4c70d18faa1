//! The `term-levels` kind: terms (a carrier's service terms, per carrier)
//! → an amount (the hours promised) → the standard's level whose amount it
//! is. A lookup reads the scope's terms, then the unscoped ones.

use std::collections::BTreeMap;
use std::path::Path;

use conform_model::pack::{Matching, TermLevelsTable};

use super::matching::key;
use super::scopes::{ScopeIndex, SCOPE_REQUIRED, UNKNOWN_SCOPE};
use super::wording::{only_cases, Case, Wording};
use crate::service_error::ServiceError;
use crate::PackError;

const UNKNOWN_TERM: Case = Case {
    name: "unknown-term",
    code: None,
    message: "`{term}` is not a term of this table (known: {known})",
    placeholders: &["term", "scope", "scope_id", "known"],
};

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// The standard's level (`SL48`).
    pub level: String,
    /// Its amount (hours).
    pub amount: u32,
    /// The canonical id of the scope the term was read in.
    pub scope: Option<String>,
}

#[derive(Debug, Clone)]
struct Scope {
    id: String,
    terms: BTreeMap<String, u32>,
    known: Vec<String>,
}

/// A checked term-levels table.
#[derive(Debug, Clone)]
pub struct TermLevels {
    matching: Matching,
    /// amount → level.
    levels: BTreeMap<u32, String>,
    unscoped: BTreeMap<String, u32>,
    known_unscoped: Vec<String>,
    scope_index: ScopeIndex,
    scopes: Vec<Scope>,
    unknown_term: Wording,
}

impl TermLevels {
    /// The code with which the table refuses a scope it does not know (a
    /// refusal of the scope's input, not of the term).
    pub fn scope_refusal(&self) -> &str {
        self.scope_index.unknown_code()
    }

    /// Checks a term-levels file: no two levels share an amount, every
    /// term's amount is a level's, no term leads to two amounts, no scope
    /// name names two scopes.
    pub fn from_table(path: &Path, table: TermLevelsTable) -> Result<TermLevels, PackError> {
        only_cases(
            path,
            table.errors.keys(),
            &[&UNKNOWN_TERM, &UNKNOWN_SCOPE, &SCOPE_REQUIRED],
        )?;
        let wording = |case: &Case| Wording::of(path, table.errors.get(case.name), case);
        let mut levels = BTreeMap::new();
        for (level, amount) in &table.levels {
            if levels.insert(*amount, level.clone()).is_some() {
                return Err(PackError::table(
                    path,
                    format!("levels.{level}"),
                    format!("two levels promise {amount} h"),
                ));
            }
        }
        let terms = |entry: &str,
                     given: &BTreeMap<String, u32>|
         -> Result<BTreeMap<String, u32>, PackError> {
            let mut keyed = BTreeMap::new();
            for (term, amount) in given {
                let entry = format!("{entry}.{term}");
                if !levels.contains_key(amount) {
                    return Err(PackError::table(
                        path,
                        entry,
                        format!("{amount} h matches no service level of `levels`"),
                    ));
                }
                if keyed
                    .insert(key(table.matching, term).into_owned(), *amount)
                    .is_some_and(|other| other != *amount)
                {
                    return Err(PackError::table(
                        path,
                        entry,
                        "another term of the same key promises a different amount",
                    ));
                }
            }
            Ok(keyed)
        };
        let mut scope_index = ScopeIndex::new(
            table.scope_match.unwrap_or(Matching::Exact),
            table.scope_required,
            wording(&UNKNOWN_SCOPE)?,
            wording(&SCOPE_REQUIRED)?,
        );
        let mut scopes = Vec::new();
        for (id, scope) in &table.scopes {
            scope_index.add(path, id, &scope.names, scopes.len())?;
            scopes.push(Scope {
                id: id.clone(),
                terms: terms(&format!("scopes.{id}.terms"), &scope.terms)?,
                known: scope.terms.keys().cloned().collect(),
            });
        }
        Ok(TermLevels {
            matching: table.matching,
            unscoped: terms("terms", &table.terms)?,
            known_unscoped: table.terms.keys().cloned().collect(),
            levels,
            scope_index,
            scopes,
            unknown_term: wording(&UNKNOWN_TERM)?,
        })
    }

    /// The level `term` stands for, read within `scope` if one is given.
    pub fn resolve(&self, term: &str, scope: Option<&str>) -> Result<Level, ServiceError> {
        let found_scope = self
            .scope_index
            .find(term, scope)?
            .map(|index| &self.scopes[index]);
        let term_key = key(self.matching, term);
        let amount = found_scope
            .and_then(|s| s.terms.get(term_key.as_ref()))
            .or_else(|| self.unscoped.get(term_key.as_ref()));
        match amount {
            Some(&amount) => Ok(Level {
                level: self.levels[&amount].clone(),
                amount,
                scope: found_scope.map(|s| s.id.clone()),
            }),
            None => {
                let known: Vec<&str> = found_scope
                    .map_or(&[][..], |s| &s.known[..])
                    .iter()
                    .chain(&self.known_unscoped)
                    .map(String::as_str)
                    .collect();
                Err(self.unknown_term.refuse(&[
                    ("term", term),
                    ("scope", scope.unwrap_or("")),
                    ("scope_id", found_scope.map_or("", |s| s.id.as_str())),
                    ("known", &known.join(", ")),
                ]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Result<TermLevels, PackError> {
        let table: TermLevelsTable = toml::from_str(text).expect("the file parses");
        TermLevels::from_table(Path::new("service-levels.toml"), table)
    }

    const SERVICE_LEVELS: &str = r#"
match = "unicode-lowercase"
scope_required = true
levels = { SL24 = 24, SL48 = 48, SL72 = 72 }
[scopes.SWIFT]
terms = { "next-day" = 24, "2-day" = 48 }
[scopes.EASTROUTE]
terms = { "当日达" = 24, "次日达" = 48 }
[errors.unknown-scope]
code = "unknown-carrier"
message = "carrier `{scope}` has no service-level table in the pack"
"#;

    #[test]
    fn a_carrier_s_term_gives_its_hours_and_level() {
        let levels = table(SERVICE_LEVELS).unwrap();
        let next_day = levels.resolve(" Next-Day", Some("SWIFT")).unwrap();
        assert_eq!((next_day.level.as_str(), next_day.amount), ("SL24", 24));
        assert_eq!(next_day.scope.as_deref(), Some("SWIFT"));
        assert_eq!(
            levels.resolve("次日达", Some("EASTROUTE")).unwrap().level,
            "SL48"
        );
        // A term means something only for its own carrier.
        let other = levels.resolve("次日达", Some("SWIFT")).unwrap_err();
        assert_eq!(other.code, "unknown-term");
        assert_eq!(
            other.message,
            "`次日达` is not a term of this table (known: 2-day, next-day)"
        );
        let carrier = levels.resolve("next-day", Some("NOBODY")).unwrap_err();
        assert_eq!(carrier.code, "unknown-carrier");
        assert_eq!(
            carrier.message,
            "carrier `NOBODY` has no service-level table in the pack"
        );
        assert_eq!(
            levels.resolve("next-day", None).unwrap_err().code,
            "scope-required"
        );
    }

    #[test]
    fn amounts_without_a_level_or_shared_by_two_levels_are_refused() {
        let shared = table("match = \"exact\"\nlevels = { A = 24, B = 24 }\n")
            .unwrap_err()
            .to_string();
        assert!(shared.contains("two levels promise 24 h"), "{shared}");
        let stray =
            table("match = \"exact\"\nlevels = { A = 24 }\n[scopes.X]\nterms = { fast = 12 }\n")
                .unwrap_err()
                .to_string();
        assert!(
            stray.contains("scopes.X.terms.fast")
                && stray.contains("12 h matches no service level"),
            "{stray}"
        );
    }
}
