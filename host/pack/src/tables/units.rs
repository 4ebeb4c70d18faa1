//! The `unit-catalogue` kind: units, compound units, and the canonical
//! unit and decimals of every quantity field. Values are converted with
//! exact decimal arithmetic and rounded once, half to even (GB/T 8170).
//!
//! Every unit is an exact ratio of a product of base units: the built-in
//! metre and kilogram, and up to six bases a pack adds (`point`, a defect
//! count). A unit is defined from another, optionally raised to a power and
//! divided by a third (`oz/yd2` = 1 `oz` per `yd^2`). The built-in set is
//! uom's catalogue of length and mass units (symbols and dimensions), with
//! the exact factors of the 1959 international yard and pound agreement
//! (NIST SP 811, appendix B); uom's own coefficients are binary floats and,
//! for the pound, rounded (0.4535924), so they serve only as a cross-check
//! in the tests.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use conform_model::pack::{UnitDefinition, UnitsTable};
use rust_decimal::{Decimal, RoundingStrategy};

use super::integer_ratio::IntegerRatio;
use super::wording::{only_cases, Case, Wording};
use crate::number::{parse_decimal, parse_ratio, push_decimal, push_scaled};
use crate::service_error::ServiceError;
use crate::validate::RecordValidator;
use crate::PackError;

/// What a plain decimal number looks like, for messages.
pub(crate) const PLAIN_NUMBER_HINT: &str =
    "write digits with an optional `.` decimal point, without commas, units or words";

const UNKNOWN_FIELD: Case = Case {
    name: "unknown-field",
    code: None,
    message: "field `{field}` of record type `{record_type}` has no canonical unit in the pack",
    placeholders: &["field", "record_type"],
};
const NOT_A_NUMBER: Case = Case {
    name: "not-a-number",
    code: None,
    message: "`{value}` is not a plain decimal number: {hint}",
    placeholders: &["value", "unit", "field", "hint"],
};
const UNKNOWN_UNIT: Case = Case {
    name: "unknown-unit",
    code: None,
    message: "unit `{unit}` is not known to the pack: use an SI or imperial symbol (`mm`, `in`, `kg`, `lb` …) or a unit of the pack's units table",
    placeholders: &["unit", "value", "field"],
};
const INCOMPATIBLE_UNIT: Case = Case {
    name: "incompatible-unit",
    code: None,
    message: "unit `{unit}` measures {measures} but `{field}` is {quantity} in `{canonical}`",
    placeholders: &[
        "unit",
        "value",
        "field",
        "measures",
        "quantity",
        "canonical",
    ],
};
/// Worded apart from `not-a-number`, under its code, as 0.1.0 reported it.
const TOO_LARGE: Case = Case {
    name: "too-large",
    code: Some("not-a-number"),
    message: "`{value}` is too large to convert",
    placeholders: &["value", "unit", "field"],
};
const CASES: [&Case; 5] = [
    &UNKNOWN_FIELD,
    &NOT_A_NUMBER,
    &UNKNOWN_UNIT,
    &INCOMPATIBLE_UNIT,
    &TOO_LARGE,
];

/// How many base quantities there are at most: length, mass and six of
/// the pack's own.
const MAX_BASES: usize = 8;
/// The highest power a unit may be raised to (`yd^2`, `m^3`, …).
const MAX_POWER: i8 = 4;

/// A quantity's dimension: the power of each base quantity.
type Dims = [i8; MAX_BASES];

/// A unit: its dimension and its exact size in base units, as `num / den`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Unit {
    dims: Dims,
    num: Decimal,
    den: Decimal,
}

impl Unit {
    fn base(index: usize) -> Unit {
        let mut dims = [0; MAX_BASES];
        dims[index] = 1;
        Unit {
            dims,
            num: Decimal::ONE,
            den: Decimal::ONE,
        }
    }

    /// This unit to the power `power`, exactly, or `None`.
    fn pow(self, power: i8) -> Option<Unit> {
        let mut unit = Unit {
            dims: self.dims.map(|d| d * power),
            num: Decimal::ONE,
            den: Decimal::ONE,
        };
        for _ in 0..power {
            unit.num = exact_mul(unit.num, self.num)?;
            unit.den = exact_mul(unit.den, self.den)?;
        }
        Some(unit)
    }

    /// This unit divided by `other`, exactly, or `None`.
    fn per(self, other: Unit) -> Option<Unit> {
        let mut dims = self.dims;
        for (d, o) in dims.iter_mut().zip(other.dims) {
            *d -= o;
        }
        Some(Unit {
            dims,
            num: exact_mul(self.num, other.den)?,
            den: exact_mul(self.den, other.num)?,
        })
    }

    /// `factor` (`n / d`) times this unit, exactly, or `None`.
    fn times(self, n: Decimal, d: Decimal) -> Option<Unit> {
        Some(Unit {
            dims: self.dims,
            num: exact_mul(n, self.num)?,
            den: exact_mul(d, self.den)?,
        })
    }
}

/// `a × b` when decimal arithmetic holds it exactly: rust_decimal rounds a
/// product that does not fit, and a factor must never be rounded.
fn exact_mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    let product = a.checked_mul(b)?;
    (product.scale() == a.scale() + b.scale() && !product.is_zero()).then_some(product)
}

/// The built-in units: uom's symbol, its base (0 = metre, 1 = kilogram),
/// and the exact factor to the base unit.
pub(crate) fn builtin_units() -> Vec<(&'static str, usize, &'static str)> {
    use uom::si::length as l;
    use uom::si::mass as m;
    use uom::si::Unit as _;
    vec![
        (l::micrometer::abbreviation(), 0, "0.000001"),
        (l::millimeter::abbreviation(), 0, "0.001"),
        (l::centimeter::abbreviation(), 0, "0.01"),
        (l::decimeter::abbreviation(), 0, "0.1"),
        (l::meter::abbreviation(), 0, "1"),
        (l::kilometer::abbreviation(), 0, "1000"),
        (l::inch::abbreviation(), 0, "0.0254"),
        (l::foot::abbreviation(), 0, "0.3048"),
        (l::yard::abbreviation(), 0, "0.9144"),
        (m::milligram::abbreviation(), 1, "0.000001"),
        (m::gram::abbreviation(), 1, "0.001"),
        (m::kilogram::abbreviation(), 1, "1"),
        (m::ton::abbreviation(), 1, "1000"),
        (m::pound::abbreviation(), 1, "0.45359237"),
        (m::ounce::abbreviation(), 1, "0.028349523125"),
    ]
}

/// A field's canonical unit: its symbol, its definition, its decimals.
#[derive(Debug, Clone)]
struct Canonical {
    symbol: String,
    unit: Unit,
    decimals: u32,
}

/// A checked unit catalogue: the units a pack knows and the canonical unit
/// of each quantity field.
#[derive(Debug, Clone)]
pub struct Units {
    /// The table's file, for the errors of [`Units::check_fields`].
    path: std::path::PathBuf,
    units: HashMap<String, Unit>,
    /// record type → field → its canonical unit
    fields: BTreeMap<String, BTreeMap<String, Canonical>>,
    quantities: QuantityNames,
    wording: UnitWording,
}

/// The catalogue's refusals, worded.
#[derive(Debug, Clone)]
struct UnitWording {
    unknown_field: Wording,
    not_a_number: Wording,
    unknown_unit: Wording,
    incompatible_unit: Wording,
    too_large: Wording,
}

/// What quantities are called in messages.
#[derive(Debug, Clone)]
struct QuantityNames {
    /// The base quantities' names, by index.
    bases: Vec<String>,
    /// Named compound quantities.
    named: HashMap<Dims, String>,
}

impl QuantityNames {
    /// The quantity of `dims`, by name where the pack gives one, else as a
    /// formula of base quantities (`mass / length^2`).
    fn describe(&self, dims: &Dims) -> String {
        if let Some(name) = self.named.get(dims) {
            return name.clone();
        }
        if let Some(i) = single_base(dims) {
            return self.bases[i].clone();
        }
        let term = |i: usize, power: i8| match power {
            1 => self.bases[i].clone(),
            p => format!("{}^{p}", self.bases[i]),
        };
        let above: Vec<String> = (0..MAX_BASES)
            .filter(|&i| dims[i] > 0)
            .map(|i| term(i, dims[i]))
            .collect();
        let below: Vec<String> = (0..MAX_BASES)
            .filter(|&i| dims[i] < 0)
            .map(|i| term(i, -dims[i]))
            .collect();
        match (above.is_empty(), below.is_empty()) {
            (true, true) => "a pure number".into(),
            (false, true) => above.join(" × "),
            (true, false) => format!("1 / {}", below.join(" × ")),
            (false, false) => format!("{} / {}", above.join(" × "), below.join(" × ")),
        }
    }
}

/// The index of the one base `dims` is the first power of, if so.
fn single_base(dims: &Dims) -> Option<usize> {
    let mut only = None;
    for (i, &d) in dims.iter().enumerate() {
        match d {
            0 => {}
            1 if only.is_none() => only = Some(i),
            _ => return None,
        }
    }
    only
}

impl Units {
    /// Checks a unit catalogue: bases, definitions (in any order, to any
    /// depth, with powers and `per`), quantity names, and each field's
    /// canonical unit; errors name the entry.
    pub fn from_table(path: &Path, table: UnitsTable) -> Result<Units, PackError> {
        only_cases(path, table.errors.keys(), &CASES)?;
        let wording = |case: &Case| Wording::of(path, table.errors.get(case.name), case);
        let wording = UnitWording {
            unknown_field: wording(&UNKNOWN_FIELD)?,
            not_a_number: wording(&NOT_A_NUMBER)?,
            unknown_unit: wording(&UNKNOWN_UNIT)?,
            incompatible_unit: wording(&INCOMPATIBLE_UNIT)?,
            too_large: wording(&TOO_LARGE)?,
        };
        let mut units: HashMap<String, Unit> = builtin_units()
            .into_iter()
            .map(|(symbol, base, factor)| {
                let num: Decimal = factor.parse().expect("built-in factors are decimals");
                let unit = Unit::base(base)
                    .times(num, Decimal::ONE)
                    .expect("built-in factors are exact");
                (symbol.to_string(), unit)
            })
            .collect();
        let bases = add_bases(path, &table.bases, &mut units)?;
        resolve_definitions(path, &table.units, &mut units)?;
        let quantities = QuantityNames {
            bases,
            named: name_quantities(path, &table.quantities, &units)?,
        };
        let fields = canonical_fields(path, &table, &units)?;
        Ok(Units {
            path: path.to_path_buf(),
            units,
            fields,
            quantities,
            wording,
        })
    }

    /// Checks that every field with a canonical unit exists in its record type's schema.
    pub(crate) fn check_fields(
        &self,
        validators: &BTreeMap<String, RecordValidator>,
    ) -> Result<(), PackError> {
        let path = self.path.as_path();
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

    /// A field's canonical unit symbol and decimals, if it has a canonical unit.
    pub fn canonical(&self, record_type: &str, field: &str) -> Option<(&str, u32)> {
        let canonical = self.fields.get(record_type)?.get(field)?;
        Some((&canonical.symbol, canonical.decimals))
    }

    /// The refusal of a field without a canonical unit, as the pack words it.
    pub fn unknown_field(&self, record_type: &str, field: &str) -> ServiceError {
        self.wording
            .unknown_field
            .refuse(&[("field", field), ("record_type", record_type)])
    }

    /// The decimals a field's values are rounded to, if it has a canonical unit.
    pub fn decimals(&self, record_type: &str, field: &str) -> Option<u32> {
        Some(self.fields.get(record_type)?.get(field)?.decimals)
    }

    /// Converts `value` in `unit` to the canonical unit of a field, rounded.
    pub fn to_canonical(
        &self,
        value: &str,
        unit: &str,
        record_type: &str,
        field: &str,
    ) -> Result<Decimal, ServiceError> {
        let looked = self.look_up(unit, record_type, field);
        self.answer(&looked, value, unit, record_type, field)
    }

    /// The exact factor from `unit` to the canonical unit of a field, as
    /// `(num, den)` in lowest terms, when both units are known, measure
    /// the same quantity and both terms fit 64 bits: a plain decimal value
    /// times it, rounded half to even to the field's decimals, is what
    /// [`Units::to_canonical`] answers whenever that arithmetic fits 64
    /// bits (contract 0.2.0's `quantity.factor`, with which a plugin
    /// converts such values itself).
    pub fn factor(&self, unit: &str, record_type: &str, field: &str) -> Option<(u64, u64)> {
        let looked = self.look_up(unit, record_type, field);
        looked.target?;
        looked.ratio?.terms_u64()
    }

    /// Values given back to back in `text`, value i ending at byte
    /// `ends[i]`, each converted as [`Units::to_canonical`] converts it,
    /// the unit and the field looked up once; `None` when `ends` do not
    /// cut `text` (decreasing, past its end, or inside a character).
    pub fn to_canonical_column(
        &self,
        text: &str,
        ends: &[u32],
        unit: &str,
        record_type: &str,
        field: &str,
    ) -> Option<ColumnAnswers> {
        // The cut is checked before any work: a column cut wrongly costs
        // one pass over `ends`.
        let mut start = 0;
        for &end in ends {
            text.get(start..end as usize)?;
            start = end as usize;
        }
        let looked = self.look_up(unit, record_type, field);
        // The integer path's ratio and decimals, when it has both.
        let integer_path = looked.ratio.zip(looked.target.map(|t| t.decimals));
        // Decimal text is ASCII: written as bytes, checked as UTF-8 once.
        let mut out: Vec<u8> = Vec::with_capacity(ends.len() * 8);
        let mut answers = Vec::with_capacity(ends.len());
        let mut start = 0;
        for &end in ends {
            let value = &text[start..end as usize];
            start = end as usize;
            let from = out.len() as u32;
            // The common case, written straight from integer arithmetic.
            let scaled = integer_path.and_then(|(ratio, decimals)| {
                Some((ratio.convert_scaled(value, decimals)?, decimals))
            });
            if let Some(((negative, magnitude), decimals)) = scaled {
                push_scaled(&mut out, negative, magnitude, decimals);
                answers.push(Ok((from, out.len() as u32)));
                continue;
            }
            let answer = self.answer(&looked, value, unit, record_type, field);
            answers.push(answer.map(|number| {
                let from = out.len() as u32;
                push_decimal(&mut out, number);
                (from, out.len() as u32)
            }));
        }
        let out = String::from_utf8(out).expect("decimal text is ASCII");
        Some((out, answers))
    }

    /// The unit and the field's canonical unit, looked up once for all the
    /// values given in that unit.
    fn look_up(&self, unit: &str, record_type: &str, field: &str) -> LookedUp<'_> {
        let target = self.fields.get(record_type).and_then(|fs| fs.get(field));
        let source = self.units.get(unit.trim());
        let ratio = match (source, target) {
            (Some(source), Some(target)) if source.dims == target.unit.dims => {
                IntegerRatio::between(source.num, source.den, target.unit.num, target.unit.den)
            }
            _ => None,
        };
        LookedUp {
            target,
            source,
            ratio,
        }
    }

    /// `value` converted, or why not, in order: the field, the number, the
    /// unit, the quantity, the size.
    fn answer(
        &self,
        looked: &LookedUp<'_>,
        value: &str,
        unit: &str,
        record_type: &str,
        field: &str,
    ) -> Result<Decimal, ServiceError> {
        if let (Some(ratio), Some(target)) = (looked.ratio, looked.target) {
            if let Some(number) = ratio.convert(value, target.decimals) {
                return Ok(number);
            }
        }
        self.general_answer(looked, value, unit, record_type, field)
    }

    /// [`Units::answer`] in decimal arithmetic, for every value and unit:
    /// what the integer path answers for the values it holds.
    fn general_answer(
        &self,
        looked: &LookedUp<'_>,
        value: &str,
        unit: &str,
        record_type: &str,
        field: &str,
    ) -> Result<Decimal, ServiceError> {
        let Some(target) = looked.target else {
            return Err(self.unknown_field(record_type, field));
        };
        let given = [("value", value), ("unit", unit), ("field", field)];
        let number = parse_decimal(value).ok_or_else(|| {
            self.wording.not_a_number.refuse(&[
                given[0],
                given[1],
                given[2],
                ("hint", PLAIN_NUMBER_HINT),
            ])
        })?;
        let source = looked
            .source
            .ok_or_else(|| self.wording.unknown_unit.refuse(&given))?;
        if source.dims != target.unit.dims {
            let measures = self.quantities.describe(&source.dims);
            let quantity = self.quantities.describe(&target.unit.dims);
            return Err(self.wording.incompatible_unit.refuse(&[
                given[0],
                given[1],
                given[2],
                ("measures", &measures),
                ("quantity", &quantity),
                ("canonical", &target.symbol),
            ]));
        }
        convert(number, source, &target.unit, target.decimals)
            .ok_or_else(|| self.wording.too_large.refuse(&given))
    }
}

/// A unit and a field's canonical unit as looked up, each if known.
struct LookedUp<'u> {
    target: Option<&'u Canonical>,
    source: Option<&'u Unit>,
    /// The factor from source to target as integers, when both are known,
    /// of one quantity, and the factor's terms fit.
    ratio: Option<IntegerRatio>,
}

/// A column's answers from [`Units::to_canonical_column`]: the canonical
/// values back to back, and per value its bytes there or its refusal.
pub type ColumnAnswers = (String, Vec<Result<(u32, u32), ServiceError>>);

/// `value` in `source`, in `target`, rounded half to even once to
/// `decimals`: `value × s.num × t.den / (s.den × t.num)`, multiplying first
/// and dividing once. A quotient decimal arithmetic cannot hold exactly
/// (28 digits) may land exactly on a half; the remainder's sign then says
/// which way the exact value lies, so it is never rounded twice.
fn convert(value: Decimal, source: &Unit, target: &Unit, decimals: u32) -> Option<Decimal> {
    let numerator = value.checked_mul(source.num)?.checked_mul(target.den)?;
    let denominator = source.den.checked_mul(target.num)?;
    if let Some(quotient) = divided_by_power_of_ten(numerator, denominator) {
        return Some(round_half_even(quotient, decimals));
    }
    let quotient = numerator.checked_div(denominator)?;
    let on_a_half = quotient
        .round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero)
        != quotient.round_dp_with_strategy(decimals, RoundingStrategy::MidpointTowardZero);
    if on_a_half {
        // The denominator is positive, so quotient × denominator against the
        // numerator says whether the quotient is above or below the exact value.
        if let Some(back) = quotient.checked_mul(denominator) {
            let strategy = match back.cmp(&numerator) {
                std::cmp::Ordering::Greater => Some(RoundingStrategy::ToNegativeInfinity),
                std::cmp::Ordering::Less => Some(RoundingStrategy::ToPositiveInfinity),
                std::cmp::Ordering::Equal => None,
            };
            if let Some(strategy) = strategy {
                let mut rounded = quotient.round_dp_with_strategy(decimals, strategy);
                rounded.rescale(decimals);
                return Some(rounded);
            }
        }
    }
    Some(round_half_even(quotient, decimals))
}

/// `numerator / denominator` when the denominator is a power of ten at or
/// below one (`0.001`, the common case of a metric canonical unit) and the
/// quotient is held without rounding: the digits shifted, no division.
fn divided_by_power_of_ten(numerator: Decimal, denominator: Decimal) -> Option<Decimal> {
    if denominator.mantissa() != 1 {
        return None;
    }
    let shifted = numerator
        .mantissa()
        .checked_mul(10i128.checked_pow(denominator.scale())?)?;
    const HELD: i128 = 1 << 96;
    (shifted.abs() < HELD).then(|| Decimal::from_i128_with_scale(shifted, numerator.scale()))
}

/// Adds the pack's base units; returns every base quantity's name by index.
fn add_bases(
    path: &Path,
    bases: &BTreeMap<String, String>,
    units: &mut HashMap<String, Unit>,
) -> Result<Vec<String>, PackError> {
    let mut names = vec!["length".to_string(), "mass".to_string()];
    for (symbol, quantity) in bases {
        let entry = format!("bases.{symbol}");
        if names.len() == MAX_BASES {
            return Err(PackError::table(
                path,
                entry,
                format!("a pack may add at most {} base units", MAX_BASES - 2),
            ));
        }
        if units.contains_key(symbol) {
            return Err(PackError::table(
                path,
                entry,
                format!("`{symbol}` is a built-in unit and cannot be a base"),
            ));
        }
        if quantity.trim().is_empty() || names.contains(quantity) {
            return Err(PackError::table(
                path,
                entry,
                "name the quantity the base counts, once (`defect count`)",
            ));
        }
        units.insert(symbol.clone(), Unit::base(names.len()));
        names.push(quantity.clone());
    }
    Ok(names)
}

/// A unit named with an optional power: `yd^2` is (`yd`, 2).
fn powered<'a>(path: &Path, entry: &str, text: &'a str) -> Result<(&'a str, i8), PackError> {
    let Some((symbol, power)) = text.rsplit_once('^') else {
        return Ok((text, 1));
    };
    match power.parse::<i8>() {
        Ok(p) if (1..=MAX_POWER).contains(&p) && !symbol.is_empty() => Ok((symbol, p)),
        _ => Err(PackError::table(
            path,
            entry,
            format!("`{text}`: a power is written `unit^n` with n from 1 to {MAX_POWER}"),
        )),
    }
}

/// Adds the pack's unit definitions to `units`. Definitions may build on
/// each other in any order and to any depth: a depth-first walk with its
/// own stack resolves every unit once, so the work is linear in the
/// table's size. A factor whose product leaves exact decimal arithmetic, a
/// cycle, an unknown unit, a bad power or a redefined built-in unit is an
/// error naming the entry.
fn resolve_definitions(
    path: &Path,
    definitions: &BTreeMap<String, UnitDefinition>,
    units: &mut HashMap<String, Unit>,
) -> Result<(), PackError> {
    let entry = |symbol: &str| format!("units.{symbol}");
    if let Some(symbol) = definitions.keys().find(|s| units.contains_key(s.as_str())) {
        return Err(PackError::table(
            path,
            entry(symbol),
            format!("`{symbol}` is a built-in unit or a base and cannot be redefined"),
        ));
    }
    // The units each definition names, powers split off.
    let mut uses: HashMap<&str, Vec<(&str, i8)>> = HashMap::new();
    for (symbol, definition) in definitions {
        let mut named = vec![powered(path, &entry(symbol), &definition.unit)?];
        if let Some(per) = &definition.per {
            named.push(powered(path, &entry(symbol), per)?);
        }
        uses.insert(symbol, named);
    }
    for start in definitions.keys() {
        if units.contains_key(start) {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        let mut on_stack: HashSet<&str> = [start.as_str()].into();
        while let Some((symbol, next)) = stack.last_mut() {
            let symbol: &str = symbol;
            if let Some(&(used, _)) = uses[symbol].get(*next) {
                *next += 1;
                if units.contains_key(used) {
                    continue;
                }
                if !definitions.contains_key(used) {
                    return Err(PackError::table(
                        path,
                        entry(symbol),
                        format!("unit `{used}` is unknown: use a built-in unit, a base or one defined in this table"),
                    ));
                }
                if !on_stack.insert(used) {
                    return Err(PackError::table(
                        path,
                        entry(symbol),
                        format!("unit `{used}` is defined in terms of itself (a cycle): define one unit of the cycle by a built-in unit"),
                    ));
                }
                stack.push((used, 0));
            } else {
                let unit = define(&definitions[symbol], &uses[symbol], units)
                    .map_err(|why| PackError::table(path, entry(symbol), why))?;
                units.insert(symbol.to_string(), unit);
                on_stack.remove(symbol);
                stack.pop();
            }
        }
    }
    Ok(())
}

/// The unit `factor` × `unit^p` / `per^q`, exact, or why it cannot be;
/// every unit it names is already known.
fn define(
    definition: &UnitDefinition,
    uses: &[(&str, i8)],
    units: &HashMap<String, Unit>,
) -> Result<Unit, String> {
    let factor = &definition.factor;
    let Some((n, d)) = parse_ratio(factor) else {
        return Err(format!(
            "factor `{factor}` must be a decimal (`0.5`) or a fraction (`1/30`)"
        ));
    };
    if n <= Decimal::ZERO || d <= Decimal::ZERO {
        return Err(format!("factor `{factor}` must be positive"));
    }
    let beyond = || {
        format!(
            "factor `{factor}` with its units' own factors is beyond exact decimal arithmetic (28 digits): define the unit from a closer one"
        )
    };
    let mut unit = units[uses[0].0].pow(uses[0].1).ok_or_else(beyond)?;
    if let Some(&(per, power)) = uses.get(1) {
        let per = units[per].pow(power).ok_or_else(beyond)?;
        unit = unit.per(per).ok_or_else(beyond)?;
    }
    if unit.dims.iter().any(|d| d.abs() > MAX_POWER * 2) {
        return Err(format!(
            "`{}` raises a base quantity beyond the power {}",
            definition.unit,
            MAX_POWER * 2
        ));
    }
    unit.times(n, d).ok_or_else(beyond)
}

/// The pack's names of compound quantities, by dimension.
fn name_quantities(
    path: &Path,
    quantities: &BTreeMap<String, String>,
    units: &HashMap<String, Unit>,
) -> Result<HashMap<Dims, String>, PackError> {
    let mut named: HashMap<Dims, String> = HashMap::new();
    for (name, symbol) in quantities {
        let entry = format!("quantities.{name}");
        let Some(unit) = units.get(symbol) else {
            return Err(PackError::table(
                path,
                entry,
                format!("unit `{symbol}` is unknown: name a quantity by one of its units"),
            ));
        };
        if let Some(other) = named.insert(unit.dims, name.clone()) {
            return Err(PackError::table(
                path,
                entry,
                format!("`{other}` is already the name of this quantity"),
            ));
        }
    }
    Ok(named)
}

/// Each field's canonical unit and decimals, checked.
fn canonical_fields(
    path: &Path,
    table: &UnitsTable,
    units: &HashMap<String, Unit>,
) -> Result<BTreeMap<String, BTreeMap<String, Canonical>>, PackError> {
    let mut fields: BTreeMap<String, BTreeMap<String, Canonical>> = BTreeMap::new();
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
                Canonical {
                    symbol: canonical.unit.clone(),
                    unit: *unit,
                    decimals: canonical.decimals,
                },
            );
        }
    }
    Ok(fields)
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
            bases: BTreeMap::new(),
            quantities: BTreeMap::new(),
            units: BTreeMap::new(),
            fields: BTreeMap::new(),
            errors: BTreeMap::new(),
        };
        for (symbol, factor, unit) in extra {
            table.units.insert(
                symbol.to_string(),
                UnitDefinition {
                    factor: factor.to_string(),
                    unit: unit.to_string(),
                    per: None,
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
        part.insert(
            "length_in".to_string(),
            CanonicalUnit {
                unit: "in".into(),
                decimals: 3,
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
            Err(crate::codes::UNKNOWN_UNIT.to_string())
        );
        assert_eq!(
            convert(&u, "1", "g", "length_mm"),
            Err(crate::codes::INCOMPATIBLE_UNIT.to_string())
        );
        assert_eq!(
            convert(&u, "0,052", "kg", "mass_g"),
            Err(crate::codes::NOT_A_NUMBER.to_string())
        );
        assert_eq!(
            convert(&u, "1", "mm", "depth_mm"),
            Err(crate::codes::UNKNOWN_FIELD.to_string())
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

    /// The sample textile standard's unit catalogue, as its pack will write it.
    const TEXTILE_UNITS: &str = r#"
bases = { point = "defect count" }
quantities = { "areal density" = "g/m2", "defect rate" = "points/100m2" }
[units]
"英寸" = { factor = "1", unit = "in" }
"码" = { factor = "1", unit = "yd" }
"g/m2" = { factor = "1", unit = "g", per = "m^2" }
"g/m²" = { factor = "1", unit = "g/m2" }
"gsm" = { factor = "1", unit = "g/m2" }
"oz/yd2" = { factor = "1", unit = "oz", per = "yd^2" }
"osy" = { factor = "1", unit = "oz/yd2" }
"points/100m2" = { factor = "1/100", unit = "point", per = "m^2" }
"points/100yd2" = { factor = "1/100", unit = "point", per = "yd^2" }
"分/100平方码" = { factor = "1", unit = "points/100yd2" }
[fields.fabric_roll]
width_cm = { unit = "cm", decimals = 1 }
length_m = { unit = "m", decimals = 2 }
areal_density_gsm = { unit = "g/m2", decimals = 1 }
points_per_100m2 = { unit = "points/100m2", decimals = 1 }
"#;

    fn textile() -> Units {
        let table: UnitsTable = toml::from_str(TEXTILE_UNITS).unwrap();
        Units::from_table(Path::new("units.toml"), table).unwrap()
    }

    fn roll(u: &Units, value: &str, unit: &str, field: &str) -> Result<String, ServiceError> {
        u.to_canonical(value, unit, "fabric_roll", field)
            .map(|d| d.to_string())
    }

    #[test]
    fn every_row_of_the_textile_rounding_table() {
        let u = textile();
        for (value, unit, field, expected) in [
            ("24.05", "points/100m2", "points_per_100m2", "24.0"),
            ("148.65", "cm", "width_cm", "148.6"),
            ("85.125", "m", "length_m", "85.12"),
            ("260.35", "g/m2", "areal_density_gsm", "260.4"),
            ("48.04", "points/100m2", "points_per_100m2", "48.0"),
            ("57.5", "in", "width_cm", "146.0"),
            ("68.75", "yd", "length_m", "62.86"),
            ("20.108863008", "points/100yd2", "points_per_100m2", "24.0"),
            ("93.75", "yd", "length_m", "85.72"),
            ("40.14", "points/100yd2", "points_per_100m2", "48.0"),
            ("18.75", "yd", "length_m", "17.14"),
            ("43.75", "码", "length_m", "40.00"),
            // 3.5 oz/yd² = 118.670… g/m²; 18.2 points per 100 yd² = 21.767… per 100 m².
            ("3.5", "oz/yd2", "areal_density_gsm", "118.7"),
            ("3.5", "osy", "areal_density_gsm", "118.7"),
            ("18.2", "分/100平方码", "points_per_100m2", "21.8"),
            ("62.5", "英寸", "width_cm", "158.8"),
        ] {
            assert_eq!(
                roll(&u, value, unit, field).unwrap(),
                expected,
                "{value} {unit} → {field}"
            );
        }
    }

    #[test]
    fn a_unit_of_another_quantity_is_refused_by_name() {
        let u = textile();
        let refusal = roll(&u, "3", "oz", "areal_density_gsm").unwrap_err();
        assert_eq!(refusal.code, "incompatible-unit");
        assert_eq!(
            refusal.message,
            "unit `oz` measures mass but `areal_density_gsm` is areal density in `g/m2`"
        );
        let refusal = roll(&u, "3", "point", "points_per_100m2").unwrap_err();
        assert!(
            refusal.message.contains("measures defect count but")
                && refusal.message.contains("is defect rate"),
            "{}",
            refusal.message
        );
        // A compound quantity without a name is written out.
        let mut per_volume = [0; MAX_BASES];
        per_volume[0] = -3;
        per_volume[1] = 1;
        assert_eq!(u.quantities.describe(&per_volume), "mass / length^3");
        per_volume[1] = 0;
        assert_eq!(u.quantities.describe(&per_volume), "1 / length^3");
        assert_eq!(u.quantities.describe(&[0; MAX_BASES]), "a pure number");
        assert_eq!(
            roll(&u, "3", "momme", "areal_density_gsm")
                .unwrap_err()
                .code,
            "unknown-unit"
        );
    }

    #[test]
    fn a_quotient_that_lands_on_a_half_is_rounded_by_the_exact_value() {
        // 1/3 kg: .0150000000000000000000000001 / 3 is 0.005000…0003333…,
        // whose 28-digit quotient is 0.005 exactly; half to even alone
        // would give 0.00, the exact value is above the half: 0.01.
        let mut table: UnitsTable = toml::from_str(
            "[units]\nthird = { factor = \"1/3\", unit = \"kg\" }\n[fields.lot]\nw = { unit = \"kg\", decimals = 2 }\n",
        )
        .unwrap();
        table.errors.clear();
        let u = Units::from_table(Path::new("units.toml"), table).unwrap();
        let kg = |v: &str| u.to_canonical(v, "third", "lot", "w").unwrap().to_string();
        assert_eq!(kg(".0150000000000000000000000001"), "0.01");
        assert_eq!(kg(".0149999999999999999999999999"), "0.00");
        // An exact half still goes to the even neighbour.
        assert_eq!(kg("0.015"), "0.00");
        assert_eq!(kg("0.045"), "0.02");
    }

    #[test]
    fn bases_powers_and_quantities_are_checked() {
        let refused = |text: &str| {
            let table: UnitsTable = toml::from_str(text).unwrap();
            Units::from_table(Path::new("units.toml"), table)
                .unwrap_err()
                .to_string()
        };
        let err = refused("[units]\nx = { factor = \"1\", unit = \"m^5\" }\n");
        assert!(
            err.contains("units.x") && err.contains("from 1 to 4"),
            "{err}"
        );
        let err = refused("bases = { kg = \"weight\" }\n");
        assert!(
            err.contains("bases.kg") && err.contains("built-in"),
            "{err}"
        );
        let err = refused("bases = { a = \"x\", b = \"x\" }\n");
        assert!(err.contains("bases.b"), "{err}");
        let err = refused(
            "bases = { a = \"1\", b = \"2\", c = \"3\", d = \"4\", e = \"5\", f = \"6\", g2 = \"7\" }\n",
        );
        assert!(err.contains("at most 6"), "{err}");
        let err = refused("quantities = { area = \"m2\" }\n");
        assert!(
            err.contains("quantities.area") && err.contains("`m2`"),
            "{err}"
        );
        let err = refused("quantities = { distance = \"m\", span = \"yd\" }\n");
        assert!(
            err.contains("quantities.span") && err.contains("`distance`"),
            "{err}"
        );
        let err = refused("[units]\nbig = { factor = \"0.00000000000000001\", unit = \"mm^4\" }\n");
        assert!(
            err.contains("units.big") && err.contains("beyond exact"),
            "{err}"
        );
        let err = refused("[errors.unknown-unit]\nmessage = \"no {symbol}\"\n");
        assert!(
            err.contains("errors.unknown-unit.message") && err.contains("{symbol}"),
            "{err}"
        );
    }

    #[test]
    fn a_pack_words_its_own_unit_refusals() {
        let table: UnitsTable = toml::from_str(
            "[fields.lot]\nw = { unit = \"kg\", decimals = 2 }\n[errors.unknown-unit]\ncode = \"unit-not-in-card\"\nmessage = \"`{unit}` is not a unit of this card\"\n",
        )
        .unwrap();
        let u = Units::from_table(Path::new("units.toml"), table).unwrap();
        let refusal = u.to_canonical("1", "catty", "lot", "w").unwrap_err();
        assert_eq!(refusal.code, "unit-not-in-card");
        assert_eq!(refusal.message, "`catty` is not a unit of this card");
        // Too large keeps 0.1.0's code.
        let refusal = u
            .to_canonical("9999999999999999999999999999", "t", "lot", "w")
            .unwrap_err();
        assert_eq!(
            (refusal.code.as_ref(), refusal.message.as_str()),
            (
                "not-a-number",
                "`9999999999999999999999999999` is too large to convert"
            )
        );
    }

    proptest::proptest! {
        /// Shifting the digits gives what dividing gives, whenever it answers.
        #[test]
        fn a_power_of_ten_divides_by_shifting(
            mantissa in proptest::num::i128::ANY,
            scale in 0u32..=28,
            power in 0u32..=28,
        ) {
            let mantissa = mantissa % (1i128 << 96);
            let numerator = Decimal::from_i128_with_scale(mantissa, scale);
            let denominator = Decimal::from_i128_with_scale(1, power);
            if let Some(shifted) = divided_by_power_of_ten(numerator, denominator) {
                proptest::prop_assert_eq!(Some(shifted), numerator.checked_div(denominator));
                proptest::prop_assert_eq!(
                    round_half_even(shifted, 2).to_string(),
                    round_half_even(numerator.checked_div(denominator).unwrap(), 2).to_string()
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The integer path answers what decimal arithmetic answers, digit
        /// for digit, for every value it takes (and leaves the rest to it).
        #[test]
        fn the_integer_path_answers_as_decimal_arithmetic(
            value in proptest::prop_oneof![
                // Few places: exact halves are common (1.235 mm, 0.125 in).
                4 => r"[+-]?[0-9]{0,4}\.[0-9]{0,2}5",
                2 => r" ?[+-]?[0-9]{0,12}(\.[0-9]{1,10})? ?",
                1 => r"[+-]?0\.0{0,8}[0-9]{1,3}",
                1 => r"[0-9]{15,30}(\.[0-9]{0,4})?",
                1 => r".{0,6}",
            ],
            unit in proptest::sample::select(vec![
                "in", "ft", "yd", "mm", "cm", "dm", "m", "km", "µm",
                "lb", "oz", "g", "mg", "kg", "t", "rod", "grain",
            ]),
            field in proptest::sample::select(vec!["length_mm", "mass_g", "length_in"]),
        ) {
            let u = units(&[("rod", "5.0292", "m"), ("grain", "64.79891", "mg")]).unwrap();
            let shown = |answer: Result<Decimal, ServiceError>| {
                answer.map(|d| d.to_string()).map_err(|e| (e.code, e.message))
            };
            let looked = u.look_up(unit, "part", field);
            proptest::prop_assert_eq!(
                shown(u.answer(&looked, &value, unit, "part", field)),
                shown(u.general_answer(&looked, &value, unit, "part", field))
            );
            // A column's answer is written as the decimal's own text.
            let (text, answers) = u
                .to_canonical_column(&value, &[value.len() as u32], unit, "part", field)
                .unwrap();
            let column = match answers.into_iter().next().unwrap() {
                Ok((from, to)) => Ok(text[from as usize..to as usize].to_string()),
                Err(e) => Err((e.code, e.message)),
            };
            proptest::prop_assert_eq!(
                column,
                shown(u.general_answer(&looked, &value, unit, "part", field))
            );
        }
    }

    #[test]
    fn metric_canonical_units_take_the_shifting_path() {
        let n = Decimal::new(3175, 4); // 0.3175 (in × 25.4 / 1000 …)
        let d = Decimal::new(1, 3); // 0.001
        assert_eq!(divided_by_power_of_ten(n, d), Some(Decimal::new(3175, 1)));
        assert_eq!(divided_by_power_of_ten(n, Decimal::new(2, 3)), None);
    }

    #[test]
    fn a_column_is_converted_in_one_call_and_badly_cut_columns_are_refused() {
        let u = units(&[]).unwrap();
        let (text, answers) = u
            .to_canonical_column("1 2.5abc", &[1, 5, 8], "in", "part", "length_mm")
            .unwrap();
        let shown: Vec<Result<&str, &str>> = answers
            .iter()
            .map(|a| match a {
                Ok((from, to)) => Ok(&text[*from as usize..*to as usize]),
                Err(e) => Err(e.code.as_ref()),
            })
            .collect();
        assert_eq!(shown, [Ok("25.40"), Ok("63.50"), Err("not-a-number")]);
        assert!(u
            .to_canonical_column("12", &[2, 1], "in", "part", "length_mm")
            .is_none());
        assert!(u
            .to_canonical_column("12", &[3], "in", "part", "length_mm")
            .is_none());
        assert!(u
            .to_canonical_column("é", &[1], "in", "part", "length_mm")
            .is_none());
    }
}
