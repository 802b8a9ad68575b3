//! Importing tree text into ZooKeeper: parse, read, plan, then apply (or report, for a dry run).
//!
//! Each step is its own function over plain values, so each can be used and tested alone:
//!
//! 1. [`tree::check_for_import`] the whole text (a parse error, including a node ZooKeeper
//!    would refuse, changes nothing);
//! 2. [`check`] the names and sizes, then read a [`Snapshot`] of the subtree at the import path;
//! 3. [`plan`] (pure): what to create, update, re-ACL and trim, with the versions read, and
//!    the report lines;
//! 4. [`apply`] the plan, or show [`Plan::report`] for a dry run.
//!
//! [`read`] (which does step 2's reading), [`plan`] and [`apply`] are the steps one by one,
//! over the whole tree.
//!
//! **Streaming.** [`import_tree`] does all four a group of top-level nodes at a time: it
//! parses, reads and plans top-level nodes of the text (in name order) until the group's plan
//! holds [`ApplyOptions::group`] writes or more, applies that plan, and meanwhile parses, reads and
//! plans the next group. So writing starts early, the server works while the next group is
//! planned, and what is held is the text, a few groups' plans and the requests in flight, not
//! the whole tree's plan (a single top-level node's subtree is never split: it is one group
//! however large it is). A dry run reports group after group too, holding only the report.
//! With [`ApplyOptions::atomic`] the whole text is one group (one `multi` holds it all).
//! Each top-level node of a text is parsed on Tokio's blocking pool, so on a machine with
//! more than one core parsing goes on beside the writes (a long text's check is split
//! over the cores too: see [`tree::check_for_server`]).
//!
//! **What a failure leaves.** The whole text is checked before anything is read, so bad text
//! writes nothing. A group is sent only once the group before it was applied without a failure,
//! and within a group [`apply`]'s order and guarantees hold (a child's create is sent only
//! after its parent's create succeeded; a node changed by another client is never overwritten).
//! What only the tree can tell is found as each group is planned, and stops the import there,
//! with the groups before it written and nothing of it or after it: a node of the text below an
//! existing ephemeral node ([`ImportError::EphemeralParent`]), data too long for the store's own
//! request limit ([`ImportError::DataTooLarge`], which the chroot can make shorter than the
//! check's), a failed read. A write that fails (a concurrent client created, changed or deleted
//! a node) stops the import likewise: the groups before it are written, its own writes as
//! [`apply`] describes, nothing after it. Running the import again finishes the job.
//!
//! **Requests.** Reading (see [`snapshot`]) costs, per existing node of the
//! text, one data read and one `get_acl` (only when [`ImportOptions::acl`] is given or the
//! text gives the node an ACL), plus
//! one children read when it has children; per extra node one data read (to see whether it is
//! ephemeral; with [`Extras::Trim`] its whole subtree is read); nothing for the children of the
//! import point that the text does not name ([`import_tree`] reads the data of the import
//! point's children that the text names twice: once to see which exist, once with their
//! subtree). Data and children reads travel 100 to a request
//! (`multi_read`); ACL reads one per request. Applying sends one write per node that differs
//! and nothing for a node that already matches, so an unchanged re-import writes nothing;
//! writes travel in `multi` batches (see [`apply`], also for what happens when one fails).
//!
//! **Differences from zc.zk.** Only what differs is written; updates and deletes are
//! conditional on the versions read (a concurrent change stops the import instead of being
//! overwritten); new nodes below a new node are reported in a dry run (`add /x/y`); an extra
//! node that is itself ephemeral is never reported; ACLs of existing nodes are really changed.

mod apply;
mod error;
mod multi;
mod plan;
mod report;

pub use crate::pipeline::DEFAULT_BATCH;
pub use apply::{apply, Applied, ApplyOptions};
pub use error::ImportError;
pub use plan::{check, check_for_server, plan, Plan, PlannedAclChange, PlannedCreate, PlannedUpdate};
pub use report::ReportLine;

use std::borrow::Cow;

use futures::channel::mpsc;
use futures::stream::{self, StreamExt};
use futures::SinkExt;
use parking_lot::Mutex;

use crate::snapshot::{self, Snapshot, SnapshotOptions, Visit};
use crate::store::{Acl, Code, Store};
use crate::tree::{self, CheckedText, Node, TopText};

/// Writes planned before [`import_tree`] applies a group of top-level nodes, by default (see
/// [`ApplyOptions::group`]): a few windows of requests with the default batch and window, so
/// that the pauses between a group's tree levels (each level waits for the one above it) are
/// few, while a group's plan stays within about 20 MB.
pub const DEFAULT_GROUP: usize = 50_000;

/// Options of an import. The default reports extras, enforces no ACL on existing nodes, and
/// writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// What to do with extra nodes (see [`Extras`]).
    pub extras: Extras,
    /// The ACL to enforce on the nodes the text gives no ACL of their own (`acl` lines, which
    /// always win). `Some(acl)`: new nodes get `acl`, and so does every existing node
    /// of the text whose ACL differs (each one's ACL is read: one `get_acl` request per node,
    /// which ZooKeeper cannot batch). `None` (the default): new nodes get the open ACL and
    /// existing ACLs are left as they are and not read, so an import never widens an ACL
    /// that an administrator narrowed unless asked to, and an unchanged re-import costs
    /// only the batched data reads.
    pub acl: Option<Vec<Acl>>,
    /// Only report what would change (see [`Plan::report`]).
    pub dry_run: bool,
    /// How to write.
    pub apply: ApplyOptions,
}

/// What an import does with extra nodes: in ZooKeeper, below a node of the text, but not in
/// the text (never the children of the import point itself). An extra that is itself
/// ephemeral (a registered server) is always left alone, silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Extras {
    /// Leave each in place and report it as `extra path not trimmed: /a/b` (zc.zk's
    /// `trim=None`).
    #[default]
    Report,
    /// Delete each recursively, keeping ephemeral nodes, with recursive delete's messages
    /// (`trim=True`).
    Trim,
    /// Leave each in place silently (`trim=False`).
    Ignore,
}

/// What an import did. (The plans themselves are dropped group by group; see the module docs.)
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Imported {
    /// The writes planned ([`Plan::writes`] over all groups): made, or for a dry run, that
    /// would be made. 0 when the tree already matches the text.
    pub writes: usize,
    /// The report lines: [`Plan::report`] for a dry run, else [`Plan::notices`], in the order
    /// of one whole plan. The library never prints them.
    pub lines: Vec<String>,
    /// What was written (`None` for a dry run).
    pub applied: Option<Applied>,
    /// Nodes read to plan.
    pub nodes_read: usize,
}

/// Progress of an import, for a progress bar. Reading and writing overlap (see the module
/// docs), so the two kinds come interleaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Reading: nodes read so far.
    Read(usize),
    /// Writing: writes answered so far, of `total`.
    Written {
        /// Writes answered.
        done: usize,
        /// Writes planned so far (it grows as the text is planned).
        total: usize,
    },
}

/// A progress callback.
pub type ProgressFn<'p> = &'p mut (dyn FnMut(Progress) + Send);

/// Imports tree text under `path` (see the module docs). The text is checked completely first
/// ([`tree::check_for_server`], for the store's request limit): a parse error, a bad node
/// name, oversized data or a node in `/zookeeper` fails before anything is read or written, as
/// an [`ImportError::Parse`] with its line and column.
#[tracing::instrument(level = "debug", skip(store, text, progress))]
pub async fn import_tree<S: Store + ?Sized>(
    store: &S,
    text: &str,
    path: &str,
    options: &ImportOptions,
    progress: Option<ProgressFn<'_>>,
) -> Result<Imported, ImportError> {
    let text = tree::check_for_server(text, path, store.request_limit().max)
        .map_err(|mut errors| errors.swap_remove(0))?;
    import_checked(store, &text, options, progress).await
}

/// As [`import_tree`], for a text already checked, under the path it was checked for. Each
/// top-level node is parsed when it is planned, so the whole parsed tree is never held.
pub async fn import_checked<S: Store + ?Sized>(
    store: &S,
    text: &CheckedText<'_>,
    options: &ImportOptions,
    progress: Option<ProgressFn<'_>>,
) -> Result<Imported, ImportError> {
    let tops = text.tops().map(Top::Text).collect();
    import_tops(store, tops, text.import_path(), options, progress).await
}

/// As [`import_tree`], for a tree already parsed (its children are the top-level nodes). The
/// whole tree is checked first ([`check_for_server`], for the store's request limit): a tree
/// built in code that ZooKeeper would refuse writes nothing.
pub async fn import_parsed<S: Store + ?Sized>(
    store: &S,
    tree: &Node,
    path: &str,
    options: &ImportOptions,
    progress: Option<ProgressFn<'_>>,
) -> Result<Imported, ImportError> {
    check_for_server(tree, path, store.request_limit().max)?;
    let tops = tree.children.iter().map(|(name, node)| Top::Parsed(name, node)).collect();
    import_tops(store, tops, path, options, progress).await
}

/// One top-level node to import: parsed, or still text.
enum Top<'t> {
    Parsed(&'t str, &'t Node),
    Text(TopText<'t>),
}

impl Top<'_> {
    fn name(&self) -> &str {
        match self {
            Top::Parsed(name, _) => name,
            Top::Text(text) => text.name(),
        }
    }

    /// The node, parsed beside the import's other work (see [`TopText::parse_aside`]).
    async fn node(&self) -> Result<Cow<'_, Node>, ImportError> {
        match self {
            Top::Parsed(_, node) => Ok(Cow::Borrowed(*node)),
            Top::Text(text) => Ok(Cow::Owned(text.parse_aside(|node| node).await?)),
        }
    }

    /// `empty` with the creates and lines of this node at `path`, new with all its subtree:
    /// for a text, parsed and planned beside the import's other work, and dropped there.
    async fn plan_new(&self, path: String, empty: Plan) -> Result<Plan, ImportError> {
        let plan = move |node: &Node| {
            let mut plan = empty;
            plan::plan_new_subtree(&path, node, &mut plan).map(|()| plan)
        };
        match self {
            Top::Parsed(_, node) => plan(node),
            Top::Text(text) => text.parse_aside(move |node| plan(&node)).await?,
        }
    }
}

/// A top-level node of the text, ready for its group's plan.
enum Unit<'t> {
    /// New: its plan (see [`Top::plan_new`]).
    New(Plan),
    /// In ZooKeeper: the node, at its path, and its subtree as read.
    Read(String, Cow<'t, Node>, Snapshot),
}

/// The plan of a group of top-level nodes, with the number of nodes read to make it.
struct Group {
    plan: Plan,
    nodes_read: usize,
}

/// Imports the top-level nodes `tops` (in name order) under `path`, a group at a time (see
/// the module docs): [`plan_groups`] plans while this applies, the two joined in one task and
/// linked by a channel of one group, so at most three groups' plans are held at once.
async fn import_tops<S: Store + ?Sized>(
    store: &S,
    tops: Vec<Top<'_>>,
    path: &str,
    options: &ImportOptions,
    progress: Option<ProgressFn<'_>>,
) -> Result<Imported, ImportError> {
    let root = plan::import_point(path)?;
    // Only the import point: a text was checked by the parser, with line and column, and a
    // parsed tree by [`import_parsed`].
    check(&Node::default(), &root)?;
    // Both halves report progress.
    let progress = progress.map(Mutex::new);
    let report = |step: Progress| {
        if let Some(progress) = &progress {
            (progress.lock())(step);
        }
    };
    let group_writes = if options.apply.atomic { usize::MAX } else { options.apply.group.max(1) };
    let (sender, mut groups) = mpsc::channel::<Result<Group, ImportError>>(0);
    let planning = plan_groups(store, &tops, &root, options, group_writes, sender, &report);
    // Owns the receiver: when it stops at a failure, the planning's next send fails and the
    // planning stops too.
    let applying = async move {
        let mut imported =
            Imported { applied: (!options.dry_run).then(Applied::default), ..Imported::default() };
        while let Some(group) = groups.next().await {
            let Group { plan, nodes_read } = group?;
            imported.nodes_read += nodes_read;
            imported.writes += plan.writes();
            let Some(applied) = &mut imported.applied else {
                imported.lines.extend(plan.report());
                continue;
            };
            if !plan.is_empty() {
                let (base, total) = (applied.written() + applied.vanished, imported.writes);
                let mut on_write = |done: usize| report(Progress::Written { done: base + done, total });
                let group = apply(store, &plan, &options.apply, Some(&mut on_write))
                    .await
                    .map_err(|e| e.after(applied.written()))?;
                applied.add(&group);
            }
            imported.lines.extend(plan.notices());
        }
        Ok(imported)
    };
    let ((), imported) = futures::join!(planning, applying);
    imported
}

/// Top-level nodes of the text whose subtrees are read at once when planning (see
/// [`plan_groups`]); also the most subtree snapshots (and top-level nodes parsed from
/// text) held at once.
const CONCURRENT_READS: usize = 16;

/// [`read`] and [`plan`] one top-level node of the text at a time, so that only a few
/// subtrees' snapshots are held at once, not the whole tree's: the import point is read with
/// which of the text's top-level nodes exist, then each existing one's subtree (up to
/// [`CONCURRENT_READS`] at once, in name order) is read, planned and dropped. The plans of
/// consecutive top-level nodes are sent to `groups` as one once they hold `group_writes`
/// writes (and the last one however many it holds); together they make the plan [`plan`]
/// makes of a [`read`] snapshot. A failure is sent as the last item.
async fn plan_groups<S: Store + ?Sized>(
    store: &S,
    tops: &[Top<'_>],
    root: &str,
    options: &ImportOptions,
    group_writes: usize,
    mut groups: mpsc::Sender<Result<Group, ImportError>>,
    report: &(dyn Fn(Progress) + Sync),
) {
    let top_visit = |path: &str| {
        if path == root {
            return Some(Visit { children: true, acl: false });
        }
        let (_, name) = crate::path::split(path)?;
        let named = tops.binary_search_by(|top| top.name().cmp(name)).is_ok();
        named.then_some(Visit { children: false, acl: false })
    };
    let top_options = SnapshotOptions { visit: Some(&top_visit), ..read_options(options) };
    let top = match snapshot::read(store, root, &top_options, None).await {
        Ok(top) => top,
        Err(e) => {
            // Nothing was planned: the applying half has nothing to wait for.
            let _ = groups.send(Err(read_error(e, root))).await;
            return;
        }
    };

    let enforce_acl = options.acl.is_some();
    // Parsed beside the writes on as many threads as there are cores, no more: each thread of
    // the blocking pool keeps the allocator's pages it used (16 at once held 27 MB more at
    // 200,000 nodes).
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let parsers = &tokio::sync::Semaphore::new(cores);
    // The futures are made first and then streamed (not made by a closure inside the stream):
    // a stream holding a closure over borrowed items makes the whole import future lose `Send`.
    let reads: Vec<_> = tops
        .iter()
        .map(|unit| {
            let path = plan::name_path(root, unit.name());
            let exists = path.as_ref().is_ok_and(|path| top.get(path).is_some());
            async move {
                let path = path?;
                let parsing = parsers.acquire().await;
                if !exists {
                    return Ok(Unit::New(unit.plan_new(path, Plan::empty(root.to_string(), options)).await?));
                }
                let node = unit.node().await?;
                drop(parsing);
                let visit = |at: &str| visit_in_top(&node, &path, options.extras, enforce_acl, at);
                let unit_options = SnapshotOptions { visit: Some(&visit), ..read_options(options) };
                let subtree = match snapshot::read(store, &path, &unit_options, None).await {
                    Ok(subtree) => subtree,
                    // It vanished since the import point was read: new, as in a later read.
                    Err(e) if e.is(Code::NoNode) && e.path == path => Snapshot::new(root),
                    Err(e) => return Err(ImportError::Read(e)),
                };
                Ok(Unit::Read(path, node, subtree))
            }
        })
        .collect();
    let mut units = stream::iter(reads).buffered(CONCURRENT_READS);
    // The import point; its children that the text names are read again with their subtrees.
    let mut group = Group { plan: Plan::empty(root.to_string(), options), nodes_read: 1 };
    let mut nodes_read = 1;
    while let Some(unit) = units.next().await {
        if groups.is_closed() {
            // The applying half stopped at a failure: planning more is wasted.
            return;
        }
        let planned = unit.and_then(|unit| match unit {
            Unit::New(plan) => {
                group.plan.append(plan);
                Ok(())
            }
            Unit::Read(path, node, subtree) => {
                group.nodes_read += subtree.len();
                nodes_read += subtree.len();
                plan::plan_top(&path, &node, &subtree, options, &mut group.plan)
            }
        });
        if let Err(e) = planned {
            let _ = groups.send(Err(e)).await;
            return;
        }
        report(Progress::Read(nodes_read));
        // Planning a top-level node of a new subtree reads nothing, so it would never let the
        // applying half (joined in the same task) send the next level of its group.
        tokio::task::yield_now().await;
        if group.plan.writes() >= group_writes {
            let full = std::mem::replace(
                &mut group,
                Group { plan: Plan::empty(root.to_string(), options), nodes_read: 0 },
            );
            if groups.send(Ok(full)).await.is_err() {
                return;
            }
        }
    }
    let _ = groups.send(Ok(group)).await;
}

/// The snapshot options of an import's reads, `visit` aside.
fn read_options(options: &ImportOptions) -> SnapshotOptions<'static> {
    SnapshotOptions { window: options.apply.window, skip_zookeeper: true, ..SnapshotOptions::default() }
}

/// The import error for a failed read: `NoImportPoint` when the import point is missing.
fn read_error(e: crate::store::StoreError, root: &str) -> ImportError {
    match e.code {
        Code::NoNode if e.path == root => ImportError::NoImportPoint { path: root.to_string() },
        _ => ImportError::Read(e),
    }
}

/// Reads what [`plan`] needs to import `tree` under `root`, and no more (see the module docs
/// for the requests). With [`plan`] and [`apply`] this is [`import_parsed`] in three steps, for
/// callers that want to look at the plan before applying it.
pub async fn read<S: Store + ?Sized>(
    store: &S,
    tree: &Node,
    root: &str,
    options: &ImportOptions,
    progress: Option<ProgressFn<'_>>,
) -> Result<Snapshot, ImportError> {
    let root = &plan::import_point(root)?;
    let extras = options.extras;
    let enforce_acl = options.acl.is_some();
    let visit = move |path: &str| visit_for_import(tree, root, extras, enforce_acl, path);
    let read_options = SnapshotOptions { visit: Some(&visit), ..read_options(options) };
    let mut on_read = progress.map(|p| move |n: usize| p(Progress::Read(n)));
    snapshot::read(store, root, &read_options, on_read.as_mut().map(|f| f as &mut (dyn FnMut(usize) + Send)))
        .await
        .map_err(|e| read_error(e, root))
}

/// What to read of the node at `path` for importing `tree` at `root`: the ACL of a node of
/// the text only when an ACL is to be enforced on it (`enforce_acl`: the import's own, or the
/// node's `acl` lines).
fn visit_for_import(tree: &Node, root: &str, extras: Extras, enforce_acl: bool, path: &str) -> Option<Visit> {
    if path == root {
        return Some(Visit { children: true, acl: false });
    }
    let relative = path.get(root.len()..)?.trim_start_matches('/');
    let name = relative.split('/').next()?;
    // A child of the import point that the text does not name: none of our business.
    let top = tree.children.get(name)?;
    let top_path = &path[..path.len() - relative.len() + name.len()];
    visit_in_top(top, top_path, extras, enforce_acl, path)
}

/// What to read of the node at `path` for importing the top-level node `top` at `top_path`
/// (see [`visit_for_import`]).
fn visit_in_top(top: &Node, top_path: &str, extras: Extras, enforce_acl: bool, path: &str) -> Option<Visit> {
    let mut node = top;
    if path != top_path {
        let relative = path.get(top_path.len()..)?.strip_prefix('/')?;
        for name in relative.split('/') {
            match node.children.get(name) {
                Some(child) => node = child,
                // An extra node: its Stat tells whether it is ephemeral; trim needs its subtree.
                None => {
                    return match extras {
                        Extras::Trim => Some(Visit { children: true, acl: false }),
                        Extras::Report => Some(Visit { children: false, acl: false }),
                        Extras::Ignore => None,
                    }
                }
            }
        }
    }
    Some(Visit { children: true, acl: enforce_acl || !node.acl.is_empty() })
}

#[cfg(test)]
mod tests;
