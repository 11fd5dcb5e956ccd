//! Caps every reader applies before it reads a byte of content.
//!
//! Kept apart from the readers so that CSV and spreadsheets refuse an oversized file with the
//! same rule and the same words.

use std::fs::File;

use crate::profile::Limits;

/// Refuses a file larger than `limits.max_file_bytes`; the message names the setting.
pub fn check_file_size(file: &File, limits: &Limits) -> Result<(), String> {
    let size = file
        .metadata()
        .map_err(|e| format!("cannot read the file's size: {e}"))?
        .len();
    if size > limits.max_file_bytes {
        return Err(format!(
            "file is {size} bytes, over the limit of {} (limits.max_file_bytes)",
            limits.max_file_bytes
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn refuses_files_over_the_cap() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"0123456789").unwrap();
        let mut limits = Limits::default();
        limits.max_file_bytes = 10;
        assert_eq!(check_file_size(&f, &limits), Ok(()));
        limits.max_file_bytes = 9;
        let err = check_file_size(&f, &limits).unwrap_err();
        assert_eq!(
            err,
            "file is 10 bytes, over the limit of 9 (limits.max_file_bytes)"
        );
    }
}
