//! Units: the built-in SI and imperial set plus the pack's own, converted with
//! exact decimal arithmetic and rounded half to even (GB/T 8170).
//!
//! Every unit is an exact ratio of its dimension's base unit (metre,
//! kilogram). The built-in set is uom's catalogue of length and mass units
//! (symbols and dimensions), with the exact factors of the 1959 international
//! yard and pound agreement (NIST SP 811, appendix B); uom's own coefficients
//! are binary floats and, for the pound, rounded (0.4535924), so they serve
//! only as a cross-check in the tests.

use std::collections::BTreeMap;
use std::path::Path;

use conform_model::pack::{UnitDefinition, UnitsTable};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::number::{parse_decimal, parse_ratio};
use crate::service_error::{codes, ServiceError};
use crate::validate::RecordValidator;
use crate::PackError;

/// What a plain decimal number looks like, for messages.
pub(crate) const PLAIN_NUMBER_HINT: &str =
    "write digits with an optional `.` decimal point, without commas, units or words";

/// The physical quantity a unit measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// Length, base unit the metre.
    Length,
    /// Mass, base unit the kilogram.
    Mass,
}

impl std::fmt::Display for Dimension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dimension::Length => "length",
            Dimension::Mass => "mass",
        })
    }
}

/// A unit: its dimension and its exact size in the base unit, as `num / den`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Unit {
    pub(crate) dimension: Dimension,
    num: Decimal,
    den: Decimal,
}

/// The built-in units: uom's symbol, its dimension, and the exact factor to
/// the base unit.
pub(crate) fn builtin_units() -> Vec<(&'static str, Dimension, &'static str)> {
    use uom::si::length as l;
    use uom::si::mass as m;
    use uom::si::Unit as _;
    vec![
        (l::micrometer::abbreviation(), Dimension::Length, "0.000001"),
        (l::millimeter::abbreviation(), Dimension::Length, "0.001"),
        (l::centimeter::abbreviation(), Dimension::Length, "0.01"),
        (l::decimeter::abbreviation(), Dimension::Length, "0.1"),
        (l::meter::abbreviation(), Dimension::Length, "1"),
        (l::kilometer::abbreviation(), Dimension::Length, "1000"),
        (l::inch::abbreviation(), Dimension::Length, "0.0254"),
        (l::foot::abbreviation(), Dimension::Length, "0.3048"),
        (l::yard::abbreviation(), Dimension::Length, "0.9144"),
        (m::milligram::abbreviation(), Dimension::Mass, "0.000001"),
        (m::gram::abbreviation(), Dimension::Mass, "0.001"),
        (m::kilogram::abbreviation(), Dimension::Mass, "1"),
        (m::ton::abbreviation(), Dimension::Mass, "1000"),
        (m::pound::abbreviation(), Dimension::Mass, "0.45359237"),
        (m::ounce::abbreviation(), Dimension::Mass, "0.028349523125"),
    ]
}

/// The units a pack knows and the canonical unit of each quantity field.
#[derive(Debug, Clone)]
pub(crate) struct Units {
    units: BTreeMap<String, Unit>,
    /// record type → field → (canonical unit, its definition, decimals)
    fields: BTreeMap<String, BTreeMap<String, (String, Unit, u32)>>,
}

impl Units {
    pub(crate) fn from_table(path: &Path, table: UnitsTable) -> Result<Units, PackError> {
        let mut units: BTreeMap<String, Unit> = builtin_units()
            .into_iter()
            .map(|(symbol, dimension, factor)| {
                let num = factor.parse().expect("built-in factors are decimals");
                (
                    symbol.to_string(),
                    Unit {
                        dimension,
                        num,
                        den: Decimal::ONE,
                    },
                )
            })
            .collect();

        resolve_definitions(path, &table.units, &mut units)?;

        let mut fields: BTreeMap<String, BTreeMap<String, (String, Unit, u32)>> = BTreeMap::new();
        for (record_type, table_fields) in &table.fields {
            for (field, canonical) in table_fields {
                let entry = format!("fields.{record_type}.{field}");
                let Some(unit) = units.get(&canonical.unit) else {
                    return Err(PackError::table(
                        path,
                        entry,
                        format!("unit `{}` is unknown", canonical.unit),
                    ));
                };
                if canonical.decimals > 12 {
                    return Err(PackError::table(path, entry, "decimals must be at most 12"));
                }
                fields.entry(record_type.clone()).or_default().insert(
                    field.clone(),
                    (canonical.unit.clone(), *unit, canonical.decimals),
                );
            }
        }
        Ok(Units { units, fields })
    }

    /// Checks that every field with a canonical unit exists in its record type's schema.
    pub(crate) fn check_fields(
        &self,
        path: &Path,
        validators: &BTreeMap<String, RecordValidator>,
    ) -> Result<(), PackError> {
        for (record_type, field) in self
            .fields
            .iter()
            .flat_map(|(t, fs)| fs.keys().map(move |f| (t, f)))
        {
            let entry = format!("fields.{record_type}.{field}");
            let Some(validator) = validators.get(record_type) else {
                return Err(PackError::table(
                    path,
                    entry,
                    format!("record type `{record_type}` is not in the pack"),
                ));
            };
            if !validator.has_property(field) {
                return Err(PackError::table(
                    path,
                    entry,
                    format!("record type `{record_type}` has no field `{field}` in its schema"),
                ));
            }
        }
        Ok(())
    }

    /// Converts `value` in `unit` to the canonical unit of a field, rounded.
    pub(crate) fn to_canonical(
        &self,
        value: &str,
        unit: &str,
        record_type: &str,
        field: &str,
    ) -> Result<Decimal, ServiceError> {
        let Some((target_symbol, target, decimals)) =
            self.fields.get(record_type).and_then(|fs| fs.get(field))
        else {
            return Err(ServiceError::new(
                codes::UNKNOWN_FIELD,
                format!("field `{field}` of record type `{record_type}` has no canonical unit in the pack"),
            ));
        };
        let number = parse_decimal(value).ok_or_else(|| {
            ServiceError::new(
                codes::NOT_A_NUMBER,
                format!("`{value}` is not a plain decimal number: {PLAIN_NUMBER_HINT}"),
            )
        })?;
        let source = self.unit(unit)?;
        if source.dimension != target.dimension {
            return Err(ServiceError::new(
                codes::INCOMPATIBLE_UNIT,
                format!(
                    "unit `{unit}` measures {} but `{field}` is a {} in `{target_symbol}`",
                    source.dimension, target.dimension
                ),
            ));
        }
        // value × (s.num / s.den) / (t.num / t.den), multiplying first and dividing once.
        let overflow = || {
            ServiceError::new(
                codes::NOT_A_NUMBER,
                format!("`{value}` is too large to convert"),
            )
        };
        let numerator = number
            .checked_mul(source.num)
            .and_then(|x| x.checked_mul(target.den))
            .ok_or_else(overflow)?;
        let denominator = source.den.checked_mul(target.num).ok_or_else(overflow)?;
        let exact = numerator.checked_div(denominator).ok_or_else(overflow)?;
        Ok(round_half_even(exact, *decimals))
    }

    fn unit(&self, symbol: &str) -> Result<&Unit, ServiceError> {
        self.units.get(symbol.trim()).ok_or_else(|| {
            ServiceError::new(
                codes::UNKNOWN_UNIT,
                format!("unit `{symbol}` is not known to the pack: use an SI or imperial symbol (`mm`, `in`, `kg`, `lb` …) or a unit of the pack's units table"),
            )
        })
    }
}

/// Adds the pack's unit definitions to `units`. Definitions may build on
/// each other in any order and chain to any depth: each chain is followed
/// once, iteratively, and every unit is resolved once, so the work is linear
/// in the table's size. A factor whose product overflows exact decimal
/// arithmetic, a cycle, an unknown unit or a redefined built-in unit is an
/// error naming the entry.
fn resolve_definitions(
    path: &Path,
    definitions: &BTreeMap<String, UnitDefinition>,
    units: &mut BTreeMap<String, Unit>,
) -> Result<(), PackError> {
    let entry = |symbol: &str| format!("units.{symbol}");
    if let Some(symbol) = definitions.keys().find(|s| units.contains_key(s.as_str())) {
        return Err(PackError::table(
            path,
            entry(symbol),
            format!("`{symbol}` is a built-in unit and cannot be redefined"),
        ));
    }
    for start in definitions.keys() {
        if units.contains_key(start) {
            continue;
        }
        // Follow the chain down to a unit already known.
        let mut chain: Vec<&str> = vec![start];
        let mut on_chain: std::collections::HashSet<&str> = [start.as_str()].into();
        loop {
            let symbol = *chain.last().expect("the chain starts with one unit");
            let base = definitions[symbol].unit.as_str();
            if units.contains_key(base) {
                break;
            }
            if !definitions.contains_key(base) {
                return Err(PackError::table(
                    path,
                    entry(symbol),
                    format!("unit `{base}` is unknown: use a built-in unit or one defined in this table"),
                ));
            }
            if !on_chain.insert(base) {
                return Err(PackError::table(
                    path,
                    entry(symbol),
                    format!("unit `{base}` is defined in terms of itself (a cycle): define one unit of the cycle by a built-in unit"),
                ));
            }
            chain.push(base);
        }
        // Resolve it back up, each unit from the one below it.
        for symbol in chain.into_iter().rev() {
            let definition = &definitions[symbol];
            let base = units[definition.unit.as_str()];
            let unit = define(&definition.factor, base)
                .map_err(|why| PackError::table(path, entry(symbol), why))?;
            units.insert(symbol.to_string(), unit);
        }
    }
    Ok(())
}

/// The unit `factor` × `base`, exact, or why it cannot be.
fn define(factor: &str, base: Unit) -> Result<Unit, String> {
    let Some((n, d)) = parse_ratio(factor) else {
        return Err(format!(
            "factor `{factor}` must be a decimal (`0.5`) or a fraction (`1/30`)"
        ));
    };
    if n <= Decimal::ZERO || d <= Decimal::ZERO {
        return Err(format!("factor `{factor}` must be positive"));
    }
    let (Some(num), Some(den)) = (n.checked_mul(base.num), d.checked_mul(base.den)) else {
        return Err(format!(
            "factor `{factor}` times its unit's own factor is beyond exact decimal arithmetic (28 digits): define the unit from a closer one"
        ));
    };
    Ok(Unit {
        dimension: base.dimension,
        num,
        den,
    })
}

/// Rounds to `decimals` places, half to even (GB/T 8170 "四舍六入五成双"),
/// keeping the trailing zeros so that the text shows the precision.
pub(crate) fn round_half_even(value: Decimal, decimals: u32) -> Decimal {
    let mut rounded = value.round_dp_with_strategy(decimals, RoundingStrategy::MidpointNearestEven);
    rounded.rescale(decimals);
    rounded
}

#[cfg(test)]
mod tests {
    use super::*;
    use conform_model::pack::CanonicalUnit;

    fn units(extra: &[(&str, &str, &str)]) -> Result<Units, PackError> {
        let mut table = UnitsTable {
            units: BTreeMap::new(),
            fields: BTreeMap::new(),
        };
        for (symbol, factor, unit) in extra {
            table.units.insert(
                symbol.to_string(),
                UnitDefinition {
                    factor: factor.to_string(),
                    unit: unit.to_string(),
                },
            );
        }
        let mut part = BTreeMap::new();
        part.insert(
            "length_mm".to_string(),
            CanonicalUnit {
                unit: "mm".into(),
                decimals: 2,
            },
        );
        part.insert(
            "mass_g".to_string(),
            CanonicalUnit {
                unit: "g".into(),
                decimals: 1,
            },
        );
        table.fields.insert("part".into(), part);
        Units::from_table(Path::new("units.toml"), table)
    }

    fn convert(u: &Units, value: &str, unit: &str, field: &str) -> Result<String, String> {
        u.to_canonical(value, unit, "part", field)
            .map(|d| d.to_string())
            .map_err(|e| e.code.into_owned())
    }

    #[test]
    fn exact_decimal_rounds_half_to_even() {
        let u = units(&[]).unwrap();
        // 0.125 in = 3.175 mm exactly: half to even gives 3.18 (a binary float gives 3.17).
        assert_eq!(convert(&u, "0.125", "in", "length_mm").unwrap(), "3.18");
        assert_eq!(convert(&u, "0.75", "in", "length_mm").unwrap(), "19.05");
        assert_eq!(convert(&u, "1.2", "lb", "mass_g").unwrap(), "544.3");
        assert_eq!(convert(&u, "2.5", "lb", "mass_g").unwrap(), "1134.0");
        assert_eq!(convert(&u, "0.0005", "in", "length_mm").unwrap(), "0.01");
        // 0.0254 mm × 0.5: 0.0127 → 0.01; 1.125 → 1.12 (5 after an even digit stays).
        assert_eq!(convert(&u, "1.125", "mm", "length_mm").unwrap(), "1.12");
        assert_eq!(convert(&u, "1.135", "mm", "length_mm").unwrap(), "1.14");
    }

    #[test]
    fn pack_units_are_exact_ratios() {
        let u = units(&[
            ("斤", "0.5", "kg"),
            ("寸", "1/30", "m"),
            ("两", "0.1", "斤"),
        ])
        .unwrap();
        assert_eq!(convert(&u, "3", "寸", "length_mm").unwrap(), "100.00");
        assert_eq!(convert(&u, "1", "寸", "length_mm").unwrap(), "33.33");
        assert_eq!(convert(&u, "1", "两", "mass_g").unwrap(), "50.0");
    }

    #[test]
    fn wrong_units_are_rejections_not_guesses() {
        let u = units(&[]).unwrap();
        assert_eq!(
            convert(&u, "1", "mn", "length_mm"),
            Err(codes::UNKNOWN_UNIT.to_string())
        );
        assert_eq!(
            convert(&u, "1", "g", "length_mm"),
            Err(codes::INCOMPATIBLE_UNIT.to_string())
        );
        assert_eq!(
            convert(&u, "0,052", "kg", "mass_g"),
            Err(codes::NOT_A_NUMBER.to_string())
        );
        assert_eq!(
            convert(&u, "1", "mm", "depth_mm"),
            Err(codes::UNKNOWN_FIELD.to_string())
        );
    }

    #[test]
    fn table_errors_name_the_entry() {
        let err = units(&[("斤", "0.5", "catty")]).unwrap_err().to_string();
        assert!(err.contains("units.斤") && err.contains("`catty`"), "{err}");
        let err = units(&[("斤", "half", "kg")]).unwrap_err().to_string();
        assert!(err.contains("factor `half`"), "{err}");
    }

    #[test]
    fn long_chains_in_any_order_resolve_in_linear_time() {
        // u0 = 1 g, u1 = 1 u0, …: listed so that each names one defined later.
        let n = 100_000;
        let chain: Vec<(String, String, String)> = (0..n)
            .map(|i| {
                let base = if i == 0 {
                    "g".to_string()
                } else {
                    format!("u{:06}", i - 1)
                };
                (format!("u{i:06}"), "1".to_string(), base)
            })
            .rev()
            .collect();
        let extra: Vec<(&str, &str, &str)> = chain
            .iter()
            .map(|(s, f, u)| (s.as_str(), f.as_str(), u.as_str()))
            .collect();
        let started = std::time::Instant::now();
        let u = units(&extra).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert_eq!(convert(&u, "2", "u099999", "mass_g").unwrap(), "2.0");
    }

    #[test]
    fn overflowing_factors_cycles_and_redefinitions_name_the_entry() {
        let err = units(&[
            ("a", "10000000000000000", "kg"),
            ("b", "10000000000000000", "a"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("units.b") && err.contains("beyond exact"),
            "{err}"
        );
        let err = units(&[("a", "1", "b"), ("b", "1", "a")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cycle"), "{err}");
        let err = units(&[("kg", "1", "g")]).unwrap_err().to_string();
        assert!(
            err.contains("units.kg") && err.contains("built-in"),
            "{err}"
        );
    }

    #[test]
    fn exact_factors_agree_with_uom() {
        use uom::si::f64::{Length, Mass};
        use uom::si::{length as l, mass as m};
        let check = |symbol: &str, uom_base: f64| {
            let (_, _, factor) = builtin_units()
                .into_iter()
                .find(|(s, _, _)| *s == symbol)
                .unwrap();
            let exact: f64 = factor.parse().unwrap();
            assert!(
                ((exact - uom_base) / exact).abs() < 1e-6,
                "{symbol}: {exact} vs uom {uom_base}"
            );
        };
        check("in", Length::new::<l::inch>(1.0).get::<l::meter>());
        check("ft", Length::new::<l::foot>(1.0).get::<l::meter>());
        check("lb", Mass::new::<m::pound>(1.0).get::<m::kilogram>());
        check("oz", Mass::new::<m::ounce>(1.0).get::<m::kilogram>());
        check("cm", Length::new::<l::centimeter>(1.0).get::<l::meter>());
    }
}
