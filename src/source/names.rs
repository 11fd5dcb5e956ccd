//! Untrusted file names: what may be taken from an inbox (or, later, a remote listing).
//!
//! A name is accepted only if it is a single plain component: no separators, no `..`, no NUL
//! or other control characters, valid UTF-8, not hidden (a leading `.` marks temp files of
//! uploads in progress and our own temp files), and short enough that every name hrbridge
//! derives from it when keeping the file still fits (one rule for inboxes and SFTP listings).

/// The longest name taken, in bytes. Kept inputs, error notes and rejects reports are named
/// after the input with suffixes of up to [`SUFFIX_ROOM`] bytes, and every one of those names
/// must still fit the 255 bytes a file system allows.
pub const MAX_NAME_BYTES: usize = 255 - SUFFIX_ROOM;

/// Bytes kept free for the suffixes hrbridge adds to a kept input's name: `.age` (4), `.N`
/// to keep names unique (up to 8 for `.9999999`), `.rejects.csv` (12, the longest of it and
/// `.error.txt`), with room to spare.
pub const SUFFIX_ROOM: usize = 32;

/// Why a name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("empty file name")]
    Empty,
    #[error("name is a relative folder reference")]
    RelativeFolder,
    #[error("name contains a path separator")]
    Separator,
    #[error("name contains control characters")]
    ControlCharacters,
    #[error("hidden file (leading dot)")]
    Hidden,
    #[error(
        "name is {bytes} bytes long; at most {MAX_NAME_BYTES} are taken, to leave room for the \
         suffixes of the kept copy (.age, .error.txt, .rejects.csv)"
    )]
    TooLong { bytes: usize },
}

/// Why a name is refused, or `Ok` for a name that is safe to use as one path component.
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name == "." || name == ".." {
        return Err(NameError::RelativeFolder);
    }
    if name.contains(['/', '\\']) {
        return Err(NameError::Separator);
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(NameError::ControlCharacters);
    }
    if name.starts_with('.') {
        return Err(NameError::Hidden);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong { bytes: name.len() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass() {
        for ok in [
            "hires_20240301.csv",
            "Payroll Export (1).xlsx",
            "ümlaut.csv",
        ] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn hostile_names_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "../x.csv",
            "a/b.csv",
            "a\\b.csv",
            "x\0.csv",
            "x\n.csv",
            ".partial.csv",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"a".repeat(300)).is_err());
        // Short enough for a file system, too long once `.age.error.txt` is added.
        assert!(check_name(&format!("{}.csv", "a".repeat(246))).is_err());
        assert!(check_name(&"a".repeat(MAX_NAME_BYTES)).is_ok());
        // The longest names hrbridge derives: an error note and a rejects report, each made
        // unique, beside the kept copy of a longest name.
        let longest = "a".repeat(MAX_NAME_BYTES);
        for derived in [".age.9999999.error.txt", ".age.9999999.rejects.csv"] {
            assert!(format!("{longest}{derived}").len() <= 255, "{derived}");
        }
    }
}
