//! The `class-set` kind: the standard's classes, best first. A class is a
//! value (`OUT`, `REJECT` are results of grading, not refusals).

use std::collections::HashMap;
use std::path::Path;

use conform_model::pack::ClassSetTable;

use super::InputRefused;

use crate::PackError;

/// A checked class set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassSet {
    classes: Vec<String>,
    ranks: HashMap<String, usize>,
}

impl ClassSet {
    /// Checks a class set's file: at least one class, none twice.
    pub fn from_table(path: &Path, table: ClassSetTable) -> Result<ClassSet, PackError> {
        if table.classes.is_empty() {
            return Err(PackError::table(
                path,
                "classes",
                "list the standard's classes, best first",
            ));
        }
        let mut ranks = HashMap::with_capacity(table.classes.len());
        for (i, class) in table.classes.iter().enumerate() {
            if ranks.insert(class.clone(), i).is_some() {
                return Err(PackError::table(
                    path,
                    format!("classes[{i}]"),
                    format!("class `{class}` is listed twice"),
                ));
            }
        }
        Ok(ClassSet {
            classes: table.classes,
            ranks,
        })
    }

    /// The classes, best first.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The rank of `class`: 0 is the best.
    pub fn rank(&self, class: &str) -> Option<usize> {
        self.ranks.get(class).copied()
    }

    /// The class of `rank`.
    pub fn class(&self, rank: usize) -> &str {
        &self.classes[rank]
    }

    /// The first classes, for a message: at most eight, then `…`.
    pub fn shown(&self) -> String {
        let mut shown: Vec<&str> = self.classes.iter().take(8).map(String::as_str).collect();
        if self.classes.len() > 8 {
            shown.push("…");
        }
        shown.join(", ")
    }

    /// The worst of `ranks` (the lower class), if any.
    pub fn lowest(&self, ranks: impl IntoIterator<Item = usize>) -> Option<&str> {
        ranks.into_iter().max().map(|rank| self.class(rank))
    }

    /// The best class of `ranks`, if any.
    pub fn highest(&self, ranks: impl IntoIterator<Item = usize>) -> Option<&str> {
        ranks.into_iter().min().map(|rank| self.class(rank))
    }

    /// The worst of `classes`, each a class of the set.
    pub fn lowest_of<S: AsRef<str>>(&self, classes: &[S]) -> Result<&str, InputRefused> {
        let ranks = self.ranks_of(classes)?;
        Ok(self.lowest(ranks).expect("at least one class"))
    }

    /// The best of `classes`, each a class of the set.
    pub fn highest_of<S: AsRef<str>>(&self, classes: &[S]) -> Result<&str, InputRefused> {
        let ranks = self.ranks_of(classes)?;
        Ok(self.highest(ranks).expect("at least one class"))
    }

    /// The ranks of `classes`: at least one (else `no-classes`), each a
    /// class of the set (else its `unknown-class`, naming the input).
    fn ranks_of<S: AsRef<str>>(&self, classes: &[S]) -> Result<Vec<usize>, InputRefused> {
        if classes.is_empty() {
            return Err(InputRefused {
                input: None,
                error: crate::ServiceError::owned(
                    "no-classes".into(),
                    "give at least one class to compare".into(),
                ),
            });
        }
        classes
            .iter()
            .enumerate()
            .map(|(i, class)| {
                self.rank_or_refuse(class.as_ref())
                    .map_err(|error| InputRefused {
                        input: Some(i),
                        error,
                    })
            })
            .collect()
    }

    /// The rank of `class`, or the refusal `unknown-class` naming the set's classes.
    pub fn rank_or_refuse(&self, class: &str) -> Result<usize, crate::ServiceError> {
        self.rank(class).ok_or_else(|| {
            crate::ServiceError::owned(
                "unknown-class".into(),
                format!("`{class}` is not a class of this set ({})", self.shown()),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(classes: &[&str]) -> Result<ClassSet, PackError> {
        ClassSet::from_table(
            Path::new("grades.toml"),
            ClassSetTable {
                classes: classes.iter().map(ToString::to_string).collect(),
            },
        )
    }

    #[test]
    fn classes_rank_best_first_and_the_lowest_is_the_worst() {
        let grades = set(&["A", "B", "C", "REJECT"]).unwrap();
        assert_eq!(grades.rank("A"), Some(0));
        assert_eq!(grades.rank("REJECT"), Some(3));
        assert_eq!(grades.rank("D"), None);
        assert_eq!(grades.lowest([0, 2, 1]), Some("C"));
    }

    #[test]
    fn classes_given_by_name_are_compared_or_refused_naming_the_input() {
        let grades = set(&["A", "B", "C", "REJECT"]).unwrap();
        assert_eq!(grades.lowest_of(&["B", "A", "C"]), Ok("C"));
        assert_eq!(grades.highest_of(&["B", "REJECT"]), Ok("B"));
        let unknown = grades.lowest_of(&["A", "D"]).unwrap_err();
        assert_eq!(unknown.input, Some(1));
        assert_eq!(unknown.error.code, "unknown-class");
        let none = grades.highest_of::<&str>(&[]).unwrap_err();
        assert_eq!((none.input, &*none.error.code), (None, "no-classes"));
    }

    #[test]
    fn an_empty_set_or_a_class_twice_is_refused() {
        assert!(set(&[]).unwrap_err().to_string().contains("best first"));
        let twice = set(&["A", "B", "A"]).unwrap_err().to_string();
        assert!(
            twice.contains("classes[2]") && twice.contains("listed twice"),
            "{twice}"
        );
    }
}
