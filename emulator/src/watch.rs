//! Watches: who is told what when a node changes.
//!
//! Each watch is one entry (a path, the owning session, a kind and the channel to its
//! receiver). The events a change produces and who receives them follow the server's
//! `WatchManager` together with the client's dispatch (as `zookeeper-client` does it):
//!
//! | change of `P` (parent `Q`) | event to watches on `P` | to watches on `Q` | recursive on ancestors of `P` |
//! |---|---|---|---|
//! | create | `NodeCreated`: data, exists, persistent, recursive | `NodeChildrenChanged`: child, persistent | `NodeCreated` |
//! | delete | `NodeDeleted`: every kind | `NodeChildrenChanged`: child, persistent | `NodeDeleted` |
//! | set data | `NodeDataChanged`: data, exists, persistent, recursive | — | `NodeDataChanged` |
//!
//! One-shot watches are removed when they fire; persistent ones stay until their receiver is
//! dropped or the session ends. Events are sent while the change is applied (under the
//! emulator's lock), so a receiver always has the event before any reply that shows the change.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use tokio::sync::{mpsc, oneshot};
use zczk_core::store::{EventKind, OneshotWatch, SessionState, WatchEvent, WatchMode};

use crate::path;
use crate::tree::Tree;

/// What a watch was set by, which decides the events it wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchKind {
    /// `get_data_watch`, or `exists_watch` on a node that exists.
    Data,
    /// `exists_watch` on a node that does not exist.
    Exist,
    /// `get_children_watch`.
    Child,
    /// `add_watch(Persistent)`.
    Persistent,
    /// `add_watch(PersistentRecursive)`.
    Recursive,
}

impl WatchKind {
    /// True when a watch of this kind on `P` wants `event` about `P` itself (`exact`) or about
    /// a node below `P`.
    fn wants(self, event: EventKind, exact: bool) -> bool {
        if !exact {
            return self == WatchKind::Recursive && event != EventKind::NodeChildrenChanged;
        }
        match event {
            EventKind::NodeCreated | EventKind::NodeDataChanged => self != WatchKind::Child,
            EventKind::NodeChildrenChanged => matches!(self, WatchKind::Child | WatchKind::Persistent),
            EventKind::NodeDeleted | EventKind::SessionEnded(_) | EventKind::Reconnected => true,
        }
    }

    fn is_oneshot(self) -> bool {
        matches!(self, WatchKind::Data | WatchKind::Exist | WatchKind::Child)
    }
}

impl From<WatchMode> for WatchKind {
    fn from(mode: WatchMode) -> WatchKind {
        match mode {
            WatchMode::Persistent => WatchKind::Persistent,
            WatchMode::PersistentRecursive => WatchKind::Recursive,
        }
    }
}

enum Sink {
    /// `None` once used up.
    Once(Option<oneshot::Sender<WatchEvent>>),
    Stream(mpsc::UnboundedSender<WatchEvent>),
}

impl Sink {
    fn is_closed(&self) -> bool {
        match self {
            Sink::Once(tx) => !tx.as_ref().is_some_and(|tx| !tx.is_closed()),
            Sink::Stream(tx) => tx.is_closed(),
        }
    }
}

struct Entry {
    id: u64,
    session: i64,
    kind: WatchKind,
    sink: Sink,
}

/// Every watch of the emulator, by watched path.
#[derive(Default)]
pub struct Watches {
    by_path: HashMap<String, Vec<Entry>>,
    /// Number of recursive watches: when 0, a change need not look at ancestors.
    recursive: usize,
    next_id: u64,
}

/// A change that a watch may want to hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What happened.
    pub kind: EventKind,
    /// To which node.
    pub path: String,
}

impl Watches {
    fn add(&mut self, path: &str, session: i64, kind: WatchKind, sink: Sink) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        if kind == WatchKind::Recursive {
            self.recursive += 1;
        }
        self.by_path.entry(path.to_string()).or_default().push(Entry { id, session, kind, sink });
        id
    }

    /// True when any watch is registered (a change with no watches to tell need not record
    /// its events).
    pub fn has_any(&self) -> bool {
        !self.by_path.is_empty()
    }

    /// Adds a one-shot watch and returns its receiver.
    pub fn add_oneshot(&mut self, path: &str, session: i64, kind: WatchKind) -> OneshotWatch {
        let (tx, rx) = oneshot::channel();
        self.add(path, session, kind, Sink::Once(Some(tx)));
        let path = path.to_string();
        OneshotWatch::new(async move {
            // The sender only goes away without a word if the emulator itself is gone.
            rx.await.unwrap_or(WatchEvent { kind: EventKind::SessionEnded(SessionState::Closed), path })
        })
    }

    /// Adds a persistent watch; returns its id (to remove it) and its receiver.
    pub fn add_persistent(
        &mut self,
        path: &str,
        session: i64,
        mode: WatchMode,
    ) -> (u64, mpsc::UnboundedReceiver<WatchEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (self.add(path, session, mode.into(), Sink::Stream(tx)), rx)
    }

    /// Removes the watch `id` on `path` (a dropped persistent watch).
    pub fn remove(&mut self, path: &str, id: u64) {
        if let Some(entries) = self.by_path.get_mut(path) {
            if let Some(i) = entries.iter().position(|e| e.id == id) {
                let entry = entries.swap_remove(i);
                if entry.kind == WatchKind::Recursive {
                    self.recursive -= 1;
                }
            }
            if entries.is_empty() {
                self.by_path.remove(path);
            }
        }
    }

    /// Delivers `change` to the watches that want it. Watches of `suspended` (disconnected)
    /// sessions hear nothing: their one-shot watches stay for [`Watches::resume`], and events
    /// for their persistent watches are lost, as with a real server, which forgets a
    /// connection's watches when it drops and only re-adds persistent ones on reconnect.
    pub fn trigger(&mut self, change: &Change, suspended: &HashSet<i64>) {
        if self.by_path.is_empty() {
            return;
        }
        self.deliver(&change.path, change, true, suspended);
        if self.recursive > 0 && change.kind != EventKind::NodeChildrenChanged && change.path != "/" {
            for ancestor in path::self_and_ancestors(&change.path).skip(1) {
                self.deliver(ancestor, change, false, suspended);
            }
        }
    }

    fn deliver(&mut self, at: &str, change: &Change, exact: bool, suspended: &HashSet<i64>) {
        let Some(entries) = self.by_path.get_mut(at) else {
            return;
        };
        // The server keeps one persistent mode per path and session, the last one added: the
        // client hears only what that mode wants, and hands it to each of its persistent
        // watches on the path that wants it.
        let mut modes: Vec<(i64, u64, WatchKind)> = Vec::new();
        for entry in entries.iter().filter(|e| !e.kind.is_oneshot()) {
            match modes.iter_mut().find(|(session, _, _)| *session == entry.session) {
                Some(mode) if mode.1 < entry.id => *mode = (entry.session, entry.id, entry.kind),
                Some(_) => {}
                None => modes.push((entry.session, entry.id, entry.kind)),
            }
        }
        let mode_wants =
            |session: i64| modes.iter().any(|(s, _, kind)| *s == session && kind.wants(change.kind, exact));
        let mut removed_recursive = 0;
        entries.retain_mut(|entry| {
            let heard = entry.kind.is_oneshot() || mode_wants(entry.session);
            if !heard || !entry.kind.wants(change.kind, exact) || suspended.contains(&entry.session) {
                return true;
            }
            let event = WatchEvent { kind: change.kind, path: change.path.clone() };
            match &mut entry.sink {
                // A one-shot watch is used up by its event.
                Sink::Once(tx) => {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(event);
                    }
                    false
                }
                Sink::Stream(tx) => {
                    let alive = tx.send(event).is_ok();
                    if !alive && entry.kind == WatchKind::Recursive {
                        removed_recursive += 1;
                    }
                    alive
                }
            }
        });
        self.recursive -= removed_recursive;
        if entries.is_empty() {
            self.by_path.remove(at);
        }
    }

    /// Ends every watch of `session`: each receiver gets `SessionEnded(state)`, then the
    /// watch is gone (persistent streams end).
    pub fn end_session(&mut self, session: i64, state: SessionState) {
        let mut removed_recursive = 0;
        self.by_path.retain(|path, entries| {
            entries.retain_mut(|entry| {
                if entry.session != session {
                    return true;
                }
                if entry.kind == WatchKind::Recursive {
                    removed_recursive += 1;
                }
                let event = WatchEvent { kind: EventKind::SessionEnded(state), path: path.clone() };
                match &mut entry.sink {
                    Sink::Once(tx) => {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(event);
                        }
                    }
                    Sink::Stream(tx) => {
                        let _ = tx.send(event);
                    }
                }
                false
            });
            !entries.is_empty()
        });
        self.recursive -= removed_recursive;
    }

    /// Re-registers the one-shot watches of a session that reconnects, as the server's
    /// `setWatches` does with the last zxid the client saw (`seen`): a data watch fires
    /// `NodeDeleted` if its node is gone or `NodeDataChanged` if it changed after `seen`; an
    /// exists watch fires `NodeCreated` if its node now exists; a child watch fires
    /// `NodeDeleted` if its node is gone or `NodeChildrenChanged` if its children changed
    /// after `seen`. The others stay armed. Persistent watches, which never replay what they
    /// missed, get `Reconnected`.
    pub fn resume(&mut self, session: i64, tree: &Tree, seen: i64) {
        self.by_path.retain(|path, entries| {
            let node = tree.get(path);
            entries.retain_mut(|entry| {
                if entry.session != session {
                    return true;
                }
                if let Sink::Stream(tx) = &entry.sink {
                    let _ = tx.send(WatchEvent { kind: EventKind::Reconnected, path: path.clone() });
                    return true;
                }
                let kind = match (entry.kind, node) {
                    (WatchKind::Data, None) | (WatchKind::Child, None) => EventKind::NodeDeleted,
                    (WatchKind::Data, Some(n)) if n.mzxid > seen => EventKind::NodeDataChanged,
                    (WatchKind::Exist, Some(_)) => EventKind::NodeCreated,
                    (WatchKind::Child, Some(n)) if n.pzxid > seen => EventKind::NodeChildrenChanged,
                    _ => return true,
                };
                if let Sink::Once(Some(tx)) = std::mem::replace(&mut entry.sink, Sink::Once(None)) {
                    let _ = tx.send(WatchEvent { kind, path: path.clone() });
                }
                false
            });
            !entries.is_empty()
        });
    }

    /// Forgets one-shot watches whose receiver was dropped: nobody can hear them any more.
    fn prune(&mut self) {
        self.by_path.retain(|_, entries| {
            entries.retain(|entry| !(entry.kind.is_oneshot() && entry.sink.is_closed()));
            !entries.is_empty()
        });
    }

    /// Number of watches someone can still hear (one-shot watches whose receiver was dropped
    /// are forgotten first).
    pub fn count(&mut self) -> usize {
        self.prune();
        self.by_path.values().map(Vec::len).sum()
    }

    /// The watches the server keeps in its data table (all but child watches; a persistent
    /// watch is in both tables): the paths each session watches, by session.
    pub fn data_table(&mut self) -> BTreeMap<i64, BTreeSet<String>> {
        self.prune();
        let mut table: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
        for (path, entries) in &self.by_path {
            for entry in entries.iter().filter(|e| e.kind != WatchKind::Child) {
                table.entry(entry.session).or_default().insert(path.clone());
            }
        }
        table
    }

    /// As [`Watches::count`], for one session.
    pub fn count_for(&mut self, session: i64) -> usize {
        self.prune();
        self.by_path.values().flatten().filter(|e| e.session == session).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interest_follows_the_server_and_client_rules() {
        use EventKind::*;
        use WatchKind::*;
        assert!(Data.wants(NodeDataChanged, true));
        assert!(!Data.wants(NodeChildrenChanged, true));
        assert!(Child.wants(NodeDeleted, true));
        assert!(!Child.wants(NodeCreated, true));
        assert!(Persistent.wants(NodeChildrenChanged, true));
        assert!(!Persistent.wants(NodeCreated, false));
        assert!(Recursive.wants(NodeCreated, false));
        assert!(!Recursive.wants(NodeChildrenChanged, false));
        assert!(!Recursive.wants(NodeChildrenChanged, true));
    }
}
