//! zczk-zookeeper: `zczk_core::store::Store` over a real ZooKeeper ensemble.
#![warn(missing_docs)]
