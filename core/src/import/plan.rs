//! Planning an import: comparing the text's tree with a snapshot of what exists. Pure.

use super::report::{acl_change, property_changes, ReportLine};
use super::{Extras, ImportError, ImportOptions};
use crate::delete::{plan_delete, DeleteRules, PlannedDelete};
use crate::path::{self, PathError};
use crate::props;
use crate::snapshot::Snapshot;
use crate::store::size::DEFAULT_MAX_REQUEST;
use crate::store::{Acl, CreateOptions, RequestLimit};
use crate::tree::check::{self as tree_check, Refusal};
use crate::tree::Node;

/// A node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCreate {
    /// Its path.
    pub path: String,
    /// Its data.
    pub data: Vec<u8>,
    /// The ACL the text gives it; `None`: the plan's [`Plan::acl`].
    pub acl: Option<Vec<Acl>>,
}

/// An existing node whose data changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedUpdate {
    /// Its path.
    pub path: String,
    /// The new data.
    pub data: Vec<u8>,
    /// The data version read; the write fails if it changed.
    pub version: i32,
}

/// An existing node whose ACL changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAclChange {
    /// Its path.
    pub path: String,
    /// The ACL the text gives it; `None`: the plan's [`Plan::acl`].
    pub acl: Option<Vec<Acl>>,
    /// The ACL version read; the write fails if it changed.
    pub aversion: i32,
}

/// What an import will do, as plain data: apply it with [`apply`](super::apply), or show it with
/// [`Plan::report`] for a dry run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The node imported into.
    pub path: String,
    /// The ACL of new nodes and of existing nodes whose ACL changes, unless the text gives
    /// them their own.
    pub acl: Vec<Acl>,
    /// Nodes to create, each after its parent.
    pub creates: Vec<PlannedCreate>,
    /// Existing nodes whose data differs from the text.
    pub updates: Vec<PlannedUpdate>,
    /// Existing nodes whose ACL differs from `acl`.
    pub acl_changes: Vec<PlannedAclChange>,
    /// Extra nodes to delete (trim), each after its children.
    pub deletes: Vec<PlannedDelete>,
    /// The report, in order: depth first in name order, each node's own lines, then its extras,
    /// then its children's.
    pub lines: Vec<ReportLine>,
}

impl Plan {
    /// True when the import writes nothing.
    pub fn is_empty(&self) -> bool {
        self.writes() == 0
    }

    /// The number of writes the plan makes.
    pub fn writes(&self) -> usize {
        self.creates.len() + self.updates.len() + self.acl_changes.len() + self.deletes.len()
    }

    /// The dry-run report: what the import would change, one line each.
    pub fn report(&self) -> Vec<String> {
        self.lines.iter().filter_map(|line| line.text(true)).collect()
    }

    /// The lines a real import reports: extras not trimmed and the ephemeral nodes trim keeps.
    pub fn notices(&self) -> Vec<String> {
        self.lines.iter().filter_map(|line| line.text(false)).collect()
    }

    /// The ACL a planned create or ACL change gives its node: its own, else [`Plan::acl`].
    pub fn acl_of<'p>(&'p self, own: &'p Option<Vec<Acl>>) -> &'p [Acl] {
        own.as_deref().unwrap_or(&self.acl)
    }
}

/// The import path in normal form (`/a/` is `/a`), or why it is not a path.
pub(crate) fn import_point(path: &str) -> Result<String, ImportError> {
    let normal = path::normalize(path)?;
    path::validate(&normal)?;
    Ok(normal)
}

/// Checks the text's tree against what ZooKeeper accepts: node names, data sizes (for a server
/// with the default `jute.maxbuffer`), and no node inside `/zookeeper`. Pure; [`plan`] checks
/// the names and places as it goes, this lets the caller fail before reading anything. These
/// are the parser's own checks ([`tree::parse_for_import`](crate::tree::parse_for_import)
/// reports them with line and column), so a parsed text fails here only for its import path; a
/// tree built in code can fail for its nodes.
pub fn check(tree: &Node, import_path: &str) -> Result<(), ImportError> {
    check_for_server(tree, import_path, DEFAULT_MAX_REQUEST)
}

/// As [`check`], for a server whose `jute.maxbuffer` is `max_request`.
pub fn check_for_server(tree: &Node, import_path: &str, max_request: usize) -> Result<(), ImportError> {
    let root = import_point(import_path)?;
    tree_check::place(&root).map_err(|refusal| refused(root.clone(), refusal))?;
    let mut stack: Vec<_> = tree.children.iter().map(|(n, c)| (name_path(&root, n), c)).collect();
    while let Some((path, node)) = stack.pop() {
        let path = path?;
        tree_check::data_size(node, &path, max_request).map_err(|refusal| refused(path.clone(), refusal))?;
        stack.extend(node.children.iter().map(|(n, c)| (name_path(&path, n), c)));
    }
    Ok(())
}

/// The path of the child `name` of `parent`, once the name and the place are checked.
pub(super) fn name_path(parent: &str, name: &str) -> Result<String, ImportError> {
    let path = path::child(parent, name);
    match tree_check::name(name).and_then(|()| tree_check::place(&path)) {
        Ok(()) => Ok(path),
        Err(refusal) => Err(refused(path, refusal)),
    }
}

/// The node's encoded data. Its size is not checked here: the text's check (or [`check`], for
/// a tree built in code) did that for the server before anything was read, and
/// [`apply`](super::apply) checks each write against the store's own limit, chroot included,
/// before it writes anything.
fn node_data(path: &str, node: &Node) -> Result<Vec<u8>, ImportError> {
    tree_check::encode(node).map_err(|refusal| refused(path.to_string(), refusal))
}

/// The import error for a node at `path` that ZooKeeper would refuse.
fn refused(path: String, refusal: Refusal) -> ImportError {
    match refusal {
        Refusal::Name { reason, .. } => {
            let name = path::split(&path).map_or("", |(_, name)| name).to_string();
            ImportError::InvalidName { path, source: PathError { path: name, reason } }
        }
        Refusal::Reserved => ImportError::Reserved { path },
        Refusal::Properties(source) => ImportError::BadProperties { path, source },
        Refusal::DataTooLarge { size, limit } => ImportError::DataTooLarge { path, size, limit },
    }
}

/// Fails with [`ImportError::DataTooLarge`] when the request writing `data` to `path` (a create
/// with `create` options, else a setData) is longer than `limit`: the server would drop the
/// connection.
pub(super) fn check_size(
    limit: &RequestLimit,
    path: &str,
    data: &[u8],
    create: Option<&CreateOptions>,
) -> Result<(), ImportError> {
    let len = match create {
        Some(options) => limit.create(path, data, options),
        None => limit.set_data(path, data),
    };
    if limit.fits(len) {
        return Ok(());
    }
    Err(ImportError::DataTooLarge {
        path: path.to_string(),
        size: data.len(),
        limit: limit.room_for_data(len, data.len()),
    })
}

/// True when two ACLs grant the same, whatever their order.
fn same_acl(a: &[Acl], b: &[Acl]) -> bool {
    let key = |acl: &Acl| (acl.scheme.clone(), acl.id.clone(), acl.perms.0);
    let mut a: Vec<_> = a.iter().map(key).collect();
    let mut b: Vec<_> = b.iter().map(key).collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// Plans importing `tree` (a parsed text: its children are the top-level nodes) under
/// `import_path`, against a `snapshot` of that subtree. Pure.
///
/// The snapshot must hold the import point, every existing node of the text with its children
/// (and its ACL, for ACL changes to be planned), each extra node with its Stat, and, for
/// [`Extras::Trim`], each extra's subtree. The properties of `tree` itself are ignored (the
/// text format has none above its top-level nodes).
pub fn plan(
    tree: &Node,
    import_path: &str,
    snapshot: &Snapshot,
    options: &ImportOptions,
) -> Result<Plan, ImportError> {
    let root = import_point(import_path)?;
    tree_check::place(&root).map_err(|refusal| refused(root.clone(), refusal))?;
    if snapshot.get(&root).is_none() {
        return Err(ImportError::NoImportPoint { path: root });
    }
    let mut plan = Plan::empty(root.clone(), options);
    for (name, node) in &tree.children {
        plan_top(&name_path(&root, name)?, node, snapshot, options, &mut plan)?;
    }
    Ok(plan)
}

impl Plan {
    /// Adds `later`'s writes and lines after this plan's: the plan of the top-level nodes of
    /// both, `later`'s after.
    pub(super) fn append(&mut self, later: Plan) {
        self.creates.extend(later.creates);
        self.updates.extend(later.updates);
        self.acl_changes.extend(later.acl_changes);
        self.deletes.extend(later.deletes);
        self.lines.extend(later.lines);
    }

    /// A plan that does nothing yet, for importing under `root`.
    pub(super) fn empty(root: String, options: &ImportOptions) -> Plan {
        Plan {
            path: root,
            acl: options.acl.clone().unwrap_or_else(Acl::open),
            creates: Vec::new(),
            updates: Vec::new(),
            acl_changes: Vec::new(),
            deletes: Vec::new(),
            lines: Vec::new(),
        }
    }
}

/// Adds to `plan` what importing the top-level node `node` at `path` (checked) does, against
/// a `snapshot` holding that node's subtree as [`plan`] needs it, or not holding the node
/// (then it is new).
pub(super) fn plan_top(
    path: &str,
    node: &Node,
    snapshot: &Snapshot,
    options: &ImportOptions,
    plan: &mut Plan,
) -> Result<(), ImportError> {
    // Depth first, name order, with an explicit stack (texts can nest deeper than the call
    // stack would like), checking each node's name and place on the way (its data size is
    // the text's check's and `apply`'s, for the server's limit). The import point's
    // own extras are never looked at: its children are never trimmed nor reported.
    let mut stack = vec![(path.to_string(), node)];
    while let Some((path, node)) = stack.pop() {
        let Some(state) = snapshot.get(&path) else {
            plan_new_subtree(&path, node, plan)?;
            continue;
        };
        let data = node_data(&path, node)?;
        // The same bytes are the same properties, and a re-import mostly finds them: only other
        // data is decoded and compared property by property (whatever its key order).
        if state.data != data {
            let old = props::decode(&state.data);
            let properties = node.to_properties();
            if old.properties != properties {
                property_changes(&path, &old.properties, &properties, &mut plan.lines);
                plan.updates.push(PlannedUpdate { path: path.clone(), data, version: state.stat.version });
            }
        }
        if let Some(acl) = &state.acl {
            let own = own_acl(node);
            let wanted = plan.acl_of(&own);
            if !same_acl(acl, wanted) {
                plan.lines.push(ReportLine::Change(acl_change(&path, acl, wanted)));
                plan.acl_changes.push(PlannedAclChange {
                    path: path.clone(),
                    acl: own,
                    aversion: state.stat.aversion,
                });
            }
        }
        if state.stat.is_ephemeral() {
            if let Some(name) = node.children.keys().next() {
                return Err(ImportError::EphemeralParent { path: path::child(&path, name) });
            }
        }
        plan_extras(snapshot, &path, node, options.extras, plan);
        push_children(&mut stack, &path, node)?;
    }
    Ok(())
}

/// Pushes the children of the node at `path` on a depth-first stack (the first name on top),
/// once their names and places are checked.
fn push_children<'t>(
    stack: &mut Vec<(String, &'t Node)>,
    path: &str,
    node: &'t Node,
) -> Result<(), ImportError> {
    for (name, child) in node.children.iter().rev() {
        stack.push((name_path(path, name)?, child));
    }
    Ok(())
}

/// Plans creating `node` and everything below it, parent first, with an `add` line each.
pub(super) fn plan_new_subtree(path: &str, node: &Node, plan: &mut Plan) -> Result<(), ImportError> {
    let mut stack = vec![(path.to_string(), node)];
    while let Some((path, node)) = stack.pop() {
        let data = node_data(&path, node)?;
        plan.lines.push(ReportLine::Change(format!("add {path}")));
        push_children(&mut stack, &path, node)?;
        plan.creates.push(PlannedCreate { path, data, acl: own_acl(node) });
    }
    Ok(())
}

/// The ACL the text gives `node`, if any.
fn own_acl(node: &Node) -> Option<Vec<Acl>> {
    (!node.acl.is_empty()).then(|| node.acl.clone())
}

/// Plans what happens to the children of the existing node `path` that the text lacks.
fn plan_extras(snapshot: &Snapshot, path: &str, node: &Node, extras: Extras, plan: &mut Plan) {
    let Some(state) = snapshot.get(path) else { return };
    for name in state.child_names() {
        if node.children.contains_key(name) {
            continue;
        }
        let extra = path::child(path, name);
        // A registered server is never an "extra": it is not deleted nor reported.
        match snapshot.get(&extra) {
            Some(extra_state) if !extra_state.stat.is_ephemeral() => {}
            _ => continue,
        }
        match extras {
            Extras::Report => plan.lines.push(ReportLine::ExtraNotTrimmed(extra)),
            Extras::Ignore => {}
            Extras::Trim => {
                let deletion =
                    plan_delete(snapshot, &extra, DeleteRules { force: false, quiet_if_ephemeral: true });
                plan.deletes.extend(deletion.deletes);
                plan.lines.extend(deletion.notes.into_iter().map(ReportLine::Trim));
            }
        }
    }
}
