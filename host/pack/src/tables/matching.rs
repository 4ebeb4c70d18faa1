//! The key a term is looked up by, under a table's [`Matching`] rule.

use std::borrow::Cow;

pub use conform_model::pack::Matching;

/// The key of `term` under `matching`: trimmed of Unicode white space, then
/// folded as the rule says. A table keys its entries and the terms it is
/// asked for alike, so a term matches an entry exactly when their keys are
/// equal.
pub fn key(matching: Matching, term: &str) -> Cow<'_, str> {
    let trimmed = term.trim();
    match matching {
        Matching::Exact => Cow::Borrowed(trimmed),
        Matching::AsciiCase if trimmed.bytes().any(|b| b.is_ascii_uppercase()) => {
            Cow::Owned(trimmed.to_ascii_lowercase())
        }
        Matching::AsciiCase => Cow::Borrowed(trimmed),
        Matching::UnicodeLowercase => Cow::Owned(trimmed.to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_trims_unicode_white_space_first() {
        for matching in [
            Matching::Exact,
            Matching::AsciiCase,
            Matching::UnicodeLowercase,
        ] {
            assert_eq!(
                key(matching, "\u{3000}卡其\u{3000}"),
                "卡其",
                "{matching:?}"
            );
            assert_eq!(
                key(matching, " \tCT\n"),
                key(matching, "CT"),
                "{matching:?}"
            );
        }
    }

    #[test]
    fn the_rules_fold_case_as_they_say() {
        assert_eq!(key(Matching::Exact, "Navy"), "Navy");
        assert_eq!(key(Matching::AsciiCase, "Navy Blue"), "navy blue");
        assert_eq!(key(Matching::UnicodeLowercase, "Navy Blue"), "navy blue");
        // Only ASCII letters fold under ascii-case; Unicode lowercasing folds
        // every script that has case.
        assert_eq!(key(Matching::AsciiCase, "ÉCRU"), "Écru");
        assert_eq!(key(Matching::UnicodeLowercase, "ÉCRU"), "écru");
        assert_eq!(key(Matching::UnicodeLowercase, "纸箱"), "纸箱");
    }

    #[test]
    fn the_rules_read_as_the_pack_files_write_them() {
        #[derive(serde::Deserialize)]
        struct File {
            r#match: Matching,
        }
        for (text, matching) in [
            ("exact", Matching::Exact),
            ("ascii-case", Matching::AsciiCase),
            ("unicode-lowercase", Matching::UnicodeLowercase),
        ] {
            let file: File = toml::from_str(&format!("match = \"{text}\"")).unwrap();
            assert_eq!(file.r#match, matching);
        }
        assert!(toml::from_str::<File>("match = \"fuzzy\"").is_err());
    }
}
