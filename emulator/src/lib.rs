//! zczk-emulator: a full in-memory ZooKeeper that implements `zczk_core::store::Store`.
#![warn(missing_docs)]
