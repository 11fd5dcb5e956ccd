//! Colours and status symbols of the dashboard, in one place, so `NO_COLOR` turns every
//! colour off at once and a status always reads from its symbol and word alone.

use ratatui::style::{Color, Modifier, Style};

use crate::store::JobStatus;

/// How the dashboard paints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// Colours unless the `NO_COLOR` convention (<https://no-color.org>: set and not empty)
    /// asks for none.
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    /// A theme with colours on or off.
    pub fn new(color: bool) -> Theme {
        Theme { color }
    }

    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    /// The selected row: reverse video reads on every terminal, coloured or not.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Column headings and titles.
    pub fn heading(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// Secondary text: key hints, timestamps.
    pub fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    /// Something that went wrong.
    pub fn bad(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Something that needs a look.
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }

    /// Something that is fine.
    pub fn good(self) -> Style {
        self.fg(Color::Green)
    }

    /// Something in progress.
    pub fn busy(self) -> Style {
        self.fg(Color::Cyan)
    }

    /// The style of a job status.
    pub fn status(self, status: JobStatus) -> Style {
        match status {
            JobStatus::Succeeded => self.good(),
            JobStatus::Partial | JobStatus::Interrupted | JobStatus::Held => self.warn(),
            JobStatus::Failed => self.bad(),
            JobStatus::Running | JobStatus::Committing => self.busy(),
            JobStatus::Duplicate => self.dim(),
        }
    }
}

/// A job status as the dashboard shows it: a symbol, then the word.
pub fn status_label(status: JobStatus) -> String {
    let symbol = match status {
        JobStatus::Succeeded => "✓",
        JobStatus::Partial => "◐",
        JobStatus::Failed => "✗",
        JobStatus::Running => "▶",
        JobStatus::Committing => "↻",
        JobStatus::Held => "⏸",
        JobStatus::Duplicate => "=",
        JobStatus::Interrupted => "!",
    };
    format!("{symbol} {}", status.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_colour_no_style_carries_a_colour() {
        let plain = Theme::new(false);
        for st in JobStatus::ALL {
            assert_eq!(plain.status(st).fg, None, "{st:?}");
        }
        assert_eq!(plain.dim().fg, None);
        assert_eq!(
            Theme::new(true).status(JobStatus::Failed).fg,
            Some(Color::Red)
        );
    }

    #[test]
    fn every_status_has_its_own_symbol() {
        let symbols: std::collections::HashSet<String> = JobStatus::ALL
            .iter()
            .map(|s| status_label(*s).split(' ').next().unwrap().to_string())
            .collect();
        assert_eq!(symbols.len(), JobStatus::ALL.len());
    }
}
