//! The `code-list` kind: terms → codes, with names and aliases, and
//! crosswalks per scope (a supplier's own codes, a grading system's grades).
//!
//! A lookup reads, in order: (1) the code itself, if codes stand for
//! themselves; (2) the terms of the scope given; (3) the unscoped terms
//! (the codes' names and `[terms]`); else the table refuses with
//! `unknown-term`. A scope the table does not know is refused
//! (`unknown-scope`) only if the table requires one; otherwise the lookup
//! reads the unscoped terms, as a supplier without codes of its own uses
//! the card.

use std::collections::BTreeMap;
use std::path::Path;

use conform_model::pack::{CodeEntry, CodeListTable, Matching};

use super::matching::key;
use super::scopes::{ScopeIndex, SCOPE_REQUIRED, UNKNOWN_SCOPE};
use super::wording::{only_cases, Case, Wording};
use crate::service_error::ServiceError;
use crate::PackError;

/// At most this many entries are listed as `{known}` in a refusal.
const MAX_KNOWN: usize = 64;

const UNKNOWN_TERM: Case = Case {
    name: "unknown-term",
    code: None,
    message: "`{term}` is not a term of this list (known: {known})",
    placeholders: &["term", "scope", "scope_id", "known"],
};

/// Where a lookup found its term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// The term is a code.
    Code,
    /// The term is one of the scope's own.
    Scope,
    /// The term is a name of a code, or an unscoped term.
    Name,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeMatch {
    /// The code.
    pub code: String,
    /// The canonical id of the scope given, when the table knows it.
    pub scope: Option<String>,
    /// Where the term was found.
    pub by: MatchedBy,
}

/// A checked code list.
#[derive(Debug, Clone)]
pub struct CodeList {
    matching: Matching,
    /// key → code, when codes stand for themselves.
    codes: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    /// key → code: the codes' names and `[terms]`.
    unscoped: BTreeMap<String, String>,
    scope_index: ScopeIndex,
    scopes: Vec<Scope>,
    /// The codes and unscoped terms as written, each group sorted.
    known_codes: Vec<String>,
    known_unscoped: Vec<String>,
    unknown_term: Wording,
}

#[derive(Debug, Clone)]
struct Scope {
    id: String,
    terms: BTreeMap<String, String>,
    known: Vec<String>,
}

impl CodeList {
    /// The code with which the list refuses a scope it does not know (a
    /// refusal of the scope's input, not of the term).
    pub fn scope_refusal(&self) -> &str {
        self.scope_index.unknown_code()
    }

    /// Checks a code list's file (at `path`, for messages): every term
    /// leads to a code of the list, no term leads to two codes, no scope
    /// term is also a code or unscoped term, no scope name names two
    /// scopes, and its wordings are well formed.
    pub fn from_table(path: &Path, table: CodeListTable) -> Result<CodeList, PackError> {
        let matching = table.matching;
        only_cases(
            path,
            table.errors.keys(),
            &[&UNKNOWN_TERM, &UNKNOWN_SCOPE, &SCOPE_REQUIRED],
        )?;
        let wording = |case: &Case| Wording::of(path, table.errors.get(case.name), case);
        let mut list = CodeList {
            matching,
            codes: BTreeMap::new(),
            labels: BTreeMap::new(),
            unscoped: BTreeMap::new(),
            scope_index: ScopeIndex::new(
                table.scope_match.unwrap_or(Matching::Exact),
                table.scope_required,
                wording(&UNKNOWN_SCOPE)?,
                wording(&SCOPE_REQUIRED)?,
            ),
            scopes: Vec::new(),
            known_codes: Vec::new(),
            known_unscoped: Vec::new(),
            unknown_term: wording(&UNKNOWN_TERM)?,
        };
        list.add_codes(path, &table)?;
        list.add_unscoped_terms(path, &table)?;
        list.refuse_names_of_other_codes(path)?;
        list.add_scopes(path, &table)?;
        Ok(list)
    }

    fn add_codes(&mut self, path: &Path, table: &CodeListTable) -> Result<(), PackError> {
        for (code, entry) in &table.codes {
            let (label, names) = match entry {
                CodeEntry::Label(label) => (Some(label.clone()), &[][..]),
                CodeEntry::Named(named) => (
                    named.label.clone().or_else(|| named.names.first().cloned()),
                    &named.names[..],
                ),
            };
            if let Some(label) = label {
                self.labels.insert(code.clone(), label);
            }
            if table.code_is_term {
                insert_term(
                    &mut self.codes,
                    path,
                    &format!("codes.{code}"),
                    key(self.matching, code).into_owned(),
                    code,
                )?;
                self.known_codes.push(code.clone());
            }
            for name in names {
                let entry = format!("codes.{code}.names");
                insert_term(
                    &mut self.unscoped,
                    path,
                    &entry,
                    key(self.matching, name).into_owned(),
                    code,
                )?;
                self.known_unscoped.push(name.clone());
            }
        }
        Ok(())
    }

    fn add_unscoped_terms(&mut self, path: &Path, table: &CodeListTable) -> Result<(), PackError> {
        for (term, code) in &table.terms {
            let entry = format!("terms.{term}");
            self.check_code(path, &entry, code, table)?;
            insert_term(
                &mut self.unscoped,
                path,
                &entry,
                key(self.matching, term).into_owned(),
                code,
            )?;
            self.known_unscoped.push(term.clone());
        }
        self.known_unscoped.sort();
        Ok(())
    }

    /// A name or term whose key is another code's would make the answer
    /// depend on which is read first: refused.
    fn refuse_names_of_other_codes(&self, path: &Path) -> Result<(), PackError> {
        for (term_key, code) in &self.unscoped {
            match self.codes.get(term_key) {
                Some(other) if other != code => {
                    return Err(PackError::table(
                        path,
                        format!("codes.{other}"),
                        format!("`{term_key}` is code `{other}` and also a name or term of code `{code}`; a term leads to one code"),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn add_scopes(&mut self, path: &Path, table: &CodeListTable) -> Result<(), PackError> {
        for (id, scope) in &table.scopes {
            self.scope_index
                .add(path, id, &scope.names, self.scopes.len())?;
            let mut terms = BTreeMap::new();
            for (term, code) in &scope.terms {
                let entry = format!("scopes.{id}.terms.{term}");
                self.check_code(path, &entry, code, table)?;
                let term_key = key(self.matching, term).into_owned();
                if self.codes.contains_key(&term_key) || self.unscoped.contains_key(&term_key) {
                    return Err(PackError::table(path, entry, format!("`{term}` is also a code or an unscoped term of the list, which would make its meaning depend on the scope; use another term")));
                }
                insert_term(&mut terms, path, &entry, term_key, code)?;
            }
            let known = scope.terms.keys().cloned().collect();
            self.scopes.push(Scope {
                id: id.clone(),
                terms,
                known,
            });
        }
        Ok(())
    }

    /// A term must lead to a code of the list, unless the list takes its
    /// codes from another table (`codes_from`), which is checked where the
    /// two meet.
    fn check_code(
        &self,
        path: &Path,
        entry: &str,
        code: &str,
        table: &CodeListTable,
    ) -> Result<(), PackError> {
        if table.codes_from.is_none() && !table.codes.contains_key(code) {
            return Err(PackError::table(
                path,
                entry,
                format!("code `{code}` is not one of `codes`"),
            ));
        }
        Ok(())
    }

    /// The code `term` stands for, read within `scope` if one is given.
    pub fn lookup(&self, term: &str, scope: Option<&str>) -> Result<CodeMatch, ServiceError> {
        let found_scope = self
            .scope_index
            .find(term, scope)?
            .map(|index| &self.scopes[index]);
        let term_key = key(self.matching, term);
        let scope_id = found_scope.map(|s| s.id.clone());
        let found = |code: &String, by| CodeMatch {
            code: code.clone(),
            scope: scope_id.clone(),
            by,
        };
        if let Some(code) = self.codes.get(term_key.as_ref()) {
            return Ok(found(code, MatchedBy::Code));
        }
        if let Some(code) = found_scope.and_then(|s| s.terms.get(term_key.as_ref())) {
            return Ok(found(code, MatchedBy::Scope));
        }
        if let Some(code) = self.unscoped.get(term_key.as_ref()) {
            return Ok(found(code, MatchedBy::Name));
        }
        let known = self.known(found_scope);
        Err(self.unknown_term.refuse(&[
            ("term", term),
            ("scope", scope.unwrap_or("")),
            ("scope_id", found_scope.map_or("", |s| s.id.as_str())),
            ("known", &known),
        ]))
    }

    /// Every code a lookup can give, each once.
    pub fn codes(&self) -> std::collections::BTreeSet<&str> {
        self.codes
            .values()
            .chain(self.unscoped.values())
            .chain(self.scopes.iter().flat_map(|s| s.terms.values()))
            .map(String::as_str)
            .collect()
    }

    /// The label of `code`, if the list gives one.
    pub fn label(&self, code: &str) -> Option<&str> {
        self.labels.get(code).map(String::as_str)
    }

    /// What a lookup tried, as written: the codes, the scope's terms, the
    /// unscoped terms, each group sorted; at most [`MAX_KNOWN`].
    fn known(&self, scope: Option<&Scope>) -> String {
        let all: Vec<&str> = self
            .known_codes
            .iter()
            .chain(scope.map_or(&[][..], |s| &s.known[..]))
            .chain(&self.known_unscoped)
            .map(String::as_str)
            .take(MAX_KNOWN + 1)
            .collect();
        if all.len() > MAX_KNOWN {
            format!("{}, …", all[..MAX_KNOWN].join(", "))
        } else {
            all.join(", ")
        }
    }
}

/// Adds `term_key` → `code` unless the key leads to another code already.
fn insert_term(
    terms: &mut BTreeMap<String, String>,
    path: &Path,
    entry: &str,
    term_key: String,
    code: &str,
) -> Result<(), PackError> {
    if term_key.is_empty() {
        return Err(PackError::table(
            path,
            entry,
            "an empty term matches nothing; remove it",
        ));
    }
    match terms.get(&term_key) {
        Some(other) if other != code => Err(PackError::table(
            path,
            entry,
            format!("`{term_key}` already stands for code `{other}`; a term leads to one code"),
        )),
        _ => {
            terms.insert(term_key, code.to_string());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> Result<CodeList, PackError> {
        let table: CodeListTable = toml::from_str(text).expect("the file parses");
        CodeList::from_table(Path::new("colours.toml"), table)
    }

    const COLOURS: &str = r#"
match = "ascii-case"
[codes]
"SX-0101" = { names = ["漂白", "特白", "bleached white"] }
"SX-0203" = { names = ["藏青", "navy", "navy blue"] }
[scopes."91320582MA1XK8T471"]
terms = { "NV-19" = "SX-0203", "WH-00" = "SX-0101" }
[errors.unknown-term]
code = "unknown-colour"
message = "colour `{term}` is neither a code or name of the colour card nor a code of supplier `{scope}`"
"#;

    #[test]
    fn a_term_is_read_as_a_code_then_the_supplier_s_then_a_name() {
        let colours = list(COLOURS).unwrap();
        let supplier = Some("91320582MA1XK8T471");
        let code = colours.lookup("sx-0203", supplier).unwrap();
        assert_eq!((code.code.as_str(), code.by), ("SX-0203", MatchedBy::Code));
        let own = colours.lookup("NV-19", supplier).unwrap();
        assert_eq!((own.code.as_str(), own.by), ("SX-0203", MatchedBy::Scope));
        assert_eq!(own.scope.as_deref(), Some("91320582MA1XK8T471"));
        let name = colours.lookup("\u{3000}Navy Blue ", None).unwrap();
        assert_eq!((name.code.as_str(), name.by), ("SX-0203", MatchedBy::Name));
        assert_eq!(colours.label("SX-0101"), Some("漂白"));
        // Another supplier's codes mean nothing here; an unknown supplier
        // reads the card.
        assert!(colours.lookup("NV-19", Some("91320281MA20P6QE3H")).is_err());
        assert_eq!(
            colours.lookup("特白", Some("nobody")).unwrap().code,
            "SX-0101"
        );
    }

    #[test]
    fn an_unknown_term_is_refused_in_the_pack_s_words() {
        let colours = list(COLOURS).unwrap();
        let refusal = colours
            .lookup("卡其", Some("91320582MA1XK8T471"))
            .unwrap_err();
        assert_eq!(refusal.code, "unknown-colour");
        assert_eq!(
            refusal.message,
            "colour `卡其` is neither a code or name of the colour card nor a code of supplier `91320582MA1XK8T471`"
        );
    }

    #[test]
    fn a_list_that_requires_a_scope_refuses_none_and_unknown_ones() {
        let systems = list(
            r#"
match = "exact"
scope_match = "unicode-lowercase"
scope_required = true
code_is_term = false
codes_from = "apple-classes"
[scopes.usda]
names = ["USDA"]
terms = { "U.S. Fancy" = "R2" }
"#,
        )
        .unwrap();
        assert_eq!(
            systems.lookup("U.S. Fancy", Some("Usda")).unwrap().code,
            "R2"
        );
        assert_eq!(
            systems.lookup("R2", Some("usda")).unwrap_err().code,
            "unknown-term"
        );
        let unknown = systems.lookup("U.S. Fancy", Some("EU")).unwrap_err();
        assert_eq!(unknown.code, "unknown-scope");
        assert_eq!(unknown.message, "`EU` is not a scope of this table");
        assert_eq!(
            systems.lookup("x", None).unwrap_err().code,
            "scope-required"
        );
        let miss = systems.lookup("U.S. No. 9", Some("usda")).unwrap_err();
        assert_eq!(
            miss.message,
            "`U.S. No. 9` is not a term of this list (known: U.S. Fancy)"
        );
    }

    #[test]
    fn ambiguous_or_misworded_lists_are_refused_naming_the_entry() {
        let refused = |text: &str| list(text).unwrap_err().to_string();
        let two_codes = refused(
            "match = \"ascii-case\"\n[codes]\nA = { names = [\"navy\"] }\nB = { names = [\"NAVY\"] }\n",
        );
        assert!(
            two_codes.contains("codes.B.names")
                && two_codes.contains("already stands for code `A`"),
            "{two_codes}"
        );
        let shadow = refused(
            "match = \"ascii-case\"\n[codes]\nA = { names = [\"navy\"] }\n[scopes.s]\nterms = { Navy = \"A\" }\n",
        );
        assert!(shadow.contains("scopes.s.terms.Navy"), "{shadow}");
        let scope_twice = refused(
            "match = \"exact\"\n[scopes.a]\nnames = [\"x\"]\n[scopes.b]\nnames = [\"x\"]\n",
        );
        assert!(
            scope_twice.contains("name `x` is used by two scopes"),
            "{scope_twice}"
        );
        let no_code = refused("match = \"exact\"\n[codes]\nA = \"a\"\n[terms]\nx = \"B\"\n");
        assert!(
            no_code.contains("code `B` is not one of `codes`"),
            "{no_code}"
        );
        let bad_code =
            refused("match = \"exact\"\n[errors.unknown-term]\ncode = \"Unknown_Colour\"\n");
        assert!(bad_code.contains("errors.unknown-term.code"), "{bad_code}");
        let bad_slot =
            refused("match = \"exact\"\n[errors.unknown-term]\nmessage = \"`{colour}`\"\n");
        assert!(
            bad_slot.contains("`{colour}` is not a placeholder"),
            "{bad_slot}"
        );
        let bad_case = refused("match = \"exact\"\n[errors.not-found]\ncode = \"x\"\n");
        assert!(bad_case.contains("no refusal `not-found`"), "{bad_case}");
        let code_and_name = refused(
            "match = \"unicode-lowercase\"\n[codes]\nCT = \"carton\"\nBX = \"box\"\n[terms]\nct = \"BX\"\n",
        );
        assert!(
            code_and_name.contains("`ct` is code `CT` and also a name or term of code `BX`"),
            "{code_and_name}"
        );
        let nowhere = refused("match = \"exact\"\n[terms]\nbox = \"XX\"\n");
        assert!(
            nowhere.contains("code `XX` is not one of `codes`"),
            "{nowhere}"
        );
    }

    #[test]
    fn a_long_known_list_is_cut() {
        let terms: String = (0..100).map(|i| format!("t{i:03} = \"A\"\n")).collect();
        let long = list(&format!(
            "match = \"exact\"\n[codes]\nA = \"a\"\n[terms]\n{terms}"
        ))
        .unwrap();
        let message = long.lookup("zzz", None).unwrap_err().message;
        assert!(message.ends_with(", …)"), "{message}");
        assert_eq!(message.matches(", ").count(), MAX_KNOWN);
    }
}
