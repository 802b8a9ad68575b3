//! The high-level client: `ZooKeeper<S>`, the user API of zc.zk over any [`Store`].
//!
//! The client owns a [`Connector`] and the current session. A supervisor task (`supervisor`)
//! watches the session: when it expires, the client opens a new one, re-creates the ephemeral
//! nodes registered through it (with their latest data and ACL; `restore` waits, with watches,
//! for those that cannot be made yet) and tells the live views to re-arm. Everything else is a
//! method that talks to the current session ([`ZooKeeper::ready_store`]): links (`resolve`),
//! live views (`properties` and `children`, each a kind of the one `view` task, built on
//! `node_watch` and `callbacks`; `property_links` follows a properties view's links), the one
//! compare-and-set update of properties (in `properties`), `register`, and `walk`. Every
//! retry loop waits with the one policy, [`Backoff`].

mod backoff;
mod callbacks;
mod children;
mod delete;
mod error;
mod node_watch;
mod properties;
mod property_links;
mod providers;
mod register;
mod resolve;
mod restore;
mod supervisor;
mod tree_io;
mod view;
mod walk;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde_json::{Map, Value};
use tokio::sync::{broadcast, watch};

use crate::props;
use crate::store::{Acl, Code, Connector, CreateMode, CreateOptions, SessionState, Store};

pub use backoff::Backoff;
pub use callbacks::{Callback, CallbackError, Flow, ViewEvent};
pub use children::{Children, ChildrenSnapshot};
pub use error::{ClientError, Result};
pub use properties::{Properties, PropertiesSnapshot};
pub use providers::{Providers, Strategy, DEFAULT_DOWN_FOR};
pub use register::{Address, RegisterOptions, RegisteringServer, Registrant};
pub use walk::{Walk, WalkItem, WalkOptions};

/// What the client tells its observers (see [`ZooKeeper::events`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// The current session changed state.
    State(SessionState),
    /// A new session replaced an expired one.
    NewSession {
        /// The new session's id.
        session_id: i64,
    },
    /// A registered ephemeral node was re-created in the new session.
    Restored {
        /// Its path.
        path: String,
    },
    /// A registered ephemeral node cannot be re-created yet: its name is still taken (by the
    /// expired session, which the server may keep for a while after an outage), or its parent
    /// is missing, or the connection is down. The client makes it as soon as that changes
    /// (then [`ClientEvent::Restored`]), unless the registration is forgotten first. Sent
    /// again when the reason changes.
    RestoreWaiting {
        /// Its path.
        path: String,
        /// Why it must wait.
        reason: String,
    },
    /// The server refused to re-create a registered ephemeral node in a way no watch can tell
    /// the end of (no permission, a bad ACL); the client forgets it.
    RestoreFailed {
        /// Its path.
        path: String,
        /// Why.
        reason: String,
    },
}

/// An ephemeral node registered through the client, kept so that it can be re-created in a new
/// session.
#[derive(Debug)]
struct Registration {
    data: Vec<u8>,
    acl: Vec<Acl>,
    /// The session its node was made on, or is being restored on.
    session: i64,
    /// Dropped with the registration, which closes the channel a waiting restore listens to.
    alive: watch::Sender<()>,
}

impl Registration {
    fn new(data: Vec<u8>, acl: Vec<Acl>, session: i64) -> Registration {
        Registration { data, acl, session, alive: watch::Sender::new(()) }
    }

    /// A handle that tells whether this very registration is still wanted.
    fn wanted(&self) -> restore::Wanted {
        self.alive.subscribe()
    }

    /// True when `wanted` is this registration's handle.
    fn is(&self, wanted: &restore::Wanted) -> bool {
        wanted.same_channel(&self.alive.subscribe())
    }
}

type Subscriber = Box<dyn Fn(&mut RegisteringServer) + Send + Sync>;

struct Shared<S: Store + 'static> {
    /// Makes new sessions; `None` for a client over a session it was given
    /// ([`ZooKeeper::wrap`]), which it neither replaces nor closes.
    connector: Option<Box<dyn Connector<Store = S>>>,
    session: RwLock<Arc<S>>,
    /// Bumped each time a new session replaces an expired one, so live views can re-arm.
    generation: watch::Sender<u64>,
    registrations: Mutex<BTreeMap<String, Registration>>,
    subscribers: Mutex<Vec<Subscriber>>,
    events: broadcast::Sender<ClientEvent>,
    closed: AtomicBool,
}

/// A ZooKeeper client with zc.zk's API: links, properties, registration, trees.
///
/// Cheap to clone: clones share the session.
pub struct ZooKeeper<S: Store + 'static> {
    shared: Arc<Shared<S>>,
}

impl<S: Store + 'static> Clone for ZooKeeper<S> {
    fn clone(&self) -> Self {
        ZooKeeper { shared: self.shared.clone() }
    }
}

/// How long a request made while an expired session is being replaced waits for the new one.
pub const RENEW_WAIT: Duration = Duration::from_secs(30);

/// How [`ZooKeeper::with_options`] connects.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectOptions {
    /// Keep trying (with growing delays, see [`Backoff`]) until a session is opened, instead
    /// of failing at once.
    pub wait: bool,
}

impl<S: Store + 'static> ZooKeeper<S> {
    /// Opens a session with `connector`; fails with [`ClientError::FailedConnect`] naming the
    /// address if none can be opened.
    pub async fn new(connector: impl Connector<Store = S>) -> Result<Self> {
        Self::with_options(connector, ConnectOptions::default()).await
    }

    /// As [`ZooKeeper::new`], with options.
    pub async fn with_options(connector: impl Connector<Store = S>, options: ConnectOptions) -> Result<Self> {
        let mut backoff = Backoff::new();
        let store = loop {
            match connector.connect().await {
                Ok(store) => break store,
                Err(e) if options.wait => {
                    tracing::warn!(address = %connector.address(), error = %e, "can't connect to ZooKeeper; retrying");
                    backoff.wait().await;
                }
                Err(e) => {
                    return Err(ClientError::FailedConnect {
                        address: connector.address(),
                        // The address is said once, by FailedConnect itself.
                        reason: e.detail.clone().unwrap_or_else(|| e.code.to_string()),
                    });
                }
            }
        };
        Ok(Self::start(Some(Box::new(connector) as Box<dyn Connector<Store = S>>), store))
    }

    /// A client over a session opened elsewhere (upstream's `ZooKeeper(kazoo_client)`). The
    /// session stays its owner's: [`ZooKeeper::close`] leaves it open (ending only this client),
    /// and when it expires the client cannot make a new one, so its calls fail from then on.
    pub fn wrap(store: S) -> Self {
        Self::start(None, store)
    }

    fn start(connector: Option<Box<dyn Connector<Store = S>>>, store: S) -> Self {
        let state = store.session_state();
        let (events, _) = broadcast::channel(256);
        let shared = Arc::new(Shared {
            connector,
            session: RwLock::new(Arc::new(store)),
            generation: watch::Sender::new(0),
            registrations: Mutex::new(BTreeMap::new()),
            subscribers: Mutex::new(Vec::new()),
            events,
            closed: AtomicBool::new(false),
        });
        tokio::spawn(supervisor::supervise(Arc::downgrade(&shared), state));
        ZooKeeper { shared }
    }

    /// The current session. It is replaced when it expires, so do not keep it for long.
    pub fn store(&self) -> Arc<S> {
        self.shared.session.read().clone()
    }

    /// The session to send a request on: the current one, or, while an expired one is being
    /// replaced, the new one once it is made (waiting at most [`RENEW_WAIT`]; after that the
    /// request fails with the expired session's error). Fails with [`ClientError::Closed`]
    /// after [`ZooKeeper::close`].
    pub async fn ready_store(&self) -> Result<Arc<S>> {
        let mut generation = self.generation();
        loop {
            if self.is_closed() {
                return Err(ClientError::Closed);
            }
            // Seen before looking at the session, so a replacement made meanwhile is noticed.
            generation.borrow_and_update();
            let store = self.store();
            let state = *store.session_state().borrow();
            if !matches!(state, SessionState::Expired | SessionState::AuthFailed) {
                return Ok(store);
            }
            match tokio::time::timeout(RENEW_WAIT, generation.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) | Err(_) => return Ok(store),
            }
        }
    }

    /// Where the client connects to.
    pub fn address(&self) -> String {
        match &self.shared.connector {
            Some(connector) => connector.address(),
            None => "a session given to the client".to_string(),
        }
    }

    /// The events of the client: session states, new sessions, restored registrations.
    pub fn events(&self) -> broadcast::Receiver<ClientEvent> {
        self.shared.events.subscribe()
    }

    /// A counter bumped each time a new session replaces an expired one.
    pub fn generation(&self) -> watch::Receiver<u64> {
        self.shared.generation.subscribe()
    }

    /// Closes the session (its ephemerals vanish at once) and stops replacing it. Idempotent;
    /// later calls that need the server fail. A session given to [`ZooKeeper::wrap`] is left
    /// open: it belongs to whoever opened it.
    pub async fn close(&self) -> Result<()> {
        if self.shared.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.shared.registrations.lock().clear();
        if self.shared.connector.is_none() {
            return Ok(());
        }
        match self.store().close().await {
            // An expired session has nothing left to close.
            Err(e) if e.code.is_session_lost() => Ok(()),
            other => Ok(other?),
        }
    }

    /// The state of the current session.
    pub fn state(&self) -> SessionState {
        *self.store().session_state().borrow()
    }

    /// True once [`ZooKeeper::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// The decoded properties of the node at `path` as stored: no path resolution, no link
    /// following.
    pub async fn get_properties(&self, path: &str) -> Result<Map<String, Value>> {
        let (data, _) = self.ready_store().await?.get_data(path).await?;
        Ok(props::decode(data.as_deref().unwrap_or_default()).properties)
    }

    /// True when the node at `path` is ephemeral.
    pub async fn is_ephemeral(&self, path: &str) -> Result<bool> {
        match self.ready_store().await?.exists(path).await? {
            Some(stat) => Ok(stat.is_ephemeral()),
            None => Err(ClientError::NoNode { path: path.to_string() }),
        }
    }

    /// Creates the node at `path` with `properties` and `acl`, creating its missing ancestors
    /// with empty data first; if the node exists, sets its properties instead.
    pub async fn create_recursive(
        &self,
        path: &str,
        properties: &Map<String, Value>,
        acl: &[Acl],
    ) -> Result<()> {
        crate::path::validate(path)?;
        let store = self.ready_store().await?;
        let options = CreateOptions::new(CreateMode::Persistent).with_acl(acl.to_vec());
        // Find the deepest existing ancestor, then create downwards.
        let mut missing = Vec::new();
        let mut current = path;
        while let Some((parent, _)) = crate::path::split(current) {
            if store.exists(current).await?.is_some() {
                break;
            }
            missing.push(current);
            current = parent;
        }
        let data = props::encode(properties).map_err(ClientError::bad_properties(path))?;
        if missing.is_empty() {
            self.set_data(path, &data, None).await?;
            return Ok(());
        }
        // Issue every create at once: the server applies them in order, parents first.
        let creates: Vec<_> = missing
            .iter()
            .rev()
            .map(|p| store.create(p, Some(if *p == path { &data[..] } else { b"" }), &options))
            .collect();
        for result in futures::future::join_all(creates).await {
            match result {
                Ok(_) => {}
                // A concurrent creator got there first: the ancestor exists, which is all we need.
                Err(e) if e.is(Code::NodeExists) && e.path != path => {}
                Err(e) if e.is(Code::NodeExists) => {
                    self.set_data(path, &data, None).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Sets the data of the node at `path` (versioned when `version` is given) and remembers
    /// it for a registered ephemeral at that path, so that a restored registration gets it.
    pub async fn set_data(
        &self,
        path: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> Result<crate::store::Stat> {
        let stat = self.ready_store().await?.set_data(path, Some(data), version).await?;
        if let Some(reg) = self.shared.registrations.lock().get_mut(path) {
            reg.data = data.to_vec();
        }
        Ok(stat)
    }

    /// Sets the ACL of the node at `path` (versioned on the ACL version when `version` is
    /// given) and remembers it for a registered ephemeral at that path, so that a restored
    /// registration gets it.
    pub async fn set_acl(&self, path: &str, acl: &[Acl], version: Option<i32>) -> Result<crate::store::Stat> {
        let stat = self.ready_store().await?.set_acl(path, acl, version).await?;
        if let Some(reg) = self.shared.registrations.lock().get_mut(path) {
            reg.acl = acl.to_vec();
        }
        Ok(stat)
    }

    /// Deletes the node at `path` (versioned when `version` is given). A registration at that
    /// path is forgotten, so it is not restored after a session expiry.
    pub async fn delete(&self, path: &str, version: Option<i32>) -> Result<()> {
        self.ready_store().await?.delete(path, version).await?;
        self.shared.registrations.lock().remove(path);
        Ok(())
    }
}
