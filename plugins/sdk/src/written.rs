//! How exports write quantities, read apart: a number with its unit glued
//! on or spaced (`8.2g`, `0.75 kg`, `2两`), a dimension triple
//! (`30×10×4`). Pure text work; the pack's unit catalogue does the
//! converting ([`crate::tables::Quantity::to_canonical_glued`],
//! [`crate::tables::in_one_unit`]).

/// A quantity with its unit after the number, glued on or spaced: the
/// number (`-`/`+`, digits, an optional `.` and digits) and the unit, each
/// trimmed; `None` when the text does not start with a number or has no
/// unit after it.
///
/// `8.2g` → (`8.2`, `g`); `0.75 kg` → (`0.75`, `kg`); `2两` → (`2`, `两`).
pub fn split_quantity(text: &str) -> Option<(&str, &str)> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let mut end = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let digits_from = end;
    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    let mut digits = end - digits_from;
    if bytes.get(end) == Some(&b'.') {
        let after_point = end + 1;
        let mut fraction = after_point;
        while bytes.get(fraction).is_some_and(u8::is_ascii_digit) {
            fraction += 1;
        }
        if fraction == after_point {
            return None; // `12.kg`: a point with no digits after it
        }
        digits += fraction - after_point;
        end = fraction;
    }
    let unit = text[end..].trim();
    // `1,5kg`: a decimal comma is not a unit.
    let unit_starts_well = unit
        .chars()
        .next()
        .is_some_and(|c| !c.is_ascii_digit() && !matches!(c, ',' | '.'));
    (digits > 0 && unit_starts_well).then(|| (&text[..end], unit))
}

/// A dimension triple `L×W×H`, separated by `×`, `*`, `x` or `X` (spaces
/// around them allowed): the three parts, trimmed; `None` unless there
/// are exactly three non-empty parts.
///
/// `30×10×4` → [`30`, `10`, `4`]; `1.5 x 2 x 0.5` → [`1.5`, `2`, `0.5`].
pub fn split_dimensions(text: &str) -> Option<[&str; 3]> {
    let mut parts = text.split(['×', '*', 'x', 'X']).map(str::trim);
    let triple = [parts.next()?, parts.next()?, parts.next()?];
    (parts.next().is_none() && triple.iter().all(|p| !p.is_empty())).then_some(triple)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_split_with_the_unit_glued_on_or_spaced() {
        for (text, number, unit) in [
            ("8.2g", "8.2", "g"),
            ("1.2kg", "1.2", "kg"),
            ("0.75 kg", "0.75", "kg"),
            ("2两", "2", "两"),
            ("0.3斤", "0.3", "斤"),
            (" -1.5 lb ", "-1.5", "lb"),
            (".5g", ".5", "g"),
        ] {
            assert_eq!(split_quantity(text), Some((number, unit)), "{text}");
        }
        for text in ["8.2", "kg", "", "-", ".5", "g8", "12.kg", "1,5kg"] {
            assert_eq!(split_quantity(text), None, "{text}");
        }
    }

    #[test]
    fn dimensions_split_on_any_usual_sign() {
        assert_eq!(split_dimensions("30×10×4"), Some(["30", "10", "4"]));
        assert_eq!(split_dimensions("30*10*4"), Some(["30", "10", "4"]));
        assert_eq!(split_dimensions("1.5 x 2 X 0.5"), Some(["1.5", "2", "0.5"]));
        for text in ["30×10", "30×10×4×2", "30××4", ""] {
            assert_eq!(split_dimensions(text), None, "{text}");
        }
    }
}
