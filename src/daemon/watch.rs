//! File events in inbox folders, turned into "look at this profile's inbox" wake-ups.
//!
//! A notify watcher (inotify on Linux) reports every change in a watched inbox; events for
//! names a profile could take (its pattern, or the done marker of such a name) become that
//! profile's index. A [`Debouncer`] coalesces a burst of those (a copy in many writes, a
//! rename, a marker) into one wake-up after a quiet period, and never delays one longer than
//! a cap, so a busy folder cannot starve its profile.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use globset::GlobMatcher;
use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::{mpsc, Notify};

use crate::kernel::stop::StopFlag;

/// Quiet time after the last event of a burst before the profile is woken.
pub const QUIET: Duration = Duration::from_millis(500);

/// Longest a wake-up is held back while events keep coming.
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// One inbox folder and the profile it feeds.
#[derive(Debug, Clone)]
pub struct Inbox {
    /// Index of the profile (in the daemon's list).
    pub profile: usize,
    /// The folder, as resolved from the profile (events carry paths under it).
    pub dir: PathBuf,
    pub pattern: GlobMatcher,
    pub done_marker: Option<String>,
}

impl Inbox {
    /// Whether a change to `path` may concern this inbox: a file in it whose name matches the
    /// pattern, or the done marker of such a file.
    pub fn wants(&self, path: &Path) -> bool {
        if path.parent() != Some(self.dir.as_path()) {
            return false;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        let base = self
            .done_marker
            .as_deref()
            .and_then(|m| name.strip_suffix(m))
            .filter(|b| !b.is_empty());
        self.pattern.is_match(name) || base.is_some_and(|b| self.pattern.is_match(b))
    }
}

/// Watches inbox folders and sends the index of each concerned profile into a channel.
pub struct InboxWatcher {
    watcher: RecommendedWatcher,
    folders: BTreeSet<PathBuf>,
    watched: BTreeSet<PathBuf>,
}

impl InboxWatcher {
    /// A watcher for `inboxes`, sending to `tx`; call [`InboxWatcher::watch_missing`] to add
    /// the watches.
    pub fn new(inboxes: Vec<Inbox>, tx: mpsc::UnboundedSender<usize>) -> notify::Result<Self> {
        let folders = inboxes.iter().map(|i| i.dir.clone()).collect();
        let inboxes = Arc::new(inboxes);
        let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            for profile in concerned(&inboxes, res) {
                // The receiver is gone only during shutdown, when nothing needs waking.
                let _ = tx.send(profile);
            }
        })?;
        Ok(InboxWatcher {
            watcher,
            folders,
            watched: BTreeSet::new(),
        })
    }

    /// Adds a watch on each inbox folder not watched yet (e.g. one created after start);
    /// returns the folders that could not be watched, with why.
    pub fn watch_missing(&mut self) -> Vec<(PathBuf, notify::Error)> {
        let mut failed = Vec::new();
        for dir in self.folders.difference(&self.watched.clone()) {
            match self.watcher.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(dir.clone());
                }
                Err(e) => failed.push((dir.clone(), e)),
            }
        }
        failed
    }
}

/// The profiles one notify report concerns. Reads (opening, reading, closing without
/// writing) and names leaving the folder never do: the daemon's own passes read inbox files
/// and move them to the archive, and a file going away makes nothing ready. An error or an
/// overflowed event queue concerns every profile, which then rescans.
fn concerned(inboxes: &[Inbox], res: notify::Result<notify::Event>) -> BTreeSet<usize> {
    let event = match res {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, "file watch error; rescanning every watched inbox");
            return inboxes.iter().map(|i| i.profile).collect();
        }
    };
    if event.need_rescan() {
        return inboxes.iter().map(|i| i.profile).collect();
    }
    let arrived: &[PathBuf] = match event.kind {
        EventKind::Access(kind) if kind != AccessKind::Close(AccessMode::Write) => &[],
        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(RenameMode::From)) => &[],
        // (from, to): only the new name can be a file to take.
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            event.paths.get(1..).unwrap_or_default()
        }
        _ => &event.paths,
    };
    inboxes
        .iter()
        .filter(|i| arrived.iter().any(|p| i.wants(p)))
        .map(|i| i.profile)
        .collect()
}

/// Coalesces events per profile: a profile is due once no event came for `quiet`, or once
/// its first pending event is `max_delay` old.
#[derive(Debug)]
pub struct Debouncer {
    quiet: Duration,
    max_delay: Duration,
    /// Profile → (first, last) event time of its pending burst.
    pending: BTreeMap<usize, (Instant, Instant)>,
}

impl Debouncer {
    pub fn new(quiet: Duration, max_delay: Duration) -> Debouncer {
        Debouncer {
            quiet,
            max_delay,
            pending: BTreeMap::new(),
        }
    }

    /// Records an event for `profile` at `at`.
    pub fn note(&mut self, profile: usize, at: Instant) {
        self.pending
            .entry(profile)
            .and_modify(|(_, last)| *last = at)
            .or_insert((at, at));
    }

    /// When the next pending burst falls due, if any is pending.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|&(first, last)| self.due_at(first, last))
            .min()
    }

    /// Removes and returns the profiles due at `now`, in index order.
    pub fn take_due(&mut self, now: Instant) -> Vec<usize> {
        let due: Vec<usize> = self
            .pending
            .iter()
            .filter(|(_, &(first, last))| self.due_at(first, last) <= now)
            .map(|(&p, _)| p)
            .collect();
        for p in &due {
            self.pending.remove(p);
        }
        due
    }

    fn due_at(&self, first: Instant, last: Instant) -> Instant {
        (last + self.quiet).min(first + self.max_delay)
    }
}

/// Feeds profile indexes from `rx` through a debouncer and wakes `wakes[index]` when due,
/// until `stop` is set or every sender is gone.
pub async fn forward(
    mut rx: mpsc::UnboundedReceiver<usize>,
    mut debouncer: Debouncer,
    wakes: Vec<Arc<Notify>>,
    stop: StopFlag,
) {
    loop {
        let due = debouncer.next_due();
        let sleep = async {
            match due {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop.stopped() => return,
            got = rx.recv() => match got {
                Some(profile) => debouncer.note(profile, Instant::now()),
                None => return,
            },
            () = sleep => {
                for profile in debouncer.take_due(Instant::now()) {
                    if let Some(wake) = wakes.get(profile) {
                        wake.notify_one();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::dir::matcher;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_becomes_one_wake_after_the_quiet_period() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(500), ms(5000));
        for i in 0..10 {
            d.note(1, t0 + ms(i * 100));
        }
        d.note(2, t0 + ms(300));
        assert!(d.take_due(t0 + ms(700)).is_empty());
        assert_eq!(d.next_due(), Some(t0 + ms(800)));
        assert_eq!(d.take_due(t0 + ms(800)), [2]);
        assert!(d.take_due(t0 + ms(1399)).is_empty());
        assert_eq!(d.take_due(t0 + ms(1400)), [1]);
        assert_eq!(d.next_due(), None);
        assert!(d.take_due(t0 + ms(10_000)).is_empty());
    }

    #[test]
    fn endless_events_cannot_hold_a_profile_back_past_the_cap() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(500), ms(2000));
        let mut woken = Vec::new();
        for i in 0..60 {
            let now = t0 + ms(i * 100);
            d.note(7, now);
            woken.extend(d.take_due(now).into_iter().map(|_| i));
        }
        // Every 100 ms for 6 s: woken at 2 s and 4.1 s, never during each quiet-less stretch.
        assert_eq!(woken, [20, 41]);
    }

    #[test]
    fn only_names_a_profile_could_take_concern_it() {
        let dir = PathBuf::from("/srv/inbox/hires");
        let inbox = Inbox {
            profile: 0,
            dir: dir.clone(),
            pattern: matcher("hires_*.csv").unwrap(),
            done_marker: Some(".done".into()),
        };
        assert!(inbox.wants(&dir.join("hires_1.csv")));
        assert!(inbox.wants(&dir.join("hires_1.csv.done")));
        assert!(!inbox.wants(&dir.join("other.csv")));
        assert!(!inbox.wants(&dir.join(".done")));
        assert!(!inbox.wants(Path::new("/srv/inbox/other/hires_1.csv")));
    }

    #[test]
    fn files_leaving_the_inbox_are_not_events_but_arriving_ones_are() {
        let dir = PathBuf::from("/in");
        let inboxes = [Inbox {
            profile: 0,
            dir: dir.clone(),
            pattern: matcher("*.csv").unwrap(),
            done_marker: None,
        }];
        let ev = |kind, paths: Vec<PathBuf>| {
            let mut e = notify::Event::new(kind);
            e.paths = paths;
            Ok(e)
        };
        let (inside, outside) = (dir.join("a.csv"), PathBuf::from("/archive/a.csv"));
        let removed = EventKind::Remove(notify::event::RemoveKind::File);
        assert!(concerned(&inboxes, ev(removed, vec![inside.clone()])).is_empty());
        let moved_away = EventKind::Modify(ModifyKind::Name(RenameMode::From));
        assert!(concerned(&inboxes, ev(moved_away, vec![inside.clone()])).is_empty());
        let both = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        assert!(concerned(&inboxes, ev(both, vec![inside.clone(), outside.clone()])).is_empty());
        assert_eq!(
            concerned(&inboxes, ev(both, vec![outside, inside.clone()])).len(),
            1
        );
        let moved_in = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert_eq!(concerned(&inboxes, ev(moved_in, vec![inside])).len(), 1);
    }

    #[test]
    fn reads_are_not_events_but_writes_are() {
        let dir = PathBuf::from("/in");
        let inboxes = [Inbox {
            profile: 3,
            dir: dir.clone(),
            pattern: matcher("*.csv").unwrap(),
            done_marker: None,
        }];
        let ev = |kind| Ok(notify::Event::new(kind).add_path(dir.join("a.csv")));
        let read = EventKind::Access(AccessKind::Close(AccessMode::Read));
        assert!(concerned(&inboxes, ev(read)).is_empty());
        let written = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert_eq!(
            concerned(&inboxes, ev(written))
                .into_iter()
                .collect::<Vec<_>>(),
            [3]
        );
        let created = EventKind::Create(notify::event::CreateKind::File);
        assert_eq!(concerned(&inboxes, ev(created)).len(), 1);
    }

    #[tokio::test]
    async fn forward_wakes_the_profile_once_per_burst() {
        let (tx, rx) = mpsc::unbounded_channel();
        let stop = StopFlag::new();
        let wakes = vec![Arc::new(Notify::new()), Arc::new(Notify::new())];
        let task = tokio::spawn(forward(
            rx,
            Debouncer::new(ms(100), ms(1000)),
            wakes.clone(),
            stop.clone(),
        ));
        for _ in 0..5 {
            tx.send(1).unwrap();
            tokio::time::sleep(ms(50)).await;
        }
        tokio::time::timeout(ms(1000), wakes[1].notified())
            .await
            .expect("profile 1 woken");
        // One burst, one wake: no second permit is stored.
        assert!(tokio::time::timeout(ms(300), wakes[1].notified())
            .await
            .is_err());
        assert!(tokio::time::timeout(ms(10), wakes[0].notified())
            .await
            .is_err());
        stop.stop();
        task.await.unwrap();
    }
}
