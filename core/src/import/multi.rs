//! A plan as one `multi` request (the atomic mode).

use std::collections::HashMap;

use super::Plan;
use crate::store::{Acl, CreateMode, CreateOptions, Op};

/// The data writes of a plan as `multi` ops: creates (parent first), updates, deletes
/// (children first). ACL changes cannot be part of a `multi` (ZooKeeper has no such op).
pub(crate) fn ops(plan: &Plan) -> Vec<Op> {
    let options = CreateOptionsOf::new(plan);
    let creates = plan.creates.iter().enumerate().map(|(i, c)| Op::Create {
        path: c.path.clone(),
        data: Some(c.data.clone()),
        options: options.get(i).clone(),
    });
    let updates = plan.updates.iter().map(|u| Op::SetData {
        path: u.path.clone(),
        data: Some(u.data.clone()),
        version: Some(u.version),
    });
    let deletes = plan.deletes.iter().map(|d| Op::Delete { path: d.path.clone(), version: Some(d.version) });
    creates.chain(updates).chain(deletes).collect()
}

/// The options of the planned creates: persistent, with the node's own ACL or the plan's
/// (kept once, as most nodes have it).
pub(crate) struct CreateOptionsOf {
    default: CreateOptions,
    /// By index in `plan.creates`, for the creates with an ACL of their own.
    own: HashMap<usize, CreateOptions>,
}

impl CreateOptionsOf {
    pub(crate) fn new(plan: &Plan) -> CreateOptionsOf {
        let options = |acl: &[Acl]| CreateOptions::new(CreateMode::Persistent).with_acl(acl.to_vec());
        let own = plan.creates.iter().enumerate();
        CreateOptionsOf {
            default: options(&plan.acl),
            own: own.filter_map(|(i, c)| c.acl.as_deref().map(|acl| (i, options(acl)))).collect(),
        }
    }

    /// The options of `plan.creates[index]`.
    pub(crate) fn get(&self, index: usize) -> &CreateOptions {
        self.own.get(&index).unwrap_or(&self.default)
    }
}
