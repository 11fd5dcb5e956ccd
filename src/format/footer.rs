//! `skip_footer` and `trailer`, shared by every reader as one iterator adapter.
//!
//! Exports often end with a totals banner, or with a trailer record that declares how many rows
//! the export holds so that a truncated transfer can be told from a short day. The adapter holds
//! back the last few records (a fixed lookahead, so reading still streams), drops the footer,
//! and checks the trailer's declared count against the records that went through.

use std::collections::VecDeque;

use regex::Regex;

use super::ReadError;
use crate::kernel::record::Position;
use crate::profile::TrailerSpec;

/// A record as a reader found it, before it is checked against the header's width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Where the record starts.
    pub pos: Position,
    /// Its cells, as many as the reader found.
    pub fields: Vec<String>,
}

/// What readers feed the adapter: a record, or a problem standing for one record (`Row`), or a
/// problem that ends the file (`File`).
pub type Item = Result<Line, ReadError>;

/// Why a trailer pattern is refused; the message is for the operator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrailerError {
    #[error("invalid regular expression: {0}")]
    Regex(#[from] regex::Error),
    /// The pattern has no group to capture the declared row count with.
    #[error("pattern needs a capture group holding the declared row count, e.g. '^TOTAL,(\\d+)$'")]
    NoCountGroup,
}

/// Compiles a trailer pattern, requiring the capture group that holds the declared row count.
pub fn trailer_regex(spec: &TrailerSpec) -> Result<Regex, TrailerError> {
    let re = Regex::new(&spec.pattern)?;
    if re.captures_len() < 2 {
        return Err(TrailerError::NoCountGroup);
    }
    Ok(re)
}

/// How the trailer record is recognised.
pub struct Trailer {
    re: Regex,
    pattern: String,
    /// Joins the trailer record's fields into the text the pattern sees.
    joiner: String,
}

impl Trailer {
    /// A trailer check for `spec`, joining fields with `joiner` (the CSV delimiter).
    pub fn new(spec: &TrailerSpec, joiner: &str) -> Result<Trailer, TrailerError> {
        Ok(Trailer {
            re: trailer_regex(spec)?,
            pattern: spec.pattern.clone(),
            joiner: joiner.to_string(),
        })
    }
}

/// What the adapter reads: a reader's records in file order, and where the file ends.
pub trait Lines: Iterator<Item = Item> {
    /// The last physical row with content (CSV: the last line that is not empty; sheets: the
    /// last row holding a value), once the iterator has returned `None`. Empty rows between
    /// records count; empty rows after the last one do not.
    fn last_row(&self) -> u64;
}

/// The row an item stands for.
fn row_of(item: &Item) -> u64 {
    match item {
        Ok(line) => line.pos.row,
        Err(e) => e.pos.row,
    }
}

/// Drops the records that start in the last `skip_footer` physical rows of `inner` (blank
/// rows count: the footer is what the operator sees at the end of the file), then checks the
/// trailer, the last record left. A failed check is a `File` error yielded as the last item.
///
/// Each record starts on a row of its own, so the footer holds at most `skip_footer` records:
/// holding back that many (+1 with a trailer) keeps reading streaming.
pub struct Footer<I> {
    inner: I,
    skip: usize,
    trailer: Option<Trailer>,
    held: VecDeque<Item>,
    /// Records handed on while reading (data rows and rejected rows).
    passed: u64,
    /// Where a missing trailer is reported when the file has no records at all.
    fallback: Position,
    state: State,
}

enum State {
    Reading,
    /// The input has ended: the held records go out, then the trailer's verdict.
    Draining(Option<ReadError>),
    Done,
}

impl<I: Lines> Footer<I> {
    /// Wraps `inner`; `header_pos` locates a missing trailer in a file without records.
    pub fn new(inner: I, skip: usize, trailer: Option<Trailer>, header_pos: Position) -> Footer<I> {
        Footer {
            inner,
            skip,
            trailer,
            held: VecDeque::new(),
            passed: 0,
            fallback: header_pos,
            state: State::Reading,
        }
    }

    fn lookahead(&self) -> usize {
        self.skip + usize::from(self.trailer.is_some())
    }

    /// The end of the input: drop the footer, then check the trailer.
    fn finish(&mut self) -> Option<ReadError> {
        if self.skip > 0 {
            let skip = u64::try_from(self.skip).unwrap_or(u64::MAX);
            let last_data_row = self.inner.last_row().saturating_sub(skip);
            self.held.retain(|item| row_of(item) <= last_data_row);
        }
        let trailer = self.trailer.as_ref()?;
        let last = self.held.pop_back();
        let missing = |pos: Position| {
            ReadError::file(
                pos,
                format!(
                    "no trailer matching {:?}: the export may be truncated",
                    trailer.pattern
                ),
            )
        };
        let line = match last {
            None => return Some(missing(self.fallback.clone())),
            Some(Err(e)) => return Some(missing(e.pos)),
            Some(Ok(line)) => line,
        };
        let text = line.fields.join(&trailer.joiner);
        let Some(caps) = trailer.re.captures(&text) else {
            return Some(missing(line.pos));
        };
        let declared = caps
            .get(1)
            .and_then(|m| m.as_str().trim().parse::<u64>().ok());
        let records = self.passed + self.held.len() as u64;
        match declared {
            None => Some(ReadError::file(
                line.pos,
                "the trailer's row count (capture group 1) is not a whole number",
            )),
            Some(n) if n != records => Some(ReadError::file(
                line.pos,
                format!("trailer declares {n} rows, file has {records}"),
            )),
            Some(_) => None,
        }
    }
}

impl<I: Lines> Iterator for Footer<I> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            match &mut self.state {
                State::Done => return None,
                State::Draining(verdict) => {
                    if let Some(item) = self.held.pop_front() {
                        return Some(item);
                    }
                    let verdict = verdict.take();
                    self.state = State::Done;
                    return verdict.map(Err);
                }
                State::Reading => {}
            }
            if self.held.len() > self.lookahead() {
                self.passed += 1;
                return self.held.pop_front();
            }
            match self.inner.next() {
                Some(Err(e)) if e.severity == super::Severity::File => {
                    self.state = State::Done;
                    self.held.clear();
                    return Some(Err(e));
                }
                Some(item) => self.held.push_back(item),
                None => self.state = State::Draining(self.finish()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::format::Severity;

    fn line(row: u64, text: &str) -> Item {
        Ok(Line {
            pos: Position::new(Arc::from("f.csv"), row),
            fields: text.split(',').map(String::from).collect(),
        })
    }

    /// Test items, with the last row with content of the file they stand for.
    struct Sheet(std::vec::IntoIter<Item>, u64);

    impl Iterator for Sheet {
        type Item = Item;
        fn next(&mut self) -> Option<Item> {
            self.0.next()
        }
    }

    impl Lines for Sheet {
        fn last_row(&self) -> u64 {
            self.1
        }
    }

    fn run(items: Vec<Item>, skip: usize, pattern: Option<&str>) -> Vec<Item> {
        let last_row = items.iter().map(row_of).max().unwrap_or(1);
        run_to(items, last_row, skip, pattern)
    }

    /// Like [`run`], for a file whose last row with content is `last_row`.
    fn run_to(items: Vec<Item>, last_row: u64, skip: usize, pattern: Option<&str>) -> Vec<Item> {
        let trailer = pattern.map(|p| {
            Trailer::new(
                &TrailerSpec {
                    pattern: p.to_string(),
                },
                ",",
            )
            .unwrap()
        });
        let header = Position::new(Arc::from("f.csv"), 1);
        Footer::new(Sheet(items.into_iter(), last_row), skip, trailer, header).collect()
    }

    fn rows(out: &[Item]) -> Vec<u64> {
        out.iter()
            .map(|i| match i {
                Ok(l) => l.pos.row,
                Err(e) => e.pos.row,
            })
            .collect()
    }

    #[test]
    fn passes_everything_without_footer_or_trailer() {
        let out = run(vec![line(2, "a"), line(3, "b")], 0, None);
        assert_eq!(rows(&out), vec![2, 3]);
    }

    #[test]
    fn drops_the_footer_rows() {
        let input = vec![line(2, "a"), line(3, "b"), line(4, "x"), line(5, "y")];
        assert_eq!(rows(&run(input, 2, None)), vec![2, 3]);
        assert!(run(vec![line(2, "a")], 3, None).is_empty());
    }

    #[test]
    fn the_footer_is_counted_in_physical_rows() {
        // Row 4 is blank: "blank + Total" is a footer of 2 rows, and row 3 is data.
        let input = vec![line(2, "a"), line(3, "b"), line(5, "Total")];
        assert_eq!(rows(&run(input, 2, None)), vec![2, 3]);
        // A footer of blank rows only: nothing is dropped.
        let input = vec![line(2, "a"), line(3, "b")];
        assert_eq!(rows(&run_to(input, 4, 1, None)), vec![2, 3]);
        // Records spanning several lines: the one starting in the footer is the footer.
        let input = vec![line(2, "a"), line(3, "b"), line(6, "Total")];
        assert_eq!(rows(&run_to(input, 7, 2, None)), vec![2, 3]);
    }

    #[test]
    fn the_trailer_is_the_last_record_before_the_footer() {
        let input = vec![line(2, "a"), line(3, "TOTAL,1"), line(5, "Printed")];
        let out = run(input, 2, Some(r"^TOTAL,(\d+)$"));
        assert_eq!(rows(&out), vec![2]);
    }

    #[test]
    fn trailer_count_matches_data_and_rejected_rows() {
        let reject = Err(ReadError::row(
            Position::new(Arc::from("f.csv"), 3),
            None,
            "ragged",
        ));
        let input = vec![line(2, "a"), reject, line(4, "TOTAL,2"), line(5, "banner")];
        let out = run(input, 1, Some(r"^TOTAL,(\d+)$"));
        assert_eq!(rows(&out), vec![2, 3]);
        assert!(out[1].is_err());
    }

    #[test]
    fn trailer_mismatch_is_a_file_error_at_the_trailer() {
        let input = vec![line(2, "a"), line(3, "TOTAL,120")];
        let out = run(input, 0, Some(r"^TOTAL,(\d+)$"));
        let err = out.last().unwrap().as_ref().unwrap_err();
        assert_eq!(err.severity, Severity::File);
        assert_eq!(err.pos.row, 3);
        assert_eq!(err.reason, "trailer declares 120 rows, file has 1");
    }

    #[test]
    fn missing_trailer_says_truncated() {
        let out = run(vec![line(2, "a"), line(3, "b")], 0, Some(r"^TOTAL,(\d+)$"));
        assert_eq!(rows(&out), vec![2, 3]);
        let err = out.last().unwrap().as_ref().unwrap_err();
        assert!(err.reason.contains("may be truncated"), "{}", err.reason);
        assert_eq!(err.pos.row, 3);
        let empty = run(vec![], 0, Some(r"^TOTAL,(\d+)$"));
        assert_eq!(rows(&empty), vec![1]);
    }

    #[test]
    fn file_errors_end_the_stream() {
        let fatal = Err(ReadError::file(Position::new(Arc::from("f.csv"), 3), "bad"));
        let out = run(vec![line(2, "a"), fatal, line(4, "b")], 1, None);
        assert_eq!(rows(&out), vec![3]);
    }

    #[test]
    fn patterns_need_a_capture_group() {
        let spec = |p: &str| TrailerSpec {
            pattern: p.to_string(),
        };
        assert!(trailer_regex(&spec(r"^TOTAL,\d+$")).is_err());
        assert!(trailer_regex(&spec(r"^TOTAL,(\d+$")).is_err());
        assert!(trailer_regex(&spec(r"^TOTAL,(\d+)$")).is_ok());
    }
}
