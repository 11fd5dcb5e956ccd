//! Masking of personal data before it can reach a log, an error, a preview or the audit trail.
//!
//! A masked value keeps only its length, which helps an operator tell an empty cell from a
//! wrong one without revealing anything.

/// The text shown instead of a PII value.
pub fn mask(value: &str) -> String {
    let n = value.chars().count();
    if n == 0 {
        "[pii: empty]".to_string()
    } else {
        format!("[pii: {n} chars]")
    }
}

/// `value` as it may be shown: masked when `pii`, otherwise quoted and shortened to 80 chars.
///
/// ```
/// use hrbridge::mask::shown;
/// assert_eq!(shown("900-12-3456", true), "[pii: 11 chars]");
/// assert_eq!(shown("FT", false), "\"FT\"");
/// ```
pub fn shown(value: &str, pii: bool) -> String {
    if pii {
        return mask(value);
    }
    const LIMIT: usize = 80;
    if value.chars().count() <= LIMIT {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(LIMIT).collect();
        format!("{head:?}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_values_do_not_contain_the_value() {
        let m = shown("123-45-6789", true);
        assert!(!m.contains("6789"), "{m}");
        assert_eq!(m, "[pii: 11 chars]");
    }

    #[test]
    fn plain_values_are_quoted_and_capped() {
        assert_eq!(shown("FT", false), "\"FT\"");
        let long = "x".repeat(200);
        assert!(shown(&long, false).chars().count() < 90);
    }
}
