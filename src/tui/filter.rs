//! The Audit view's `/` filter as the operator types it: `kind:job.failed profile:payroll
//! some text` — each part optional, all parts must match.

use crate::store::AuditFilter;

/// Reads a typed filter: `kind:` and `profile:` words, and the remaining words as text.
pub fn parse(typed: &str) -> AuditFilter {
    let mut filter = AuditFilter::default();
    let mut text: Vec<&str> = Vec::new();
    for word in typed.split_whitespace() {
        if let Some(kind) = word.strip_prefix("kind:").filter(|k| !k.is_empty()) {
            filter.kind = Some(kind.to_string());
        } else if let Some(profile) = word.strip_prefix("profile:").filter(|p| !p.is_empty()) {
            filter.profile = Some(profile.to_string());
        } else {
            text.push(word);
        }
    }
    if !text.is_empty() {
        filter.text = Some(text.join(" "));
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_kind_profile_and_text() {
        let f = parse("  kind:job.failed  bad   file profile:payroll ");
        assert_eq!(f.kind.as_deref(), Some("job.failed"));
        assert_eq!(f.profile.as_deref(), Some("payroll"));
        assert_eq!(f.text.as_deref(), Some("bad file"));
        assert!(parse("   ").is_empty());
        // A bare prefix is text, not an empty filter.
        assert_eq!(parse("kind:").text.as_deref(), Some("kind:"));
    }
}
