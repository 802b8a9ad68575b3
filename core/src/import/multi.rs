//! A plan as one `multi` request (the atomic mode).

use super::Plan;
use crate::store::{CreateMode, CreateOptions, Op};

/// The data writes of a plan as `multi` ops: creates (parent first), updates, deletes
/// (children first). ACL changes cannot be part of a `multi` (ZooKeeper has no such op).
pub(crate) fn ops(plan: &Plan) -> Vec<Op> {
    let options = CreateOptions::new(CreateMode::Persistent).with_acl(plan.acl.clone());
    let creates = plan.creates.iter().map(|c| Op::Create {
        path: c.path.clone(),
        data: Some(c.data.clone()),
        options: options.clone(),
    });
    let updates = plan.updates.iter().map(|u| Op::SetData {
        path: u.path.clone(),
        data: Some(u.data.clone()),
        version: Some(u.version),
    });
    let deletes = plan.deletes.iter().map(|d| Op::Delete { path: d.path.clone(), version: Some(d.version) });
    creates.chain(updates).chain(deletes).collect()
}
