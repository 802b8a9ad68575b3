//! zczk-zookeeper: `zczk_core::store::Store` over a real Apache ZooKeeper ensemble, with the
//! [`zookeeper-client`](zookeeper_client) crate.
//!
//! A thin adapter: it maps create modes, ACLs, Stat, multi results, watch events and session
//! states between the client and the `Store` door, and adds the operation and the caller's path
//! to every error. Each request method sends its request when it is called (the client queues
//! it on the connection at once), so callers pipeline by calling many methods and awaiting the
//! futures together.
//!
//! The feature `test-util` adds `testing`: a relay that cuts, holds and expires connections,
//! and helpers for a private server and an ensemble. It is for tests, not for production use.
//!
//! ```no_run
//! # async fn example() -> Result<(), zczk_core::store::StoreError> {
//! use std::time::Duration;
//! use zczk_core::store::{CreateOptions, Store};
//!
//! let store = zczk_zookeeper::connect("127.0.0.1:2181/app", Duration::from_secs(10)).await?;
//! store.create("/config", Some(b"{}"), &CreateOptions::default()).await?;
//! let (data, stat) = store.get_data("/config").await?;
//! # let _ = (data, stat);
//! store.close().await
//! # }
//! ```
#![warn(missing_docs)]

mod connector;
mod convert;
mod hosts;
mod store;
#[cfg(feature = "test-util")]
pub mod testing;
mod tls_probe;

pub use connector::{connect, TlsFiles, ZkConnector, DEFAULT_SESSION_TIMEOUT};
pub use store::ZkStore;
