//! What the operator's keys mean, apart from the state they change: [`keymap`] turns a key
//! press (in the current [`Mode`]) into an [`Action`], [`App::update`] applies it, and any
//! store work it needs comes back as an [`Effect`] for the event loop to carry out
//! ([`App::carry_out`]).
//!
//! [`App::update`]: super::app::App::update
//! [`App::carry_out`]: super::app::App::carry_out

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{Operation, View};

/// What the keys are read as: the view itself, or the overlay over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// The help is shown: any key closes it.
    Help,
    /// An operation waits for `y` or `n`.
    Confirm,
    /// A line is being typed: the audit filter, or the row to trace.
    Filter,
}

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The newest rows (`Home`, `g`).
    Top,
    /// The oldest rows (`End`, `G`).
    Bottom,
}

/// One thing the operator asked for with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    /// Closes the help.
    CloseHelp,
    /// Shows this view.
    Switch(View),
    /// The next view in `Tab` order (`Tab`), or the previous one (`BackTab`).
    NextView,
    PreviousView,
    /// Opens the selected job (`Enter`).
    Open,
    /// Closes the open job, else clears the audit filter (`Esc`).
    Back,
    /// Moves the selection (or the open job's text) by rows; down is positive.
    Move(isize),
    /// Moves by a page of rows; down is positive.
    Page(isize),
    Jump(Edge),
    /// Starts typing the audit filter (`/`).
    Filter,
    /// Starts typing the row of the open job to trace (`t`).
    Trace,
    /// A character typed into the line being typed (the filter, or the row to trace).
    FilterChar(char),
    /// Erases its last character.
    FilterErase,
    /// Applies what was typed (`Enter` while typing).
    FilterApply,
    /// Leaves it (`Esc` while typing).
    FilterCancel,
    /// Yes to the operation asked about.
    Confirm,
    /// No to it.
    Cancel,
    /// Asks to run the selected profile now (`r`).
    Run,
    /// Asks to send a job's failed rows again (`R`).
    Retry,
    /// Asks to pause the selected profile, or to resume it if paused (`p`).
    PauseResume,
    /// Asks to approve the selected held job (`a`, Approvals view).
    Approve,
    /// Asks to reject it (`x`).
    Reject,
}

/// Store work an [`Action`] leaves to the event loop; what changes only the dashboard's own
/// state is done in [`App::update`](super::app::App::update) itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Fetches the rows the shown view wants (it was just switched to).
    Fill,
    /// Moves the shown list's selection by rows, fetching at the edges it comes near.
    Scroll(isize),
    /// Loads the shown list's newest or oldest rows.
    Jump(Edge),
    /// Reads the audit trail again from its newest event under the current filter.
    Refilter,
    /// Reads job `id` into the detail.
    Open(i64),
    /// Reads the trace of row `row` of the open job `job_id`.
    Trace { job_id: i64, row: u64 },
    /// Moves the Approvals view's plan by pages; down is positive.
    PlanPage(isize),
    /// Carries out a confirmed operation (pause, resume, or a command to the daemon).
    Perform(Operation),
}

/// What `key` means in `mode`; `None` for a key that does nothing there.
pub fn keymap(mode: Mode, key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match mode {
        Mode::Normal => normal(key.code),
        Mode::Help => Some(Action::CloseHelp),
        Mode::Confirm => match key.code {
            KeyCode::Char('y' | 'Y') | KeyCode::Enter => Some(Action::Confirm),
            KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => Some(Action::Cancel),
            _ => None,
        },
        Mode::Filter => match key.code {
            KeyCode::Enter => Some(Action::FilterApply),
            KeyCode::Esc => Some(Action::FilterCancel),
            KeyCode::Backspace => Some(Action::FilterErase),
            KeyCode::Char(c) if !c.is_control() => Some(Action::FilterChar(c)),
            _ => None,
        },
    }
}

fn normal(code: KeyCode) -> Option<Action> {
    Some(match code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Char(c @ '1'..='5') => Action::Switch(View::ALL[usize::from(c as u8 - b'1')]),
        KeyCode::Tab => Action::NextView,
        KeyCode::BackTab => Action::PreviousView,
        KeyCode::Esc => Action::Back,
        KeyCode::Enter => Action::Open,
        KeyCode::Char('j') | KeyCode::Down => Action::Move(1),
        KeyCode::Char('k') | KeyCode::Up => Action::Move(-1),
        KeyCode::PageDown => Action::Page(1),
        KeyCode::PageUp => Action::Page(-1),
        KeyCode::Home | KeyCode::Char('g') => Action::Jump(Edge::Top),
        KeyCode::End | KeyCode::Char('G') => Action::Jump(Edge::Bottom),
        KeyCode::Char('/') => Action::Filter,
        KeyCode::Char('t') => Action::Trace,
        KeyCode::Char('r') => Action::Run,
        KeyCode::Char('R') => Action::Retry,
        KeyCode::Char('p') => Action::PauseResume,
        KeyCode::Char('a') => Action::Approve,
        KeyCode::Char('x') => Action::Reject,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(mode: Mode, code: KeyCode) -> Option<Action> {
        keymap(mode, KeyEvent::from(code))
    }

    #[test]
    fn view_keys_move_switch_open_and_ask() {
        let n = |code| key(Mode::Normal, code);
        assert_eq!(n(KeyCode::Char('q')), Some(Action::Quit));
        assert_eq!(n(KeyCode::Char('?')), Some(Action::Help));
        assert_eq!(n(KeyCode::Char('1')), Some(Action::Switch(View::Jobs)));
        assert_eq!(n(KeyCode::Char('4')), Some(Action::Switch(View::Profiles)));
        assert_eq!(n(KeyCode::Char('5')), Some(Action::Switch(View::Approvals)));
        assert_eq!(n(KeyCode::Char('6')), None);
        assert_eq!(n(KeyCode::Tab), Some(Action::NextView));
        assert_eq!(n(KeyCode::BackTab), Some(Action::PreviousView));
        assert_eq!(n(KeyCode::Enter), Some(Action::Open));
        assert_eq!(n(KeyCode::Esc), Some(Action::Back));
        for (code, action) in [
            (KeyCode::Char('j'), Action::Move(1)),
            (KeyCode::Down, Action::Move(1)),
            (KeyCode::Char('k'), Action::Move(-1)),
            (KeyCode::Up, Action::Move(-1)),
            (KeyCode::PageDown, Action::Page(1)),
            (KeyCode::PageUp, Action::Page(-1)),
            (KeyCode::Home, Action::Jump(Edge::Top)),
            (KeyCode::Char('g'), Action::Jump(Edge::Top)),
            (KeyCode::End, Action::Jump(Edge::Bottom)),
            (KeyCode::Char('G'), Action::Jump(Edge::Bottom)),
        ] {
            assert_eq!(n(code), Some(action), "{code:?}");
        }
        assert_eq!(n(KeyCode::Char('/')), Some(Action::Filter));
        assert_eq!(n(KeyCode::Char('t')), Some(Action::Trace));
        assert_eq!(n(KeyCode::Char('r')), Some(Action::Run));
        assert_eq!(n(KeyCode::Char('R')), Some(Action::Retry));
        assert_eq!(n(KeyCode::Char('p')), Some(Action::PauseResume));
        assert_eq!(n(KeyCode::Char('a')), Some(Action::Approve));
        assert_eq!(n(KeyCode::Char('x')), Some(Action::Reject));
        assert_eq!(n(KeyCode::Char('z')), None);
        assert_eq!(n(KeyCode::Char('y')), None);
    }

    #[test]
    fn ctrl_c_quits_in_every_mode() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for mode in [Mode::Normal, Mode::Help, Mode::Confirm, Mode::Filter] {
            assert_eq!(keymap(mode, ctrl_c), Some(Action::Quit), "{mode:?}");
        }
        // A plain `c` is text in the filter.
        assert_eq!(
            key(Mode::Filter, KeyCode::Char('c')),
            Some(Action::FilterChar('c'))
        );
    }

    #[test]
    fn any_key_closes_the_help() {
        for code in [KeyCode::Char('x'), KeyCode::Char('q'), KeyCode::Esc] {
            assert_eq!(key(Mode::Help, code), Some(Action::CloseHelp), "{code:?}");
        }
    }

    #[test]
    fn a_confirmation_takes_yes_or_no_and_ignores_the_rest() {
        let c = |code| key(Mode::Confirm, code);
        for code in [KeyCode::Char('y'), KeyCode::Char('Y'), KeyCode::Enter] {
            assert_eq!(c(code), Some(Action::Confirm), "{code:?}");
        }
        for code in [
            KeyCode::Char('n'),
            KeyCode::Char('N'),
            KeyCode::Char('q'),
            KeyCode::Esc,
        ] {
            assert_eq!(c(code), Some(Action::Cancel), "{code:?}");
        }
        assert_eq!(c(KeyCode::Char('j')), None);
        assert_eq!(c(KeyCode::Tab), None);
    }

    #[test]
    fn the_filter_takes_text_and_view_keys_are_text_there() {
        let f = |code| key(Mode::Filter, code);
        assert_eq!(f(KeyCode::Char('q')), Some(Action::FilterChar('q')));
        assert_eq!(f(KeyCode::Char('j')), Some(Action::FilterChar('j')));
        assert_eq!(f(KeyCode::Char(':')), Some(Action::FilterChar(':')));
        assert_eq!(f(KeyCode::Backspace), Some(Action::FilterErase));
        assert_eq!(f(KeyCode::Enter), Some(Action::FilterApply));
        assert_eq!(f(KeyCode::Esc), Some(Action::FilterCancel));
        assert_eq!(f(KeyCode::Char('\u{7}')), None);
        assert_eq!(f(KeyCode::Tab), None);
        assert_eq!(f(KeyCode::Down), None);
    }
}
