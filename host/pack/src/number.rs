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
pub(crate) fn push_decimal(out: &mut Vec<u8>, value: Decimal) {
    let mantissa = value.mantissa();
    if mantissa == 0 && value.is_sign_negative() {
        // A negative zero: Display's own rule.
        out.extend_from_slice(value.to_string().as_bytes());
        return;
    }
    push_scaled(out, mantissa < 0, mantissa.unsigned_abs(), value.scale());
}

/// Appends the decimal `±magnitude / 10^scale` with `scale` places, as
/// [`push_decimal`] writes the `Decimal` of that mantissa and scale (a
/// zero magnitude is written unsigned). The bytes are ASCII.
pub(crate) fn push_scaled(out: &mut Vec<u8>, negative: bool, magnitude: u128, scale: u32) {
    if let (Ok(small), 0..=28) = (u64::try_from(magnitude), scale) {
        return push_scaled_u64(out, negative && small != 0, small, scale as usize);
    }
    let mut buffer = [0u8; 40];
    let digits = digits_of(magnitude, &mut buffer);
    let scale = scale as usize;
    let mut put = |bytes: &[u8]| out.extend_from_slice(bytes);
    if negative && magnitude != 0 {
        put(b"-");
    }
    if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        put(int);
        if scale > 0 {
            put(b".");
            put(frac);
        }
    } else {
        put(b"0.");
        for _ in digits.len()..scale {
            put(b"0");
        }
        put(digits);
    }
}

/// [`push_scaled`] of a magnitude that fits 64 bits: its digits written
/// from the last, the point placed among them, in one buffer.
fn push_scaled_u64(out: &mut Vec<u8>, negative: bool, mut rest: u64, scale: usize) {
    // 20 digits, 28 places and zeros, a point and a sign at most.
    let mut text = [0u8; 52];
    let mut at = text.len();
    let mut written = 0;
    loop {
        at -= 1;
        text[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        written += 1;
        if written == scale {
            at -= 1;
            text[at] = b'.';
        }
        if rest == 0 && written > scale {
            break;
        }
    }
    if negative {
        at -= 1;
        text[at] = b'-';
    }
    out.extend_from_slice(&text[at..]);
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
                let mut pushed = b"x".to_vec();
                push_decimal(&mut pushed, value);
                let shown = value.to_string();
                proptest::prop_assert_eq!(&pushed[1..], shown.as_bytes());
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
