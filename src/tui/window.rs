//! A scrolling list over a history too large to load: the dashboard holds a window of a few
//! hundred rows around the selection and asks its [`Feed`] for more at either edge.
//!
//! Rows are kept newest first. Each edge has a cursor: the key to continue from in that
//! direction, or `None` when the list ends there (`newer = None` means the window shows the
//! newest rows, so live updates are added on top). A feed may return fewer rows than asked
//! while keeping its cursor (the audit trail scans a bounded chunk per call);
//! [`Window::wants_more`] tells the event loop to call [`Window::step`] again instead of
//! waiting for a key.

use crate::store::{Store, StoreError, Toward};

/// Rows fetched per call.
pub const PAGE: usize = 100;

/// Most rows a window keeps; beyond this the far edge is dropped (and fetched again if the
/// operator scrolls back).
const CAP: usize = 6 * PAGE;

/// Where a list's rows come from.
pub trait Feed {
    type Row;

    /// The row's position in the list: larger is newer.
    fn key(row: &Self::Row) -> i64;

    /// At most `want` rows next to `cursor` toward `toward` (keys below it for `Older`, above
    /// it for `Newer`), newest first, and the cursor to continue from in that direction
    /// (`None`: nothing more that way).
    fn fetch(
        &mut self,
        store: &Store,
        cursor: i64,
        toward: Toward,
        want: usize,
    ) -> Result<(Vec<Self::Row>, Option<i64>), StoreError>;

    /// Re-reads rows that may have changed since they were fetched (a job's status), and
    /// drops those that no longer belong; rows that never change keep the default.
    fn refresh(&mut self, _store: &Store, _rows: &mut Vec<Self::Row>) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The loaded part of a list, its selection and its edges.
pub struct Window<F: Feed> {
    pub feed: F,
    rows: Vec<F::Row>,
    selected: usize,
    older: Option<i64>,
    newer: Option<i64>,
}

impl<F: Feed> Window<F> {
    /// An empty window that loads the newest rows on its first [`Window::step`].
    pub fn new(feed: F) -> Window<F> {
        Window {
            feed,
            rows: Vec::new(),
            selected: 0,
            older: Some(i64::MAX),
            newer: None,
        }
    }

    pub fn rows(&self) -> &[F::Row] {
        &self.rows
    }

    /// Index of the selected row in [`Window::rows`].
    pub fn selected_index(&self) -> usize {
        self.selected
    }

    pub fn selected(&self) -> Option<&F::Row> {
        self.rows.get(self.selected)
    }

    /// Whether the newest rows are loaded (new ones will appear on top).
    pub fn at_top(&self) -> bool {
        self.newer.is_none()
    }

    /// Whether the oldest row is loaded.
    pub fn at_bottom(&self) -> bool {
        self.older.is_none()
    }

    /// Whether rows below the selection are still to be fetched soon: the loop should call
    /// [`Window::step`] without waiting.
    pub fn wants_more(&self) -> bool {
        self.older.is_some() && self.selected + PAGE >= self.rows.len()
    }

    /// One fetch towards what [`Window::wants_more`] asks for.
    pub fn step(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.wants_more() {
            self.fetch_older(store)?;
        }
        Ok(())
    }

    /// Starts again from the newest rows (a new filter, `Home`).
    pub fn top(&mut self, store: &Store) -> Result<(), StoreError> {
        self.rows.clear();
        self.selected = 0;
        self.older = Some(i64::MAX);
        self.newer = None;
        self.fetch_older(store)
    }

    /// Jumps to the oldest rows (`End`), selecting the oldest.
    pub fn bottom(&mut self, store: &Store) -> Result<(), StoreError> {
        self.rows.clear();
        self.older = None;
        self.newer = Some(i64::MIN);
        self.fetch_newer(store)?;
        self.selected = self.rows.len().saturating_sub(1);
        Ok(())
    }

    /// Moves the selection by `delta` rows, fetching at the edges it comes near.
    pub fn move_by(&mut self, store: &Store, delta: isize) -> Result<(), StoreError> {
        let target = self.selected.saturating_add_signed(delta);
        if delta > 0 && target + PAGE / 2 >= self.rows.len() && self.older.is_some() {
            self.fetch_older(store)?;
        }
        if delta < 0 && self.selected < PAGE / 2 + delta.unsigned_abs() && self.newer.is_some() {
            self.fetch_newer(store)?;
        }
        // Fetching newer rows shifted the selection; apply the move from where it is now.
        let target = self.selected.saturating_add_signed(delta);
        self.selected = target.min(self.rows.len().saturating_sub(1));
        Ok(())
    }

    /// Keeps the window current: rows newer than the top are added when the newest are
    /// shown (the selection stays on the same row), and shown rows are re-read.
    pub fn live(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.rows.is_empty() {
            return self.top(store);
        }
        if self.at_top() {
            // What arrived since the newest row shown.
            self.newer = self.rows.first().map(F::key);
            self.fetch_newer(store)?;
            if !self.at_top() {
                // More arrived than a page: start again from the top.
                return self.top(store);
            }
        }
        self.feed.refresh(store, &mut self.rows)?;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        Ok(())
    }

    fn fetch_older(&mut self, store: &Store) -> Result<(), StoreError> {
        let Some(cursor) = self.older else {
            return Ok(());
        };
        let (more, next) = self.feed.fetch(store, cursor, Toward::Older, PAGE)?;
        self.older = next;
        self.rows.extend(more);
        self.trim_top();
        Ok(())
    }

    fn fetch_newer(&mut self, store: &Store) -> Result<(), StoreError> {
        let Some(cursor) = self.newer else {
            return Ok(());
        };
        let (more, next) = self.feed.fetch(store, cursor, Toward::Newer, PAGE)?;
        self.newer = next;
        self.selected += more.len();
        self.rows.splice(0..0, more);
        self.trim_bottom();
        Ok(())
    }

    /// Drops the newest rows beyond [`CAP`].
    fn trim_top(&mut self) {
        if self.rows.len() > CAP {
            let drop = self.rows.len() - CAP;
            self.rows.drain(..drop);
            self.selected = self.selected.saturating_sub(drop);
            self.newer = self.rows.first().map(F::key);
        }
    }

    /// Drops the oldest rows beyond [`CAP`].
    fn trim_bottom(&mut self) {
        if self.rows.len() > CAP {
            self.rows.truncate(CAP);
            self.older = self.rows.last().map(F::key);
            self.selected = self.selected.min(CAP - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys 1..=n, served `want` at a time.
    struct Numbers {
        n: i64,
        /// Rows returned per call at most (below `want`: a feed cut short by its budget).
        per_call: usize,
    }

    impl Feed for Numbers {
        type Row = i64;

        fn key(row: &i64) -> i64 {
            *row
        }

        fn fetch(
            &mut self,
            _store: &Store,
            cursor: i64,
            toward: Toward,
            want: usize,
        ) -> Result<(Vec<i64>, Option<i64>), StoreError> {
            let take = want.min(self.per_call) as i64;
            Ok(match toward {
                Toward::Older => {
                    let hi = cursor.min(self.n + 1);
                    let lo = (hi - take).max(1);
                    let rows: Vec<i64> = (lo..hi).rev().collect();
                    (rows, (lo > 1).then_some(lo))
                }
                Toward::Newer => {
                    let lo = cursor.max(0) + 1;
                    let hi = (lo + take).min(self.n + 1);
                    let rows: Vec<i64> = (lo..hi).rev().collect();
                    (rows, (hi <= self.n).then_some(hi - 1))
                }
            })
        }
    }

    fn window(n: i64, per_call: usize) -> (Store, Window<Numbers>) {
        let store = Store::open_in_memory().unwrap();
        let mut w = Window::new(Numbers { n, per_call });
        while w.wants_more() {
            w.step(&store).unwrap();
        }
        (store, w)
    }

    #[test]
    fn scrolling_down_fetches_and_keeps_the_window_bounded() {
        let (store, mut w) = window(5_000, PAGE);
        assert_eq!(w.rows().first(), Some(&5_000));
        assert!(w.at_top());
        for _ in 0..3_000 {
            w.move_by(&store, 1).unwrap();
        }
        assert_eq!(w.selected(), Some(&2_000));
        assert!(w.rows().len() <= CAP);
        assert!(!w.at_top());
        for _ in 0..2_500 {
            w.move_by(&store, -1).unwrap();
        }
        assert_eq!(w.selected(), Some(&4_500));
        w.move_by(&store, -10_000).unwrap();
        while w.selected() != Some(&5_000) {
            w.move_by(&store, -(PAGE as isize)).unwrap();
        }
        assert!(w.at_top());
    }

    #[test]
    fn bottom_and_top_jump_to_the_ends() {
        let (store, mut w) = window(1_000, PAGE);
        w.bottom(&store).unwrap();
        assert_eq!(w.selected(), Some(&1));
        assert!(w.at_bottom());
        w.move_by(&store, -3).unwrap();
        assert_eq!(w.selected(), Some(&4));
        w.top(&store).unwrap();
        assert_eq!(w.selected(), Some(&1_000));
    }

    #[test]
    fn a_feed_cut_short_is_stepped_until_the_page_is_full() {
        let (store, mut w) = window(1_000, 7);
        assert!(w.rows().len() >= PAGE, "{}", w.rows().len());
        assert!(!w.wants_more());
        w.move_by(&store, PAGE as isize).unwrap();
        assert!(w.wants_more());
        while w.wants_more() {
            w.step(&store).unwrap();
        }
        assert!(w.rows().len() >= 2 * PAGE);
    }

    #[test]
    fn live_rows_appear_on_top_and_the_selection_stays_on_its_row() {
        let (store, mut w) = window(10, PAGE);
        w.move_by(&store, 2).unwrap();
        assert_eq!(w.selected(), Some(&8));
        w.feed.n = 13;
        w.live(&store).unwrap();
        assert_eq!(w.rows().first(), Some(&13));
        assert_eq!(w.selected(), Some(&8));
    }
}
