//! `skip_footer` and `trailer`, shared by every reader as one iterator adapter.
//!
//! Exports often end with a totals banner, or with a trailer record that declares how many rows
//! the export holds so that a truncated transfer can be told from a short day. The adapter holds
//! back the last few records (a fixed lookahead, so reading still streams), drops the footer,
//! and checks the trailer's declared count against the records that went through.

use std::collections::VecDeque;

use regex::Regex;

use super::ReadError;
use crate::profile::TrailerSpec;
use crate::record::Position;

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

/// Compiles a trailer pattern, requiring the capture group that holds the declared row count.
/// The error is a message for the operator.
pub fn trailer_regex(spec: &TrailerSpec) -> Result<Regex, String> {
    let re = Regex::new(&spec.pattern).map_err(|e| format!("invalid regular expression: {e}"))?;
    if re.captures_len() < 2 {
        return Err(
            "pattern needs a capture group holding the declared row count, e.g. '^TOTAL,(\\d+)$'"
                .to_string(),
        );
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
    pub fn new(spec: &TrailerSpec, joiner: &str) -> Result<Trailer, String> {
        Ok(Trailer {
            re: trailer_regex(spec)?,
            pattern: spec.pattern.clone(),
            joiner: joiner.to_string(),
        })
    }
}

/// Holds back the last `skip_footer` (+1 with a trailer) records of `inner`, drops the footer
/// and checks the trailer; a failed check is a `File` error yielded as the last item.
pub struct Footer<I> {
    inner: I,
    skip: usize,
    trailer: Option<Trailer>,
    held: VecDeque<Item>,
    /// Records handed on (data rows and rejected rows).
    passed: u64,
    /// Where a missing trailer is reported when the file has no records at all.
    fallback: Position,
    done: bool,
}

impl<I: Iterator<Item = Item>> Footer<I> {
    /// Wraps `inner`; `header_pos` locates a missing trailer in a file without records.
    pub fn new(inner: I, skip: usize, trailer: Option<Trailer>, header_pos: Position) -> Footer<I> {
        Footer {
            inner,
            skip,
            trailer,
            held: VecDeque::new(),
            passed: 0,
            fallback: header_pos,
            done: false,
        }
    }

    fn lookahead(&self) -> usize {
        self.skip + usize::from(self.trailer.is_some())
    }

    /// The end of the input: drop the footer, then check the trailer.
    fn finish(&mut self) -> Option<ReadError> {
        let trailer = self.trailer.as_ref()?;
        let kept = self.held.len().saturating_sub(self.skip);
        self.held.truncate(kept);
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
        match declared {
            None => Some(ReadError::file(
                line.pos,
                "the trailer's row count (capture group 1) is not a whole number",
            )),
            Some(n) if n != self.passed => Some(ReadError::file(
                line.pos,
                format!("trailer declares {n} rows, file has {}", self.passed),
            )),
            Some(_) => None,
        }
    }
}

impl<I: Iterator<Item = Item>> Iterator for Footer<I> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        loop {
            if self.held.len() > self.lookahead() {
                self.passed += 1;
                return self.held.pop_front();
            }
            match self.inner.next() {
                Some(Err(e)) if e.severity == super::Severity::File => {
                    self.done = true;
                    self.held.clear();
                    return Some(Err(e));
                }
                Some(item) => self.held.push_back(item),
                None => {
                    self.done = true;
                    return self.finish().map(Err);
                }
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

    fn run(items: Vec<Item>, skip: usize, pattern: Option<&str>) -> Vec<Item> {
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
        Footer::new(items.into_iter(), skip, trailer, header).collect()
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
