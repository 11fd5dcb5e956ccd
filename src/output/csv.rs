//! CSV serialisation of mapped records, with spreadsheet formula injection neutralised.
//!
//! A text cell starting with `=`, `+`, `-`, `@`, tab or CR would be run as a formula by
//! Excel or LibreOffice when an HR user opens the file; such cells get a leading `'`. Typed
//! values (integers, decimals, dates, booleans) are produced by our own formatting and are
//! written as they are, so a negative pay adjustment stays a number.

use std::borrow::Cow;
use std::io::{self, Write};

use crate::transform::{FieldInfo, MappedRecord, Value};

/// Writes records as CSV rows under a header of field names.
pub struct CsvEncoder<W: Write> {
    writer: csv::Writer<W>,
    neutralize: bool,
}

impl<W: Write> CsvEncoder<W> {
    /// Starts the file with the header row.
    pub fn new(out: W, fields: &[FieldInfo], delimiter: u8, neutralize: bool) -> io::Result<Self> {
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
                Value::Text(s) if self.neutralize => {
                    self.writer.write_field(neutralize(s).as_bytes())?
                }
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
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Position;

    use crate::output::test_fields as fields;

    fn encode(values: Vec<Value>, neutralize: bool) -> String {
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
            true,
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
            false,
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
}
