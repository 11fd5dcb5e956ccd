//! What is drawn over a view: the key help, the confirmation of an action, the prompt of a
//! line being typed.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::text::clean;
use crate::tui::theme::Theme;

/// Every key of the dashboard and what it does (the help screen and the README list these).
pub const KEYS: &[(&str, &str)] = &[
    ("1 2 3 4 5", "Jobs, Errors, Audit, Profiles, Approvals view"),
    ("Tab / Shift-Tab", "next / previous view"),
    ("j k ↓ ↑", "move one row"),
    ("PgDn PgUp", "move one page (Approvals: page the plan)"),
    (
        "Home g / End G",
        "newest / oldest (Approvals: the plan's ends)",
    ),
    (
        "Enter",
        "open the selected job (or the event's job) in full",
    ),
    ("Esc", "back from a job; clear the audit filter"),
    (
        "/",
        "filter the audit trail: kind:job.failed profile:NAME text",
    ),
    (
        "t",
        "in a job: trace a row: that person's rows in every job",
    ),
    ("r", "run the selected profile now (asks first)"),
    (
        "R",
        "send the selected job's failed rows again (asks first)",
    ),
    ("p", "pause or resume the selected profile (asks first)"),
    (
        "a / x",
        "approve / reject the selected held job (Approvals; asks first)",
    ),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
];

/// A box of `width` x `height` in the middle of `area` (clipped to it).
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

pub fn help(frame: &mut Frame, area: Rect, theme: Theme) {
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!(" {key:<16} "), theme.heading()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::styled(
        " Actions are audited with your user name. Any key closes this help.",
        theme.dim(),
    ));
    let height = u16::try_from(lines.len()).unwrap_or(u16::MAX) + 2;
    let box_area = centered(area, 78, height);
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Keys ")),
        box_area,
    );
}

pub fn confirm(frame: &mut Frame, area: Rect, question: &str, theme: Theme) {
    let box_area = centered(area, 60, 6);
    frame.render_widget(Clear, box_area);
    let lines = vec![
        Line::from(format!(" {}", clean(question))),
        Line::default(),
        Line::from(vec![
            Span::styled(" y", theme.heading()),
            Span::raw(" yes    "),
            Span::styled("n", theme.heading()),
            Span::raw(" no"),
        ]),
    ];
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Confirm ")),
        box_area,
    );
}

/// A line being typed on the status line: the audit filter, or the row to trace.
pub fn prompt(frame: &mut Frame, line: Rect, label: &str, typed: &str, theme: Theme) {
    frame.render_widget(Clear, line);
    let prompt = Line::from(vec![
        Span::styled(label.to_string(), theme.heading()),
        Span::raw(clean(typed)),
        Span::styled("▏", theme.busy()),
        Span::styled("   Enter apply · Esc cancel", theme.dim()),
    ]);
    frame.render_widget(Paragraph::new(prompt), line);
}
