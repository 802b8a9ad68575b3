//! zczk-core: the pure logic of zczk and its user API.
//!
//! - [`tree`]: the tree text format (parse, print) and its plain-data model.
//! - [`graph`]: the service graph of a tree, as Graphviz DOT.
//! - [`client`]: the high-level client `ZooKeeper<S>`: live views, links, registration, the
//!   supervisor that replaces an expired session, and the one retry policy ([`client::Backoff`]).
//! - [`connection`]: connection strings (`host:port/chroot`, `mem:`, `file:PATH`).
//! - [`path`]: path validation and normalization.
//! - [`props`]: the properties codec (node data as a JSON object).
//! - [`store`]: the `Store` trait, the one door to ZooKeeper, and the values crossing it (an
//!   `Arc` of a store is a store, generated with `auto_impl`).
//! - [`snapshot`]: reading a subtree as plain data, with pipelined requests.
//! - [`export`]: a subtree as tree text or JSON.
//! - [`import`]: tree text into ZooKeeper: plan (pure) and apply (pipelined, versioned).
//! - [`delete`]: recursive delete, keeping ephemeral nodes.
//! - [`message`]: long names and values cut short for one-line error messages.
//! - `testkit` (feature `proptest`): proptest strategies for names, values and trees.
#![warn(missing_docs)]

pub mod address;
pub mod client;
pub mod connection;
pub mod delete;
pub mod export;
pub mod graph;
pub mod import;
pub mod message;
pub mod path;
pub(crate) mod pipeline;
pub mod props;
pub mod snapshot;
pub mod store;
#[cfg(any(test, feature = "proptest"))]
pub mod testkit;
pub mod tree;
