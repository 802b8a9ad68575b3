//! Import and export through the client: the current session is used (waiting for a new one
//! while an expired one is replaced), so callers need not handle session changes themselves.

use serde_json::Value;

use super::ZooKeeper;
use crate::export::{self, ExportError, ExportOptions};
use crate::import::{self, ImportError, ImportOptions, Imported};
use crate::store::{Code, OpKind, Store, StoreError};

/// The error for a call on a closed client.
fn closed(op: OpKind, path: &str) -> StoreError {
    StoreError::new(Code::SessionClosed, op, path).with_detail("the client is closed")
}

impl<S: Store + 'static> ZooKeeper<S> {
    /// The tree text of the subtree at `path` (see [`crate::export`]).
    pub async fn export_tree(&self, path: &str, options: &ExportOptions) -> Result<String, ExportError> {
        let store = self.ready_store().await.map_err(|_| ExportError::Read(closed(OpKind::GetData, path)))?;
        export::export_tree(&*store, path, options).await
    }

    /// The JSON form of the subtree at `path` (see [`crate::export`]).
    pub async fn export_json(&self, path: &str, options: &ExportOptions) -> Result<Value, ExportError> {
        let store = self.ready_store().await.map_err(|_| ExportError::Read(closed(OpKind::GetData, path)))?;
        export::export_json(&*store, path, options).await
    }

    /// Imports tree text under `path` (see [`crate::import`]): checked completely first (bad
    /// text writes nothing), then planned against what exists and written a group of
    /// top-level nodes at a time, only what differs, with versioned writes. The parsed tree is
    /// never held whole.
    pub async fn import_tree(
        &self,
        text: &str,
        path: &str,
        options: &ImportOptions,
    ) -> Result<Imported, ImportError> {
        let max_request = self.store().request_limit().max;
        let text = crate::tree::check_for_server(text, path, max_request)
            .map_err(|mut errors| errors.swap_remove(0))?;
        let store = self.ready_store().await.map_err(|_| ImportError::Read(closed(OpKind::GetData, path)))?;
        import::import_checked(&*store, &text, options, None).await
    }
}
