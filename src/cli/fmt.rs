//! `zczk fmt [--check] FILE|-`.

use std::process::ExitCode;

use super::CliError;

/// Print tree text in canonical form.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tree file, or `-` for stdin.
    pub file: String,
}

/// Runs `zczk fmt`.
pub fn run(_args: Args) -> Result<ExitCode, CliError> {
    todo!("fmt")
}
