//! A semantic problem in a profile, located by its key path (`field[2].input_formats[0]`).
//!
//! Modules that understand part of a profile (formats, transforms, outputs, sources) report
//! what is wrong as [`Problem`]s; the loader turns each key path into a line, column and
//! underline in the TOML text, so every check is written once, where its rule lives.

use std::fmt;

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// The location of a value inside a profile, from the document root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    /// The document root.
    pub fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    /// `[[field]]` number `i` (0-based).
    pub fn field(i: usize) -> KeyPath {
        KeyPath::root().key("field").index(i)
    }

    /// `[[filter]]` number `i` (0-based).
    pub fn filter(i: usize) -> KeyPath {
        KeyPath::root().key("filter").index(i)
    }

    /// `[[output]]` number `i` (0-based).
    pub fn output(i: usize) -> KeyPath {
        KeyPath::root().key("output").index(i)
    }

    /// This path extended by a table key.
    pub fn key(mut self, k: &str) -> KeyPath {
        self.0.push(Seg::Key(k.to_string()));
        self
    }

    /// This path extended by an array index.
    pub fn index(mut self, i: usize) -> KeyPath {
        self.0.push(Seg::Index(i));
        self
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if n == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// A semantic problem at a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: KeyPath,
    pub message: String,
}

impl Problem {
    pub fn new(at: KeyPath, message: impl Into<String>) -> Problem {
        Problem {
            at,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_dotted_paths() {
        let p = KeyPath::field(2).key("input_formats").index(0);
        assert_eq!(p.to_string(), "field[2].input_formats[0]");
    }
}
