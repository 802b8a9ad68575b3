//! `zookeeper_validate`: the zc.zk script of that name, with its argument shape.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: zczk::cli::Allocator = zczk::cli::Allocator {};

fn main() -> std::process::ExitCode {
    zczk::cli::upstream::Validate::parse().run()
}
