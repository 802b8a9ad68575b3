//! Callbacks of live views: called at once on registration, then on every change, in the
//! view's own task (a slow callback delays only its own view).

use std::sync::Arc;

use parking_lot::Mutex;

/// What a live view tells its callbacks.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewEvent<T> {
    /// The current state (at registration, and after every change).
    Changed(Arc<T>),
    /// The node is gone for good (no link leads to a node any more); the view is empty and
    /// will not change again.
    Deleted,
}

/// What a callback wants after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep calling me.
    Continue,
    /// Remove me.
    Cancel,
}

/// The error a callback may return; the callback is then removed and the error logged.
pub type CallbackError = Box<dyn std::error::Error + Send + Sync>;

/// A view callback.
pub type Callback<T> = Box<dyn FnMut(&ViewEvent<T>) -> Result<Flow, CallbackError> + Send>;

/// The registered callbacks of one view.
pub(crate) struct Callbacks<T> {
    list: Mutex<Vec<Callback<T>>>,
}

impl<T> Default for Callbacks<T> {
    fn default() -> Self {
        Callbacks { list: Mutex::new(Vec::new()) }
    }
}

impl<T> Callbacks<T> {
    /// Calls `callback` with `first`; keeps it unless it cancels itself or fails (the error is
    /// returned then, and the callback is not kept).
    pub fn register(&self, mut callback: Callback<T>, first: &ViewEvent<T>) -> Result<(), CallbackError> {
        if callback(first)? == Flow::Continue {
            self.list.lock().push(callback);
        }
        Ok(())
    }

    /// Calls every callback with `event`, removing those that cancel or fail.
    pub fn dispatch(&self, path: &str, event: &ViewEvent<T>) {
        // Take the callbacks out so that a callback may register another without deadlock.
        let taken = std::mem::take(&mut *self.list.lock());
        let mut kept = Vec::with_capacity(taken.len());
        for mut callback in taken {
            match callback(event) {
                Ok(Flow::Continue) => kept.push(callback),
                Ok(Flow::Cancel) => {}
                Err(e) => tracing::error!(path, error = %e, "view callback failed; removed"),
            }
        }
        let mut list = self.list.lock();
        kept.append(&mut list);
        *list = kept;
    }

    /// The number of registered callbacks.
    pub fn len(&self) -> usize {
        self.list.lock().len()
    }
}
