//! The `{placeholder}` syntax shared by field templates (`"{First} {Last}"`) and output name
//! templates (`"hires_{date:%Y%m%d}.csv"`): literal text, placeholders in braces, and `{{` /
//! `}}` for literal braces. What a placeholder means is up to each template kind.

/// A piece of a braced template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    /// The text between `{` and `}`, as written.
    Placeholder(String),
}

/// Splits `text` into literal text and placeholders; the error says what is malformed.
///
/// ```
/// use hrbridge::profile::braces::{split, Piece};
/// let pieces = split("{First} {{x}}").unwrap();
/// assert_eq!(pieces, [Piece::Placeholder("First".into()), Piece::Literal(" {x}".into())]);
/// assert!(split("{First").is_err());
/// ```
pub fn split(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') => return Err("a placeholder cannot contain `{`".into()),
                        Some(ch) => inner.push(ch),
                        None => {
                            return Err(
                                "a `{` is not closed by `}` (write `{{` for a literal brace)"
                                    .into(),
                            )
                        }
                    }
                }
                if inner.trim().is_empty() {
                    return Err("empty placeholder `{}`: write a name between the braces".into());
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Placeholder(inner));
            }
            '}' => return Err("a `}` has no opening `{` (write `}}` for a literal brace)".into()),
            ch => literal.push(ch),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_literals_placeholders_and_escapes() {
        assert_eq!(
            split("a{{b}} {First Name}-{x:y}").unwrap(),
            [
                Piece::Literal("a{b} ".into()),
                Piece::Placeholder("First Name".into()),
                Piece::Literal("-".into()),
                Piece::Placeholder("x:y".into()),
            ]
        );
    }

    #[test]
    fn malformed_braces_are_errors() {
        for bad in ["{open", "close}", "{}", "{ }", "{a{b}}"] {
            assert!(split(bad).is_err(), "{bad:?}");
        }
    }
}
