//! Untrusted text (file names, reasons, paths) made safe to show on the operator's terminal.
//!
//! Control characters could move the cursor or change colours; bidirectional controls
//! (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) could make `invoice` + U+202E + `vsc.exe` read as
//! `invoiceexe.csv`. Both are shown as escapes (`\u{202e}`), so what the operator reads is what
//! the name holds. The CLI tables and the dashboard show untrusted text through [`clean`]; the
//! audit trail and logs write names with `{:?}`, which escapes the same characters.

/// `text` with every control and bidirectional control character escaped.
///
/// ```
/// assert_eq!(hrbridge::kernel::escape::clean("pay\u{202e}vsc.csv\n"), "pay\\u{202e}vsc.csv\\n");
/// ```
pub fn clean(text: &str) -> String {
    if !text.chars().any(must_escape) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if must_escape(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Control characters, and the characters that change the direction text is shown in.
fn must_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        assert_eq!(clean("pay\x1b[31mroll\n.csv"), "pay\\u{1b}[31mroll\\n.csv");
        assert_eq!(clean("plain é שלום"), "plain é שלום");
        for c in [
            '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            let shown = clean(&format!("a{c}b"));
            assert!(!shown.contains(c) && shown.starts_with("a\\u{"), "{shown}");
            // `{:?}`, used by the audit trail and logs, escapes them as well.
            assert!(!format!("{:?}", c.to_string()).contains(c));
        }
    }
}
