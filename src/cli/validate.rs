//! `zczk validate FILE|- [PATH]`: check tree text without connecting.

use std::process::ExitCode;

use zczk_core::import;
use zczk_core::store::size::DEFAULT_MAX_REQUEST;
use zczk_core::tree::{self, Node, ParseError};

use super::snippet::snippet;
use super::text_io::read_text;
use super::CliError;

/// Check tree text, without connecting.
///
/// Refuses exactly what `zczk import FILE PATH` refuses for reasons of the text itself
/// (syntax, node names ZooKeeper refuses, node data over its size limit, nodes that would go
/// into `/zookeeper`). Prints nothing and exits 0 when the text is valid; otherwise prints
/// every error as `FILE:LINE:COLUMN: message`, then the line with a caret under the column,
/// on stderr and exits 1.
///
/// Example: `zczk validate services.zk` or `zczk export | zczk validate -`
#[derive(Debug, clap::Args)]
#[command(after_help = r#"Prints nothing and exits 0 when the text is valid; otherwise prints every error as
FILE:LINE:COLUMN: message, then the line with a caret under the column, on stderr and exits 1.
Never connects to ZooKeeper.

Examples:
  zczk validate services.zk
  zczk validate services.zk /apps   # checked as an import into /apps
  zczk validate --jute-maxbuffer 4194304 big.zk   # servers that take 4 MiB requests
  zczk export /services | zczk validate -"#)]
pub struct Args {
    /// The tree file, or `-` for stdin.
    pub file: String,
    /// Where the file would be imported (as `zczk import FILE PATH`).
    #[arg(default_value = "/")]
    pub path: String,
    /// Check node data against servers started with this jute.maxbuffer rather than
    /// ZooKeeper's default (1048575), as `zczk import --jute-maxbuffer BYTES` does.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1024..=i32::MAX as i64))]
    pub jute_maxbuffer: Option<u32>,
}

/// Runs `zczk validate`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    // The import path itself, as import checks it (an empty tree has nothing else to refuse).
    import::check(&Node::default(), &args.path)?;
    let text = match read_or_report(&args.file)? {
        Ok(text) => text,
        Err(code) => return Ok(code),
    };
    // As import checks it, without holding the parsed tree.
    let max_request = args.jute_maxbuffer.map_or(DEFAULT_MAX_REQUEST, |bytes| bytes as usize);
    match tree::check_for_server(&text, &args.path, max_request) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(errors) => {
            eprint!("{}", report(&args.file, &errors));
            Ok(ExitCode::from(1))
        }
    }
}

/// Reads and parses `file` (`-` for stdin). Parse errors are printed on stderr
/// (`FILE:LINE:COLUMN: message`, then the line with a caret under the column), and give the
/// exit status 1; a file that cannot be read is an error.
pub(super) fn parse_file(file: &str) -> Result<Result<(Node, String), ExitCode>, CliError> {
    let text = match read_or_report(file)? {
        Ok(text) => text,
        Err(code) => return Ok(Err(code)),
    };
    match tree::parse_all(&text) {
        Ok(root) => Ok(Ok((root, text))),
        Err(errors) => {
            eprint!("{}", report(file, &errors));
            Ok(Err(ExitCode::from(1)))
        }
    }
}

/// Reads the tree text of `file` (`-` for stdin); text that is not UTF-8 is reported as a
/// parse error is (on stderr, exit status 1).
pub(super) fn read_or_report(file: &str) -> Result<Result<String, ExitCode>, CliError> {
    match read_text(file) {
        Ok(text) => Ok(Ok(text)),
        Err(CliError::Parse { error, .. }) => {
            eprint!("{}", report(file, &[error]));
            Ok(Err(ExitCode::from(1)))
        }
        Err(e) => Err(e),
    }
}

/// Every error as `FILE:LINE:COLUMN: message`, each followed by its line and a caret under
/// the column.
pub(super) fn report(file: &str, errors: &[ParseError]) -> String {
    let colour = super::colour_on_stderr();
    errors
        .iter()
        .map(|error| {
            let message = CliError::Parse { file: file.to_string(), error: error.clone() };
            format!("{message}\n{}", snippet(error, colour))
        })
        .collect()
}
