//! End-to-end tests of the built `zczk` binaries, as one test binary.

mod cli_connect;
mod cli_crash;
mod cli_ensemble;
mod cli_file;
mod cli_maxbuffer;
mod cli_messages;
mod cli_sasl;
mod cli_serve;
mod cli_tls;
mod cli_tree;
mod cli_ui;
mod cli_ui_browser;
mod cli_zk;
mod private_server;
