//! The keys of a fixed-width output file (`[[output]] format = "fixed"`): what each piece of
//! a detail, header or trailer record holds, where it sits and how it is padded.
//!
//! Payroll bureaus, banks and carriers take files whose fields sit at fixed character
//! positions. A piece holds exactly one thing — a field, literal text, the run date, a record
//! count or a hash total — so a layout reads like the record description it was copied from.

use serde::Deserialize;

/// One piece of an output record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawPiece")]
pub struct Piece {
    pub holds: Holds,
    /// 1-based character position; omitted, right after the previous piece. A gap before it
    /// is filled with spaces.
    pub start: Option<usize>,
    /// Characters; omitted only for `text` and `run_date`, which are then as wide as they
    /// write.
    pub width: Option<usize>,
    pub align: Align,
    /// The character that fills the rest of the width (default a space).
    pub pad: char,
}

/// What a piece holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holds {
    /// `field = "name"`: the value of an output field (spaces when it is empty).
    Field(String),
    /// `text = "H"`: the same characters in every record (a record type, a file id).
    Text(String),
    /// `run_date = "%Y%m%d"`: the job's date (`HRBRIDGE_TODAY` sets it) in a chrono format.
    RunDate(String),
    /// `count = "details"` or `"records"` (the trailer's own and the header's included).
    Count(Counted),
    /// `sum = "field"`: the exact total of an integer or decimal field over the details.
    Sum(String),
}

/// What a `count` piece counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Counted {
    /// The detail records: one per row written.
    Details,
    /// Every record of the file: header, details and trailer.
    Records,
}

/// Which side of its width a value keeps to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    /// Padded on the right (text, names).
    #[default]
    Left,
    /// Padded on the left (numbers: `align = "right", pad = "0"`).
    Right,
}

/// How the records of a fixed-width output end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineEnding {
    #[default]
    Lf,
    Crlf,
}

impl LineEnding {
    /// The characters that end a record.
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::Crlf => "\r\n",
        }
    }
}

/// A piece as written in the profile, before it is known to hold exactly one thing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPiece {
    field: Option<String>,
    text: Option<String>,
    run_date: Option<String>,
    count: Option<Counted>,
    sum: Option<String>,
    start: Option<usize>,
    width: Option<usize>,
    #[serde(default)]
    align: Align,
    pad: Option<String>,
}

impl TryFrom<RawPiece> for Piece {
    type Error = String;

    fn try_from(raw: RawPiece) -> Result<Piece, String> {
        let holds = [
            raw.field.map(Holds::Field),
            raw.text.map(Holds::Text),
            raw.run_date.map(Holds::RunDate),
            raw.count.map(Holds::Count),
            raw.sum.map(Holds::Sum),
        ];
        let mut holds = holds.into_iter().flatten();
        let (Some(what), None) = (holds.next(), holds.next()) else {
            return Err(
                "a fixed-width piece holds exactly one of field, text, run_date, count or sum"
                    .into(),
            );
        };
        let pad = match raw.pad.as_deref() {
            None => ' ',
            Some(p) => {
                let mut chars = p.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_control() => c,
                    _ => return Err(format!("pad must be one printable character, not {p:?}")),
                }
            }
        };
        Ok(Piece {
            holds: what,
            start: raw.start,
            width: raw.width,
            align: raw.align,
            pad,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(toml_text: &str) -> Result<Piece, String> {
        toml::from_str::<Piece>(toml_text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_piece_holds_one_thing_with_its_place_and_padding() {
        let p = piece("sum = 'pay'\nstart = 5\nwidth = 9\nalign = 'right'\npad = '0'").unwrap();
        assert_eq!(p.holds, Holds::Sum("pay".into()));
        assert_eq!(
            (p.start, p.width, p.align, p.pad),
            (Some(5), Some(9), Align::Right, '0')
        );
        let p = piece("text = 'H'").unwrap();
        assert_eq!(
            (p.holds, p.width, p.pad),
            (Holds::Text("H".into()), None, ' ')
        );
        assert_eq!(
            piece("count = 'records'\nwidth = 6").unwrap().holds,
            Holds::Count(Counted::Records)
        );
    }

    #[test]
    fn two_things_none_or_a_long_pad_are_refused() {
        for bad in [
            "field = 'a'\ntext = 'b'",
            "width = 3",
            "field = 'a'\npad = '00'",
        ] {
            let err = piece(bad).unwrap_err();
            assert!(
                err.contains("exactly one of") || err.contains("one printable character"),
                "{bad}: {err}"
            );
        }
        assert!(piece("field = 'a'\npad = '\t'").is_err());
        assert!(piece("field = 'a'\ncolour = 'red'").is_err());
    }
}
