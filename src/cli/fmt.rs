//! `zczk fmt [--check] FILE|-`: tree text in canonical form.

use std::process::ExitCode;

use zczk_core::tree;

use super::text_io::write_stdout;
use super::validate::{read_or_report, report};
use super::CliError;

/// Print tree text in canonical form.
///
/// Two spaces per level; each node's properties sorted, then its node links, property links
/// and children; values as Python 3 literals. Comment
/// lines stay before the item they precede, re-indented; blank lines are dropped. Invalid
/// text is reported as by `zczk validate` (exit 1).
///
/// Example: `zczk fmt services.zk > tidy.zk`, or in CI `zczk fmt --check services.zk`
#[derive(Debug, clap::Args)]
#[command(
    after_help = r#"Canonical form: two spaces per level; each node's properties sorted, then its node links,
property links and children; values as Python 3 literals. Comment lines stay before the
item they precede (they move with it when sorting moves it); blank lines are dropped.
Invalid text is reported as by `zczk validate` (exit 1).

Examples:
  zczk fmt services.zk > tidy.zk
  zczk fmt --check services.zk   # in CI: exit 1 when not canonical"#
)]
pub struct Args {
    /// Print nothing; exit 1 (with a one-line message on stderr) when the text is not in
    /// canonical form.
    #[arg(long)]
    pub check: bool,
    /// The tree file, or `-` for stdin.
    pub file: String,
}

/// Runs `zczk fmt`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let text = match read_or_report(&args.file)? {
        Ok(text) => text,
        Err(code) => return Ok(code),
    };
    let canonical = match tree::format(&text) {
        Ok(canonical) => canonical,
        Err(errors) => {
            eprint!("{}", report(&args.file, &errors));
            return Ok(ExitCode::from(1));
        }
    };
    if !args.check {
        write_stdout(&canonical)?;
        return Ok(ExitCode::SUCCESS);
    }
    if canonical == text {
        return Ok(ExitCode::SUCCESS);
    }
    let line = first_difference(&text, &canonical);
    eprintln!(
        "{}: not in canonical form (from line {line}; `zczk fmt` prints it)",
        zczk_core::message::short(&args.file)
    );
    Ok(ExitCode::from(1))
}

/// The 1-based number of the first line where `a` and `b` differ.
fn first_difference(a: &str, b: &str) -> usize {
    let mut a_lines = a.split('\n');
    let mut b_lines = b.split('\n');
    let mut number = 1;
    while a_lines.next() == b_lines.next() {
        number += 1;
    }
    number
}
