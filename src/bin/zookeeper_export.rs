//! `zookeeper_export`: the zc.zk script of that name, with its argument shape.

use clap::Parser;

fn main() -> std::process::ExitCode {
    zczk::cli::upstream::Export::parse().run()
}
