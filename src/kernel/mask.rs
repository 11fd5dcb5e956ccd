//! Masking of personal data before it can reach a log, an error, a preview or the audit trail.
//!
//! A masked value keeps only its length, which helps an operator tell an empty cell from a
//! wrong one without revealing anything.
//!
//! Two tools, one rule each. [`shown`] is for a value a message is about: it is masked when
//! its field is PII. [`PiiValues`] is for free text about a row — a rejection reason, an API's
//! answer, a delivery failure — that may quote any value of the row: every reason that is
//! stored or shown passes through [`PiiValues::hide`] with the PII values of its row, which
//! masks them also when written another way:
//!
//! - in any letter case and with runs of whitespace collapsed (`LOVELACE` for `Lovelace`);
//! - by their digits alone, whatever separates them (`900123456` or `900 12 3456` for
//!   `900-12-3456`).
//!
//! A value is also searched as a quoted message escapes it (`O\"Neil`), and where [`shown`]
//! cut a long value short, the cut end that begins a value is masked too.
//!
//! Short values would mask every reason into noise, so they are held to stricter matches: a
//! value of fewer than [`MIN_INNER_CHARS`] characters (`F`, `Li`, `Ada`), or made of digits
//! only (a last4, a year), is masked only where it stands alone, not inside a longer word or
//! number, and the digits-only form is used only for values with at least
//! [`MIN_DIGITS`] digits (an SSN, a phone or account number, a date of birth — not a 4-digit
//! last4 or a year, which would otherwise match inside any number, such as a status code).

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
/// use hrbridge::kernel::mask::shown;
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

/// Values of fewer characters than this are masked only where they stand as a whole word.
pub const MIN_INNER_CHARS: usize = 4;
/// Values with fewer digits than this are not also matched by their digits alone.
pub const MIN_DIGITS: usize = 6;

/// The PII values of one row, to be masked wherever free text about the row quotes them.
///
/// ```
/// use hrbridge::kernel::mask::PiiValues;
/// let pii = PiiValues::new(["900-12-3456", "Lovelace", "F"]);
/// assert_eq!(
///     pii.hide("ssn 900123456 taken by LOVELACE (F) in file 3"),
///     "ssn [pii: 9 chars] taken by [pii: 8 chars] ([pii: 1 chars]) in file 3"
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct PiiValues {
    needles: Vec<Needle>,
}

/// One value's forms, as searched for.
#[derive(Debug, Clone)]
struct Needle {
    /// Lower case, whitespace runs as one space, trimmed.
    folded: Vec<char>,
    /// `folded` must not touch a letter or digit on either side.
    whole_word: bool,
    /// The value's digits, when there are enough of them.
    digits: Option<Vec<char>>,
}

/// A character of a text's normalised form, with the bytes of the text it stands for.
type Projected = (char, std::ops::Range<usize>);

impl PiiValues {
    /// The values to hide (empty ones are ignored).
    pub fn new<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> PiiValues {
        let mut needles = Vec::new();
        for value in values {
            let value = value.as_ref();
            let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
            let digits = (digits.len() >= MIN_DIGITS).then_some(digits);
            // As written, and as a quoted message writes it (`\"`, `\n`).
            let escaped = value.escape_debug().to_string();
            for form in [value, escaped.as_str()] {
                let folded: Vec<char> = fold(form).into_iter().map(|(c, _)| c).collect();
                let folded = trim_spaces(&folded).to_vec();
                if folded.is_empty() || needles.iter().any(|n: &Needle| n.folded == folded) {
                    continue;
                }
                needles.push(Needle {
                    // A number (a last4, a year) inside a longer number is another number.
                    whole_word: folded.len() < MIN_INNER_CHARS
                        || folded.iter().all(char::is_ascii_digit),
                    folded,
                    digits: digits.clone(),
                });
            }
        }
        PiiValues { needles }
    }

    /// `text` with every occurrence of a value, in any of its forms, replaced by its mask.
    /// Masks already in the text are left as they are, so hiding twice changes nothing.
    pub fn hide(&self, text: &str) -> String {
        if self.needles.is_empty() {
            return text.to_string();
        }
        let folded = fold(text);
        let digits = digit_runs(text);
        let mut spans = Vec::new();
        for needle in &self.needles {
            for range in find(&folded, &needle.folded) {
                if !needle.whole_word || stands_alone(text, &range) {
                    spans.push(range);
                }
            }
            if let Some(d) = &needle.digits {
                spans.extend(find(&digits, d));
            }
        }
        spans.extend(self.cut_tails(text, &folded, &digits));
        let kept = mask_tokens(text);
        spans.retain(|s| !kept.iter().any(|k| s.start < k.end && k.start < s.end));
        spans.sort_by_key(|s| s.start);
        // Overlapping matches become one mask over both.
        let mut merged: Vec<std::ops::Range<usize>> = Vec::with_capacity(spans.len());
        for span in spans {
            match merged.last_mut() {
                Some(last) if span.start < last.end => last.end = last.end.max(span.end),
                _ => merged.push(span),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for span in merged {
            out.push_str(&text[at..span.start]);
            out.push_str(&mask(&text[span.clone()]));
            at = span.end;
        }
        out.push_str(&text[at..]);
        out
    }
}

impl PiiValues {
    /// Where [`shown`] cut a long value (`"…` ends it), the end of the cut text that begins a
    /// value: a value cut in the middle must not show its first part.
    fn cut_tails(
        &self,
        text: &str,
        folded: &[Projected],
        digits: &[Projected],
    ) -> Vec<std::ops::Range<usize>> {
        let mut spans = Vec::new();
        for (at, _) in text.match_indices(CUT) {
            let before =
                |p: &[Projected]| p.iter().position(|(_, r)| r.end > at).unwrap_or(p.len());
            let (folded, digits) = (&folded[..before(folded)], &digits[..before(digits)]);
            for needle in &self.needles {
                spans.extend(prefix_at_end(folded, &needle.folded));
                if let Some(d) = &needle.digits {
                    spans.extend(prefix_at_end(digits, d));
                }
            }
        }
        spans
    }
}

/// How [`shown`] marks a value it cut short: the closing quote, then `…`.
const CUT: &str = "\"…";
/// The shortest start of a value masked where a cut ends it.
const MIN_CUT_CHARS: usize = 3;

/// The byte range of the longest end of `haystack` (at least [`MIN_CUT_CHARS`] long) that is
/// a start of `needle`.
fn prefix_at_end(haystack: &[Projected], needle: &[char]) -> Option<std::ops::Range<usize>> {
    (MIN_CUT_CHARS..=needle.len()).rev().find_map(|n| {
        let tail = haystack.get(haystack.len().checked_sub(n)?..)?;
        let matches = tail.iter().map(|(c, _)| c).eq(needle.get(..n)?);
        let (first, last) = (tail.first()?, tail.last()?);
        matches.then_some(first.1.start..last.1.end)
    })
}

/// `text` in lower case with each run of whitespace as one space.
fn fold(text: &str) -> Vec<Projected> {
    let mut out: Vec<Projected> = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let bytes = i..i + c.len_utf8();
        if c.is_whitespace() {
            match out.last_mut() {
                Some((' ', last)) => last.end = bytes.end,
                _ => out.push((' ', bytes)),
            }
        } else {
            out.extend(c.to_lowercase().map(|l| (l, bytes.clone())));
        }
    }
    out
}

fn trim_spaces(chars: &[char]) -> &[char] {
    let start = chars.iter().position(|c| *c != ' ').unwrap_or(chars.len());
    let end = chars
        .iter()
        .rposition(|c| *c != ' ')
        .map_or(start, |e| e + 1);
    &chars[start..end]
}

/// `text`'s digits, skipping the separators people write in numbers (space, `-`, `.`, `/`,
/// parentheses); any other character breaks a run (it appears as `_`).
fn digit_runs(text: &str) -> Vec<Projected> {
    text.char_indices()
        .filter(|(_, c)| !matches!(c, ' ' | '-' | '.' | '/' | '(' | ')'))
        .map(|(i, c)| {
            let shown = if c.is_ascii_digit() { c } else { '_' };
            (shown, i..i + c.len_utf8())
        })
        .collect()
}

/// The byte ranges of `text` where `needle` occurs in its projection `haystack`.
fn find(haystack: &[Projected], needle: &[char]) -> Vec<std::ops::Range<usize>> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return Vec::new();
    }
    (0..=haystack.len() - needle.len())
        .filter(|&i| {
            haystack[i..i + needle.len()]
                .iter()
                .map(|(c, _)| c)
                .eq(needle)
        })
        .map(|i| haystack[i].1.start..haystack[i + needle.len() - 1].1.end)
        .collect()
}

/// Whether `range` of `text` has no letter or digit just before or just after it.
fn stands_alone(text: &str, range: &std::ops::Range<usize>) -> bool {
    let before = text[..range.start].chars().next_back();
    let after = text[range.end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// The byte ranges of the masks ([`mask`]'s output) already in `text`.
fn mask_tokens(text: &str) -> Vec<std::ops::Range<usize>> {
    const OPEN: &str = "[pii: ";
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(OPEN).map(|i| i + from) {
        let inner_at = i + OPEN.len();
        let Some(close) = text[inner_at..].find(']').map(|c| c + inner_at) else {
            break;
        };
        let inner = &text[inner_at..close];
        let is_mask = inner == "empty"
            || inner.strip_suffix(" chars").is_some_and(|n| {
                (1..=6).contains(&n.len()) && n.chars().all(|c| c.is_ascii_digit())
            });
        if is_mask {
            found.push(i..close + 1);
        }
        from = inner_at;
    }
    found
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

    #[test]
    fn normalised_forms_of_pii_values_are_masked() {
        let pii = PiiValues::new(["123-45-6789", "Ada  Lovelace", "+1 (415) 555-0100"]);
        for echo in [
            "123456789",
            "123 45 6789",
            "ADA LOVELACE",
            "ada\n\tlovelace",
            "14155550100",
            "+1-415-555-0100",
        ] {
            let hidden = pii.hide(&format!("taken: {echo}!"));
            assert!(hidden.starts_with("taken: ") && hidden.ends_with(" chars]!"));
            for part in ["6789", "555", "lovelace", "ada"] {
                assert!(!hidden.to_lowercase().contains(part), "{echo:?}: {hidden}");
            }
        }
    }

    #[test]
    fn short_values_are_masked_only_as_whole_words() {
        let pii = PiiValues::new(["F", "Li", "3456"]);
        assert_eq!(
            pii.hide("Field li is F; LI-3456 in file 934567"),
            "Field [pii: 2 chars] is [pii: 1 chars]; [pii: 2 chars]-[pii: 4 chars] in file 934567"
        );
        // A 4-digit value is not matched by its digits across separators.
        assert_eq!(pii.hide("on 3-456"), "on 3-456");
        assert_eq!(PiiValues::new(["12345"]).hide("1-2345"), "1-2345");
    }

    #[test]
    fn hiding_twice_changes_nothing_and_masks_are_kept() {
        let pii = PiiValues::new(["11", "900-12-3456", "chars"]);
        let once = pii.hide("value [pii: 11 chars] and 900 12 3456 and 11");
        assert_eq!(
            once,
            "value [pii: 11 chars] and [pii: 11 chars] and [pii: 2 chars]"
        );
        assert_eq!(pii.hide(&once), once);
        assert_eq!(PiiValues::new(["  "]).hide("a  b"), "a  b");
        assert_eq!(PiiValues::default().hide("x"), "x");
    }

    #[test]
    fn overlapping_values_become_one_mask() {
        let pii = PiiValues::new(["Ada Lovelace", "Lovelace Byron"]);
        assert_eq!(pii.hide("Ada Lovelace Byron!"), "[pii: 18 chars]!");
    }

    #[test]
    fn a_value_cut_short_by_shown_does_not_show_the_start_of_a_pii_value() {
        let pii = PiiValues::new(["900-12-3456"]);
        let comment = format!("{} SSN 900-12-3456 again", "x".repeat(70));
        let reason = format!("value {} is longer than 40", shown(&comment, false));
        let hidden = pii.hide(&reason);
        assert!(!hidden.contains("900-12"), "{hidden}");
        assert!(hidden.contains("[pii: "), "{hidden}");
    }

    #[test]
    fn quoted_messages_are_searched_as_they_escape_the_value() {
        let pii = PiiValues::new(["O\"Neil", "1 Main St\nApt 4"]);
        let reason = format!(
            "badge {} and {} too long",
            shown("O\"Neil", false),
            shown("1 Main St\nApt 4", false)
        );
        let hidden = pii.hide(&reason);
        assert!(
            !hidden.contains("Neil") && !hidden.contains("Apt"),
            "{hidden}"
        );
    }

    #[test]
    fn a_number_is_not_masked_inside_a_longer_number() {
        let pii = PiiValues::new(["2024"]);
        assert_eq!(
            pii.hide("date 20240615 in 2024"),
            "date 20240615 in [pii: 4 chars]"
        );
    }
}
