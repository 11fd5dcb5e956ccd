//! The long-running daemon: watches, schedules and polls, and stops cleanly on a signal.
