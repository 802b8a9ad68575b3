//! Recursive delete through the client: the registrations it removes stay gone.

use super::ZooKeeper;
use crate::delete::{self, DeleteError, DeleteOptions, DeleteReport};
use crate::path;
use crate::store::{Code, OpKind, Store, StoreError};

impl<S: Store + 'static> ZooKeeper<S> {
    /// Deletes the subtree at `path` as [`crate::delete::delete_recursive`] does (ephemerals
    /// kept unless `force`, `/` and `/zookeeper` never deleted, messages returned as values).
    ///
    /// Registrations of this client that the delete removed are forgotten, so a session expiry
    /// does not bring them back; those it kept (without `force`) are still restored.
    pub async fn delete_recursive(
        &self,
        path: &str,
        options: &DeleteOptions,
    ) -> Result<DeleteReport, DeleteError> {
        // `session` fails only when the client is closed.
        let closed =
            || StoreError::new(Code::SessionClosed, OpKind::Delete, path).with_detail("the client is closed");
        let store = self.ready_store().await.map_err(|_| DeleteError::Read(closed()))?;
        let result = delete::delete_recursive(&*store, path, options).await;
        if !options.dry_run {
            self.forget_deleted_registrations(&*store, path).await;
        }
        result
    }

    /// Forgets the registrations at or below `top` whose node is gone. Done whatever the
    /// delete's outcome: a delete that stopped half way may still have removed some.
    async fn forget_deleted_registrations(&self, store: &S, top: &str) {
        let Ok(top) = path::normalize(top) else { return };
        let below = |p: &str| {
            top == "/" || p == top || p.strip_prefix(top.as_str()).is_some_and(|r| r.starts_with('/'))
        };
        let candidates: Vec<String> = self.registrations().into_iter().filter(|p| below(p)).collect();
        let checks = futures::future::join_all(candidates.iter().map(|p| store.exists(p))).await;
        let mut registrations = self.shared.registrations.lock();
        for (p, exists) in candidates.iter().zip(checks) {
            if matches!(exists, Ok(None)) {
                registrations.remove(p);
            }
        }
    }
}
