//! zczk: service registration and discovery with Apache ZooKeeper, JSON node properties, and a
//! text tree model of a whole system that can be imported, exported, diffed, trimmed and
//! analysed. A Rust re-creation of the Python package zc.zk.
//!
//! This crate re-exports the library API of [`zczk_core`] and adds `connect()` (one client
//! type for a real ensemble, `mem:` and `file:PATH`). Its features:
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `zookeeper` | yes | `connect` to a real ensemble (`host:port,...`), with [`zczk_zookeeper`] |
//! | `emulator` | yes | `connect` to `mem:` and `file:PATH`, with [`zczk_emulator`] |
//! | `cli` | yes | the `zczk` command-line tool (`zczk::cli`) and the zc.zk scripts; needs both backends |
//!
//! A library user who wants no command-line crates (clap, indicatif, tracing-subscriber, ...)
//! turns the defaults off and names the backends:
//! `zczk = { version = "0.1", default-features = false, features = ["zookeeper"] }`. With no
//! backend at all, the crate is the core API alone, over a `Store` of the user's own.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use serde_json::{json, Map};
//! use zczk::import::{import_tree, ImportOptions};
//!
//! // `mem:` is an emulator in this process; `zk1:2181,zk2:2181/app` would be a real ensemble.
//! let connected = zczk::connect("mem:", &zczk::connect::Options::default()).await?;
//! let zk = connected.client();
//! let tree = "/web : wsgi\n  threads = 4\n  /providers\n/lb\n  web -> /web/providers\n";
//! import_tree(&*zk.store(), tree, "/", &ImportOptions::default(), None).await?;
//!
//! // A server registers itself: an ephemeral node that vanishes with its session.
//! zk.register("/web/providers", "10.0.0.1:8080", Map::new()).await?;
//!
//! // A client finds the servers through the link, and keeps a live view of them.
//! assert_eq!(zk.resolve("/lb/web").await?, "/web/providers");
//! let providers = zk.children("/lb/web").await?;
//! assert_eq!(providers.names(), ["10.0.0.1:8080"]);
//!
//! // Properties: a live map; updates are compare-and-set, so no update is ever lost.
//! let web = zk.properties("/web", true).await?;
//! assert_eq!(web.get("threads")?, Some(json!(4)));
//! web.update(Map::from_iter([("threads".to_string(), json!(8))])).await?;
//!
//! connected.close().await?;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(any(feature = "emulator", feature = "zookeeper"))]
pub mod connect;

#[cfg(any(feature = "emulator", feature = "zookeeper"))]
pub use connect::{connect, Client, ConnectError, Connected, DynStore};

pub use zczk_core::*;
