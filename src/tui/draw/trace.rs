//! The trace of a row (`t` in a job): each row of the person, newest job first, with what
//! the read made of it and where it stands at every output. Scrolls as one page.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::text::{clean, when_exactly};
use crate::privacy::trace_report::{Reach, Read};
use crate::tui::theme::Theme;
use crate::tui::trace::RowTrace;

pub fn draw(frame: &mut Frame, area: Rect, job_id: i64, t: &mut RowTrace, theme: Theme) {
    let jobs = {
        let mut ids: Vec<i64> = t.sightings.iter().map(|s| s.job).collect();
        ids.dedup();
        ids.len()
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!(" Trace of row {} of job {job_id} ", t.row),
                theme.heading(),
            ),
            Span::raw(format!(
                "· the same person on {} row(s) in {jobs} job(s), newest first",
                t.sightings.len()
            )),
        ]),
        Line::styled(
            " The key is not shown; `hrbridge trace KEY` adds the ids APIs gave.",
            theme.dim(),
        ),
    ];
    for s in &t.sightings {
        let place = match (s.row, &s.sheet) {
            (Some(row), Some(sheet)) => format!("sheet {} row {row}", clean(sheet)),
            (Some(row), None) => format!("row {row}"),
            (None, _) => "not in the file".into(),
        };
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::styled(format!(" job {} ", s.job), theme.heading()),
            Span::raw(format!(
                "· {} · {} · {} {place} · {}",
                when_exactly(&s.at),
                s.profile,
                clean(&s.file),
                s.job_status
            )),
        ]));
        if let Some(error) = &s.job_error {
            lines.push(Line::styled(format!("   {}", clean(error)), theme.bad()));
        }
        let style = match s.read {
            Read::Rejected { .. } => theme.warn(),
            Read::Filtered { .. } => theme.dim(),
            _ => ratatui::style::Style::new(),
        };
        lines.push(Line::styled(
            format!("   {}", clean(&s.read.describe())),
            style,
        ));
        for r in &s.outputs {
            let style = match r.state {
                Reach::Published | Reach::Delivered => theme.good(),
                Reach::Failed | Reach::NotSent => theme.bad(),
                Reach::Pending | Reach::Held => theme.warn(),
            };
            lines.push(Line::styled(
                format!("   → {}", clean(&r.describe())),
                style,
            ));
        }
    }
    let last = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    t.scroll = t.scroll.min(last.saturating_sub(area.height));
    frame.render_widget(Paragraph::new(lines).scroll((t.scroll, 0)), area);
}
