//! zczk-core: the pure logic of zczk and its user API.
//!
//! - [`tree`]: the tree text format (parse, print) and its plain-data model.
//! - [`client`]: the high-level client `ZooKeeper<S>`.
//! - [`connection`]: connection strings (`host:port/chroot`, `mem:`, `file:PATH`).
//! - [`path`]: path validation and normalization.
//! - [`props`]: the properties codec (node data as a JSON object).
//! - [`store`]: the `Store` trait, the one door to ZooKeeper, and the values crossing it.
#![warn(missing_docs)]

pub mod client;
pub mod connection;
pub mod path;
pub mod props;
pub mod store;
pub mod tree;
