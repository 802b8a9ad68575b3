//! The `zczk` command-line tool. See `zczk --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    zczk::cli::main(zczk::cli::Cli::parse())
}
