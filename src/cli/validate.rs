//! `zczk validate FILE|-`.

use std::process::ExitCode;

use super::CliError;

/// Check tree text without connecting.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tree file, or `-` for stdin.
    pub file: String,
}

/// Runs `zczk validate`.
pub fn run(_args: Args) -> Result<ExitCode, CliError> {
    todo!("validate")
}
