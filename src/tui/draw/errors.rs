//! The Errors view: failed and partial jobs, and below them the rows the selected one
//! rejected or could not deliver, with the reason (PII masked when it was stored).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};
use ratatui::Frame;

use super::jobs::job_table;
use super::text::{clean, count};
use super::{heading, list};
use crate::tui::app::App;
use crate::tui::detail::{Problems, PROBLEMS_SHOWN};
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App, theme: Theme) {
    if app.errors.rows().is_empty() {
        let hint =
            " No failed or partial jobs. Jobs that reject or cannot deliver rows show up here.";
        frame.render_widget(Paragraph::new(hint).style(theme.dim()), area);
        return;
    }
    let [jobs, title, rows] = Layout::vertical([
        Constraint::Percentage(45),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(area);
    let table = job_table(app.errors.rows(), app.now, area.width, theme);
    let selected = Some(app.errors.selected_index());
    list(
        frame,
        jobs,
        table,
        selected,
        &mut app.offsets[1],
        &mut app.page_rows,
    );
    let Some(problems) = &app.problems else {
        return;
    };
    let error = app
        .errors
        .selected()
        .and_then(|j| j.error.as_deref())
        .map(clean);
    let mut spans = vec![Span::styled(
        format!(
            " Job {}: {} rejected, {} failed",
            problems.job_id,
            count(problems.rejections.len() as u64),
            count(problems.failures.len() as u64)
        ),
        theme.heading(),
    )];
    if let Some(e) = error {
        spans.push(Span::styled(format!("  {e}"), theme.bad()));
    }
    frame.render_widget(Line::from(spans), title);
    frame.render_widget(problem_table(problems, theme), rows);
}

/// A rejected or failed row as both the Errors view and the job detail list it: row, what,
/// column or output, HTTP status, reason (all cleaned for the terminal).
pub struct ProblemLine {
    pub failed: bool,
    pub cells: [String; 5],
}

/// The rejected rows, then the failed deliveries, of `problems`.
pub fn problem_lines(problems: &Problems) -> Vec<ProblemLine> {
    let rejected = problems.rejections.iter().map(|r| {
        let place = match (&r.sheet, &r.column, &r.field) {
            (Some(sheet), Some(col), _) => format!("{sheet}!{col}"),
            (None, Some(col), _) => col.clone(),
            (_, None, Some(field)) => field.clone(),
            _ => String::new(),
        };
        ProblemLine {
            failed: false,
            cells: [
                r.row.to_string(),
                "rejected".to_string(),
                clean(&place),
                String::new(),
                clean(&r.reason),
            ],
        }
    });
    let failed = problems.failures.iter().map(|f| ProblemLine {
        failed: true,
        cells: [
            f.row.to_string(),
            "failed".to_string(),
            format!("output {}", f.output_index + 1),
            f.status.map(|s| s.to_string()).unwrap_or_default(),
            format!("{} (after {} attempts)", clean(&f.reason), f.attempts),
        ],
    });
    rejected.chain(failed).collect()
}

/// A note when only the first rows of a job are shown.
pub fn capped_note(problems: &Problems) -> Option<String> {
    let capped =
        problems.rejections.len() >= PROBLEMS_SHOWN || problems.failures.len() >= PROBLEMS_SHOWN;
    capped.then(|| {
        format!(
            "… the first {PROBLEMS_SHOWN} of each; `hrbridge jobs --job {}` lists all",
            problems.job_id
        )
    })
}

/// Rejected and failed rows of one job: row, where, HTTP status, reason.
fn problem_table(problems: &Problems, theme: Theme) -> Table<'static> {
    let mut rows: Vec<Row> = problem_lines(problems)
        .into_iter()
        .map(|p| {
            let style = if p.failed { theme.bad() } else { theme.warn() };
            Row::new(p.cells).style(style)
        })
        .collect();
    if problems.is_empty() {
        rows.push(Row::new(vec![
            String::new(),
            "no row-level problems recorded".to_string(),
        ]));
    }
    if let Some(note) = capped_note(problems) {
        rows.push(Row::new(vec![String::new(), note]));
    }
    Table::new(
        rows,
        [
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Length(16),
            Constraint::Length(5),
            Constraint::Fill(1),
        ],
    )
    .header(heading(
        ["row", "what", "column/output", "HTTP", "reason"],
        theme,
    ))
}
