//! How live views publish: the current snapshot (a `watch` channel, also offered as a stream)
//! and the callbacks, called at once on registration, then on every change.
//!
//! Callbacks are plain functions that may block, so they run on tokio's blocking threads, one
//! view's calls after another: a slow callback delays only its own view, never the store's
//! event loop or other views.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use futures::Stream;
use parking_lot::{Mutex, ReentrantMutex};
use tokio::sync::watch;

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

/// A view's snapshot type: it knows whether it stands for a deleted node.
pub(crate) trait ViewState: Clone + PartialEq + Send + Sync + 'static {
    /// True when the view's node is gone for good.
    fn is_deleted(&self) -> bool;
}

/// The snapshot and callbacks of one view.
pub(crate) struct ViewChannel<T> {
    /// The view's name in log messages (the path as the user gave it).
    name: String,
    snapshot: watch::Sender<Arc<T>>,
    callbacks: Mutex<Vec<Callback<T>>>,
    /// Held while a callback is registered and while a change is published, so that a new
    /// callback sees either the old state and then the change, or the new state: never
    /// neither. Re-entrant, so that a callback may register another.
    gate: ReentrantMutex<()>,
}

impl<T: ViewState> ViewChannel<T> {
    /// A channel holding `first`.
    pub fn new(name: String, first: T) -> Arc<Self> {
        let (snapshot, _) = watch::channel(Arc::new(first));
        Arc::new(ViewChannel {
            name,
            snapshot,
            callbacks: Mutex::new(Vec::new()),
            gate: ReentrantMutex::new(()),
        })
    }

    /// The current snapshot.
    pub fn current(&self) -> Arc<T> {
        self.snapshot.borrow().clone()
    }

    /// Every snapshot, now and as it changes.
    pub fn subscribe(&self) -> watch::Receiver<Arc<T>> {
        self.snapshot.subscribe()
    }

    /// The snapshots as a stream: the current one at once, then each change (intermediate
    /// states may be skipped when the reader is slow); it ends after a deleted snapshot, or
    /// when the channel is dropped.
    pub fn stream(&self) -> impl Stream<Item = Arc<T>> + Send + 'static {
        let mut receiver = self.snapshot.subscribe();
        receiver.mark_changed();
        futures::stream::unfold(Some(receiver), |receiver| async move {
            let mut receiver = receiver?;
            receiver.changed().await.ok()?;
            let snapshot = receiver.borrow_and_update().clone();
            let next = if snapshot.is_deleted() { None } else { Some(receiver) };
            Some((snapshot, next))
        })
    }

    /// Calls `callback` with the current state; keeps it unless it cancels itself or fails (the
    /// error is returned then).
    pub fn register(&self, mut callback: Callback<T>) -> Result<(), CallbackError> {
        let _gate = self.gate.lock();
        if call(&mut callback, &event_for(self.current()))? == Flow::Continue {
            self.callbacks.lock().push(callback);
        }
        Ok(())
    }

    /// The number of registered callbacks.
    pub fn len(&self) -> usize {
        self.callbacks.lock().len()
    }

    /// Makes `new` the current state and calls the callbacks, unless nothing changed. Returns
    /// once every callback has been called.
    pub async fn publish(self: &Arc<Self>, new: T) {
        if **self.snapshot.borrow() == new {
            return;
        }
        // With no callback to call, publishing is one cheap step: no thread hop. `try_lock`,
        // because a callback being registered may be running its (slow) first call.
        if let Some(_gate) = self.gate.try_lock() {
            if self.callbacks.lock().is_empty() {
                self.snapshot.send_replace(Arc::new(new));
                return;
            }
        }
        let this = self.clone();
        let published = tokio::task::spawn_blocking(move || {
            let _gate = this.gate.lock();
            let new = Arc::new(new);
            this.snapshot.send_replace(new.clone());
            this.dispatch(&event_for(new));
        });
        if let Err(e) = published.await {
            tracing::error!(view = %self.name, error = %e, "view callbacks could not run");
        }
    }

    /// Calls every callback with `event`, removing those that cancel or fail.
    fn dispatch(&self, event: &ViewEvent<T>) {
        // Take the callbacks out so that a callback may register another without deadlock.
        let taken = std::mem::take(&mut *self.callbacks.lock());
        let mut kept = Vec::with_capacity(taken.len());
        for mut callback in taken {
            match call(&mut callback, event) {
                Ok(Flow::Continue) => kept.push(callback),
                Ok(Flow::Cancel) => {}
                Err(e) => tracing::error!(view = %self.name, error = %e, "view callback failed; removed"),
            }
        }
        let mut list = self.callbacks.lock();
        kept.append(&mut list);
        *list = kept;
    }
}

fn event_for<T: ViewState>(snapshot: Arc<T>) -> ViewEvent<T> {
    if snapshot.is_deleted() {
        ViewEvent::Deleted
    } else {
        ViewEvent::Changed(snapshot)
    }
}

/// Calls a callback; a panic counts as a failure, so one bad callback cannot take the others
/// down with it.
fn call<T>(callback: &mut Callback<T>, event: &ViewEvent<T>) -> Result<Flow, CallbackError> {
    match catch_unwind(AssertUnwindSafe(|| callback(event))) {
        Ok(result) => result,
        Err(_) => Err("the callback panicked".into()),
    }
}
