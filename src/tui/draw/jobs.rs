//! The Jobs view: today's totals, then every job newest first, one line each. Rows count as
//! delivered once published: a failed job shows 0 however many rows it mapped (its detail
//! shows those).

use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::text::{clean, count, took, when};
use super::{heading, list};
use crate::store::JobRow;
use crate::tui::app::App;
use crate::tui::theme::{status_label, Theme};

/// Terminals narrower than this get the job lists without the `read` and `took` columns.
const WIDE: u16 = 110;

/// Terminals narrower than this also get short headings for the counts.
const NARROW: u16 = 100;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App, theme: Theme) {
    let [summary, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let t = app.totals;
    let mut spans = vec![
        Span::styled(" Today ", theme.heading()),
        Span::raw(format!("{} jobs · ", count(t.jobs))),
        tally(t.failed, "failed", theme.bad(), theme),
        Span::raw(" · "),
        tally(t.partial, "partial", theme.warn(), theme),
        Span::raw(format!(" · {} rows delivered", count(t.rows_published))),
    ];
    if t.rows_failed > 0 {
        spans.push(Span::styled(
            format!(" · {} rows failed", count(t.rows_failed)),
            theme.bad(),
        ));
    }
    spans.push(Span::styled(
        format!("   ({} jobs in all)", count(app.jobs_total)),
        theme.dim(),
    ));
    frame.render_widget(Line::from(spans), summary);
    if app.jobs.rows().is_empty() {
        let hint = " No jobs yet. Files that land in a profile's inbox show up here.";
        frame.render_widget(Paragraph::new(hint).style(theme.dim()), body);
        return;
    }
    let table = job_table(app.jobs.rows(), app.now, body.width, theme);
    let selected = Some(app.jobs.selected_index());
    list(
        frame,
        body,
        table,
        selected,
        &mut app.offsets[0],
        &mut app.page_rows,
    );
}

/// The table of `jobs` as the Jobs and Errors views show it.
pub fn job_table(jobs: &[JobRow], now: DateTime<Utc>, width: u16, theme: Theme) -> Table<'static> {
    let wide = width >= WIDE;
    let narrow = width < NARROW;
    let rows = jobs.iter().map(|j| {
        let mut cells = vec![
            Cell::from(j.id.to_string()),
            Cell::from(when(&j.started_at)),
            Cell::from(j.profile.clone()),
            Cell::from(clean(&j.file_name)),
            Cell::from(status_label(j.status)).style(theme.status(j.status)),
        ];
        if wide {
            cells.push(Cell::from(count(j.counts.read)));
        }
        cells.push(Cell::from(count(j.counts.published(j.status))));
        cells.push(number(j.counts.rejected, theme.warn()));
        cells.push(number(j.counts.failed, theme.bad()));
        if wide {
            cells.push(Cell::from(took(j, now)));
        }
        Row::new(cells)
    });
    // Profile names read whole (up to 20 characters); the file name takes what is left.
    let profile_width = jobs
        .iter()
        .map(|j| j.profile.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(7, if narrow { 12 } else { 20 });
    let mut titles = vec!["job", "started", "profile", "file", "status"];
    let mut widths = vec![
        Constraint::Length(6),
        Constraint::Length(11),
        Constraint::Length(u16::try_from(profile_width).unwrap_or(20)),
        Constraint::Fill(1),
        Constraint::Length(13),
    ];
    if wide {
        titles.push("read");
        widths.push(Constraint::Length(7));
    }
    if narrow {
        titles.extend(["out", "rej", "fail"]);
        widths.extend([5, 5, 5].map(Constraint::Length));
    } else {
        titles.extend(["published", "rejected", "failed"]);
        widths.extend([9, 8, 6].map(Constraint::Length));
    }
    if wide {
        titles.push("took");
        widths.push(Constraint::Length(6));
    }
    Table::new(rows, widths)
        .header(heading(titles, theme))
        .row_highlight_style(theme.selected())
}

/// `3 failed`, drawing the eye only when it is not zero.
fn tally(n: u64, what: &str, style: ratatui::style::Style, theme: Theme) -> Span<'static> {
    let style = if n > 0 { style } else { theme.dim() };
    Span::styled(format!("{} {what}", count(n)), style)
}

/// A count that draws the eye only when it is not zero.
fn number(n: u64, style: ratatui::style::Style) -> Cell<'static> {
    if n == 0 {
        Cell::from("0")
    } else {
        Cell::from(count(n)).style(style)
    }
}
