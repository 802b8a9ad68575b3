//! The conformance suite as one test binary (one link instead of one per file, which keeps
//! CI's disk and build time small). Each module holds one area; `on_every_backend!` runs every case on the
//! emulator, on the emulator served over the wire, and on the real server.

mod client_support;

mod client_children;
mod client_properties;
mod client_providers;
mod client_register;
mod client_resolve;
mod client_sessions;
mod client_tree_io;
mod client_walk;
mod delete_recursive;
mod ensemble_members;
mod ensemble_reconfig;
mod export_tree;
mod import_apply;
mod import_random;
mod import_reads;
mod import_stream;
mod import_tree;
mod request_size;
mod serve_store;
mod store_acl;
mod store_multi;
mod store_nodes;
mod store_root;
mod store_session;
mod store_watch;
mod testkit;
