//! Untrusted file names: what may be taken from an inbox (or, later, a remote listing).
//!
//! A name is accepted only if it is a single plain component: no separators, no `..`, no NUL
//! or other control characters, valid UTF-8, not hidden (a leading `.` marks temp files of
//! uploads in progress and our own temp files).

/// Why a name is refused, or `Ok` for a name that is safe to use as one path component.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty file name".into());
    }
    if name == "." || name == ".." {
        return Err("name is a relative folder reference".into());
    }
    if name.contains(['/', '\\']) {
        return Err("name contains a path separator".into());
    }
    if name.chars().any(|c| c.is_control()) {
        return Err("name contains control characters".into());
    }
    if name.starts_with('.') {
        return Err("hidden file (leading dot)".into());
    }
    if name.len() > 255 {
        return Err("name is longer than 255 bytes".into());
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
    }
}
