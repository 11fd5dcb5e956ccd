//! Text transforms (`transform = ["trim", "upper", "last:4"]`): small, ordered edits of a value.
//!
//! Each transform is parsed once from its spec string; applying one borrows the input when it
//! can (trimming, cutting and no-op cases allocate nothing), so a chain costs little per row.

use std::borrow::Cow;
use std::ops::Range;

/// The transforms a profile may name, for error messages.
const KNOWN: &str = "trim, lower, upper, title, collapse_whitespace, digits_only, \
     alnum_only, ascii_fold, strip_leading_zeros, first:N, last:N, pad_left:N:C, replace:FROM:TO";

/// A `transform` entry that does not parse: what is wrong, then the list of known transforms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{why}; known transforms: {KNOWN}")]
pub(crate) struct BadTransform {
    why: Why,
}

/// What is wrong with a transform spec, without a location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Why {
    #[error("transform {name:?} takes no arguments")]
    TakesNoArguments { name: String },
    #[error("transform {name:?} takes one argument: {name}:N")]
    TakesOneArgument { name: String },
    /// The `N` of `first:N`, `last:N` or `pad_left:N:C` is missing, not a number, or 0.
    #[error("transform {name:?} needs a whole number of characters of at least 1, e.g. {name}:4")]
    NeedsCount { name: String },
    #[error("transform \"pad_left\" needs one padding character: pad_left:N:C")]
    NeedsPadding,
    #[error("transform \"replace\" needs a non-empty text to replace: replace:FROM:TO")]
    NeedsText,
    #[error("unknown transform {name:?}")]
    Unknown { name: String },
}

/// One parsed text transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transform {
    /// Remove leading and trailing whitespace.
    Trim,
    Lower,
    Upper,
    /// First letter of each word (after whitespace or `-`) upper case, the rest lower case.
    Title,
    /// Runs of whitespace become one space; leading and trailing whitespace is removed.
    CollapseWhitespace,
    /// Keep ASCII digits only.
    DigitsOnly,
    /// Keep letters and digits only.
    AlnumOnly,
    /// Latin letters without their accents (`Müller` → `Muller`, `Łukasz` → `Lukasz`, `ß` →
    /// `ss`), for systems that take plain ASCII (X12, mainframes). Letters of other scripts
    /// are left as they are (and rejected where ASCII is required).
    AsciiFold,
    /// Remove leading `0`s, keeping a single `0` for an all-zero value.
    StripLeadingZeros,
    /// Keep the first N characters.
    First(usize),
    /// Keep the last N characters.
    Last(usize),
    /// Pad on the left with the character to N characters.
    PadLeft(usize, char),
    /// Replace every occurrence of the first text with the second.
    Replace(String, String),
}

impl Transform {
    /// Parses `name` or `name:arg[:arg]`. The error explains what is wrong and lists the known
    /// transforms, without a location.
    pub(crate) fn parse(spec: &str) -> Result<Transform, BadTransform> {
        Transform::parse_spec(spec).map_err(|why| BadTransform { why })
    }

    fn parse_spec(spec: &str) -> Result<Transform, Why> {
        let mut parts = spec.splitn(3, ':');
        let name = parts.next().unwrap_or("").trim();
        let arg1 = parts.next();
        let arg2 = parts.next();
        let no_args = |t: Transform| match arg1 {
            None => Ok(t),
            Some(_) => Err(Why::TakesNoArguments {
                name: name.to_string(),
            }),
        };
        match name {
            "trim" => no_args(Transform::Trim),
            "lower" => no_args(Transform::Lower),
            "upper" => no_args(Transform::Upper),
            "title" => no_args(Transform::Title),
            "collapse_whitespace" => no_args(Transform::CollapseWhitespace),
            "digits_only" => no_args(Transform::DigitsOnly),
            "alnum_only" => no_args(Transform::AlnumOnly),
            "ascii_fold" => no_args(Transform::AsciiFold),
            "strip_leading_zeros" => no_args(Transform::StripLeadingZeros),
            "first" | "last" => {
                if arg2.is_some() {
                    return Err(Why::TakesOneArgument {
                        name: name.to_string(),
                    });
                }
                let n = count(name, arg1)?;
                Ok(if name == "first" {
                    Transform::First(n)
                } else {
                    Transform::Last(n)
                })
            }
            "pad_left" => {
                let n = count(name, arg1)?;
                let mut chars = arg2.unwrap_or("").chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Ok(Transform::PadLeft(n, c)),
                    _ => Err(Why::NeedsPadding),
                }
            }
            "replace" => match (arg1, arg2) {
                (Some(from), Some(to)) if !from.is_empty() => {
                    Ok(Transform::Replace(from.to_string(), to.to_string()))
                }
                _ => Err(Why::NeedsText),
            },
            _ => Err(Why::Unknown {
                name: name.to_string(),
            }),
        }
    }

    /// Applies the transform.
    pub(crate) fn apply<'a>(&self, v: Cow<'a, str>) -> Cow<'a, str> {
        match self {
            Transform::Trim => {
                let start = v.len() - v.trim_start().len();
                let end = start + v.trim().len();
                keep(v, start..end)
            }
            Transform::Lower => {
                if v.is_ascii() && !v.bytes().any(|b| b.is_ascii_uppercase()) {
                    v
                } else {
                    Cow::Owned(v.to_lowercase())
                }
            }
            Transform::Upper => {
                if v.is_ascii() && !v.bytes().any(|b| b.is_ascii_lowercase()) {
                    v
                } else {
                    Cow::Owned(v.to_uppercase())
                }
            }
            Transform::Title => Cow::Owned(title(&v)),
            Transform::CollapseWhitespace => {
                if is_collapsed(&v) {
                    v
                } else {
                    Cow::Owned(v.split_whitespace().collect::<Vec<_>>().join(" "))
                }
            }
            Transform::DigitsOnly => retain(v, |c| c.is_ascii_digit()),
            Transform::AlnumOnly => retain(v, char::is_alphanumeric),
            Transform::AsciiFold if v.is_ascii() => v,
            Transform::AsciiFold => Cow::Owned(ascii_fold(&v)),
            Transform::StripLeadingZeros => {
                let stripped = v.trim_start_matches('0').len();
                let start = if stripped == 0 && !v.is_empty() {
                    v.len() - 1
                } else {
                    v.len() - stripped
                };
                let end = v.len();
                keep(v, start..end)
            }
            Transform::First(n) => {
                let end = v.char_indices().nth(*n).map_or(v.len(), |(i, _)| i);
                keep(v, 0..end)
            }
            Transform::Last(n) => {
                let chars = v.chars().count();
                let start = match chars.checked_sub(*n) {
                    Some(skip) => v.char_indices().nth(skip).map_or(v.len(), |(i, _)| i),
                    None => 0,
                };
                let end = v.len();
                keep(v, start..end)
            }
            Transform::PadLeft(n, c) => {
                let chars = v.chars().count();
                if chars >= *n {
                    v
                } else {
                    let mut out: String = std::iter::repeat_n(*c, n - chars).collect();
                    out.push_str(&v);
                    Cow::Owned(out)
                }
            }
            Transform::Replace(from, to) => {
                if v.contains(from.as_str()) {
                    Cow::Owned(v.replace(from.as_str(), to))
                } else {
                    v
                }
            }
        }
    }
}

/// The `N` of `first:N`, `last:N`, `pad_left:N:C`: a whole number of at least 1.
fn count(name: &str, arg: Option<&str>) -> Result<usize, Why> {
    match arg.map(|a| a.trim().parse::<usize>()) {
        Some(Ok(n)) if n > 0 => Ok(n),
        _ => Err(Why::NeedsCount {
            name: name.to_string(),
        }),
    }
}

/// The byte range `r` of `v`, borrowing when `v` is borrowed. A range that is not on character
/// boundaries (which the callers never produce) leaves the value unchanged rather than panic.
fn keep(v: Cow<'_, str>, r: Range<usize>) -> Cow<'_, str> {
    if r.start == 0 && r.end == v.len() {
        return v;
    }
    match v {
        Cow::Borrowed(s) => Cow::Borrowed(s.get(r).unwrap_or(s)),
        Cow::Owned(s) => match s.get(r) {
            Some(part) => Cow::Owned(part.to_string()),
            None => Cow::Owned(s),
        },
    }
}

/// `v` with only the characters that satisfy `f`.
fn retain(v: Cow<'_, str>, f: impl Fn(char) -> bool) -> Cow<'_, str> {
    if v.chars().all(&f) {
        v
    } else {
        Cow::Owned(v.chars().filter(|c| f(*c)).collect())
    }
}

/// `s` with its Latin letters' accents taken off: decomposed (NFKD) without the combining
/// marks, and the letters that do not decompose spelled in ASCII.
fn ascii_fold(s: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::with_capacity(s.len());
    for c in s.nfkd().filter(|&c| !is_combining_mark(c)) {
        match c {
            'Ł' => out.push('L'),
            'ł' => out.push('l'),
            'Đ' | 'Ð' => out.push('D'),
            'đ' | 'ð' => out.push('d'),
            'ı' => out.push('i'),
            'Ø' => out.push('O'),
            'ø' => out.push('o'),
            'ß' => out.push_str("ss"),
            'Æ' => out.push_str("AE"),
            'æ' => out.push_str("ae"),
            'Œ' => out.push_str("OE"),
            'œ' => out.push_str("oe"),
            'Þ' => out.push_str("TH"),
            'þ' => out.push_str("th"),
            other => out.push(other),
        }
    }
    out
}

/// Whether `s` has no leading, trailing, repeated or non-space whitespace.
fn is_collapsed(s: &str) -> bool {
    let mut after_space = true;
    for c in s.chars() {
        if c.is_whitespace() {
            if after_space || c != ' ' {
                return false;
            }
            after_space = true;
        } else {
            after_space = false;
        }
    }
    !after_space || s.is_empty()
}

/// Title case: upper case after the start, whitespace or `-`; lower case elsewhere.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_word_start = true;
    for c in s.chars() {
        if at_word_start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        at_word_start = c.is_whitespace() || c == '-';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(spec: &str, input: &str) -> String {
        let t = Transform::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        t.apply(Cow::Borrowed(input)).into_owned()
    }

    #[test]
    fn each_transform_does_what_its_name_says() {
        assert_eq!(run("trim", "  a b \t"), "a b");
        assert_eq!(run("trim", "   "), "");
        assert_eq!(run("lower", "ÄBC def"), "äbc def");
        assert_eq!(run("upper", "straße"), "STRASSE");
        assert_eq!(run("title", "mary-jane  o'neil"), "Mary-Jane  O'neil");
        assert_eq!(run("collapse_whitespace", "  a \t b\n c "), "a b c");
        assert_eq!(run("collapse_whitespace", "a\tb"), "a b");
        assert_eq!(run("collapse_whitespace", " "), "");
        assert_eq!(run("digits_only", "123-45-6789"), "123456789");
        assert_eq!(run("alnum_only", "A-1 b_2é"), "A1b2é");
        assert_eq!(
            run("ascii_fold", "Nguyễn Łukasz Đorđe Yılmaz"),
            "Nguyen Lukasz Dorde Yilmaz"
        );
        assert_eq!(
            run("ascii_fold", "Søren Weiß Ó Súilleabháin Æsa"),
            "Soren Weiss O Suilleabhain AEsa"
        );
        assert_eq!(run("ascii_fold", "山田"), "山田");
        assert_eq!(run("strip_leading_zeros", "000120"), "120");
        assert_eq!(run("strip_leading_zeros", "000"), "0");
        assert_eq!(run("strip_leading_zeros", ""), "");
        assert_eq!(run("first:3", "abcdef"), "abc");
        assert_eq!(run("first:10", "abc"), "abc");
        assert_eq!(run("last:4", "123-45-6789"), "6789");
        assert_eq!(run("last:4", "ab"), "ab");
        assert_eq!(run("last:2", "ñäö"), "äö");
        assert_eq!(run("pad_left:6:0", "42"), "000042");
        assert_eq!(run("pad_left:2:0", "12345"), "12345");
        assert_eq!(run("replace:-:", "123-45-6789"), "123456789");
        assert_eq!(run("replace:a:b:c", "xa"), "xb:c");
    }

    #[test]
    fn cheap_cases_borrow_the_input() {
        for spec in [
            "trim",
            "lower",
            "digits_only",
            "ascii_fold",
            "first:2",
            "last:2",
            "replace:x:y",
        ] {
            let t = Transform::parse(spec).unwrap();
            assert!(
                matches!(t.apply(Cow::Borrowed("123")), Cow::Borrowed(_)),
                "{spec}"
            );
        }
        let t = Transform::parse("collapse_whitespace").unwrap();
        assert!(matches!(t.apply(Cow::Borrowed("a b")), Cow::Borrowed(_)));
    }

    #[test]
    fn owned_values_are_cut_correctly() {
        let t = Transform::parse("trim").unwrap();
        assert_eq!(t.apply(Cow::Owned(" x ".to_string())), "x");
    }

    #[test]
    fn bad_specs_explain_themselves() {
        let err = Transform::parse("uppercase").unwrap_err().to_string();
        assert!(err.contains("unknown transform \"uppercase\""), "{err}");
        assert!(err.contains("digits_only"), "{err}");
        let err = Transform::parse("first").unwrap_err().to_string();
        assert!(
            err.contains("first:4") && err.ends_with("replace:FROM:TO"),
            "{err}"
        );
        assert!(Transform::parse("last:x").is_err());
        assert!(Transform::parse("last:0").is_err());
        assert!(Transform::parse("first:2:3").is_err());
        assert!(Transform::parse("trim:1")
            .unwrap_err()
            .to_string()
            .contains("no arguments"));
        assert!(Transform::parse("pad_left:5").is_err());
        assert!(Transform::parse("pad_left:5:ab").is_err());
        assert!(Transform::parse("replace::x").is_err());
        assert!(Transform::parse("replace:x").is_err());
    }
}
