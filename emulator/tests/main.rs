//! The emulator's integration tests as one test binary (one link instead of one per file).

mod wire_support;

mod faults;
mod ensemble;
mod file;
mod load;
mod server;
mod wire_access;
mod wire_fuzz;
mod wire_session;
