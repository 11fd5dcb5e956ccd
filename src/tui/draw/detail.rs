//! One job in full (`Enter`): what it was, its outputs, the audit timeline of everything that
//! happened to it, and its rejected and failed rows. Scrolls as one page.

use chrono::{DateTime, Utc};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::errors::{capped_note, problem_lines};
use super::text::{clean, count, detail, took, when_exactly};
use crate::tui::detail::JobDetail;
use crate::tui::theme::{status_label, Theme};

/// Draws `d`, keeping its scroll position within the page (so `k` after `End` moves at once).
pub fn draw(frame: &mut Frame, area: Rect, d: &mut JobDetail, now: DateTime<Utc>, theme: Theme) {
    let job = &d.job;
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!(" Job {} ", job.id), theme.heading()),
            Span::raw(format!("· {} · {}  ", job.profile, clean(&job.file_name))),
            Span::styled(status_label(job.status), theme.status(job.status)),
        ]),
        Line::from(format!(
            " started {} · {} · took {}",
            when_exactly(&job.started_at),
            job.finished_at
                .as_deref()
                .map_or("not finished".to_string(), |f| format!(
                    "finished {}",
                    when_exactly(f)
                )),
            took(job, now)
        )),
        Line::from(format!(
            " rows: {} read · {} filtered · {} rejected · {} mapped · {} published · {} failed",
            count(job.counts.read),
            count(job.counts.filtered),
            count(job.counts.rejected),
            count(job.counts.written),
            count(job.counts.published(job.status)),
            count(job.counts.failed)
        )),
    ];
    if let Some(error) = &job.error {
        lines.push(Line::styled(
            format!(" error: {}", clean(error)),
            theme.bad(),
        ));
    }
    lines.push(Line::default());
    lines.push(Line::styled(" Outputs", theme.heading()));
    if d.outputs.is_empty() {
        lines.push(Line::styled("   none", theme.dim()));
    }
    for o in &d.outputs {
        let which = o
            .output_index
            .map_or("rejects".to_string(), |i| format!("output {}", i + 1));
        let state = if o.published {
            "published"
        } else {
            "not published"
        };
        lines.push(Line::from(format!(
            "   {which:<9} {} rows · {} bytes · {state}",
            count(o.rows),
            count(o.bytes)
        )));
        lines.push(Line::styled(
            format!("             {}", clean(&o.final_path)),
            theme.dim(),
        ));
    }
    lines.push(Line::default());
    lines.push(Line::styled(" Timeline", theme.heading()));
    for e in &d.events {
        let style = if e.kind.ends_with(".failed") {
            theme.bad()
        } else {
            ratatui::style::Style::new()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("   {}  ", when_exactly(&e.at)), theme.dim()),
            Span::styled(format!("{:<17} ", e.kind), style),
            Span::raw(detail(&e.detail)),
        ]));
    }
    lines.push(Line::default());
    lines.push(Line::styled(" Rejected and failed rows", theme.heading()));
    let problems = problem_lines(&d.problems);
    if problems.is_empty() {
        lines.push(Line::styled("   none", theme.dim()));
    }
    for p in problems {
        let [row, what, place, status, reason] = p.cells;
        let status = if status.is_empty() {
            status
        } else {
            format!("HTTP {status} ")
        };
        let style = if p.failed { theme.bad() } else { theme.warn() };
        lines.push(Line::styled(
            format!("   row {row:<6} {what:<8} {place:<16} {status}{reason}"),
            style,
        ));
    }
    if let Some(note) = capped_note(&d.problems) {
        lines.push(Line::styled(format!("   {note}"), theme.dim()));
    }
    // Keep the last page in view when scrolled past the end (End key).
    let last = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let scroll = d.scroll.min(last.saturating_sub(area.height));
    d.scroll = scroll;
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), area);
}
