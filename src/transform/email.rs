//! Email addresses: a plausibility check and a normal form, not a full RFC 5322 parser.
//!
//! HR exports hold addresses typed by people; the common mistakes (a missing `@`, a space, a
//! domain without a dot, two addresses in one cell) are what this catches. The domain is
//! lower-cased because it is case-insensitive; the local part is kept as written.

/// `s` as a normalised address, or what is wrong with it.
pub(crate) fn normalize_email(s: &str) -> Result<String, &'static str> {
    if s.chars().any(char::is_whitespace) {
        return Err("it contains whitespace");
    }
    let (local, domain) = s.split_once('@').ok_or("it has no @")?;
    if domain.contains('@') {
        return Err("it has more than one @");
    }
    if local.is_empty() {
        return Err("nothing comes before the @");
    }
    let labels_ok = domain.split('.').all(|label| !label.is_empty());
    if !domain.contains('.') || !labels_ok {
        return Err("the domain needs a dot between non-empty parts, e.g. example.com");
    }
    let mut out = String::with_capacity(s.len());
    out.push_str(local);
    out.push('@');
    out.push_str(&domain.to_lowercase());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_addresses_are_normalised() {
        assert_eq!(
            normalize_email("Ada.Lovelace@Example.COM").as_deref(),
            Ok("Ada.Lovelace@example.com")
        );
        assert_eq!(
            normalize_email("a+b@mail.example.org").as_deref(),
            Ok("a+b@mail.example.org")
        );
    }

    #[test]
    fn common_mistakes_are_refused_with_a_reason() {
        assert_eq!(normalize_email("ada.example.com"), Err("it has no @"));
        assert_eq!(
            normalize_email("a@b@example.com"),
            Err("it has more than one @")
        );
        assert_eq!(
            normalize_email("@example.com"),
            Err("nothing comes before the @")
        );
        assert_eq!(
            normalize_email("ada @example.com"),
            Err("it contains whitespace")
        );
        for bad in [
            "ada@localhost",
            "ada@example.",
            "ada@.com",
            "ada@example..com",
            "ada@",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
