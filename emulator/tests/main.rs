//! The emulator's integration tests as one test binary (one link instead of one per file).

mod wire_support;

mod ensemble;
mod faults;
mod file;
mod load;
mod server;
mod wire_access;
mod wire_fuzz;
mod wire_session;
