//! Patterns of the common code kind — anchored at both ends, a sequence of
//! ASCII character classes and letters, each once or counted
//! (`^[A-Z0-9][A-Z0-9-]{2,31}$`, `^[0-9]{6}$`) — matched in one pass over
//! the text, without a regex engine. Only patterns a greedy pass matches
//! exactly are taken (every run of variable length is the last, or is
//! followed by a run of at least one character of a class it shares no
//! character with); any other pattern is left to the regex engine. A
//! property test holds the two to each other.

/// A pattern of the code kind, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClassPattern {
    pieces: Vec<Piece>,
}

/// One class, repeated `min` to `max` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    /// The ASCII characters of the class: bit `c` of the 128.
    set: u128,
    min: u32,
    max: u32,
}

/// The most a counted repetition may say (more is left to the regex).
const MAX_COUNT: u32 = 1000;

impl ClassPattern {
    /// The pattern compiled, when it is of the code kind.
    pub(crate) fn parse(pattern: &str) -> Option<ClassPattern> {
        let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
        let mut chars = body.chars().peekable();
        let mut pieces = Vec::new();
        while let Some(c) = chars.next() {
            let set = match c {
                '[' => class(&mut chars)?,
                c if is_plain(c) => bit(c),
                _ => return None,
            };
            let (min, max) = match chars.peek().copied() {
                Some('{') => {
                    chars.next();
                    count(&mut chars)?
                }
                Some(quantifier @ ('?' | '+' | '*')) => {
                    chars.next();
                    match quantifier {
                        '?' => (0, 1),
                        '+' => (1, u32::MAX),
                        _ => (0, u32::MAX),
                    }
                }
                _ => (1, 1),
            };
            // A quantifier on a quantifier (`{2}?`, `+*`) is left to the
            // regex.
            if matches!(chars.peek(), Some('?' | '+' | '*' | '{')) {
                return None;
            }
            pieces.push(Piece { set, min, max });
        }
        let greedy_is_exact = pieces.windows(2).all(|pair| {
            let (this, next) = (pair[0], pair[1]);
            this.min == this.max || (next.min >= 1 && this.set & next.set == 0)
        });
        greedy_is_exact.then_some(ClassPattern { pieces })
    }

    /// Whether `text` matches the pattern.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        let mut at = 0;
        for piece in &self.pieces {
            let mut taken = 0;
            while taken < piece.max && at < bytes.len() && piece.has(bytes[at]) {
                at += 1;
                taken += 1;
            }
            if taken < piece.min {
                return false;
            }
        }
        at == bytes.len()
    }
}

impl Piece {
    /// Whether byte `b` is one of the class's characters (a byte of a
    /// character beyond ASCII never is).
    fn has(&self, b: u8) -> bool {
        b < 128 && self.set & (1 << b) != 0
    }
}

/// The letters, digits and `-`, `_` a pattern may hold as they are.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn bit(c: char) -> u128 {
    1 << (c as u32)
}

/// A bracketed class after its `[`, through its `]`: plain characters and
/// ranges of letters or digits (`A-H`), a `-` first or last taken as
/// itself; no negation, no escapes.
fn class(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<u128> {
    let mut set = 0u128;
    let mut first = true;
    loop {
        let c = chars.next()?;
        match c {
            ']' if !first => return Some(set),
            '-' if first || chars.peek() == Some(&']') => set |= bit('-'),
            c if c.is_ascii_alphanumeric() || c == '_' => {
                if chars.peek() == Some(&'-') {
                    chars.next();
                    if chars.peek() == Some(&']') {
                        // `a-]`: the `-` is itself, the last of the class.
                        set |= bit(c) | bit('-');
                        first = false;
                        continue;
                    }
                    let to = chars.next()?;
                    let same_kind = (c.is_ascii_digit() && to.is_ascii_digit())
                        || (c.is_ascii_uppercase() && to.is_ascii_uppercase())
                        || (c.is_ascii_lowercase() && to.is_ascii_lowercase());
                    if !same_kind || to < c {
                        return None;
                    }
                    for x in c..=to {
                        set |= bit(x);
                    }
                } else {
                    set |= bit(c);
                }
            }
            _ => return None,
        }
        first = false;
    }
}

/// A count after its `{`, through its `}`: `{n}` or `{n,m}`.
fn count(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<(u32, u32)> {
    let mut text = String::new();
    for c in chars.by_ref() {
        if c == '}' {
            let (min, max) = match text.split_once(',') {
                Some((min, max)) => (number(min)?, number(max)?),
                None => (number(&text)?, number(&text)?),
            };
            return (min <= max).then_some((min, max));
        }
        text.push(c);
    }
    None
}

/// A count's number: digits only, at most [`MAX_COUNT`].
fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 4 {
        return None;
    }
    text.parse().ok().filter(|&n| n <= MAX_COUNT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn code_patterns_compile_and_others_are_left_to_the_regex() {
        for taken in [
            "^[A-Z0-9][A-Z0-9-]{2,31}$",
            "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
            "^[0-9]{6}$",
            "^SL[0-9]+$",
            "^[a-z_]+$",
            "^[-A-Z]{1,3}[0-9]$",
            "^[A-Z]*-[0-9]{2,4}$",
            "^[a-]{2}$",
        ] {
            assert!(ClassPattern::parse(taken).is_some(), "{taken}");
        }
        for left in [
            "[0-9]{6}",
            "^[0-9]{6}",
            "^[^0-9]{6}$",
            "^\\d{6}$",
            "^[A-Z]+[A-Z0-9]$",
            "^[a-z]{1,3}[0-9]?[a-z]$",
            "^[-A-Z]{1,3}[0-9]?$",
            "^[0-9]{2}?$",
            "^[0-9]+*$",
            "^[--9]$",
            "^[0-9]{2,}$",
            "^(ab)+$",
            "^a|b$",
            "^.{3}$",
            "^[Z-A]$",
            "^[0-z]$",
            "^[a-z]{3,2}$",
            "^[a-z]{1,99999}$",
            "^[]$",
        ] {
            assert_eq!(ClassPattern::parse(left), None, "{left}");
        }
    }

    /// Texts near the patterns: their characters, others, and characters
    /// beyond ASCII, in runs of every length around their counts.
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                "[A-Z]",
                "[0-9]",
                Just("-".to_string()),
                "[a-zIOSVZ_ ]",
                Just("é".to_string()),
                Just("\n".to_string()),
            ],
            0..36,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Every pattern taken answers as the regex engine the validator
        /// runs patterns with.
        #[test]
        fn code_patterns_match_as_the_regex_engine_does(
            pattern in prop_oneof![
                Just("^[A-Z0-9][A-Z0-9-]{2,31}$"),
                Just("^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"),
                Just("^[0-9]{6}$"),
                Just("^SL[0-9]+$"),
                Just("^[-A-Z]{1,3}[0-9]$"),
                Just("^[A-Z]*-[0-9]{2,4}$"),
                Just("^[a-z_]+$"),
                Just("^[A-Z]?[0-9]{1,3}-[A-Z]$"),
                Just("^[0-9]{0}[A-Z]{1,2}$"),
                Just("^[a-]{2}[A-Z0-9_]*$"),
            ],
            text in text(),
        ) {
            let compiled = ClassPattern::parse(pattern).unwrap();
            let regex = regex::Regex::new(pattern).unwrap();
            prop_assert_eq!(compiled.is_match(&text), regex.is_match(&text), "{} on {:?}", pattern, text);
        }
    }
}
