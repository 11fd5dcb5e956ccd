//! The Audit view: the trail newest first, the chain's verification state, and the filter.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::text::{clean, count, detail, when};
use super::{heading, list};
use crate::tui::app::{App, Chain};
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App, theme: Theme) {
    let [title, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let chain = match &app.chain {
        Chain::Verifying => Span::styled("chain: verifying…", theme.busy()),
        Chain::Intact { events } => Span::styled(
            format!("chain ✓ intact ({} events)", count(*events)),
            theme.good(),
        ),
        Chain::Broken { seq, reason } => Span::styled(
            format!("chain ✗ BROKEN at event {seq}: {}", clean(reason)),
            theme.bad(),
        ),
        Chain::Unknown(e) => {
            Span::styled(format!("chain: not checked ({})", clean(e)), theme.warn())
        }
    };
    let mut spans = vec![Span::styled(" Audit trail  ", theme.heading()), chain];
    if !app.filter.is_empty() {
        spans.push(Span::styled(
            format!("   filter: {}", clean(&app.filter)),
            theme.warn(),
        ));
    }
    if app.audit.wants_more() {
        spans.push(Span::styled("  searching…", theme.busy()));
    }
    frame.render_widget(Line::from(spans), title);
    if app.audit.rows().is_empty() {
        let hint = if app.filter.is_empty() {
            " The trail is empty."
        } else if app.audit.wants_more() {
            " Searching…"
        } else {
            " No event matches the filter (Esc clears it)."
        };
        frame.render_widget(Paragraph::new(hint).style(theme.dim()), body);
        return;
    }
    let rows = app.audit.rows().iter().map(|e| {
        let style = if e.kind.ends_with(".failed") || e.kind.ends_with(".refused") {
            theme.bad()
        } else {
            ratatui::style::Style::new()
        };
        Row::new(vec![
            Cell::from(e.seq.to_string()),
            Cell::from(when(&e.at)),
            Cell::from(e.kind.clone()).style(style),
            Cell::from(e.profile.as_deref().map(clean).unwrap_or_default()),
            Cell::from(e.job_id.map(|j| j.to_string()).unwrap_or_default()),
            Cell::from(detail(&e.detail)),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Length(11),
            Constraint::Length(17),
            Constraint::Length(14),
            Constraint::Length(6),
            Constraint::Fill(1),
        ],
    )
    .header(heading(
        ["seq", "at", "event", "profile", "job", "detail"],
        theme,
    ))
    .row_highlight_style(theme.selected());
    let selected = Some(app.audit.selected_index());
    list(
        frame,
        body,
        table,
        selected,
        &mut app.offsets[2],
        &mut app.page_rows,
    );
}
