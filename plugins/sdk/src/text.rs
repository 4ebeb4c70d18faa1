//! Comparing text without wasm's `memcmp`, which compiles to a loop over
//! single bytes: the SDK compares column names, record keys and remembered
//! values on every row.

/// Whether `a` and `b` are the same text: the same bytes in memory answered
/// without reading them, else compared eight bytes at a time.
#[inline(always)]
pub(crate) fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.as_ptr() == b.as_ptr() {
        return true;
    }
    let len = a.len();
    if len < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
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
        let long = "长度(英寸)长度(英寸)";
        for (a, b) in [
            ("", ""),
            ("a", "a"),
            ("长度(英寸)", "长度(英寸)"),
            (long, long),
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
            ("xbcdefghi", "abcdefghi"),
            ("长度(英寸)", "宽度(英寸)"),
        ] {
            assert!(!same(a, b), "{a} ≠ {b}");
        }
    }
}
