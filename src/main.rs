//! The `zczk` command-line tool. See `zczk --help`.

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: zczk::cli::Allocator = zczk::cli::Allocator {};

fn main() -> ExitCode {
    zczk::cli::main(zczk::cli::Cli::parse())
}
