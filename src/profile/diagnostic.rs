//! A problem in a settings or profile file, rendered the way `just` and `rustc` render theirs:
//! the message, then `file:line:column`, then the offending line with a caret underline.
//!
//! Loading finds problems as byte spans (from the TOML parser) or key paths (from semantic
//! checks, mapped to spans by the loader); this module turns a span into a line, a column and an
//! underline, so the operator sees exactly which text to fix.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Where in a file a diagnostic points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// The full text of the line (without its line break).
    pub source_line: String,
    /// 0-based character offset in `source_line` where the underline starts.
    pub underline_start: usize,
    /// Number of characters underlined (at least 1).
    pub underline_width: usize,
}

/// A problem with its file and, when known, its line, column and offending text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the operator should read its name.
    pub file: PathBuf,
    /// Line, column and underline; `None` when the problem concerns the whole file.
    pub location: Option<Location>,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is more to say than the message.
    pub help: Option<String>,
    /// A warning: worth a look, but the file is valid.
    pub warning: bool,
}

impl Diagnostic {
    /// A problem at the byte range `span` of `text`, the contents of `file`.
    ///
    /// A span that covers several lines is underlined to the end of its first line; an empty
    /// span (such as the end of the input) gets a one-character caret.
    pub fn at_span(
        file: &Path,
        text: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: file.to_path_buf(),
            location: Some(locate(text, span)),
            message: message.into(),
            help: None,
            warning: false,
        }
    }

    /// A problem that concerns `file` as a whole (unreadable, missing, a required table absent).
    pub fn whole_file(file: &Path, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_path_buf(),
            location: None,
            message: message.into(),
            help: None,
            warning: false,
        }
    }

    /// This diagnostic as a warning.
    pub fn as_warning(mut self) -> Diagnostic {
        self.warning = true;
        self
    }

    /// This diagnostic with a hint on how to fix it.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

/// The largest char boundary of `text` at or below `at` (spans from the parser are already on
/// boundaries; this keeps a stray span from panicking).
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn locate(text: &str, span: Range<usize>) -> Location {
    let start = floor_boundary(text, span.start);
    let end = floor_boundary(text, span.end.max(start));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let source_line = text[line_start..line_end].trim_end_matches('\r');
    let line = text[..start].matches('\n').count() + 1;
    let underline_start = text[line_start..start].chars().count();
    let underlined_end = end.min(line_start + source_line.len()).max(start);
    let underline_width = text[start..underlined_end].chars().count().max(1);
    Location {
        line,
        column: underline_start + 1,
        source_line: source_line.to_string(),
        underline_start,
        underline_width,
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.warning { "warning" } else { "error" };
        writeln!(f, "{level}: {}", self.message)?;
        let gutter = self
            .location
            .as_ref()
            .map_or(1, |l| l.line.to_string().len());
        let pad = " ".repeat(gutter);
        match &self.location {
            None => write!(f, "{pad}--> {}", self.file.display())?,
            Some(l) => {
                writeln!(
                    f,
                    "{pad}--> {}:{}:{}",
                    self.file.display(),
                    l.line,
                    l.column
                )?;
                writeln!(f, "{pad} |")?;
                writeln!(f, "{} | {}", l.line, l.source_line)?;
                // Tabs before the caret are repeated so the caret lines up in any terminal.
                let lead: String = l
                    .source_line
                    .chars()
                    .take(l.underline_start)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                write!(f, "{pad} | {lead}{}", "^".repeat(l.underline_width))?;
            }
        }
        if let Some(help) = &self.help {
            write!(f, "\n{pad} = help: {help}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, span: Range<usize>) -> String {
        Diagnostic::at_span(Path::new("p.toml"), text, span, "bad").to_string()
    }

    #[test]
    fn underlines_the_span_on_its_line() {
        let text = "a = 1\nfromm = \"x\"\n";
        assert_eq!(
            render(text, 6..11),
            "error: bad\n --> p.toml:2:1\n  |\n2 | fromm = \"x\"\n  | ^^^^^"
        );
    }

    #[test]
    fn gutter_grows_with_the_line_number() {
        let text = format!("{}key = \"v\"\n", "\n".repeat(11));
        let start = text.find('"').unwrap();
        assert_eq!(
            render(&text, start..start + 3),
            "error: bad\n  --> p.toml:12:7\n   |\n12 | key = \"v\"\n   |       ^^^"
        );
    }

    #[test]
    fn multi_line_span_stops_at_end_of_first_line() {
        let text = "x = [\n  1,\n]\n";
        let l = locate(text, 4..text.len());
        assert_eq!((l.line, l.column, l.underline_width), (1, 5, 1));
        let l = locate(text, 0..text.len());
        assert_eq!(l.underline_width, 5);
    }

    #[test]
    fn columns_count_characters_and_keep_tabs() {
        let text = "\tnäme = \"é\"";
        let start = text.find('"').unwrap();
        let l = locate(text, start..text.len());
        assert_eq!((l.column, l.underline_width), (9, 3));
        let shown = render(text, start..text.len());
        assert!(
            shown.ends_with("1 | \tnäme = \"é\"\n  | \t       ^^^"),
            "{shown}"
        );
    }

    #[test]
    fn empty_span_at_end_of_input_gets_one_caret() {
        let text = "a = \"abc\n";
        let l = locate(text, text.len()..text.len());
        assert_eq!((l.line, l.column, l.underline_width), (2, 1, 1));
        assert_eq!(l.source_line, "");
        // A span past the end or inside a character does not panic.
        let l = locate("é", 1..99);
        assert_eq!((l.line, l.column), (1, 1));
    }

    #[test]
    fn crlf_lines_lose_their_carriage_return() {
        let l = locate("a = 1\r\nb = 2\r\n", 7..8);
        assert_eq!((l.line, l.source_line.as_str()), (2, "b = 2"));
    }

    #[test]
    fn whole_file_and_help_render() {
        let d = Diagnostic::whole_file(Path::new("p.toml"), "missing [source] table")
            .with_help("add a [source] table");
        assert_eq!(
            d.to_string(),
            "error: missing [source] table\n --> p.toml\n  = help: add a [source] table"
        );
    }
}
