//! The `thresholds` kind: a quantity classified by inclusive bounds, with a
//! direction (a larger diameter is better; fewer defect points are better).
//! The first bound a value meets gives its class; a value that meets none
//! gets `otherwise`. Values are exact decimals, never binary floats.

use std::path::Path;

use conform_model::pack::{Direction, Rounding, ThresholdsTable};
use rust_decimal::Decimal;

use super::class_set::ClassSet;
use super::units::{round_half_even, Units};
use super::wording::{only_cases, Case, Wording};
use crate::number::parse_decimal;
use crate::service_error::ServiceError;
use crate::PackError;

const NOT_A_NUMBER: Case = Case {
    name: "not-a-number",
    code: None,
    message: "{quantity} `{value}` is not a plain decimal number: {hint}",
    placeholders: &["quantity", "value", "hint"],
};

/// A checked thresholds table.
#[derive(Debug, Clone)]
pub struct Thresholds {
    direction: Direction,
    quantity: String,
    /// (bound, class rank), best class first.
    bounds: Vec<(Decimal, usize)>,
    otherwise: usize,
    /// The decimals a value is rounded to (half to even) before it is classified.
    rounded_to: Option<u32>,
    classes: ClassSet,
    not_a_number: Wording,
}

impl Thresholds {
    /// Checks a thresholds file against the class set it names: each bound
    /// of the direction's side (`at_least` where higher is better, `at_most`
    /// where lower is), bounds strictly in order, classes from the set, none
    /// better than the one before it.
    /// With `rounding`, `units` is the unit catalogue it names (the pack's
    /// loader finds it by name).
    pub fn from_table(
        path: &Path,
        table: ThresholdsTable,
        classes: &ClassSet,
        units: Option<&Units>,
    ) -> Result<Thresholds, PackError> {
        only_cases(path, table.errors.keys(), &[&NOT_A_NUMBER])?;
        let rank = |entry: String, class: &str| {
            classes.rank(class).ok_or_else(|| {
                PackError::table(
                    path,
                    entry,
                    format!(
                        "class `{class}` is not one of `{}` ({})",
                        table.classes,
                        classes.shown()
                    ),
                )
            })
        };
        let mut bounds: Vec<(Decimal, usize)> = Vec::new();
        for (i, bound) in table.bounds.iter().enumerate() {
            let entry = format!("bounds[{i}]");
            let value = bound_value(path, &entry, table.direction, bound)?;
            let class = rank(format!("{entry}.class"), &bound.class)?;
            if let Some(&(previous, previous_class)) = bounds.last() {
                let in_order = match table.direction {
                    Direction::HigherIsBetter => value < previous,
                    Direction::LowerIsBetter => value > previous,
                };
                if !in_order {
                    return Err(PackError::table(path, entry, "bounds are listed best class first, each strictly beyond the one before it"));
                }
                if class < previous_class {
                    return Err(PackError::table(
                        path,
                        entry,
                        format!(
                            "class `{}` is better than the class of the bound before it",
                            bound.class
                        ),
                    ));
                }
            }
            bounds.push((value, class));
        }
        let otherwise = rank("otherwise".into(), &table.otherwise)?;
        if bounds.last().is_some_and(|&(_, last)| otherwise < last) {
            return Err(PackError::table(
                path,
                "otherwise",
                format!(
                    "class `{}` is better than the last bound's",
                    table.otherwise
                ),
            ));
        }
        let rounded_to = match &table.rounding {
            None => None,
            Some(rounding) => Some(rounding_decimals(path, rounding, units)?),
        };
        Ok(Thresholds {
            rounded_to,
            direction: table.direction,
            quantity: table.quantity,
            bounds,
            otherwise,
            classes: classes.clone(),
            not_a_number: Wording::of(path, table.errors.get(NOT_A_NUMBER.name), &NOT_A_NUMBER)?,
        })
    }

    /// The rank of the class `value` (decimal text) earns.
    pub fn rank(&self, value: &str) -> Result<usize, ServiceError> {
        let mut number = parse_decimal(value).ok_or_else(|| {
            self.not_a_number.refuse(&[
                ("quantity", &self.quantity),
                ("value", value),
                ("hint", super::units::PLAIN_NUMBER_HINT),
            ])
        })?;
        if let Some(decimals) = self.rounded_to {
            number = round_half_even(number, decimals);
        }
        let meets = |bound: &Decimal| match self.direction {
            Direction::HigherIsBetter => number >= *bound,
            Direction::LowerIsBetter => number <= *bound,
        };
        Ok(self
            .bounds
            .iter()
            .find(|(bound, _)| meets(bound))
            .map_or(self.otherwise, |&(_, class)| class))
    }

    /// The class set the bounds give classes of.
    pub fn class_set(&self) -> &ClassSet {
        &self.classes
    }

    /// The class `value` (decimal text) earns.
    pub fn classify(&self, value: &str) -> Result<&str, ServiceError> {
        self.rank(value).map(|rank| self.classes.class(rank))
    }
}

/// The decimals of the field `rounding` names, in the unit catalogue given.
fn rounding_decimals(
    path: &Path,
    rounding: &Rounding,
    units: Option<&Units>,
) -> Result<u32, PackError> {
    let Some(units) = units else {
        return Err(PackError::table(
            path,
            "rounding.table",
            format!(
                "`{}` is not a unit-catalogue table of this pack",
                rounding.table
            ),
        ));
    };
    rounding
        .field
        .split_once('.')
        .and_then(|(record_type, field)| units.decimals(record_type, field))
        .ok_or_else(|| {
            PackError::table(
                path,
                "rounding.field",
                format!(
                    "`{}` is not a field (`record_type.field`) with a canonical unit in `{}`",
                    rounding.field, rounding.table
                ),
            )
        })
}

/// A bound's value, on the side its direction asks for.
fn bound_value(
    path: &Path,
    entry: &str,
    direction: Direction,
    bound: &conform_model::pack::Bound,
) -> Result<Decimal, PackError> {
    let (value, side) = match (direction, &bound.at_least, &bound.at_most) {
        (Direction::HigherIsBetter, Some(v), None) => (v, "at_least"),
        (Direction::LowerIsBetter, None, Some(v)) => (v, "at_most"),
        (Direction::HigherIsBetter, ..) => {
            return Err(PackError::table(
                path,
                entry,
                "where higher is better, a bound gives `at_least` alone",
            ))
        }
        (Direction::LowerIsBetter, ..) => {
            return Err(PackError::table(
                path,
                entry,
                "where lower is better, a bound gives `at_most` alone",
            ))
        }
    };
    parse_decimal(value).ok_or_else(|| {
        PackError::table(
            path,
            format!("{entry}.{side}"),
            format!("`{value}` is not a decimal"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use conform_model::pack::ClassSetTable;

    fn classes(names: &[&str]) -> ClassSet {
        ClassSet::from_table(
            Path::new("classes.toml"),
            ClassSetTable {
                classes: names.iter().map(ToString::to_string).collect(),
            },
        )
        .unwrap()
    }

    fn thresholds(text: &str, set: &ClassSet) -> Result<Thresholds, PackError> {
        let table: ThresholdsTable = toml::from_str(text).expect("the file parses");
        Thresholds::from_table(Path::new("thresholds.toml"), table, set, None)
    }

    const DEFECTS: &str = r#"
classes = "fabric-grades"
direction = "lower-is-better"
quantity = "defect rate"
bounds = [{ at_most = "24.0", class = "A" }, { at_most = "48.0", class = "B" }, { at_most = "72.0", class = "C" }]
otherwise = "REJECT"
"#;

    #[test]
    fn lower_is_better_with_inclusive_bounds() {
        let set = classes(&["A", "B", "C", "REJECT"]);
        let defects = thresholds(DEFECTS, &set).unwrap();
        for (value, class) in [
            ("0", "A"),
            ("24.0", "A"),
            ("24.01", "B"),
            ("48", "B"),
            ("72.0", "C"),
            ("72.01", "REJECT"),
        ] {
            assert_eq!(defects.classify(value).unwrap(), class, "{value}");
        }
    }

    #[test]
    fn with_rounding_the_value_is_classified_as_the_record_shows_it() {
        let set = classes(&["A", "B", "C", "REJECT"]);
        let units: conform_model::pack::UnitsTable = toml::from_str(
            "[fields.fabric_roll]\npoints_per_100m2 = { unit = \"m\", decimals = 1 }\n",
        )
        .unwrap();
        let units = Units::from_table(Path::new("units.toml"), units).unwrap();
        let with_rounding = |field: &str| {
            let text =
                format!("{DEFECTS}rounding = {{ table = \"units\", field = \"{field}\" }}\n");
            let table: ThresholdsTable = toml::from_str(&text).unwrap();
            Thresholds::from_table(Path::new("defects.toml"), table, &set, Some(&units))
        };
        let defects = with_rounding("fabric_roll.points_per_100m2").unwrap();
        // 24.05 → 24.0 (half to even) → A; 48.04 → 48.0 → B; unrounded they were B and C.
        assert_eq!(defects.classify("24.05").unwrap(), "A");
        assert_eq!(defects.classify("48.04").unwrap(), "B");
        assert_eq!(defects.classify("24.06").unwrap(), "B");
        assert_eq!(
            thresholds(DEFECTS, &set)
                .unwrap()
                .classify("24.05")
                .unwrap(),
            "B"
        );
        let err = with_rounding("fabric_roll.width_cm")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rounding.field") && err.contains("width_cm"),
            "{err}"
        );
        let table: ThresholdsTable = toml::from_str(&format!(
            "{DEFECTS}rounding = {{ table = \"sizes\", field = \"a.b\" }}\n"
        ))
        .unwrap();
        let err = Thresholds::from_table(Path::new("defects.toml"), table, &set, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rounding.table") && err.contains("`sizes`"),
            "{err}"
        );
    }

    #[test]
    fn higher_is_better_and_a_bad_value_is_refused_naming_the_quantity() {
        let set = classes(&["R1", "R2", "R3", "OUT"]);
        let size = thresholds(
            r#"
classes = "apple-classes"
direction = "higher-is-better"
quantity = "diameter"
bounds = [{ at_least = "80", class = "R1" }, { at_least = "75", class = "R2" }, { at_least = "70", class = "R3" }]
otherwise = "OUT"
"#,
            &set,
        )
        .unwrap();
        assert_eq!(size.classify("80").unwrap(), "R1");
        assert_eq!(size.classify("79.99").unwrap(), "R2");
        assert_eq!(size.classify("69.9").unwrap(), "OUT");
        let refusal = size.classify("7O").unwrap_err();
        assert_eq!(refusal.code, "not-a-number");
        assert!(
            refusal
                .message
                .starts_with("diameter `7O` is not a plain decimal number: "),
            "{}",
            refusal.message
        );
    }

    #[test]
    fn bounds_out_of_order_on_the_wrong_side_or_better_than_before_are_refused() {
        let set = classes(&["A", "B", "C", "REJECT"]);
        let refused = |text: &str| thresholds(text, &set).unwrap_err().to_string();
        let head = "classes = \"g\"\ndirection = \"lower-is-better\"\nquantity = \"q\"\notherwise = \"REJECT\"\n";
        let order = refused(&format!("{head}bounds = [{{ at_most = \"48\", class = \"A\" }}, {{ at_most = \"24\", class = \"B\" }}]\n"));
        assert!(
            order.contains("bounds[1]") && order.contains("strictly"),
            "{order}"
        );
        let side = refused(&format!(
            "{head}bounds = [{{ at_least = \"48\", class = \"A\" }}]\n"
        ));
        assert!(side.contains("`at_most` alone"), "{side}");
        let better = refused(&format!("{head}bounds = [{{ at_most = \"24\", class = \"B\" }}, {{ at_most = \"48\", class = \"A\" }}]\n"));
        assert!(
            better.contains("better than the class of the bound before"),
            "{better}"
        );
        let unknown = refused(&format!(
            "{head}bounds = [{{ at_most = \"24\", class = \"AA\" }}]\n"
        ));
        assert!(
            unknown.contains("class `AA` is not one of `g`"),
            "{unknown}"
        );
        let otherwise = refused("classes = \"g\"\ndirection = \"lower-is-better\"\nquantity = \"q\"\notherwise = \"A\"\nbounds = [{ at_most = \"24\", class = \"B\" }]\n");
        assert!(
            otherwise.contains("better than the last bound"),
            "{otherwise}"
        );
    }
}
