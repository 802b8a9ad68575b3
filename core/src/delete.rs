//! Recursive delete: a subtree, children first, keeping ephemeral nodes unless forced.
//!
//! Deciding is pure ([`plan_delete`] over a [`Snapshot`]), so import's trim uses the very same
//! rules; [`delete_recursive`] reads the subtree, decides, and sends the deletes.
//!
//! **Rules** (zc.zk's): children are handled before their parent, in name order. An ephemeral
//! node is kept (unless `force`) and so is every ancestor of a kept node, each with a message.
//! `/` itself, `/zookeeper` and the nodes below it are never deleted.
//!
//! **Requests.** Reading costs what [`snapshot::read`] costs (one `get_data` per node plus one
//! `get_children` per node with children). Then one `delete` per node, each conditional on the
//! version read, level by level from the deepest: all deletes of a level are in flight together
//! (up to the window), and a level starts once the one below it is answered. A node already
//! gone when its delete arrives is not an error; a node changed or given a new child meanwhile
//! stops the delete with an error naming it, and no level above it is sent.

use std::fmt;

use crate::path::{self, PathError};
use crate::pipeline::{self, Limits, Write};
use crate::snapshot::{self, Snapshot, SnapshotOptions, DEFAULT_WINDOW};
use crate::store::{Store, StoreError};

/// What recursive delete does (or would do) to one node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeleteNote {
    /// The node is deleted.
    Deleted(String),
    /// The node is ephemeral and is kept.
    EphemeralKept(String),
    /// The node is kept because an ephemeral node below it is kept.
    KeptForDescendant(String),
}

impl DeleteNote {
    /// The node the note is about.
    pub fn path(&self) -> &str {
        match self {
            DeleteNote::Deleted(p) | DeleteNote::EphemeralKept(p) | DeleteNote::KeptForDescendant(p) => p,
        }
    }

    /// The report line, as zc.zk words it, for a dry run or a real delete (a real deletion
    /// is not reported, so `None`).
    pub fn message(&self, dry_run: bool) -> Option<String> {
        match (self, dry_run) {
            (DeleteNote::Deleted(p), true) => Some(format!("would delete {p}.")),
            (DeleteNote::Deleted(_), false) => None,
            (DeleteNote::EphemeralKept(p), true) => {
                Some(format!("wouldn't delete {p} because it's ephemeral."))
            }
            (DeleteNote::EphemeralKept(p), false) => {
                Some(format!("Not deleting {p} because it's ephemeral."))
            }
            (DeleteNote::KeptForDescendant(p), _) => {
                Some(format!("{p} not deleted due to ephemeral descendent."))
            }
        }
    }
}

/// One planned delete: the node and the version it was read with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlannedDelete {
    /// The node.
    pub path: String,
    /// Its data version when read; the delete fails if it changed.
    pub version: i32,
}

/// What a recursive delete will do: the deletes, children first, and a note per node, in
/// report order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletePlan {
    /// The deletes, each node after all of its children.
    pub deletes: Vec<PlannedDelete>,
    /// What happens to each node, children first in name order.
    pub notes: Vec<DeleteNote>,
}

impl DeletePlan {
    /// The report lines (see [`DeleteNote::message`]).
    pub fn messages(&self, dry_run: bool) -> Vec<String> {
        self.notes.iter().filter_map(|n| n.message(dry_run)).collect()
    }
}

/// How [`plan_delete`] treats ephemeral nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteRules {
    /// Delete ephemeral nodes too.
    pub force: bool,
    /// When the top node itself is ephemeral (and not forced), keep it without a word (trim's
    /// rule for an extra that is a registered server).
    pub quiet_if_ephemeral: bool,
}

/// Decides what deleting the subtree at `top` does, from a snapshot holding it. Pure.
///
/// Nodes missing from the snapshot are taken as already gone.
pub fn plan_delete(snapshot: &Snapshot, top: &str, rules: DeleteRules) -> DeletePlan {
    let mut plan = DeletePlan::default();
    let Some(top_node) = snapshot.get(top) else { return plan };
    if top == "/zookeeper" || top.starts_with("/zookeeper/") {
        return plan; // ZooKeeper's own nodes, which the server does not let clients delete
    }
    if rules.quiet_if_ephemeral && !rules.force && top_node.stat.is_ephemeral() {
        return plan;
    }

    // Post-order walk with an explicit stack (subtrees can be deeper than the call stack).
    struct Frame<'s> {
        path: String,
        children: Vec<&'s str>,
        next: usize,
        kept_below: bool,
    }
    let frame = |path: String| {
        let children = snapshot
            .get(&path)
            .map(|n| {
                n.child_names()
                    .iter()
                    .map(String::as_str)
                    .filter(|c| path != "/" || *c != "zookeeper")
                    .collect()
            })
            .unwrap_or_default();
        Frame { path, children, next: 0, kept_below: false }
    };
    let mut stack = vec![frame(top.to_string())];
    while let Some(top_frame) = stack.last_mut() {
        if top_frame.next < top_frame.children.len() {
            let child = path::child(&top_frame.path, top_frame.children[top_frame.next]);
            top_frame.next += 1;
            if snapshot.get(&child).is_some() {
                stack.push(frame(child));
            }
            continue;
        }
        let Some(done) = stack.pop() else { break };
        let kept = decide(snapshot, &done.path, done.kept_below, rules.force, &mut plan);
        if let Some(parent) = stack.last_mut() {
            parent.kept_below |= kept;
        }
    }
    plan
}

/// Decides for one node whose children are decided; returns true when the node is kept
/// because of an ephemeral (itself or below).
fn decide(snapshot: &Snapshot, path: &str, kept_below: bool, force: bool, plan: &mut DeletePlan) -> bool {
    if path == "/" {
        return kept_below; // never deleted, and nothing to say about it
    }
    if kept_below {
        plan.notes.push(DeleteNote::KeptForDescendant(path.to_string()));
        return true;
    }
    let Some(node) = snapshot.get(path) else { return false };
    if node.stat.is_ephemeral() && !force {
        plan.notes.push(DeleteNote::EphemeralKept(path.to_string()));
        return true;
    }
    plan.deletes.push(PlannedDelete { path: path.to_string(), version: node.stat.version });
    plan.notes.push(DeleteNote::Deleted(path.to_string()));
    false
}

/// Options of [`delete_recursive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Only say what would be done.
    pub dry_run: bool,
    /// Delete ephemeral nodes too.
    pub force: bool,
    /// Most requests in flight at once, reading and deleting.
    pub window: usize,
    /// Most deletes per `multi` request (1: one request per delete). A batch that meets a node
    /// already gone is sent again one delete at a time.
    pub batch: usize,
}

impl Default for DeleteOptions {
    fn default() -> Self {
        DeleteOptions { dry_run: false, force: false, window: DEFAULT_WINDOW, batch: pipeline::DEFAULT_BATCH }
    }
}

/// What a recursive delete did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteReport {
    /// The report lines, in order (see [`DeleteNote::message`]); the library never prints them.
    pub lines: Vec<String>,
    /// Nodes deleted (0 for a dry run).
    pub deleted: usize,
    /// Nodes that were already gone when their delete arrived.
    pub vanished: usize,
}

/// Why a recursive delete failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeleteError {
    /// The path is not a valid path.
    #[error(transparent)]
    Path(#[from] PathError),
    /// Reading the subtree failed (`NoNode` when the path does not exist).
    #[error(transparent)]
    Read(StoreError),
    /// A delete failed (the node changed or got a new child meanwhile, or the session may not
    /// delete it); nothing was sent after the failure was seen.
    #[error("delete stopped after {deleted} node(s): {}", crate::store::summarize(.failures))]
    Stopped {
        /// The failed deletes, in order.
        failures: Vec<StoreError>,
        /// Nodes deleted before stopping (including deletes already in flight).
        deleted: usize,
        /// Deletes never sent.
        not_sent: usize,
    },
}

impl fmt::Display for DeletePlan {
    /// The dry-run report, one line each.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.messages(true) {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// Deletes the subtree at `path`, children first (see the module docs for rules, messages and
/// requests). `/` and `/zookeeper` are never deleted.
#[tracing::instrument(level = "debug", skip(store))]
pub async fn delete_recursive<S: Store + ?Sized>(
    store: &S,
    path: &str,
    options: &DeleteOptions,
) -> Result<DeleteReport, DeleteError> {
    let path = path::normalize(path)?;
    path::validate(&path)?;
    let read_options = SnapshotOptions { window: options.window, skip_zookeeper: true, ..Default::default() };
    let snapshot = snapshot::read(store, &path, &read_options, None).await.map_err(DeleteError::Read)?;
    let plan = plan_delete(&snapshot, &path, DeleteRules { force: options.force, quiet_if_ephemeral: false });
    let lines = plan.messages(options.dry_run);
    if options.dry_run {
        return Ok(DeleteReport { lines, deleted: 0, vanished: 0 });
    }
    let deletes = plan.deletes.iter().map(|d| Write::Delete { path: &d.path, version: d.version });
    let levels = pipeline::by_level(deletes, true);
    let limits = Limits { window: options.window, batch: options.batch };
    let sent = pipeline::send_phases(store, &levels, limits, None).await;
    if !sent.failures.is_empty() {
        return Err(DeleteError::Stopped {
            failures: sent.failures,
            deleted: sent.applied,
            not_sent: sent.not_sent,
        });
    }
    Ok(DeleteReport { lines, deleted: sent.applied, vanished: sent.vanished })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::NodeState;
    use crate::store::Stat;

    fn snap(nodes: &[(&str, bool)]) -> Snapshot {
        let mut s = Snapshot::new(nodes[0].0);
        for (path, ephemeral) in nodes {
            let stat = Stat { ephemeral_owner: i64::from(*ephemeral), version: 3, ..Stat::default() };
            s.insert(*path, NodeState::new(b"", stat));
        }
        s
    }

    #[test]
    fn children_are_deleted_first_in_name_order() {
        let s = snap(&[("/a", false), ("/a/c", false), ("/a/b", false), ("/a/b/x", false)]);
        let plan = plan_delete(&s, "/a", DeleteRules::default());
        let order: Vec<&str> = plan.deletes.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(order, ["/a/b/x", "/a/b", "/a/c", "/a"]);
        assert!(plan.deletes.iter().all(|d| d.version == 3));
        assert_eq!(
            plan.messages(true),
            ["would delete /a/b/x.", "would delete /a/b.", "would delete /a/c.", "would delete /a."]
        );
        assert!(plan.messages(false).is_empty());
    }

    #[test]
    fn ephemerals_and_their_ancestors_are_kept_with_messages() {
        let s =
            snap(&[("/f", false), ("/f/p", false), ("/f/p/e1", true), ("/f/p/e2", true), ("/f/q", false)]);
        let plan = plan_delete(&s, "/f", DeleteRules::default());
        assert_eq!(plan.deletes, [PlannedDelete { path: "/f/q".into(), version: 3 }]);
        assert_eq!(
            plan.messages(false),
            [
                "Not deleting /f/p/e1 because it's ephemeral.",
                "Not deleting /f/p/e2 because it's ephemeral.",
                "/f/p not deleted due to ephemeral descendent.",
                "/f not deleted due to ephemeral descendent.",
            ]
        );
        assert_eq!(
            plan.messages(true),
            [
                "wouldn't delete /f/p/e1 because it's ephemeral.",
                "wouldn't delete /f/p/e2 because it's ephemeral.",
                "/f/p not deleted due to ephemeral descendent.",
                "would delete /f/q.",
                "/f not deleted due to ephemeral descendent.",
            ]
        );
    }

    #[test]
    fn force_deletes_ephemerals() {
        let s = snap(&[("/f", false), ("/f/e", true)]);
        let plan = plan_delete(&s, "/f", DeleteRules { force: true, quiet_if_ephemeral: false });
        assert_eq!(plan.deletes.len(), 2);
        assert!(plan.messages(false).is_empty());
    }

    #[test]
    fn root_and_zookeeper_are_never_deleted() {
        let s = snap(&[("/", false), ("/a", false), ("/zookeeper", false), ("/zookeeper/quota", false)]);
        let plan = plan_delete(&s, "/", DeleteRules { force: true, quiet_if_ephemeral: false });
        assert_eq!(plan.deletes, [PlannedDelete { path: "/a".into(), version: 3 }]);
        assert_eq!(plan.messages(true), ["would delete /a."]);
        for top in ["/zookeeper", "/zookeeper/quota"] {
            let plan = plan_delete(&s, top, DeleteRules { force: true, quiet_if_ephemeral: false });
            assert_eq!(plan, DeletePlan::default(), "{top}");
        }
    }

    #[test]
    fn root_with_ephemeral_descendant_says_nothing_about_root() {
        let s = snap(&[("/", false), ("/e", true)]);
        let plan = plan_delete(&s, "/", DeleteRules::default());
        assert_eq!(plan.messages(false), ["Not deleting /e because it's ephemeral."]);
    }

    #[test]
    fn quiet_top_ephemeral_is_kept_silently() {
        let s = snap(&[("/e", true)]);
        let plan = plan_delete(&s, "/e", DeleteRules { force: false, quiet_if_ephemeral: true });
        assert_eq!(plan, DeletePlan::default());
    }

    #[test]
    fn missing_top_plans_nothing() {
        let s = snap(&[("/a", false)]);
        assert_eq!(plan_delete(&s, "/b", DeleteRules::default()), DeletePlan::default());
    }
}
