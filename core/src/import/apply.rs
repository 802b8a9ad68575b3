//! Applying a plan: pipelined, versioned writes, or one `multi` transaction.

use super::multi;
use super::plan::check_size;
use super::{ImportError, Plan};
use crate::pipeline::{self, is_conflict, Limits, Write};
use crate::store::{MultiError, Store, StoreError};

/// Options of [`apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Apply the data writes as one `multi` transaction: all or nothing. A plan too large for
    /// one request is refused before anything is written.
    pub atomic: bool,
    /// Most write requests in flight at once (the non-atomic mode; also the ACL changes).
    pub window: usize,
    /// Most writes per `multi` request in the non-atomic mode (1: one request per write).
    /// Batching cuts the server's per-request cost: each batch applies all or nothing, and a
    /// failed batch stops the import like a failed write.
    pub batch: usize,
    /// Writes planned before [`import_tree`](super::import_tree) applies them: it plans and
    /// applies a group of top-level nodes at a time, each group holding this many writes or
    /// more (a top-level node's subtree is never split). Ignored by the atomic mode (one group)
    /// and by [`apply`] (which is given its plan).
    pub group: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            atomic: false,
            window: pipeline::DEFAULT_WINDOW,
            batch: pipeline::DEFAULT_BATCH,
            group: super::DEFAULT_GROUP,
        }
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Nodes created.
    pub creates: usize,
    /// Nodes whose data was replaced.
    pub updates: usize,
    /// Nodes whose ACL was replaced.
    pub acl_changes: usize,
    /// Nodes deleted (trim).
    pub deletes: usize,
    /// Trimmed nodes that someone else had deleted already.
    pub vanished: usize,
    /// Write requests sent (a `multi` counts once).
    pub requests: usize,
}

impl Applied {
    /// The writes applied: creates, updates, ACL changes and deletes.
    pub fn written(&self) -> usize {
        self.creates + self.updates + self.acl_changes + self.deletes
    }

    /// Adds what a later [`apply`] of the same import did.
    pub(super) fn add(&mut self, later: &Applied) {
        self.creates += later.creates;
        self.updates += later.updates;
        self.acl_changes += later.acl_changes;
        self.deletes += later.deletes;
        self.vanished += later.vanished;
        self.requests += later.requests;
    }
}

/// Writes a plan.
///
/// **Pipelined** (the default): in phases, each with up to `window` writes in flight: the
/// creates level by level (parents first), then the updates, then the deletes level by level
/// (children first), then the ACL changes (last, so a stricter ACL cannot refuse this import's
/// own writes). Within a phase, creates, updates and deletes travel in `multi` requests of up
/// to `batch` writes (each all or nothing; a batch whose delete finds its node already gone is
/// re-sent one delete at a time), up to `window` requests in flight; ACL changes go one per
/// request. A phase starts once the one before it is answered. Updates, ACL changes and
/// deletes are conditional on the versions the plan read, so a node changed by another client
/// in between is never overwritten: its write fails. At the first failure seen nothing more is
/// sent, the writes already in flight are awaited (some may have been applied: they were sent
/// before the failure was known), and the error names every failed node. A trimmed node
/// already gone is not a failure.
///
/// **Atomic**: creates, updates and deletes go in one `multi`, so they all apply or none does;
/// the plan must fit the store's request limit ([`Store::request_limit`], checked before
/// anything is sent). ZooKeeper's `multi` cannot change ACLs, so ACL changes follow once the
/// transaction has committed, pipelined and versioned as above.
///
/// Before anything is sent, each create and update is checked against the store's request
/// limit (its encoded length, path, chroot and ACL included): data too large for its node
/// fails with [`ImportError::DataTooLarge`] and nothing is written.
///
/// `progress` is called with the number of writes answered so far.
#[tracing::instrument(level = "debug", skip_all, fields(path = plan.path.as_str()))]
pub async fn apply<S: Store + ?Sized>(
    store: &S,
    plan: &Plan,
    options: &ApplyOptions,
    mut progress: Option<&mut (dyn FnMut(usize) + Send)>,
) -> Result<Applied, ImportError> {
    let create_options = multi::CreateOptionsOf::new(plan);
    let acl_changes: Vec<Write<'_>> = plan
        .acl_changes
        .iter()
        .map(|c| Write::SetAcl { path: &c.path, acl: plan.acl_of(&c.acl), aversion: c.aversion })
        .collect();

    let limit = store.request_limit();
    for (i, create) in plan.creates.iter().enumerate() {
        check_size(&limit, &create.path, &create.data, Some(create_options.get(i)))?;
    }
    for update in &plan.updates {
        check_size(&limit, &update.path, &update.data, None)?;
    }

    let mut applied = Applied::default();
    if options.atomic {
        let ops = multi::ops(plan);
        let size = limit.multi(&ops);
        if !limit.fits(size) {
            return Err(ImportError::TooLargeForMulti { size, limit: limit.max });
        }
        if !ops.is_empty() {
            applied.requests += 1;
            store.multi(&ops).await.map_err(|e| match e {
                MultiError::Op { error, .. } if is_conflict(error.code) => {
                    ImportError::Conflict { failures: vec![error], written: 0, not_sent: 0 }
                }
                other => ImportError::Multi(other),
            })?;
        }
        applied.creates = plan.creates.len();
        applied.updates = plan.updates.len();
        applied.deletes = plan.deletes.len();
        let sent =
            pipeline::send(store, &acl_changes, options.window, progress.as_mut().map(|p| &mut **p as _))
                .await;
        applied.requests += sent.requests;
        stopped(sent.failures, ops.len() + sent.applied, sent.not_sent)?;
        applied.acl_changes = sent.applied;
        return Ok(applied);
    }

    let creates = plan.creates.iter().enumerate().map(|(i, c)| Write::Create {
        path: &c.path,
        data: &c.data,
        options: create_options.get(i),
    });
    let mut phases = pipeline::by_level(creates, false);
    let updates: Vec<Write<'_>> = plan
        .updates
        .iter()
        .map(|u| Write::SetData { path: &u.path, data: &u.data, version: u.version })
        .collect();
    phases.push(updates);
    let deletes = plan.deletes.iter().map(|d| Write::Delete { path: &d.path, version: d.version });
    phases.extend(pipeline::by_level(deletes, true));
    // Last, so that a stricter ACL cannot refuse this import's own writes below the node.
    phases.push(acl_changes);
    phases.retain(|phase| !phase.is_empty());
    let limits = Limits { window: options.window, batch: options.batch };
    let sent = pipeline::send_phases(store, &phases, limits, progress).await;
    stopped(sent.failures, sent.applied, sent.not_sent)?;
    Ok(Applied {
        creates: plan.creates.len(),
        updates: plan.updates.len(),
        acl_changes: plan.acl_changes.len(),
        deletes: plan.deletes.len() - sent.vanished,
        vanished: sent.vanished,
        requests: sent.requests,
    })
}

/// The error for failed writes: a `Conflict` when every failure is one a concurrent writer
/// causes, else a `Write` error.
fn stopped(failures: Vec<StoreError>, written: usize, not_sent: usize) -> Result<(), ImportError> {
    if failures.is_empty() {
        Ok(())
    } else if failures.iter().all(|e| is_conflict(e.code)) {
        Err(ImportError::Conflict { failures, written, not_sent })
    } else {
        Err(ImportError::Write { failures, written, not_sent })
    }
}
