//! Zip containers (xlsx, ods) are measured before a spreadsheet library opens them.
//!
//! An xlsx is a zip of XML parts, so a few kilobytes can inflate to gigabytes (a zip bomb).
//! The parts' declared sizes are summed against the cap and each part's compression ratio is
//! bounded. A crafted archive could declare small sizes and inflate without end, but the `zip`
//! crate (v9, the one calamine reads through) refuses to inflate a part past its declared size,
//! so the declared sum is a real bound; a test below pins that behaviour. The same pass tells an
//! xlsx from an ods by the parts it holds.

use std::io::{Read, Seek};

use zip::ZipArchive;

use crate::profile::Limits;

/// Most parts accepted in one archive; real workbooks have tens to hundreds.
const MAX_ENTRIES: usize = 10_000;
/// Parts above this size may not compress better than [`MAX_RATIO`].
const RATIO_FLOOR: u64 = 1 << 20;
/// Largest accepted inflated/compressed ratio of one part (XML sheets reach a few hundred).
const MAX_RATIO: u64 = 1_000;

/// Which spreadsheet a zip container holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZipKind {
    /// Office Open XML workbook (xlsx, xlsm).
    Xlsx,
    /// OpenDocument spreadsheet.
    Ods,
}

/// Why a zip container is refused; the message is for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipCheckError {
    /// The zip library cannot read the archive; `reason` is its error.
    #[error("not a valid zip container: {reason}")]
    NotAZip { reason: String },
    #[error("archive has {parts} parts, over the limit of {MAX_ENTRIES}, refusing")]
    TooManyParts { parts: usize },
    /// The declared sizes add up to more than `limits.max_unzipped_bytes`.
    #[error("decompressed size exceeds {max} bytes (limits.max_unzipped_bytes), refusing (possible zip bomb)")]
    TooLarge { max: u64 },
    #[error("unreadable zip part: {reason}")]
    UnreadablePart { reason: String },
    /// One part compresses better than [`MAX_RATIO`].
    #[error(
        "a part inflates {ratio}-fold, over the limit of {MAX_RATIO}, refusing (possible zip bomb)"
    )]
    Ratio { ratio: u64 },
    #[error("not a spreadsheet (expected an xlsx/xls/ods file): the zip holds no workbook")]
    NoWorkbook,
}

/// Checks `reader`'s archive against `limits.max_unzipped_bytes` and tells its kind. Nothing
/// is inflated; the reader's position is unspecified.
pub fn inspect<R: Read + Seek>(reader: R, limits: &Limits) -> Result<ZipKind, ZipCheckError> {
    let mut zip = ZipArchive::new(reader).map_err(|e| ZipCheckError::NotAZip {
        reason: e.to_string(),
    })?;
    if zip.len() > MAX_ENTRIES {
        return Err(ZipCheckError::TooManyParts { parts: zip.len() });
    }
    let max = limits.max_unzipped_bytes;
    let mut declared: u64 = 0;
    let mut kind = None;
    for i in 0..zip.len() {
        let part = zip
            .by_index_raw(i)
            .map_err(|e| ZipCheckError::UnreadablePart {
                reason: e.to_string(),
            })?;
        let (size, packed) = (part.size(), part.compressed_size());
        declared = declared.saturating_add(size);
        if declared > max {
            return Err(ZipCheckError::TooLarge { max });
        }
        if size > RATIO_FLOOR && size / packed.max(1) > MAX_RATIO {
            return Err(ZipCheckError::Ratio {
                ratio: size / packed.max(1),
            });
        }
        kind = kind.or(match part.name().as_deref() {
            Ok("xl/workbook.xml") => Some(ZipKind::Xlsx),
            Ok("content.xml") => Some(ZipKind::Ods),
            _ => None,
        });
    }
    kind.ok_or(ZipCheckError::NoWorkbook)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::{Cursor, Write};

    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    use super::*;

    /// A zip of `(name, content)` parts, deflated.
    pub(crate) fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, content) in parts {
            w.start_file(*name, opts).unwrap();
            w.write_all(content).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn limits(max_unzipped_bytes: u64) -> Limits {
        Limits {
            max_unzipped_bytes,
            ..Limits::default()
        }
    }

    #[test]
    fn tells_xlsx_from_ods() {
        let xlsx = zip_of(&[("xl/workbook.xml", b"<workbook/>")]);
        assert_eq!(inspect(Cursor::new(xlsx), &limits(1000)), Ok(ZipKind::Xlsx));
        let ods = zip_of(&[("mimetype", b"x"), ("content.xml", b"<c/>")]);
        assert_eq!(inspect(Cursor::new(ods), &limits(1000)), Ok(ZipKind::Ods));
        let other = zip_of(&[("readme.txt", b"hi")]);
        assert!(inspect(Cursor::new(other), &limits(1000))
            .unwrap_err()
            .to_string()
            .contains("not a spreadsheet"));
    }

    #[test]
    fn refuses_a_zip_bomb_by_declared_size() {
        let huge = vec![b'a'; 200_000];
        let bomb = zip_of(&[("xl/workbook.xml", b"<w/>"), ("xl/sheet.xml", &huge)]);
        assert!(bomb.len() < 2_000);
        let err = inspect(Cursor::new(bomb), &limits(100_000))
            .unwrap_err()
            .to_string();
        assert!(err.contains("possible zip bomb"), "{err}");
    }

    #[test]
    fn refuses_extreme_compression_ratios() {
        let huge = vec![0u8; 8 << 20];
        let bomb = zip_of(&[("xl/workbook.xml", b"<w/>"), ("xl/sheet.xml", &huge)]);
        let err = inspect(Cursor::new(bomb), &limits(1 << 30))
            .unwrap_err()
            .to_string();
        assert!(err.contains("fold"), "{err}");
    }

    /// Rewrites the declared sizes of every part to 1 byte, as a crafted archive would.
    fn lie_about_sizes(mut zip: Vec<u8>) -> Vec<u8> {
        let patch = |zip: &mut Vec<u8>, sig: &[u8], offset: usize| {
            let mut i = 0;
            while let Some(p) = zip[i..].windows(4).position(|w| w == sig) {
                let at = i + p + offset;
                zip[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
                i = i + p + 4;
            }
        };
        // Local headers: uncompressed size at 22; central directory: at 24.
        patch(&mut zip, b"PK\x03\x04", 22);
        patch(&mut zip, b"PK\x01\x02", 24);
        zip
    }

    #[test]
    fn parts_never_inflate_beyond_their_declared_size() {
        let huge = vec![b'a'; 200_000];
        let zip = zip_of(&[("xl/workbook.xml", b"<w/>"), ("xl/sheet.xml", &huge)]);
        let liar = lie_about_sizes(zip);
        assert_eq!(
            inspect(Cursor::new(liar.clone()), &limits(100_000)),
            Ok(ZipKind::Xlsx)
        );
        let mut archive = ZipArchive::new(Cursor::new(liar)).unwrap();
        let mut part = archive.by_index(1).unwrap();
        let mut sink = Vec::new();
        assert!(part.read_to_end(&mut sink).is_err());
        assert!(sink.len() < 1_000, "inflated {} bytes", sink.len());
    }

    #[test]
    fn refuses_non_zip_bytes() {
        let err = inspect(Cursor::new(b"PK\x03\x04 not really".to_vec()), &limits(10))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid zip"), "{err}");
    }
}
