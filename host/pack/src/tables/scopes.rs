//! The scopes of a table (suppliers, grading systems, carriers): found by
//! id or name under the table's scope matching, required or not. Shared by
//! the kinds that read terms within a scope.

use std::collections::BTreeMap;
use std::path::Path;

use conform_model::pack::Matching;

use super::matching::key;
use super::wording::{Case, Wording};
use crate::service_error::ServiceError;
use crate::PackError;

/// The refusal of a scope the table does not know.
pub(crate) const UNKNOWN_SCOPE: Case = Case {
    name: "unknown-scope",
    code: None,
    message: "`{scope}` is not a scope of this table",
    placeholders: &["term", "scope"],
};

/// The refusal of a lookup without a scope, where one is required.
pub(crate) const SCOPE_REQUIRED: Case = Case {
    name: "scope-required",
    code: None,
    message: "`{term}` can only be read within a scope, and none was given",
    placeholders: &["term"],
};

/// A table's scopes by the key of each id and name.
#[derive(Debug, Clone)]
pub(crate) struct ScopeIndex {
    matching: Matching,
    required: bool,
    keys: BTreeMap<String, usize>,
    unknown: Wording,
    missing: Wording,
}

impl ScopeIndex {
    /// An empty index; `unknown` and `missing` word its two refusals.
    pub(crate) fn new(
        matching: Matching,
        required: bool,
        unknown: Wording,
        missing: Wording,
    ) -> ScopeIndex {
        ScopeIndex {
            matching,
            required,
            keys: BTreeMap::new(),
            unknown,
            missing,
        }
    }

    /// The code with which a scope the table does not know is refused.
    pub(crate) fn unknown_code(&self) -> &str {
        self.unknown.code()
    }

    /// Adds scope number `index` under its id and names; a name that
    /// already names another scope is refused.
    pub(crate) fn add<'a>(
        &mut self,
        path: &Path,
        id: &'a str,
        names: impl IntoIterator<Item = &'a String>,
        index: usize,
    ) -> Result<(), PackError> {
        for name in std::iter::once(id).chain(names.into_iter().map(String::as_str)) {
            let name_key = key(self.matching, name).into_owned();
            if self
                .keys
                .insert(name_key, index)
                .is_some_and(|other| other != index)
            {
                return Err(PackError::table(
                    path,
                    format!("scopes.{id}"),
                    format!("name `{name}` is used by two scopes"),
                ));
            }
        }
        Ok(())
    }

    /// The scope `scope` names, for a lookup of `term`: `None` where no
    /// scope is given or an unknown one may be passed over; a refusal where
    /// the table requires a known scope.
    pub(crate) fn find(
        &self,
        term: &str,
        scope: Option<&str>,
    ) -> Result<Option<usize>, ServiceError> {
        match scope {
            Some(name) => match self.keys.get(key(self.matching, name).as_ref()) {
                Some(&index) => Ok(Some(index)),
                None if self.required => {
                    Err(self.unknown.refuse(&[("term", term), ("scope", name)]))
                }
                None => Ok(None),
            },
            None if self.required => Err(self.missing.refuse(&[("term", term)])),
            None => Ok(None),
        }
    }
}
