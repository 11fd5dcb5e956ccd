//! Drawing the dashboard from its state: the header, the tabs, the current view (one file
//! each), overlays, and the status and key lines. Nothing here reads the store or changes
//! what the dashboard shows; it only paints [`App`].

mod approvals;
mod audit;
mod detail;
mod errors;
mod jobs;
mod overlay;
mod profiles;
pub mod text;
mod trace;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::app::{App, Daemon, Level, Overlay, View};
use super::theme::Theme;

/// Smallest terminal the views are laid out for; below it a notice asks for more room.
pub const MIN_SIZE: (u16, u16) = (60, 12);

/// Paints the whole screen.
pub fn draw(frame: &mut Frame, app: &mut App, theme: Theme) {
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let notice = format!(
            "hrbridge needs a terminal of at least {}x{} (this one is {}x{}); q quits",
            MIN_SIZE.0, MIN_SIZE.1, area.width, area.height
        );
        frame.render_widget(Paragraph::new(notice), area);
        return;
    }
    let [header, tabs, body, status, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(header_line(app, theme), header);
    frame.render_widget(tab_line(app, theme), tabs);
    if let Some(detail) = &mut app.detail {
        app.page_rows = usize::from(body.height.saturating_sub(2));
        match &mut detail.trace {
            Some(t) => trace::draw(frame, body, detail.job.id, t, theme),
            None => detail::draw(frame, body, detail, app.now, theme),
        }
    } else {
        match app.view {
            View::Jobs => jobs::draw(frame, body, app, theme),
            View::Errors => errors::draw(frame, body, app, theme),
            View::Audit => audit::draw(frame, body, app, theme),
            View::Profiles => profiles::draw(frame, body, app, theme),
            View::Approvals => approvals::draw(frame, body, app, theme),
        }
    }
    frame.render_widget(status_line(app, theme), status);
    frame.render_widget(key_line(app, theme), keys);
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help => overlay::help(frame, area, theme),
        Overlay::Confirm(operation) => overlay::confirm(frame, area, &operation.question(), theme),
        Overlay::Filter(typed) => overlay::prompt(frame, status, " filter / ", typed, theme),
        Overlay::TraceRow(typed) => overlay::prompt(frame, status, " trace row ", typed, theme),
    }
}

fn header_line(app: &App, theme: Theme) -> Line<'static> {
    let daemon = match app.daemon {
        Daemon::InProcess => Span::styled("● daemon running here", theme.good()),
        Daemon::Running { pid } => {
            Span::styled(format!("● daemon running (pid {pid})"), theme.good())
        }
        Daemon::NotRunning => Span::styled("○ no daemon: commands wait", theme.warn()),
    };
    Line::from(vec![
        Span::styled(" hrbridge ", theme.heading()),
        Span::styled(format!("{}  ", app.state_dir), theme.dim()),
        daemon,
    ])
}

fn tab_line(app: &App, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (i, view) in View::ALL.iter().enumerate() {
        // Brackets mark the current view without colour, too.
        let (label, style) = if *view == app.view {
            (
                format!("[{} {}]", i + 1, view.title()),
                theme.selected().patch(theme.heading()),
            )
        } else {
            (format!(" {} {} ", i + 1, view.title()), theme.dim())
        };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(" "));
    }
    if let Some(detail) = &app.detail {
        spans.push(Span::styled(
            format!("› job {}", detail.job.id),
            theme.heading(),
        ));
        if let Some(t) = &detail.trace {
            spans.push(Span::styled(format!(" › row {}", t.row), theme.heading()));
        }
    }
    Line::from(spans)
}

fn status_line(app: &App, theme: Theme) -> Line<'static> {
    match &app.message {
        Some((level, text)) => {
            let style = match level {
                Level::Info => theme.good(),
                Level::Warn => theme.warn(),
                Level::Error => theme.bad(),
            };
            Line::from(Span::styled(format!(" {text}"), style))
        }
        None => Line::default(),
    }
}

fn key_line(app: &App, theme: Theme) -> Line<'static> {
    let keys = if app.detail.as_ref().is_some_and(|d| d.trace.is_some()) {
        " j/k scroll  Esc back to the job  ? help  q quit"
    } else if app.detail.is_some() {
        " j/k scroll  t trace a row  Esc back  R retry  r run  p pause  ? help  q quit"
    } else {
        match app.view {
            View::Jobs | View::Errors => {
                " 1-5/Tab views  j/k move  ⏎ open  r run  R retry  p pause  ? help  q quit"
            }
            View::Audit => {
                " 1-5/Tab views  j/k move  / filter  Esc clear  r run  p pause  ? help  q quit"
            }
            View::Profiles => " 1-5/Tab views  j/k move  r run now  p pause/resume  ? help  q quit",
            View::Approvals => " 1-5/Tab views  j/k move  a approve  x reject  ? help  q quit",
        }
    };
    Line::from(Span::styled(keys, theme.dim()))
}

/// Draws a list as a table with its selection, keeping the scroll offset of `offset` between
/// frames, and records how many rows a page holds.
fn list(
    frame: &mut Frame,
    area: Rect,
    table: Table<'_>,
    selected: Option<usize>,
    offset: &mut usize,
    page_rows: &mut usize,
) {
    // One line of the area is the table's heading.
    *page_rows = usize::from(area.height.saturating_sub(1)).max(1);
    let table = table.highlight_symbol(SELECTED);
    let mut state = TableState::default()
        .with_offset(*offset)
        .with_selected(selected);
    frame.render_stateful_widget(table, area, &mut state);
    *offset = state.offset();
}

/// Marks the selected row without colour, too.
const SELECTED: &str = "▶ ";

/// The heading row of a table.
fn heading<'a>(cells: impl IntoIterator<Item = &'a str>, theme: Theme) -> Row<'a> {
    Row::new(cells).style(theme.heading())
}
