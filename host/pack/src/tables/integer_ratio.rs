//! A conversion between two units as a ratio of two integers, and values
//! converted by it in integer arithmetic: the common case of the unit
//! catalogue's conversions (a value of at most 18 digits, a factor of a
//! few digits), exact, rounded half to even once, with no decimal
//! division. Whatever it cannot hold answers `None` and takes the
//! catalogue's general path, which gives the same answers (a property
//! test holds the two to each other).

use rust_decimal::Decimal;

/// `num / den`, both positive, in lowest terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IntegerRatio {
    num: i128,
    den: i128,
}

/// Most digits a value may have on the integer path.
const MAX_DIGITS: usize = 18;

/// 10⁰ to 10¹⁹: every power of ten a `u64` holds.
const POWERS_OF_TEN: [u64; 20] = {
    let mut powers = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        powers[i] = powers[i - 1] * 10;
        i += 1;
    }
    powers
};

/// The most places a `Decimal` holds.
const MAX_SCALE: u32 = 28;

/// The largest magnitude a `Decimal` holds: its mantissa has 96 bits.
const HELD: i128 = 1 << 96;

impl IntegerRatio {
    /// `(from_num × to_den) / (from_den × to_num)`: the factor from a unit
    /// of size `from_num / from_den` to one of size `to_num / to_den`, when
    /// it is positive and its terms fit.
    pub(crate) fn between(
        from_num: Decimal,
        from_den: Decimal,
        to_num: Decimal,
        to_den: Decimal,
    ) -> Option<IntegerRatio> {
        let (num, num_scale) = product(from_num, to_den)?;
        let (den, den_scale) = product(from_den, to_num)?;
        // num / 10^num_scale over den / 10^den_scale.
        let (num, den) = if den_scale >= num_scale {
            (num.checked_mul(power_of_ten(den_scale - num_scale)?)?, den)
        } else {
            (num, den.checked_mul(power_of_ten(num_scale - den_scale)?)?)
        };
        if num <= 0 || den <= 0 {
            return None;
        }
        let common = gcd(num, den);
        Some(IntegerRatio {
            num: num / common,
            den: den / common,
        })
    }

    /// The numerator and the denominator, when both fit 64 bits.
    pub(crate) fn terms_u64(&self) -> Option<(u64, u64)> {
        Some((u64::try_from(self.num).ok()?, u64::try_from(self.den).ok()?))
    }

    /// `text` (plain decimal text, as the catalogue accepts it) times this
    /// ratio, rounded half to even to `decimals` places and keeping them;
    /// `None` when the text or the arithmetic is beyond the integer path,
    /// or the answer is a negative zero (whose sign the general path keeps).
    pub(crate) fn convert(&self, text: &str, decimals: u32) -> Option<Decimal> {
        let (negative, magnitude) = self.convert_scaled(text, decimals)?;
        let magnitude = magnitude as i128;
        let signed = if negative { -magnitude } else { magnitude };
        Some(Decimal::from_i128_with_scale(signed, decimals))
    }

    /// [`Self::convert`] as a sign and a magnitude with `decimals` places
    /// (`(false, 31805)` for 318.05 at 2), for writing without a `Decimal`.
    pub(crate) fn convert_scaled(&self, text: &str, decimals: u32) -> Option<(bool, u128)> {
        let (negative, digits, scale) = plain_digits(text.trim())?;
        let quotient = match self.narrow_quotient(digits, scale, decimals) {
            Some(quotient) => quotient,
            None => self.wide_quotient(digits, scale, decimals)?,
        };
        if quotient >= HELD || (negative && quotient == 0) || decimals > MAX_SCALE {
            return None;
        }
        Some((negative, quotient as u128))
    }
}

impl IntegerRatio {
    /// `digits / 10^scale × num / den × 10^decimals`, rounded half to even,
    /// in 64-bit arithmetic (a hardware division): `None` when a term
    /// does not fit.
    fn narrow_quotient(&self, digits: u64, scale: u32, decimals: u32) -> Option<i128> {
        let (num, den) = self.terms_u64()?;
        let scaled = digits
            .checked_mul(num)?
            .checked_mul(*POWERS_OF_TEN.get(decimals as usize)?)?;
        let divisor = den.checked_mul(*POWERS_OF_TEN.get(scale as usize)?)?;
        let (mut quotient, remainder) = (scaled / divisor, scaled % divisor);
        let twice = remainder.checked_mul(2)?;
        if twice > divisor || (twice == divisor && quotient % 2 == 1) {
            quotient += 1;
        }
        Some(i128::from(quotient))
    }

    /// [`Self::narrow_quotient`] in 128-bit arithmetic.
    fn wide_quotient(&self, digits: u64, scale: u32, decimals: u32) -> Option<i128> {
        // value × 10^decimals = digits × num × 10^decimals / (den × 10^scale)
        let scaled = i128::from(digits)
            .checked_mul(self.num)?
            .checked_mul(power_of_ten(decimals)?)?;
        let divisor = self.den.checked_mul(power_of_ten(scale)?)?;
        let (mut quotient, remainder) = (scaled / divisor, scaled % divisor);
        let twice = remainder.checked_mul(2)?;
        if twice > divisor || (twice == divisor && quotient % 2 == 1) {
            quotient += 1;
        }
        Some(quotient)
    }
}

/// `a × b` as an integer and its scale (the number is `integer / 10^scale`).
fn product(a: Decimal, b: Decimal) -> Option<(i128, u32)> {
    Some((
        a.mantissa().checked_mul(b.mantissa())?,
        a.scale() + b.scale(),
    ))
}

/// 10^`exponent`, if an `i128` holds it.
fn power_of_ten(exponent: u32) -> Option<i128> {
    10i128.checked_pow(exponent)
}

/// Greatest common divisor of two positive integers.
fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Plain decimal text (`-12.5`, `+3`, `.5`) as its sign, its digits as one
/// integer, and how many of them follow the point; `None` for anything
/// else or more than [`MAX_DIGITS`] digits.
fn plain_digits(text: &str) -> Option<(bool, u64, u32)> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = match body.split_once('.') {
        Some((int, frac)) if !frac.is_empty() => (int, frac),
        Some(_) => return None,
        None if body.is_empty() => return None,
        None => (body, ""),
    };
    if int.len() + frac.len() > MAX_DIGITS {
        return None;
    }
    let mut digits = 0u64;
    for b in int.bytes().chain(frac.bytes()) {
        if !b.is_ascii_digit() {
            return None;
        }
        digits = digits * 10 + u64::from(b - b'0');
    }
    Some((negative, digits, frac.len() as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn ratios_are_in_lowest_terms() {
        // inch (0.0254 m) to millimetre (0.001 m): 25.4 = 127 / 5.
        let ratio = IntegerRatio::between(d("0.0254"), d("1"), d("0.001"), d("1")).unwrap();
        assert_eq!(ratio, IntegerRatio { num: 127, den: 5 });
    }

    #[test]
    fn values_round_half_to_even_once() {
        let one = IntegerRatio { num: 1, den: 1 };
        let convert = |text: &str, decimals| one.convert(text, decimals).map(|v| v.to_string());
        assert_eq!(convert("2.345", 2).as_deref(), Some("2.34"));
        assert_eq!(convert("2.355", 2).as_deref(), Some("2.36"));
        assert_eq!(convert("-2.345", 2).as_deref(), Some("-2.34"));
        assert_eq!(convert("7", 1).as_deref(), Some("7.0"));
        assert_eq!(convert(" +.5 ", 0).as_deref(), Some("0"));
        assert_eq!(
            convert("-0.001", 2),
            None,
            "a negative zero takes the general path"
        );
        for beyond in ["1.", "", "-", "1e3", "1,5", "1234567890123456789"] {
            assert_eq!(convert(beyond, 2), None, "{beyond:?}");
        }
    }

    proptest::proptest! {
        /// The 64-bit path answers as the 128-bit one whenever it answers.
        #[test]
        fn narrow_and_wide_arithmetic_agree(
            digits in 0u64..=999_999_999_999_999_999,
            scale in 0u32..=18,
            decimals in 0u32..=6,
            num in 1i128..=100_000,
            den in 1i128..=100_000,
        ) {
            let ratio = IntegerRatio { num, den };
            if let Some(narrow) = ratio.narrow_quotient(digits, scale, decimals) {
                proptest::prop_assert_eq!(Some(narrow), ratio.wide_quotient(digits, scale, decimals));
            }
        }
    }
}
