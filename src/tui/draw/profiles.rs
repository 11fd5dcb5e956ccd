//! The Profiles view: each integration's schedule, next run, last job and pause, and under
//! the list the selected profile's source and who paused it.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};
use ratatui::Frame;

use super::text::{at, clean, when};
use super::{heading, list};
use crate::tui::app::App;
use crate::tui::profiles::ProfileLine;
use crate::tui::theme::{status_label, Theme};

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App, theme: Theme) {
    let [table_area, about] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(2)]).areas(area);
    let rows = app.profiles.iter().map(|p| {
        let (last, status) = match &p.last_job {
            Some(job) => (
                format!("{} #{}", when(&job.started_at), job.id),
                Cell::from(status_label(job.status)).style(theme.status(job.status)),
            ),
            None => ("never".to_string(), Cell::from("")),
        };
        let next = match (&p.paused, p.next_run) {
            (Some(_), _) => "—".to_string(),
            (None, Some(t)) => at(t),
            (None, None) => "on arrival".to_string(),
        };
        let state = match &p.paused {
            Some(_) => Cell::from("⏸ paused").style(theme.warn()),
            None => Cell::from("active").style(theme.good()),
        };
        Row::new(vec![
            Cell::from(p.name.clone()),
            Cell::from(p.schedule.clone()),
            Cell::from(next),
            Cell::from(last),
            status,
            state,
        ])
    });
    // Names and schedules must read whole; the rest have fixed widths.
    let widest = |f: fn(&ProfileLine) -> usize, cap: usize| {
        let w = app.profiles.iter().map(f).max().unwrap_or(0).min(cap);
        Constraint::Length(u16::try_from(w).unwrap_or(8).max(8))
    };
    let table = Table::new(
        rows,
        [
            widest(|p| p.name.chars().count(), 24),
            widest(|p| p.schedule.chars().count(), 28),
            Constraint::Length(11),
            Constraint::Length(17),
            Constraint::Length(13),
            Constraint::Length(8),
        ],
    )
    .header(heading(
        [
            "profile", "schedule", "next run", "last run", "status", "state",
        ],
        theme,
    ))
    .row_highlight_style(theme.selected());
    let selected = (!app.profiles.is_empty()).then_some(app.profile_selected);
    list(
        frame,
        table_area,
        table,
        selected,
        &mut app.offsets[3],
        &mut app.page_rows,
    );
    if let Some(p) = app.profiles.get(app.profile_selected) {
        let pause = match &p.paused {
            Some(pause) => Span::styled(
                format!(" paused by {} since {}", clean(&pause.by), when(&pause.at)),
                theme.warn(),
            ),
            None => Span::styled(" active: takes new files", theme.dim()),
        };
        frame.render_widget(
            vec![
                Line::from(vec![
                    Span::styled(format!(" {}", p.name), theme.heading()),
                    Span::raw(format!("  reads {}", clean(&p.source))),
                ]),
                Line::from(pause),
            ]
            .into_iter()
            .collect::<ratatui::text::Text>(),
            about,
        );
    }
}
