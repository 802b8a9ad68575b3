//! `zczk validate FILE|-`: check tree text without connecting.

use std::process::ExitCode;

use zczk_core::tree::{self, Node, ParseError};

use super::text_io::read_text;
use super::CliError;

/// Check tree text, without connecting.
///
/// Prints nothing and exits 0 when the text is valid; otherwise prints every error as
/// `FILE:LINE:COLUMN: message` on stderr and exits 1.
///
/// Example: `zczk validate services.zk` or `zczk export | zczk validate -`
#[derive(Debug, clap::Args)]
#[command(after_help = r#"Prints nothing and exits 0 when the text is valid; otherwise prints every error as
FILE:LINE:COLUMN: message on stderr and exits 1. Never connects to ZooKeeper.

Examples:
  zczk validate services.zk
  zczk export /services | zczk validate -"#)]
pub struct Args {
    /// The tree file, or `-` for stdin.
    pub file: String,
}

/// Runs `zczk validate`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    Ok(match parse_file(&args.file)? {
        Ok(_) => ExitCode::SUCCESS,
        Err(code) => code,
    })
}

/// Reads and parses `file` (`-` for stdin). Parse errors are printed on stderr, one line each
/// (`FILE:LINE:COLUMN: message`), and give the exit status 1; a file that cannot be read is
/// an error.
pub(super) fn parse_file(file: &str) -> Result<Result<(Node, String), ExitCode>, CliError> {
    let text = read_text(file)?;
    match tree::parse_all(&text) {
        Ok(root) => Ok(Ok((root, text))),
        Err(errors) => {
            eprint!("{}", report(file, &errors));
            Ok(Err(ExitCode::from(1)))
        }
    }
}

/// Every error as `FILE:LINE:COLUMN: message`, one per line.
pub(super) fn report(file: &str, errors: &[ParseError]) -> String {
    errors
        .iter()
        .map(|error| CliError::Parse { file: file.to_string(), error: error.clone() }.to_string() + "\n")
        .collect()
}
