//! The `scheme` kind: classifications combined into one class, such as
//! "the lower of the crosswalked grade and the size class". Each part is a
//! code list whose codes are classes of the scheme's set, or a thresholds
//! table over that set. Parts are read in order; the first refusal is the
//! answer, with the index of the input at fault.

use std::path::Path;
use std::sync::Arc;

use conform_model::pack::{Combine, SchemeTable};

use super::class_set::ClassSet;
use super::code_list::CodeList;
use super::thresholds::Thresholds;
use super::InputRefused;
use crate::service_error::ServiceError;
use crate::PackError;

/// The most parts a scheme may combine.
pub const MAX_PARTS: usize = 8;

/// A part of a scheme: the pack's table itself, shared, not a copy.
#[derive(Debug, Clone)]
pub enum Part {
    /// A term (in a scope) crosswalked to a class.
    Codes(Arc<CodeList>),
    /// A quantity classified by bounds.
    Bounds(Arc<Thresholds>),
}

/// One input of a scheme: a term and its scope for a code-list part, the
/// value as `term` for a thresholds part.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The term, or the quantity as decimal text.
    pub term: &'a str,
    /// The scope the term is read in (a grading system).
    pub scope: Option<&'a str>,
}

/// What a scheme found: the combined class, and each part's class and the
/// canonical scope it was read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The combined class.
    pub class: String,
    /// Each part's class and scope, in order.
    pub parts: Vec<(String, Option<String>)>,
}

/// A checked scheme.
#[derive(Debug, Clone)]
pub struct Scheme {
    /// The parts' table names, in order.
    names: Vec<String>,
    classes: ClassSet,
    combine: Combine,
    parts: Vec<Part>,
}

impl Scheme {
    /// Checks a scheme's file against its class set and its parts (found by
    /// name with `part`): one to [`MAX_PARTS`] parts, every code a code-list
    /// part can give a class of the set.
    pub fn from_table(
        path: &Path,
        table: SchemeTable,
        classes: &ClassSet,
        part: impl Fn(&str) -> Option<Part>,
    ) -> Result<Scheme, PackError> {
        if table.parts.is_empty() || table.parts.len() > MAX_PARTS {
            return Err(PackError::table(
                path,
                "parts",
                format!("a scheme combines 1 to {MAX_PARTS} parts"),
            ));
        }
        let mut parts = Vec::new();
        for (i, name) in table.parts.iter().enumerate() {
            let entry = format!("parts[{i}]");
            let found = part(name).ok_or_else(|| {
                PackError::table(
                    path,
                    &entry,
                    format!("`{name}` is not a code list or thresholds table of the pack"),
                )
            })?;
            match &found {
                Part::Codes(list) => {
                    if let Some(code) = list.codes().into_iter().find(|c| classes.rank(c).is_none())
                    {
                        return Err(PackError::table(
                            path,
                            entry,
                            format!(
                                "code list `{name}` gives `{code}`, which is not a class of `{}`",
                                table.classes
                            ),
                        ));
                    }
                }
                Part::Bounds(bounds) if bounds.class_set() != classes => {
                    return Err(PackError::table(
                        path,
                        entry,
                        format!(
                            "thresholds `{name}` give classes of another set than `{}`",
                            table.classes
                        ),
                    ));
                }
                Part::Bounds(_) => {}
            }
            parts.push(found);
        }
        Ok(Scheme {
            names: table.parts.clone(),
            classes: classes.clone(),
            combine: table.combine,
            parts,
        })
    }

    /// The parts' table names, in the order of the scheme's inputs.
    pub fn part_names(&self) -> &[String] {
        &self.names
    }

    /// The scheme's parts, in the order of its inputs.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The class `inputs` (one per part, in order) combine to.
    pub fn evaluate(&self, inputs: &[Input<'_>]) -> Result<Evaluation, InputRefused> {
        if inputs.len() != self.parts.len() {
            return Err(InputRefused {
                input: Some(inputs.len().min(self.parts.len())),
                error: ServiceError::owned(
                    "scheme-inputs".into(),
                    format!(
                        "this scheme takes {} inputs, not {}",
                        self.parts.len(),
                        inputs.len()
                    ),
                ),
            });
        }
        let mut ranks = Vec::new();
        let mut parts = Vec::new();
        for (input, (part, given)) in self.parts.iter().zip(inputs).enumerate() {
            let refused = |error| InputRefused {
                input: Some(input),
                error,
            };
            let (rank, scope) = match part {
                Part::Codes(list) => {
                    let found = list.lookup(given.term, given.scope).map_err(refused)?;
                    let rank = self.classes.rank(&found.code).expect("checked at load");
                    (rank, found.scope)
                }
                Part::Bounds(bounds) => (bounds.rank(given.term).map_err(refused)?, None),
            };
            ranks.push(rank);
            parts.push((self.classes.class(rank).to_string(), scope));
        }
        let rank = match self.combine {
            Combine::Lowest => ranks.iter().max(),
            Combine::Highest => ranks.iter().min(),
        }
        .copied()
        .expect("at least one part");
        Ok(Evaluation {
            class: self.classes.class(rank).to_string(),
            parts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conform_model::pack::{ClassSetTable, CodeListTable, ThresholdsTable};

    fn grades() -> ClassSet {
        let table = ClassSetTable {
            classes: ["A", "B", "C", "REJECT"].map(String::from).to_vec(),
        };
        ClassSet::from_table(Path::new("fabric-grades.toml"), table).unwrap()
    }

    fn declared() -> CodeList {
        let table: CodeListTable = toml::from_str(
            r#"
match = "ascii-case"
code_is_term = false
codes_from = "fabric-grades"
scope_required = true
[scopes.cn-quality]
names = ["国标"]
terms = { "一等品" = "A", "二等品" = "B", "合格品" = "C" }
"#,
        )
        .unwrap();
        CodeList::from_table(Path::new("declared-grades.toml"), table).unwrap()
    }

    fn defects(set: &ClassSet) -> Thresholds {
        let table: ThresholdsTable = toml::from_str(
            r#"
classes = "fabric-grades"
direction = "lower-is-better"
quantity = "defect rate"
bounds = [{ at_most = "24.0", class = "A" }, { at_most = "48.0", class = "B" }, { at_most = "72.0", class = "C" }]
otherwise = "REJECT"
"#,
        )
        .unwrap();
        Thresholds::from_table(Path::new("defects.toml"), table, set, None).unwrap()
    }

    fn scheme(combine: Combine) -> Scheme {
        let set = grades();
        let parts = |name: &str| match name {
            "declared-grades" => Some(Part::Codes(Arc::new(declared()))),
            "defects" => Some(Part::Bounds(Arc::new(defects(&set)))),
            _ => None,
        };
        let table = SchemeTable {
            classes: "fabric-grades".into(),
            combine,
            parts: vec!["declared-grades".into(), "defects".into()],
        };
        Scheme::from_table(Path::new("grade.toml"), table, &set, parts).unwrap()
    }

    fn input<'a>(term: &'a str, scope: Option<&'a str>) -> Input<'a> {
        Input { term, scope }
    }

    #[test]
    fn the_grade_is_the_lower_of_the_declared_and_the_measured() {
        let grade = scheme(Combine::Lowest);
        let found = grade
            .evaluate(&[input("一等品", Some("国标")), input("30.5", None)])
            .unwrap();
        assert_eq!(found.class, "B");
        assert_eq!(found.parts[0], ("A".into(), Some("cn-quality".into())));
        assert_eq!(found.parts[1], ("B".into(), None));
        let rejected = grade
            .evaluate(&[input("一等品", Some("cn-quality")), input("80", None)])
            .unwrap();
        assert_eq!(rejected.class, "REJECT", "a class, not a refusal");
        let best = scheme(Combine::Highest)
            .evaluate(&[input("合格品", Some("cn-quality")), input("10", None)])
            .unwrap();
        assert_eq!(best.class, "A");
    }

    #[test]
    fn a_refusal_names_the_input_at_fault() {
        let grade = scheme(Combine::Lowest);
        let unknown = grade
            .evaluate(&[input("特等品", Some("cn-quality")), input("x", None)])
            .unwrap_err();
        assert_eq!(
            (unknown.input, unknown.error.code.as_ref()),
            (Some(0), "unknown-term")
        );
        let not_a_number = grade
            .evaluate(&[input("一等品", Some("cn-quality")), input("x", None)])
            .unwrap_err();
        assert_eq!(
            (not_a_number.input, not_a_number.error.code.as_ref()),
            (Some(1), "not-a-number")
        );
        let count = grade
            .evaluate(&[input("一等品", Some("cn-quality"))])
            .unwrap_err();
        assert_eq!(count.error.code, "scheme-inputs");
    }

    #[test]
    fn parts_that_are_missing_or_give_other_classes_are_refused() {
        let set = grades();
        let table = |parts: &[&str]| SchemeTable {
            classes: "fabric-grades".into(),
            combine: Combine::Lowest,
            parts: parts.iter().map(ToString::to_string).collect(),
        };
        let missing = Scheme::from_table(Path::new("g.toml"), table(&["nowhere"]), &set, |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("`nowhere` is not a code list or thresholds table"),
            "{missing}"
        );
        let other: CodeListTable = toml::from_str(
            "match = \"exact\"\ncode_is_term = false\ncodes_from = \"other\"\n[scopes.s]\nterms = { x = \"R1\" }\n",
        )
        .unwrap();
        let other = CodeList::from_table(Path::new("o.toml"), other).unwrap();
        let wrong = Scheme::from_table(Path::new("g.toml"), table(&["o"]), &set, |_| {
            Some(Part::Codes(Arc::new(other.clone())))
        })
        .unwrap_err()
        .to_string();
        assert!(
            wrong.contains("gives `R1`, which is not a class"),
            "{wrong}"
        );
        let none = Scheme::from_table(Path::new("g.toml"), table(&[]), &set, |_| None);
        assert!(none.unwrap_err().to_string().contains("1 to 8 parts"));
    }
}
