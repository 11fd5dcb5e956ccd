//! The Approvals view: the jobs a lifecycle safeguard held (profile, file, why, the changes
//! per kind, the people before and now), and under the list the selected job's plan, worded
//! by [`crate::engine::plan_words`] as `hrbridge changes` words it, PII masked, a page at a
//! time with where the page is in it.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::text::clean;
use super::{heading, list};
use crate::engine::plan_words;
use crate::tui::app::App;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App, theme: Theme) {
    if app.approvals.held.is_empty() {
        let none = " No job is held for approval. A lifecycle job over a safeguard \
                    (max_leavers, max_drop) waits here for a / x.";
        frame.render_widget(Paragraph::new(Span::styled(none, theme.dim())), area);
        return;
    }
    let rows = u16::try_from(app.approvals.held.len()).unwrap_or(u16::MAX);
    let [table_area, plan_area] = Layout::vertical([
        Constraint::Length(rows.saturating_add(1).min(area.height / 3).max(2)),
        Constraint::Fill(1),
    ])
    .areas(area);
    let held = app.approvals.held.iter().map(|h| {
        let c = &h.plan.counts;
        Row::new(vec![
            Cell::from(format!("#{}", h.plan.job_id)),
            Cell::from(clean(&h.plan.profile)),
            Cell::from(clean(&h.file)),
            Cell::from(format!(
                "+{} ~{} -{} ↺{}",
                c.joiners, c.movers, c.leavers, c.rehires
            )),
            Cell::from(format!("{} → {}", h.plan.previous_rows, h.plan.rows)),
            Cell::from(clean(h.plan.hold_reason.as_deref().unwrap_or("held"))).style(theme.warn()),
        ])
    });
    let table = Table::new(
        held,
        [
            Constraint::Length(7),
            Constraint::Length(16),
            Constraint::Length(20),
            Constraint::Length(18),
            Constraint::Length(13),
            Constraint::Fill(1),
        ],
    )
    .header(heading(
        [
            "job",
            "profile",
            "file",
            "+join ~move -leave ↺",
            "people",
            "held because",
        ],
        theme,
    ))
    .row_highlight_style(theme.selected());
    let selected = Some(app.approvals.selected);
    list(
        frame,
        table_area,
        table,
        selected,
        &mut app.offsets[4],
        &mut app.page_rows,
    );
    let Some(h) = app.approvals.selected() else {
        return;
    };
    let summary: Vec<String> = plan_words::summary(&h.plan)
        .iter()
        .map(|l| format!(" {}", clean(l)))
        .collect();
    // The reason of a hold must read whole: each line wraps, and gets the rows it needs.
    let width = usize::from(plan_area.width.max(1));
    let rows: usize = summary
        .iter()
        .map(|l| l.chars().count().div_ceil(width).max(1))
        .sum();
    let [about, changes, place] = Layout::vertical([
        Constraint::Length(u16::try_from(rows).unwrap_or(u16::MAX)),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(plan_area);
    let text: Text = summary.into_iter().map(Line::raw).collect();
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), about);
    // A page is what fits under the header; the plan is read a page at a time.
    let approvals = &mut app.approvals;
    approvals.room = usize::from(changes.height.saturating_sub(1)).max(1);
    let shown = approvals.changes.len().min(approvals.room) as u64;
    let where_ = if approvals.listed == 0 {
        " the plan lists no change".to_string()
    } else {
        format!(
            " changes {}–{} of {} · PgDn PgUp: a page · Home End: its ends",
            approvals.first + 1,
            approvals.first + shown,
            approvals.listed
        )
    };
    frame.render_widget(Paragraph::new(Span::styled(where_, theme.dim())), place);
    let rows = approvals.changes.iter().take(approvals.room).map(|change| {
        Row::new(
            plan_words::cells(change)
                .into_iter()
                .map(|cell| Cell::from(clean(&cell))),
        )
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(5),
            Constraint::Length(14),
            Constraint::Length(8),
            Constraint::Fill(1),
        ],
    )
    .header(heading(plan_words::COLUMNS, theme));
    frame.render_widget(table, changes);
}
