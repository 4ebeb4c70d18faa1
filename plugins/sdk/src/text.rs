//! Comparing text without wasm's `memcmp`, which compiles to a loop over
//! single bytes: the SDK compares column names, record keys and remembered
//! values on every row.

/// Whether `a` and `b` are the same text: the same bytes in memory answered
/// without reading them, else compared eight bytes at a time.
#[inline(always)]
pub(crate) fn same(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

/// [`same`] of bytes.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.as_ptr() == b.as_ptr() {
        return true;
    }
    let len = a.len();
    if len < 4 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    if len < 8 {
        // Two half words, overlapping when shorter than eight bytes.
        return half(&a[..4]) == half(&b[..4]) && half(&a[len - 4..]) == half(&b[len - 4..]);
    }
    if len <= 16 {
        // Most names: two words, overlapping when shorter than sixteen bytes.
        return word(&a[..8]) == word(&b[..8]) && word(&a[len - 8..]) == word(&b[len - 8..]);
    }
    let (mut left, mut right) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut left).zip(&mut right) {
        if word(x) != word(y) {
            return false;
        }
    }
    // The last eight bytes, overlapping the words compared: the rest in one.
    word(&a[len - 8..]) == word(&b[len - 8..])
}

/// The first eight bytes of `bytes` (at least eight) as one word.
#[inline(always)]
fn word(bytes: &[u8]) -> u64 {
    let [a, b, c, d, e, f, g, h, ..] = *bytes else {
        unreachable!("a word is read from eight bytes or more")
    };
    u64::from_ne_bytes([a, b, c, d, e, f, g, h])
}

/// The first four bytes of `bytes` (at least four) as one half word.
#[inline(always)]
fn half(bytes: &[u8]) -> u32 {
    let [a, b, c, d, ..] = *bytes else {
        unreachable!("a half word is read from four bytes or more")
    };
    u32::from_ne_bytes([a, b, c, d])
}

/// `text` without surrounding whitespace; text whose first and last
/// characters are surely not whitespace (most cells) is returned without a
/// scan.
#[inline(always)]
pub(crate) fn trimmed(text: &str) -> &str {
    let bytes = text.as_bytes();
    let first = bytes.first().copied();
    // The last character's first byte: at most three bytes back.
    let last = bytes
        .iter()
        .rev()
        .take(4)
        .find(|&&b| b & 0xC0 != 0x80)
        .copied();
    match (first, last) {
        (Some(first), Some(last)) if visible(first) && visible(last) => text,
        _ => text.trim(),
    }
}

/// Whether a character whose first byte is `lead` is surely not
/// whitespace: visible ASCII, or a character from U+4000 on (a lead byte
/// from 0xE4; the last whitespace character is U+3000), such as every
/// CJK ideograph.
#[inline(always)]
fn visible(lead: u8) -> bool {
    lead.is_ascii_graphic() || lead >= 0xE4
}

/// A fast hash of text (FxHash), for the SDK's own tables.
#[inline]
pub(crate) fn hash(text: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_compares_every_byte() {
        // Every length up to three words, a difference at every place.
        let text = "abcdefghijklmnopqrstuvwx";
        for len in 0..=text.len() {
            let a = &text[..len];
            let copy = a.to_string();
            assert!(same(a, &copy), "{a}");
            for at in 0..len {
                let mut other = copy.clone().into_bytes();
                other[at] = b'_';
                let other = String::from_utf8(other).unwrap();
                assert!(!same(a, &other), "{a} ≠ {other}");
            }
        }
        let long = "长度(英寸)长度(英寸)";
        for (a, b) in [
            ("", ""),
            ("a", "a"),
            ("长度(英寸)", "长度(英寸)"),
            (long, long),
            ("abcd", "abcd"),
            ("abcdefg", "abcdefg"),
            ("abcdefgh", "abcdefgh"),
            ("abcdefghi", "abcdefghi"),
            ("abcdefghijklmno", "abcdefghijklmno"),
        ] {
            // A copy elsewhere in memory: compared byte by byte.
            let copy: String = b.chars().collect();
            assert!(same(a, &copy), "{a} = {b}");
        }
        for (a, b) in [
            ("a", ""),
            ("abcdefgh", "abcdefgi"),
            ("abcdefghi", "abcdefghj"),
            ("abcdefghijklmno", "abcdefghijklmnp"),
            ("abc", "abd"),
            ("abcd", "abce"),
            ("abcde", "abcdf"),
            ("xbcdefg", "abcdefg"),
            ("xbcdefghi", "abcdefghi"),
            ("长度(英寸)", "宽度(英寸)"),
        ] {
            assert!(!same(a, b), "{a} ≠ {b}");
        }
    }
}
