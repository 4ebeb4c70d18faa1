//! Byte offset → line number, for readers that report offsets.

use std::collections::VecDeque;
use std::io::{self, Read};

/// The error of a read past a record's budget.
#[derive(Debug)]
pub(crate) struct RecordTooLarge {
    near_line: u64,
}

impl std::fmt::Display for RecordTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a single row starting near line {} is larger than this decoder accepts; the rest of the file is not read",
            self.near_line
        )
    }
}

impl std::error::Error for RecordTooLarge {}

impl RecordTooLarge {
    /// Whether an I/O error is this one.
    pub(crate) fn is(error: &io::Error) -> bool {
        error.get_ref().is_some_and(|e| e.is::<RecordTooLarge>())
    }
}

/// A reader that remembers where newlines are, so that a later byte offset
/// can be turned into a 1-based line. Offsets must be asked in increasing
/// order; memory stays proportional to the bytes read ahead.
pub(crate) struct LineIndex<R> {
    inner: R,
    read: u64,
    /// Offsets of newlines not yet passed, each with the count of quote
    /// bytes read up to and including it, and whether a CR precedes it.
    newlines: VecDeque<(u64, u64, bool)>,
    passed: u64,
    /// Reading past this offset fails: no record may grow without bound.
    limit: Option<u64>,
    /// The quote byte counted, if any.
    quote: Option<u8>,
    quotes: u64,
    quotes_passed: u64,
    /// The inner reader said end of input.
    ended: bool,
    /// The last byte read.
    last_byte: Option<u8>,
}

impl<R: Read> LineIndex<R> {
    pub(crate) fn new(inner: R) -> Self {
        LineIndex {
            inner,
            read: 0,
            newlines: VecDeque::new(),
            passed: 0,
            limit: None,
            quote: None,
            quotes: 0,
            quotes_passed: 0,
            ended: false,
            last_byte: None,
        }
    }

    /// Counts `quote` bytes as they are read (see [`LineIndex::quotes_since_line_start`]).
    pub(crate) fn count_quotes(mut self, quote: u8) -> Self {
        self.quote = Some(quote);
        self
    }

    /// Quote bytes read since the start of the line last asked for with
    /// [`LineIndex::line_at`]: odd after a record that ran to the end of the
    /// input means an opening quote was never closed.
    pub(crate) fn quotes_since_line_start(&self) -> u64 {
        self.quotes - self.quotes_passed
    }

    /// Whether the inner reader has reported the end of its input.
    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// The 1-based number of the last line read so far (a final newline
    /// ends its line; it does not start another).
    pub(crate) fn last_line(&self) -> u64 {
        let after = u64::from(self.last_byte != Some(b'\n'));
        (self.passed + self.newlines.len() as u64 + after).max(1)
    }

    /// Allows `bytes` more to be read from here; reading further fails with
    /// an error saying that a record is too large. Decoders call it after
    /// each record, so that one record (with read-ahead) bounds the memory.
    pub(crate) fn allow(&mut self, bytes: u64) {
        self.limit = Some(self.read + bytes);
    }

    /// The 1-based line of a record a reader says starts at `offset`. A
    /// record never starts with a line break (LF, or the CR of a CRLF), so
    /// the line breaks at the offset belong to the lines before it.
    pub(crate) fn record_line(&mut self, offset: u64) -> u64 {
        // Readers report where they began looking, before any blank lines
        // they skipped: the record starts after every line break from there.
        let mut start = offset;
        for &(n, _, after_cr) in self.newlines.iter().skip_while(|(n, _, _)| *n < offset) {
            if n == start {
                start += 1;
            } else if n == start + 1 && after_cr {
                start += 2;
            } else {
                break;
            }
        }
        self.line_at(start)
    }

    /// The 1-based line of the byte at `offset`.
    pub(crate) fn line_at(&mut self, offset: u64) -> u64 {
        while let Some(&(_, quotes, _)) = self.newlines.front().filter(|(n, _, _)| *n < offset) {
            self.newlines.pop_front();
            self.passed += 1;
            self.quotes_passed = quotes;
        }
        self.passed + 1
    }
}

impl<R: Read> Read for LineIndex<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let buf = match self.limit {
            Some(limit) if self.read >= limit => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    RecordTooLarge {
                        near_line: self.passed + 1,
                    },
                ));
            }
            Some(limit) => {
                let room = usize::try_from(limit - self.read)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                &mut buf[..room]
            }
            None => buf,
        };
        let n = self.inner.read(buf)?;
        self.ended |= n == 0 && !buf.is_empty();
        let before = self.last_byte;
        if n > 0 {
            self.last_byte = Some(buf[n - 1]);
        }
        let read = &buf[..n];
        let after_cr = |i: usize| {
            if i == 0 {
                before == Some(b'\r')
            } else {
                read[i - 1] == b'\r'
            }
        };
        match self.quote {
            Some(quote) => {
                for i in memchr::memchr2_iter(b'\n', quote, read) {
                    if read[i] == quote {
                        self.quotes += 1;
                    } else {
                        self.newlines
                            .push_back((self.read + i as u64, self.quotes, after_cr(i)));
                    }
                }
            }
            None => {
                for i in memchr::memchr_iter(b'\n', read) {
                    self.newlines
                        .push_back((self.read + i as u64, 0, after_cr(i)));
                }
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines() {
        let mut idx = LineIndex::new(&b"ab\ncd\n\nef"[..]);
        let mut s = Vec::new();
        idx.read_to_end(&mut s).unwrap();
        assert_eq!(idx.line_at(0), 1);
        assert_eq!(idx.line_at(2), 1);
        assert_eq!(idx.line_at(3), 2);
        assert_eq!(idx.line_at(6), 3);
        assert_eq!(idx.line_at(7), 4);
    }
}
