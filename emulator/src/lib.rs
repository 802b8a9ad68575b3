//! zczk-emulator: a full in-memory ZooKeeper that implements `zczk_core::store::Store`.
#![warn(missing_docs)]

mod connector;
mod emulator;
mod faults;
pub mod file;
mod limits;
mod path;
mod server;
mod session;
mod tree;
mod txn;
mod watch;

pub mod acl;

pub use connector::EmulatorConnector;
pub use emulator::{Emulator, LoadError};
pub use faults::Faults;
pub use file::FileError;
pub use server::Config;
pub use session::{Session, SessionOptions, DEFAULT_CLIENT_ADDRESS, DEFAULT_TIMEOUT};
