//! A table's refusal as its pack words it: a message with placeholders
//! (`{term}`, `{known}`, …) that the table fills in. A template is checked
//! when the pack is published, so a misspelt placeholder is the
//! publisher's error, never a half-filled message in a rejection.

/// A checked message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Placeholder(String),
}

/// Why a template is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A placeholder the message cannot have.
    #[error("`{{{name}}}` is not a placeholder of this message; it may use {}", allowed.iter().map(|a| format!("`{{{a}}}`")).collect::<Vec<_>>().join(", "))]
    UnknownPlaceholder {
        /// The placeholder as written.
        name: String,
        /// Those it may use.
        allowed: Vec<&'static str>,
    },
    /// A `{` without its `}`.
    #[error("the `{{` at byte {at} is not closed; write `{{{{` for a brace")]
    Unclosed {
        /// Where it opens.
        at: usize,
    },
    /// A `}` without its `{`.
    #[error("the `}}` at byte {at} closes nothing; write `}}}}` for a brace")]
    LoneClose {
        /// Where it is.
        at: usize,
    },
    /// A message longer than a refusal may be.
    #[error("the message is {len} bytes long; a message is at most {MAX_TEMPLATE_BYTES} bytes, with at most {MAX_PLACEHOLDERS} placeholders")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
}

/// The longest message template.
pub const MAX_TEMPLATE_BYTES: usize = 1024;
/// The most placeholders a template may hold.
pub const MAX_PLACEHOLDERS: usize = 16;

impl Template {
    /// Reads `text`, whose placeholders must be among `allowed`; `{{` and
    /// `}}` stand for braces.
    pub fn parse(text: &str, allowed: &[&'static str]) -> Result<Template, TemplateError> {
        if text.len() > MAX_TEMPLATE_BYTES || text.matches('{').count() > 2 * MAX_PLACEHOLDERS {
            return Err(TemplateError::TooLong { len: text.len() });
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text.char_indices().peekable();
        while let Some((at, c)) = rest.next() {
            match c {
                '{' if rest.peek().is_some_and(|&(_, n)| n == '{') => {
                    rest.next();
                    literal.push('{');
                }
                '}' if rest.peek().is_some_and(|&(_, n)| n == '}') => {
                    rest.next();
                    literal.push('}');
                }
                '}' => return Err(TemplateError::LoneClose { at }),
                '{' => {
                    let end = text[at..].find('}').ok_or(TemplateError::Unclosed { at })?;
                    let name = &text[at + 1..at + end];
                    if !allowed.contains(&name) {
                        return Err(TemplateError::UnknownPlaceholder {
                            name: name.to_string(),
                            allowed: allowed.to_vec(),
                        });
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Placeholder(name.to_string()));
                    while rest.peek().is_some_and(|&(i, _)| i <= at + end) {
                        rest.next();
                    }
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// The message with each placeholder replaced by its value in `values`;
    /// one without a value is left as written, so the omission shows.
    pub fn render(&self, values: &[(&str, &str)]) -> String {
        let mut message = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => message.push_str(text),
                Part::Placeholder(name) => match values.iter().find(|(n, _)| n == name) {
                    Some((_, value)) => message.push_str(value),
                    None => {
                        message.push('{');
                        message.push_str(name);
                        message.push('}');
                    }
                },
            }
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOWED: &[&str] = &["term", "known"];

    #[test]
    fn a_template_of_unbounded_size_is_refused() {
        let long = "{term}".repeat(2000);
        assert!(matches!(
            Template::parse(&long, &["term"]),
            Err(TemplateError::TooLong { .. })
        ));
        assert!(Template::parse(&"x".repeat(1025), &[]).is_err());
        assert!(Template::parse(&"x".repeat(1024), &[]).is_ok());
    }

    #[test]
    fn placeholders_are_filled_and_doubled_braces_are_braces() {
        let t = Template::parse(
            "packaging term `{term}` maps to no package code of the pack (known: {known})",
            ALLOWED,
        )
        .unwrap();
        assert_eq!(
            t.render(&[("term", "麻袋"), ("known", "BG, BX")]),
            "packaging term `麻袋` maps to no package code of the pack (known: BG, BX)"
        );
        let braces = Template::parse("{{{term}}} is not {{a set}}", ALLOWED).unwrap();
        assert_eq!(braces.render(&[("term", "x")]), "{x} is not {a set}");
    }

    #[test]
    fn a_template_without_placeholders_is_its_text() {
        let t = Template::parse("颜色不在色卡中", ALLOWED).unwrap();
        assert_eq!(t.render(&[]), "颜色不在色卡中");
    }

    #[test]
    fn misspelt_or_unbalanced_placeholders_are_refused_with_what_to_write() {
        let e = Template::parse("colour `{trem}` is unknown", ALLOWED).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`{trem}` is not a placeholder of this message; it may use `{term}`, `{known}`"
        );
        assert_eq!(
            Template::parse("a {term", ALLOWED).unwrap_err(),
            TemplateError::Unclosed { at: 2 }
        );
        assert_eq!(
            Template::parse("a } b", ALLOWED).unwrap_err(),
            TemplateError::LoneClose { at: 2 }
        );
        assert!(Template::parse("{}", ALLOWED).is_err());
    }

    #[test]
    fn a_value_missing_at_render_shows_its_placeholder() {
        let t = Template::parse("`{term}` ({known})", ALLOWED).unwrap();
        assert_eq!(t.render(&[("term", "x")]), "`x` ({known})");
    }
}
