//! Physical line numbers for CSV records, whatever the line ending.
//!
//! The csv crate counts `\n` bytes only, and places a record where the previous one ended:
//! a CR-only file is one long line to it, a CRLF record seems to start on the line before
//! (the `\n` of the previous line is still ahead), and a record after blank lines seems to
//! start on the first of them. [`LineCounter`] sits between the decoded text and the parser
//! and counts lines itself: `\n`, `\r\n` and a lone `\r` each end a line. It remembers where
//! the recent lines' first characters are, so the reader can ask on which line a record starts:
//! the line of the first character at or after the byte where the parser began the record.
//!
//! Memory stays flat: only line starts within the parser's read-ahead buffer are kept, plus
//! the answer for the record being read.

use std::collections::VecDeque;
use std::io::{self, Read};

/// A `Read` adapter that numbers the physical lines of the text passing through it.
pub struct LineCounter<R> {
    inner: R,
    /// How far behind the bytes handed out the parser can still be (its buffer capacity).
    lookbehind: u64,
    /// Bytes handed out so far.
    offset: u64,
    /// The line the next byte is on.
    line: u64,
    /// The last byte was a `\r`: a `\n` right after it ends no further line.
    after_cr: bool,
    /// No character has been seen on the current line yet.
    at_line_start: bool,
    /// The last line that holds a character other than a line break (0: none yet).
    last_filled: u64,
    /// (offset, line) of the first character of each recent line that has one.
    starts: VecDeque<(u64, u64)>,
    /// The line of the record being read, once its first character has been seen.
    record_line: Option<u64>,
}

impl<R> LineCounter<R> {
    /// Counts the lines of `inner`; `lookbehind` is the capacity of the parser's buffer.
    pub fn new(inner: R, lookbehind: usize) -> LineCounter<R> {
        LineCounter {
            inner,
            lookbehind: u64::try_from(lookbehind).unwrap_or(u64::MAX),
            offset: 0,
            line: 1,
            after_cr: false,
            at_line_start: true,
            last_filled: 0,
            starts: VecDeque::new(),
            record_line: None,
        }
    }

    /// Called before the parser reads a record starting at byte `start` (its position).
    pub fn begin_record(&mut self, start: u64) {
        while self.starts.front().is_some_and(|&(at, _)| at < start) {
            self.starts.pop_front();
        }
        self.record_line = self.starts.front().map(|&(_, line)| line);
    }

    /// The line on which the record begun with [`LineCounter::begin_record`] starts.
    pub fn record_line(&self) -> u64 {
        self.record_line.unwrap_or(self.line)
    }

    /// The last line that is not empty: trailing empty lines are not rows.
    pub fn last_filled_line(&self) -> u64 {
        self.last_filled
    }

    fn count(&mut self, chunk: &[u8]) {
        let mut from = 0;
        for brk in memchr::memchr2_iter(b'\n', b'\r', chunk) {
            if brk > from {
                self.characters(from);
            }
            self.line_break(chunk[brk]);
            from = brk + 1;
        }
        if from < chunk.len() {
            self.characters(from);
        }
        self.offset += chunk.len() as u64;
        while self
            .starts
            .front()
            .is_some_and(|&(at, _)| at.saturating_add(self.lookbehind) < self.offset)
        {
            self.starts.pop_front();
        }
    }

    /// Characters other than line breaks, from `at` in the current chunk.
    fn characters(&mut self, at: usize) {
        if self.at_line_start {
            self.at_line_start = false;
            self.starts.push_back((self.offset + at as u64, self.line));
            self.record_line.get_or_insert(self.line);
        }
        self.after_cr = false;
        self.last_filled = self.line;
    }

    fn line_break(&mut self, byte: u8) {
        let crlf = byte == b'\n' && self.after_cr;
        self.after_cr = byte == b'\r';
        if !crlf {
            self.line += 1;
            self.at_line_start = true;
        }
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(chunk) = buf.get(..n) {
            self.count(chunk);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The starting line of each record of `text`, given the byte offsets where the parser
    /// begins them (where it stopped after the previous record), read in `chunk` byte pieces.
    fn lines_of(text: &[u8], starts: &[u64], chunk: usize) -> Vec<u64> {
        let mut counter = LineCounter::new(text, chunk);
        let mut buf = vec![0u8; chunk];
        let mut out = Vec::new();
        for (i, &start) in starts.iter().enumerate() {
            counter.begin_record(start);
            let end = starts.get(i + 1).copied().unwrap_or(u64::MAX);
            while counter.offset < end && counter.read(&mut buf).unwrap() > 0 {}
            out.push(counter.record_line());
        }
        out
    }

    #[test]
    fn every_line_ending_counts_one_line() {
        // "a", blank, "b"; each record begins where the parser stopped after the previous one.
        assert_eq!(lines_of(b"a\n\nb\n", &[0, 2], 64), vec![1, 3]);
        assert_eq!(lines_of(b"a\r\n\r\nb\r\n", &[0, 2], 64), vec![1, 3]);
        assert_eq!(lines_of(b"a\r\rb\r", &[0, 2], 64), vec![1, 3]);
        assert_eq!(lines_of(b"a\r\n\nb", &[0, 2], 1), vec![1, 3]);
    }

    #[test]
    fn a_crlf_split_across_reads_is_one_line_break() {
        let mut counter = LineCounter::new(&b"a\r\nb\r\n"[..], 1);
        let mut byte = [0u8; 1];
        while counter.read(&mut byte).unwrap() > 0 {}
        assert_eq!(counter.last_filled_line(), 2);
        assert_eq!(counter.line, 3);
    }

    #[test]
    fn trailing_empty_lines_are_not_filled() {
        let mut counter = LineCounter::new(&b"a\n b\n\n\r\n"[..], 64);
        io::copy(&mut counter, &mut io::sink()).unwrap();
        assert_eq!(counter.last_filled_line(), 2);
    }

    #[test]
    fn only_the_read_ahead_window_is_kept() {
        let text = b"a\n".repeat(10_000);
        let mut counter = LineCounter::new(&text[..], 64);
        let mut buf = [0u8; 64];
        while counter.read(&mut buf).unwrap() > 0 {}
        assert!(counter.starts.len() <= 33, "{}", counter.starts.len());
        assert_eq!(counter.last_filled_line(), 10_000);
    }
}
