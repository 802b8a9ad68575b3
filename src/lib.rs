//! zczk: service registration and discovery with Apache ZooKeeper, JSON node properties, and a
//! text tree model of a whole system that can be imported, exported, diffed, trimmed and
//! analysed. A Rust re-creation of the Python package zc.zk.
//!
//! This crate re-exports the library API of [`zczk_core`] and holds the `zczk` command-line tool
//! ([`cli`]).
#![warn(missing_docs)]

pub mod cli;
pub mod connect;

pub use connect::{connect, Client, ConnectError, DynStore, Session};

pub use zczk_core::*;
