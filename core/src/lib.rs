//! zczk-core: the pure logic of zczk and its user API.
//!
//! - [`tree`]: the tree text format (parse, print) and its plain-data model.
//! - [`store`]: the `Store` trait, the one door to ZooKeeper, and the values crossing it.
#![warn(missing_docs)]

pub mod store;
pub mod tree;
