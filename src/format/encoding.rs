//! Text encodings of CSV and fixed-width exports: choosing the encoding and decoding strictly to UTF-8.
//!
//! HR exports arrive in UTF-8, UTF-8 with a BOM, UTF-16 (Excel's "Unicode text") or a Windows
//! code page. Decoding is never lossy: a byte sequence that is not valid in the chosen encoding
//! stops the read with its byte offset and line instead of becoming U+FFFD in someone's name.
//! The decoder also refuses a byte-order mark in the middle of the text (two exports
//! concatenated) and NUL bytes (usually UTF-16 read as UTF-8), both with their line.

use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;

use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_8};

use super::ReadError;
use crate::kernel::record::Position;

/// The `encoding` value that sniffs a byte-order mark and otherwise expects UTF-8.
pub const AUTO: &str = "auto";

/// Why an `encoding` setting is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingLabelError {
    /// A label of an encoding that decodes nothing (`replacement`, `x-user-defined`).
    #[error("encoding {label:?} cannot decode text; name the file's real encoding")]
    CannotDecode { label: String },
    #[error(
        "unknown encoding {label:?}: use \"auto\" or a label such as \"utf-8\", \
         \"windows-1252\", \"utf-16le\""
    )]
    Unknown { label: String },
}

/// Resolves an `encoding` setting: `Ok(None)` for `"auto"`, the encoding for a known label
/// (WHATWG labels: `"utf-8"`, `"windows-1252"`, `"latin1"`, `"utf-16le"`, ...), or why the
/// label is not accepted.
pub fn encoding_for_label(label: &str) -> Result<Option<&'static Encoding>, EncodingLabelError> {
    if label.trim().eq_ignore_ascii_case(AUTO) {
        return Ok(None);
    }
    let label_text = || label.to_string();
    match Encoding::for_label(label.as_bytes()) {
        Some(enc) if enc == encoding_rs::REPLACEMENT || enc == encoding_rs::X_USER_DEFINED => {
            Err(EncodingLabelError::CannotDecode {
                label: label_text(),
            })
        }
        Some(enc) => Ok(Some(enc)),
        None => Err(EncodingLabelError::Unknown {
            label: label_text(),
        }),
    }
}

/// Why decoding stopped (its `Display` leaves the line to the caller's position). Carried inside the `io::Error` that [`DecodingReader`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// What was found.
    pub kind: DecodeErrorKind,
    /// Offset in the input file of the offending bytes (0-based).
    pub byte_offset: u64,
    /// 1-based line of the decoded text on which they sit.
    pub line: u64,
    /// Name of the encoding in use, e.g. `"UTF-8"`.
    pub encoding: &'static str,
}

/// The kinds of text a strict decoder refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// Bytes that are not valid in the encoding.
    Malformed,
    /// A byte-order mark (U+FEFF) after the start of the text.
    StrayBom,
    /// A NUL character.
    Nul,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (at, enc) = (self.byte_offset, self.encoding);
        match self.kind {
            DecodeErrorKind::Malformed if self.encoding == UTF_8.name() => write!(
                f,
                "bytes at offset {at} are not valid UTF-8; if the export uses a \
                 Windows code page, set encoding = \"windows-1252\" (or the file's encoding)"
            ),
            DecodeErrorKind::Malformed => write!(
                f,
                "bytes at offset {at} are not valid {enc}; check the profile's \
                 encoding"
            ),
            DecodeErrorKind::StrayBom => write!(
                f,
                "byte-order mark in the middle of the file (offset {at}); were two \
                 exports concatenated?"
            ),
            DecodeErrorKind::Nul => write!(
                f,
                "NUL byte (offset {at}) read as {enc}; if the export is UTF-16 \
                 without a byte-order mark, set encoding = \"utf-16le\""
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    /// The decode error inside an `io::Error` returned by a [`DecodingReader`], if it is one.
    pub fn from_io(err: &io::Error) -> Option<&DecodeError> {
        err.get_ref().and_then(|e| e.downcast_ref::<DecodeError>())
    }
}

/// Maps an error from a [`DecodingReader`] (or the file under it) to a `File` error at its line.
pub(super) fn io_error(name: &Arc<str>, row: u64, err: &io::Error) -> ReadError {
    match DecodeError::from_io(err) {
        Some(d) => ReadError::file(Position::new(name.clone(), d.line), d.to_string()),
        None => ReadError::file(
            Position::new(name.clone(), row),
            format!("cannot read the file: {err}"),
        ),
    }
}

const IN_CAP: usize = 64 << 10;
const OUT_CAP: usize = 64 << 10;

/// A `Read` adapter that decodes its input to UTF-8 and fails, rather than substituting, on
/// anything it cannot decode. A leading byte-order mark is removed.
pub struct DecodingReader<R> {
    inner: R,
    decoder: Decoder,
    encoding: &'static Encoding,
    input: Vec<u8>,
    in_pos: usize,
    in_end: usize,
    /// File offset of `input[0]`.
    input_offset: u64,
    output: Vec<u8>,
    out_pos: usize,
    out_end: usize,
    /// Newlines in the decoded text handed out so far.
    newlines: u64,
    eof: bool,
    finished: bool,
    /// An error to report once the text decoded before it has been read.
    pending: Option<io::Error>,
}

impl<R: Read> DecodingReader<R> {
    /// Wraps `inner`. With `encoding = None` ("auto") a byte-order mark picks UTF-8, UTF-16LE or
    /// UTF-16BE, and text without one must be UTF-8.
    pub fn new(mut inner: R, encoding: Option<&'static Encoding>) -> io::Result<Self> {
        let mut input = vec![0u8; IN_CAP];
        let mut in_end = 0;
        let mut eof = false;
        // Enough bytes to see a byte-order mark.
        while in_end < 3 {
            match inner.read(&mut input[in_end..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => in_end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let encoding = match encoding {
            Some(enc) => enc,
            None => Encoding::for_bom(&input[..in_end]).map_or(UTF_8, |(enc, _)| enc),
        };
        Ok(DecodingReader {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            encoding,
            input,
            in_pos: 0,
            in_end,
            input_offset: 0,
            output: vec![0u8; OUT_CAP],
            out_pos: 0,
            out_end: 0,
            newlines: 0,
            eof,
            finished: false,
            pending: None,
        })
    }

    fn fail(&self, kind: DecodeErrorKind, byte_offset: u64, text_before: &[u8]) -> io::Error {
        let line = 1 + self.newlines + count_newlines(text_before);
        let err = DecodeError {
            kind,
            byte_offset,
            line,
            encoding: self.encoding.name(),
        };
        io::Error::new(io::ErrorKind::InvalidData, err)
    }

    /// Decodes more input into `output`; leaves `out_end == 0` only at the end of the text.
    fn refill(&mut self) -> io::Result<()> {
        self.out_pos = 0;
        self.out_end = 0;
        while self.out_end == 0 && !self.finished {
            if self.in_pos == self.in_end && !self.eof {
                self.input_offset += self.in_end as u64;
                self.in_pos = 0;
                self.in_end = 0;
                match self.inner.read(&mut self.input) {
                    Ok(0) => self.eof = true,
                    Ok(n) => self.in_end = n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            let src = &self.input[self.in_pos..self.in_end];
            let (result, read, written) =
                self.decoder
                    .decode_to_utf8_without_replacement(src, &mut self.output, self.eof);
            let start_offset = self.input_offset + self.in_pos as u64;
            self.in_pos += read;
            self.out_end = written;
            match result {
                DecoderResult::Malformed(bad, extra) => {
                    let at = (start_offset + read as u64)
                        .saturating_sub(u64::from(bad) + u64::from(extra));
                    let err = self.fail(DecodeErrorKind::Malformed, at, &self.output[..written]);
                    // Hand out the good text before the bad bytes; fail on the next read.
                    self.pending = Some(err);
                    self.finished = true;
                }
                DecoderResult::InputEmpty if self.eof => self.finished = true,
                DecoderResult::InputEmpty | DecoderResult::OutputFull => {}
            }
            self.screen(start_offset)?;
        }
        match self.pending.take() {
            Some(err) if self.out_end == 0 => Err(err),
            pending => {
                self.pending = pending;
                Ok(())
            }
        }
    }

    /// Refuses NUL and U+FEFF in freshly decoded text; counts its newlines.
    fn screen(&mut self, chunk_offset: u64) -> io::Result<()> {
        let text = &self.output[..self.out_end];
        // The decoder writes whole characters, so U+FEFF (EF BB BF) never straddles chunks.
        let mut from = 0;
        while let Some(i) = memchr::memchr2(0, 0xEF, &text[from..]).map(|i| i + from) {
            let kind = if text[i] == 0 {
                Some(DecodeErrorKind::Nul)
            } else if text[i..].starts_with("\u{FEFF}".as_bytes()) {
                Some(DecodeErrorKind::StrayBom)
            } else {
                None
            };
            if let Some(kind) = kind {
                // The exact input offset is only known for single-byte-per-character text;
                // for other encodings the chunk's start offset still locates it with the line.
                let at = if self.encoding == UTF_8 {
                    chunk_offset + i as u64
                } else {
                    chunk_offset
                };
                return Err(self.fail(kind, at, &text[..i]));
            }
            from = i + 1;
        }
        self.newlines += count_newlines(text);
        Ok(())
    }
}

fn count_newlines(text: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', text).count() as u64
}

impl<R: Read> Read for DecodingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos == self.out_end {
            self.refill()?;
        }
        let pending = &self.output[self.out_pos..self.out_end];
        let n = pending.len().min(buf.len());
        buf[..n].copy_from_slice(&pending[..n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn decode(bytes: &[u8], label: &str) -> Result<String, DecodeError> {
        let enc = encoding_for_label(label).expect("label");
        let mut reader = DecodingReader::new(bytes, enc).expect("open");
        let mut out = String::new();
        match reader.read_to_string(&mut out) {
            Ok(_) => Ok(out),
            Err(e) => Err(DecodeError::from_io(&e).expect("decode error").clone()),
        }
    }

    /// `text` as UTF-16 with its byte-order mark (also used by the CSV reader's tests).
    pub(crate) fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let mut out = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in text.encode_utf16() {
            let bytes = if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            };
            out.extend_from_slice(&bytes);
        }
        out
    }

    #[test]
    fn labels_resolve_or_explain() {
        assert_eq!(encoding_for_label("auto"), Ok(None));
        assert_eq!(encoding_for_label("AUTO"), Ok(None));
        assert_eq!(encoding_for_label("utf-8"), Ok(Some(UTF_8)));
        assert_eq!(
            encoding_for_label("latin1"),
            Ok(Some(encoding_rs::WINDOWS_1252))
        );
        assert_eq!(
            encoding_for_label("utf-16be"),
            Ok(Some(encoding_rs::UTF_16BE))
        );
        assert!(encoding_for_label("klingon")
            .unwrap_err()
            .to_string()
            .contains("unknown"));
        assert!(encoding_for_label("replacement").is_err());
    }

    #[test]
    fn auto_reads_plain_utf8_and_strips_a_bom() {
        assert_eq!(decode("Zoë,Åsa\n".as_bytes(), "auto").unwrap(), "Zoë,Åsa\n");
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice("a,b\n".as_bytes());
        assert_eq!(decode(&bom, "auto").unwrap(), "a,b\n");
        assert_eq!(decode(&bom, "utf-8").unwrap(), "a,b\n");
    }

    #[test]
    fn auto_follows_utf16_byte_order_marks() {
        let text = "name,città\nZoë,Łódź\n";
        assert_eq!(decode(&utf16(text, false), "auto").unwrap(), text);
        assert_eq!(decode(&utf16(text, true), "auto").unwrap(), text);
        assert_eq!(decode(&utf16(text, true), "utf-16be").unwrap(), text);
    }

    #[test]
    fn windows_1252_when_named() {
        let bytes = b"name\nJos\xE9 \x80\n";
        assert_eq!(decode(bytes, "windows-1252").unwrap(), "name\nJosé €\n");
    }

    #[test]
    fn invalid_utf8_is_located_and_suggests_an_encoding() {
        let bytes = b"name\nok\nJos\xE9\n";
        let err = decode(bytes, "auto").unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Malformed);
        assert_eq!(err.line, 3);
        assert_eq!(err.byte_offset, 11);
        assert!(err.to_string().contains("windows-1252"), "{err}");
    }

    #[test]
    fn invalid_bytes_found_across_buffer_refills() {
        let mut bytes = "x\n".repeat(IN_CAP).into_bytes();
        bytes.extend_from_slice(b"bad\xFF\n");
        let err = decode(&bytes, "auto").unwrap_err();
        assert_eq!(err.line, IN_CAP as u64 + 1);
        assert_eq!(err.byte_offset, 2 * IN_CAP as u64 + 3);
    }

    #[test]
    fn truncated_utf16_is_an_error() {
        let mut bytes = utf16("ab", false);
        bytes.push(0x41);
        assert_eq!(
            decode(&bytes, "auto").unwrap_err().kind,
            DecodeErrorKind::Malformed
        );
    }

    #[test]
    fn a_bom_in_the_middle_is_refused() {
        let bytes = "a,b\n1,2\n\u{FEFF}a,b\n".as_bytes();
        let err = decode(bytes, "auto").unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::StrayBom);
        assert_eq!(err.line, 3);
        assert_eq!(err.byte_offset, 8);
    }

    #[test]
    fn nul_bytes_are_refused_with_a_hint() {
        let err = decode(b"a\0,\0b\0", "auto").unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Nul);
        assert_eq!((err.line, err.byte_offset), (1, 1));
        assert!(err.to_string().contains("utf-16le"));
    }
}
