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

/// Why braces do not pair up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BracesError {
    #[error("a placeholder cannot contain `{{`")]
    Nested,
    #[error("a `{{` is not closed by `}}` (write `{{{{` for a literal brace)")]
    Unclosed,
    #[error("empty placeholder `{{}}`: write a name between the braces")]
    Empty,
    #[error("a `}}` has no opening `{{` (write `}}}}` for a literal brace)")]
    Unopened,
}

/// Splits `text` into literal text and placeholders; the error says what is malformed.
///
/// ```
/// use hrbridge::profile::braces::{split, Piece};
/// let pieces = split("{First} {{x}}").unwrap();
/// assert_eq!(pieces, [Piece::Placeholder("First".into()), Piece::Literal(" {x}".into())]);
/// assert!(split("{First").is_err());
/// ```
pub fn split(text: &str) -> Result<Vec<Piece>, BracesError> {
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
                        Some('{') => return Err(BracesError::Nested),
                        Some(ch) => inner.push(ch),
                        None => return Err(BracesError::Unclosed),
                    }
                }
                if inner.trim().is_empty() {
                    return Err(BracesError::Empty);
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Placeholder(inner));
            }
            '}' => return Err(BracesError::Unopened),
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
