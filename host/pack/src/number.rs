//! Strict decimal text: what enterprises' numbers must look like.

use rust_decimal::Decimal;

/// Parses plain decimal text (`-12.5`, `0.125`, `+3`): an optional sign,
/// digits, an optional point and digits. Refuses everything else — decimal
/// commas, exponents, thousands separators, words — rather than guess.
pub(crate) fn parse_decimal(text: &str) -> Option<Decimal> {
    let t = text.trim();
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ok = digits(int)
        && frac.is_none_or(|f| !f.is_empty() && digits(f))
        && !(int.is_empty() && frac.is_none())
        && int.len() + frac.map_or(0, str::len) <= 28;
    if !ok {
        return None;
    }
    t.parse::<Decimal>().ok()
}

/// Appends `value` as its `Display` writes it (`-0.05`, `1134.0`), without
/// the formatting machinery: the digits of its mantissa with the point
/// placed by its scale.
pub(crate) fn push_decimal(out: &mut String, value: Decimal) {
    let mantissa = value.mantissa();
    if mantissa == 0 && value.is_sign_negative() {
        // A negative zero: Display's own rule.
        out.push_str(&value.to_string());
        return;
    }
    let mut buffer = [0u8; 40];
    let digits = digits_of(mantissa.unsigned_abs(), &mut buffer);
    let scale = value.scale() as usize;
    if mantissa < 0 {
        out.push('-');
    }
    if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(ascii(int));
        if scale > 0 {
            out.push('.');
            out.push_str(ascii(frac));
        }
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(ascii(digits));
    }
}

/// The decimal digits of `n`, written at the end of `buffer` (40 bytes
/// hold any `u128`). Digits are divided off in 128-bit arithmetic only
/// while the rest needs more than 64 bits (almost no mantissa does); the
/// rest in 64-bit arithmetic, which costs a fraction of 128-bit.
fn digits_of(n: u128, buffer: &mut [u8; 40]) -> &[u8] {
    let mut at = buffer.len();
    let mut wide = n;
    while wide > u128::from(u64::MAX) {
        at -= 1;
        buffer[at] = b'0' + (wide % 10) as u8;
        wide /= 10;
    }
    let mut rest = wide as u64;
    loop {
        at -= 1;
        buffer[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            return &buffer[at..];
        }
    }
}

/// ASCII digits as text.
fn ascii(digits: &[u8]) -> &str {
    std::str::from_utf8(digits).expect("ASCII digits")
}

/// Parses a fraction (`1/30`) or a decimal (`0.5`) into numerator and denominator.
pub(crate) fn parse_ratio(text: &str) -> Option<(Decimal, Decimal)> {
    match text.split_once('/') {
        Some((n, d)) => {
            let (n, d) = (parse_decimal(n)?, parse_decimal(d)?);
            (!d.is_zero()).then_some((n, d))
        }
        None => Some((parse_decimal(text)?, Decimal::ONE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimals_parse() {
        assert_eq!(parse_decimal("0.125").unwrap().to_string(), "0.125");
        assert_eq!(parse_decimal(" -2.0 ").unwrap().to_string(), "-2.0");
        assert_eq!(parse_decimal("+3").unwrap().to_string(), "3");
        assert_eq!(parse_decimal(".5").unwrap().to_string(), "0.5");
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "0,052", "N/A", "四十", "", "1e3", "1_000", "1.", "-", "1.2.3", "0x10", "١٢",
        ] {
            assert!(parse_decimal(bad).is_none(), "{bad:?} parsed");
        }
    }

    proptest::proptest! {
        #[test]
        fn decimals_are_pushed_as_displayed(mantissa in proptest::num::i64::ANY, wide in proptest::num::i128::ANY, scale in 0u32..=28, negative_zero in proptest::bool::weighted(0.05)) {
            for m in [i128::from(mantissa), wide % (1i128 << 96)] {
                let mut value = Decimal::from_i128_with_scale(if negative_zero { 0 } else { m }, scale);
                if negative_zero {
                    value.set_sign_negative(true);
                }
                let mut pushed = String::from("x");
                push_decimal(&mut pushed, value);
                proptest::prop_assert_eq!(&pushed[1..], value.to_string());
            }
        }
    }

    #[test]
    fn ratios() {
        let (n, d) = parse_ratio("1/30").unwrap();
        assert_eq!((n.to_string(), d.to_string()), ("1".into(), "30".into()));
        assert!(parse_ratio("1/0").is_none());
    }
}
