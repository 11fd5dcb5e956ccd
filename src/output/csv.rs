//! CSV serialisation of mapped records, with spreadsheet formula injection neutralised.
//!
//! A text cell starting with `=`, `+`, `-`, `@`, tab or CR would be run as a formula by
//! Excel or LibreOffice when an HR user opens the file; such cells get a leading `'`. A cell
//! that is a plain number or phone number (`-150.00`, `+14155550100`, `+1 415 555 0100`) is
//! left alone by default: with no letters or other symbols in it, it can call no function and
//! reference no cell, and machine feeds need the value as it is (`neutralize_formulas = "all"`
//! prefixes those too, for files that people open). Typed values (integers, decimals, dates,
//! booleans) are produced by our own formatting and are written as they are, so a negative pay
//! adjustment stays a number.

use std::borrow::Cow;
use std::io::{self, Write};

use crate::kernel::mapped::{FieldInfo, MappedRecord};
use crate::kernel::value::Value;
use crate::profile::Neutralize;

/// Writes records as CSV rows under a header of field names.
pub struct CsvEncoder<W: Write> {
    writer: csv::Writer<W>,
    neutralize: Neutralize,
}

impl<W: Write> CsvEncoder<W> {
    /// Starts the file with the header row.
    pub fn new(
        out: W,
        fields: &[FieldInfo],
        delimiter: u8,
        neutralize: Neutralize,
    ) -> io::Result<Self> {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(out);
        writer.write_record(fields.iter().map(|f| f.name.as_bytes()))?;
        Ok(CsvEncoder { writer, neutralize })
    }

    /// Writes one record.
    pub fn write(&mut self, rec: &MappedRecord) -> io::Result<()> {
        for value in &rec.values {
            match value {
                Value::Text(s) => self
                    .writer
                    .write_field(neutralize_as(s, self.neutralize).as_bytes())?,
                other => self.writer.write_field(other.to_string().as_bytes())?,
            }
        }
        self.writer.write_record(None::<&[u8]>)?;
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(self) -> io::Result<W> {
        self.writer.into_inner().map_err(|e| e.into_error())
    }
}

/// `cell` made safe to open in a spreadsheet: prefixed with `'` when it would start a formula.
/// For reports people open (rejects, listings): every `= + - @`, tab or CR start.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// `cell` as an output with `neutralize_formulas = mode` writes it.
fn neutralize_as(cell: &str, mode: Neutralize) -> Cow<'_, str> {
    match mode {
        Neutralize::Off => Cow::Borrowed(cell),
        Neutralize::Formulas if is_plain_number(cell) => Cow::Borrowed(cell),
        Neutralize::Formulas | Neutralize::All => neutralize(cell),
    }
}

/// A sign followed by a number or phone number: digits with the separators people write in
/// them (space, `.`, `,`, `-`, `(`, `)`), or a decimal in exponent notation (`-1.5E+3`).
fn is_plain_number(cell: &str) -> bool {
    let Some(rest) = cell.strip_prefix(['+', '-']) else {
        return false;
    };
    let starts_like_a_number = rest.starts_with(|c: char| c.is_ascii_digit() || c == '(');
    let written_number = rest.contains(|c: char| c.is_ascii_digit())
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | ',' | '-' | '(' | ')'));
    // `rest` starts with a digit, so `inf` and `nan` are not numbers here.
    starts_like_a_number && (written_number || rest.parse::<f64>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::record::Position;

    use crate::output::test_fields as fields;

    fn encode(values: Vec<Value>, neutralize: Neutralize) -> String {
        let mut enc =
            CsvEncoder::new(Vec::new(), &fields(&["a", "b", "c"]), b',', neutralize).unwrap();
        enc.write(&MappedRecord {
            pos: Position::new("f.csv".into(), 2),
            values,
        })
        .unwrap();
        String::from_utf8(enc.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn formulas_in_text_are_neutralised_numbers_are_not() {
        let out = encode(
            vec![
                Value::Text("=HYPERLINK(\"http://x\")".into()),
                Value::Decimal("-12.50".into()),
                Value::Text("@SUM(A1)".into()),
            ],
            Neutralize::Formulas,
        );
        assert_eq!(
            out,
            "a,b,c\n\"'=HYPERLINK(\"\"http://x\"\")\",-12.50,'@SUM(A1)\n"
        );
    }

    #[test]
    fn neutralising_can_be_turned_off_and_nulls_are_empty() {
        let out = encode(
            vec![Value::Text("=1+1".into()), Value::Null, Value::Bool(true)],
            Neutralize::Off,
        );
        assert_eq!(out, "a,b,c\n=1+1,,true\n");
    }

    #[test]
    fn every_dangerous_start_is_covered() {
        for s in ["=x", "+x", "-x", "@x", "\tx", "\rx"] {
            assert!(neutralize(s).starts_with('\''), "{s:?}");
        }
        assert_eq!(neutralize("Smith"), "Smith");
        assert_eq!(neutralize(""), "");
    }

    #[test]
    fn plain_numbers_and_phones_are_left_alone_unless_all() {
        let plain = [
            "-150.00",
            "+14155550100",
            "+1 415 555 0100",
            "+44 (0)20 7946 0958",
            "-1,234.50",
            "+1.5E+3",
            "-(12)",
        ];
        for s in plain {
            assert_eq!(neutralize_as(s, Neutralize::Formulas), s, "{s:?}");
            assert_eq!(neutralize_as(s, Neutralize::All), format!("'{s}"), "{s:?}");
        }
        let formulas = [
            "=1+1",
            "@SUM(A1)",
            "\t1",
            "\r1",
            "-2+3+cmd|' /C calc'!A0",
            "+A1",
            "-inf",
            "-nan",
            "+",
            "- 1",
            "-1+SUM(A1)",
            "+1\n=2",
        ];
        for s in formulas {
            assert!(
                neutralize_as(s, Neutralize::Formulas).starts_with('\''),
                "{s:?}"
            );
        }
        assert_eq!(neutralize_as("=1", Neutralize::Off), "=1");
    }
}
