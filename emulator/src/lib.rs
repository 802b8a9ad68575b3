//! zczk-emulator: a full in-memory ZooKeeper that implements `zczk_core::store::Store`.
//!
//! One [`Emulator`] is one server; each [`Session`] on it is a client session implementing
//! [`Store`](zczk_core::store::Store), and [`EmulatorConnector`] makes new sessions for code
//! that takes a [`Connector`](zczk_core::store::Connector). The emulator behaves as Apache
//! ZooKeeper 3.8 does, checked by the conformance suite (`zczk-conformance`) that runs the
//! same cases against both: Stat fields (zxids, versions, cversion, pzxid, ephemeral owner),
//! path validation, sequential names numbered from the parent's child count, ephemeral,
//! container and TTL nodes, enforced ACLs (`world`, `digest`, `auth`, `ip`), the request size
//! limit, all-or-nothing `multi`, one-shot and persistent watches with ZooKeeper's ordering
//! (an event reaches its session before any reply that shows the change), and sessions that
//! expire, close and delete their ephemerals.
//!
//! Requests are applied when they are called, under one lock, and their replies are ready at
//! once: no sleeping, no polling, many sessions from many tasks. A test breaks a session on
//! purpose through its [`Faults`] handle: disconnect and reconnect, expire, fail or delay the
//! next requests. [`Emulator::open_file`] keeps the persistent nodes in a file (an SQLite database) between
//! runs (the CLI's `file:PATH`; see [`mod@file`]). [`ensemble::Ensemble`] serves one emulator
//! as the members of an ensemble, which tests stop, cut off and make lag, and whose membership a
//! superuser's `reconfig` can change (`zczk serve --servers 3 [--reconfig]`).
//!
//! # Testing with the emulator
//!
//! ```
//! use zczk_core::store::{CreateMode, CreateOptions, EventKind, SessionState, Store};
//! use zczk_emulator::Emulator;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let server = Emulator::new();
//! let service = server.session();
//! let watcher = server.session();
//!
//! service.create("/app", Some(b"{}"), &CreateOptions::default()).await?;
//! service.create("/app/worker", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await?;
//! let (stat, gone) = watcher.exists_watch("/app/worker").await?;
//! assert_eq!(stat.map(|s| s.ephemeral_owner), Some(service.session_id()));
//!
//! // The service's session expires: its ephemeral goes, and the watcher hears of it.
//! service.faults().expire();
//! assert_eq!(gone.await.kind, EventKind::NodeDeleted);
//! assert_eq!(*service.session_state().borrow(), SessionState::Expired);
//! assert_eq!(watcher.exists("/app/worker").await?, None);
//!
//! // A dropped connection fails requests without applying them, until reconnected.
//! watcher.faults().disconnect();
//! assert!(watcher.get_data("/app").await.is_err());
//! watcher.faults().reconnect();
//! assert_eq!(watcher.get_data("/app").await?.0.as_deref(), Some(&b"{}"[..]));
//! # Ok::<(), zczk_core::store::StoreError>(())
//! # }).unwrap();
//! ```
//!
//! An emulator can start with a tree: `Emulator::from_tree_text("/app\n  port = 8080\n")`
//! creates `/app` with the data `{"port":8080}`.
#![warn(missing_docs)]

mod connector;
mod emulator;
pub mod ensemble;
mod faults;
pub mod file;
mod ids;
mod limits;
mod path;
mod request;
mod server;
mod session;
#[cfg(feature = "proptest")]
pub mod testkit;
mod tree;
mod txn;
mod watch;
pub mod wire;

pub mod acl;

pub use connector::EmulatorConnector;
pub use emulator::{Emulator, LoadError};
pub use faults::Faults;
pub use file::FileError;
pub use server::{Config, DEFAULT_CLIENT_ADDRESS};
pub use session::{Session, SessionOptions, DEFAULT_TIMEOUT};
pub use wire::{serve, serve_with};
