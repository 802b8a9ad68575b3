//! `zczk completions SHELL`.

use std::process::ExitCode;

use clap::CommandFactory;

use super::{Cli, CliError};

/// Print a shell completion script.
///
/// Example: `zczk completions bash > /etc/bash_completion.d/zczk`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Runs `zczk completions`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "zczk", &mut out);
    super::text_io::write_stdout(&String::from_utf8_lossy(&out))?;
    Ok(ExitCode::SUCCESS)
}
