//! Unit conversions the plugin makes itself: a value in plain decimal
//! text times the exact factor the host gives once a batch
//! (`quantity.factor`), in 64-bit integer arithmetic, rounded half to even
//! to the field's decimals — the host's own integer path (conform-pack's
//! `tables/integer_ratio.rs` and `number.rs`), which this twins and which a
//! test holds it to. Whatever it cannot hold (other text, more digits,
//! larger products, a negative zero) is asked of the host, which answers
//! every value.

use crate::text::trimmed;

/// Most digits a value may have here (as on the host's integer path).
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

/// The longest answer: 20 digits, a point, a sign and a leading zero.
pub(crate) const MAX_LEN: usize = 24;

/// A converted value's text, held in place (no allocation): the end of
/// `bytes` from `start`.
#[derive(Clone, Copy)]
pub(crate) struct Digits {
    start: u8,
    bytes: [u8; MAX_LEN],
}

impl Digits {
    /// The text: ASCII digits, at most one point and a leading `-`.
    pub(crate) fn as_str(&self) -> &str {
        let bytes = &self.bytes[self.start as usize..];
        debug_assert!(bytes.is_ascii());
        // SAFETY: `bytes` were written by `Factor::convert` only, from
        // `b'0'..=b'9'`, `b'.'` and `b'-'`: ASCII, so valid UTF-8.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

/// A factor from a unit to a field's canonical unit, and the field's
/// decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Factor {
    num: u64,
    den: u64,
    decimals: u32,
}

impl Factor {
    /// `num / den` to `decimals` places; `None` when a term is zero or the
    /// places are more than a `u64` scales to.
    pub(crate) fn new(num: u64, den: u64, decimals: u32) -> Option<Factor> {
        (num > 0 && den > 0 && (decimals as usize) < POWERS_OF_TEN.len()).then_some(Factor {
            num,
            den,
            decimals,
        })
    }

    /// `text` times the factor, rounded half to even to the decimals and
    /// written with all of them; `None` when the text is not a plain
    /// decimal, the arithmetic does not fit 64 bits, or the answer is a
    /// negative zero.
    pub(crate) fn convert(&self, text: &str) -> Option<Digits> {
        let (negative, digits, scale) = plain_digits(trimmed(text))?;
        let scaled = product(
            product(digits, self.num)?,
            POWERS_OF_TEN[self.decimals as usize],
        )?;
        let divisor = product(self.den, *POWERS_OF_TEN.get(scale as usize)?)?;
        // One division: the remainder by a multiplication.
        let mut quotient = scaled / divisor;
        let remainder = scaled - quotient * divisor;
        let twice = product(remainder, 2)?;
        if twice > divisor || (twice == divisor && quotient % 2 == 1) {
            quotient += 1;
        }
        if negative && quotient == 0 {
            return None;
        }
        Some(written(negative, quotient, self.decimals as usize))
    }
}

/// `a × b` if it fits, as `checked_mul` answers, but told by counting bits
/// (`checked_mul` costs a 128-bit multiplication in wasm): with at most 64
/// significant bits between them the product fits, with 66 or more it
/// cannot, and only at 65 is the product itself checked.
fn product(a: u64, b: u64) -> Option<u64> {
    match a.leading_zeros() + b.leading_zeros() {
        64.. => Some(a * b),
        63 => a.checked_mul(b),
        _ => None,
    }
}

/// Plain decimal text (`-12.5`, `+3`, `.5`) as its sign, its digits as one
/// integer, and how many of them follow the point; `None` for anything
/// else or more than [`MAX_DIGITS`] digits.
fn plain_digits(text: &str) -> Option<(bool, u64, u32)> {
    let (negative, body) = match text.as_bytes() {
        [b'-', body @ ..] => (true, body),
        [b'+', body @ ..] => (false, body),
        body => (false, body),
    };
    if body.len() > MAX_DIGITS + 1 {
        return None;
    }
    let (mut digits, mut count, mut point) = (0u64, 0usize, None);
    for &b in body {
        match b {
            b'0'..=b'9' => {
                digits = digits * 10 + u64::from(b - b'0');
                count += 1;
            }
            b'.' if point.is_none() => point = Some(count),
            _ => return None,
        }
    }
    let places = match point {
        Some(at) if at == count => return None,
        Some(at) => count - at,
        None if count == 0 => return None,
        None => 0,
    };
    (count <= MAX_DIGITS).then_some((negative, digits, places as u32))
}

/// `magnitude / 10^scale` as text with `scale` places, `-` first if
/// `negative`: the host's `push_scaled_u64`.
fn written(negative: bool, rest: u64, scale: usize) -> Digits {
    let mut text = [0u8; MAX_LEN];
    let mut at = text.len();
    let mut count = 0;
    let mut put = |digit: u8, at: &mut usize| {
        *at -= 1;
        text[*at] = b'0' + digit;
        count += 1;
        if count == scale {
            *at -= 1;
            text[*at] = b'.';
        }
        count > scale
    };
    // Digits are divided off in 32-bit arithmetic once the rest fits: in
    // wasm a 64-bit division by ten is a division instruction, a 32-bit
    // one a multiplication.
    let mut wide = rest;
    while wide > u64::from(u32::MAX) {
        put((wide % 10) as u8, &mut at);
        wide /= 10;
    }
    let mut narrow = wide as u32;
    loop {
        let past_point = put((narrow % 10) as u8, &mut at);
        narrow /= 10;
        if narrow == 0 && past_point {
            break;
        }
    }
    if negative {
        at -= 1;
        text[at] = b'-';
    }
    Digits {
        start: at as u8,
        bytes: text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converted(factor: Factor, text: &str) -> Option<String> {
        factor.convert(text).map(|d| d.as_str().to_string())
    }

    #[test]
    fn numbers_are_trimmed_as_str_trims_them() {
        for text in [
            "1",
            "-1.5",
            "+.5",
            " 1",
            "1 ",
            "\u{3000}2\u{3000}",
            "\u{b}3",
            "4\u{b}",
            "",
            " ",
        ] {
            assert_eq!(trimmed(text), text.trim(), "{text:?}");
        }
    }

    #[test]
    fn values_are_converted_exactly_and_rounded_half_to_even_once() {
        // inch → millimetre: 127 / 5, two places.
        let inch = Factor::new(127, 5, 2).unwrap();
        assert_eq!(converted(inch, "12.5").as_deref(), Some("317.50"));
        assert_eq!(converted(inch, " +.5 ").as_deref(), Some("12.70"));
        assert_eq!(converted(inch, "-1").as_deref(), Some("-25.40"));
        let one = Factor::new(1, 1, 2).unwrap();
        assert_eq!(converted(one, "2.345").as_deref(), Some("2.34"));
        assert_eq!(converted(one, "2.355").as_deref(), Some("2.36"));
        assert_eq!(converted(one, "0.001").as_deref(), Some("0.00"));
        assert_eq!(converted(one, "-0.001"), None, "a negative zero");
        let none = Factor::new(1, 1, 0).unwrap();
        assert_eq!(converted(none, "7.5").as_deref(), Some("8"));
        let many = Factor::new(1, 1, 19).unwrap();
        assert_eq!(
            converted(many, "1").as_deref(),
            Some("1.0000000000000000000")
        );
        for beyond in [
            "1.",
            "",
            "-",
            "+",
            ".",
            "1e3",
            "1,5",
            "0x1",
            "1234567890123456789",
        ] {
            assert_eq!(converted(one, beyond), None, "{beyond:?}");
        }
        assert_eq!(Factor::new(0, 1, 2), None);
        assert_eq!(Factor::new(1, 1, 20), None);
    }

    proptest::proptest! {
        /// Counting bits answers as `checked_mul` does.
        #[test]
        fn products_are_checked_as_checked_mul_checks_them(
            a in proptest::num::u64::ANY,
            b in proptest::num::u64::ANY,
            a_shift in 0u32..64,
            b_shift in 0u32..64,
        ) {
            let (a, b) = (a >> a_shift, b >> b_shift);
            proptest::prop_assert_eq!(product(a, b), a.checked_mul(b));
        }
    }
}
