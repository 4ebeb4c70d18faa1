//! How a table words one of its refusals: a code and a message template,
//! the pack's own or the kind's default, checked when the pack is loaded.

use std::path::Path;

use conform_model::pack::ErrorWording;

use super::template::Template;
use crate::service_error::ServiceError;
use crate::PackError;

/// The longest value quoted in a refusal; the rest is cut.
const MAX_VALUE_BYTES: usize = 2048;
/// The longest refusal message.
const MAX_MESSAGE_BYTES: usize = conform_model::MAX_MESSAGE_BYTES;

/// One refusal of a table, worded.
#[derive(Debug, Clone)]
pub(crate) struct Wording {
    code: String,
    template: Template,
}

/// The kind's default wording of a case, and the placeholders it may use.
pub(crate) struct Case {
    /// The case's name in `[errors]`, and its default code unless `code` says otherwise.
    pub name: &'static str,
    /// The default code where it is not the case's name (a table that
    /// words two cases alike for 0.1.0's sake).
    pub code: Option<&'static str>,
    /// The default message.
    pub message: &'static str,
    /// The placeholders a message of this case may use.
    pub placeholders: &'static [&'static str],
}

impl Wording {
    /// The code of the refusal.
    pub(crate) fn code(&self) -> &str {
        &self.code
    }

    /// The wording of `case` in a table file at `path`: the pack's
    /// `[errors.<case>]` where given, the kind's default otherwise.
    pub(crate) fn of(
        path: &Path,
        given: Option<&ErrorWording>,
        case: &Case,
    ) -> Result<Wording, PackError> {
        Wording::at(
            path,
            &format!("errors.{}", case.name),
            given.and_then(|g| g.code.as_deref()),
            given.and_then(|g| g.message.as_deref()),
            case,
        )
    }

    /// The wording of `case` given at `entry` of a file at `path` as a
    /// code and a message, each defaulting to the case's.
    pub(crate) fn at(
        path: &Path,
        entry: &str,
        code: Option<&str>,
        message: Option<&str>,
        case: &Case,
    ) -> Result<Wording, PackError> {
        let code = code
            .map(str::to_string)
            .unwrap_or_else(|| case.code.unwrap_or(case.name).to_string());
        let kebab = !code.is_empty()
            && code.len() <= 64
            && code.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if !kebab {
            return Err(PackError::table(
                path,
                format!("{entry}.code"),
                format!("`{code}` is not a code: write kebab-case, lowercase letters and digits between single `-`, 64 at most"),
            ));
        }
        let message = message.unwrap_or(case.message);
        let template = Template::parse(message, case.placeholders)
            .map_err(|e| PackError::table(path, format!("{entry}.message"), e.to_string()))?;
        Ok(Wording { code, template })
    }

    /// The refusal, its message filled with `values`.
    pub(crate) fn refuse(&self, values: &[(&str, &str)]) -> ServiceError {
        // Each value is cut first, so that no refusal costs more than its
        // template's placeholders times a bounded value.
        let cut: Vec<(&str, String)> = values
            .iter()
            .map(|(name, value)| (*name, conform_model::truncate(value, MAX_VALUE_BYTES)))
            .collect();
        let cut: Vec<(&str, &str)> = cut.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let message = conform_model::truncate(&self.template.render(&cut), MAX_MESSAGE_BYTES);
        ServiceError::owned(self.code.clone(), message)
    }
}

/// Refuses `[errors]` cases the kind does not have.
pub(crate) fn only_cases<'a>(
    path: &Path,
    given: impl Iterator<Item = &'a String>,
    cases: &[&Case],
) -> Result<(), PackError> {
    for name in given {
        if !cases.iter().any(|c| c.name == name) {
            let known: Vec<&str> = cases.iter().map(|c| c.name).collect();
            return Err(PackError::table(
                path,
                format!("errors.{name}"),
                format!(
                    "this kind of table has no refusal `{name}`; it has {}",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}
