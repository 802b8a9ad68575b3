//! `zczk serve`: the emulator over ZooKeeper's TCP client protocol (the jute encoding of
//! ZooKeeper 3.5+), so any ZooKeeper client (Java, kazoo, zkCli, zookeeper-client, ...) can use it.
//!
//! Each connection holds one emulator [`crate::Session`]; its requests run through the
//! session's `Store` methods in arrival order. A client that loses its connection keeps its
//! session for the session timeout and resumes it by reconnecting with its id and password
//! (its watches come back through `setWatches`); after that it is told the session expired.
//! A client that sends nothing (not even a ping) for the whole timeout has its session expired.
//! Faults are injected through the emulator: `emulator.faults(id).disconnect()` drops the
//! session's connection, `.expire()` ends the session; another process does the same with
//! four-letter words on the client port (`ruok`, `srvr`, `sess`, `expi ID`, `drop ID`); the
//! last three, which reach other clients' sessions, only as [`ServerOptions::control`] allows
//! (by default, on a loopback listen address). One client address holds at most
//! [`ServerOptions::max_client_cnxns`] connections (ZooKeeper's `maxClientCnxns`, 60).
//! The words a 3.8 server answers about itself (`envi`, `conf`, `mntr`, `stat`, `wchs`, ...) are
//! answered in its formats.
//!
//! Frames longer than `jute.maxbuffer` (the emulator's `Config::max_request_bytes`; the whole
//! request counts, as on a real server), negative lengths, truncated or undecodable frames and
//! unknown op codes close that one connection with a log line; the server goes on.

mod admin;
mod conn;
// The encoding and the records are internal; the fuzz and wire tests reach them through the
// `wire-internals` feature.
#[cfg(feature = "wire-internals")]
pub mod jute;
#[cfg(not(feature = "wire-internals"))]
mod jute;
mod ops;
#[cfg(feature = "wire-internals")]
pub mod proto;
#[cfg(not(feature = "wire-internals"))]
mod proto;
mod server;
mod shared;
mod words;

pub use server::{serve, serve_with, Control, Server, ServerHandle, ServerOptions, DEFAULT_MAX_CLIENT_CNXNS};
pub(crate) use shared::Sessions;
