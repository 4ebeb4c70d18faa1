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
    newlines: VecDeque<u64>,
    passed: u64,
    /// Reading past this offset fails: no record may grow without bound.
    limit: Option<u64>,
}

impl<R: Read> LineIndex<R> {
    pub(crate) fn new(inner: R) -> Self {
        LineIndex {
            inner,
            read: 0,
            newlines: VecDeque::new(),
            passed: 0,
            limit: None,
        }
    }

    /// Allows `bytes` more to be read from here; reading further fails with
    /// an error saying that a record is too large. Decoders call it after
    /// each record, so that one record (with read-ahead) bounds the memory.
    pub(crate) fn allow(&mut self, bytes: u64) {
        self.limit = Some(self.read + bytes);
    }

    /// The 1-based line of the byte at `offset`.
    pub(crate) fn line_at(&mut self, offset: u64) -> u64 {
        while self.newlines.front().is_some_and(|&n| n < offset) {
            self.newlines.pop_front();
            self.passed += 1;
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
        for (i, _) in buf[..n].iter().enumerate().filter(|(_, &b)| b == b'\n') {
            self.newlines.push_back(self.read + i as u64);
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
