//! `zczk graph [FILE|-]`: the service graph of a tree as Graphviz DOT.

use std::process::ExitCode;

use zczk_core::graph;

use super::text_io::write_stdout;
use super::validate::parse_file;
use super::CliError;

/// Print the service graph of tree text as Graphviz DOT. A node with a child `providers` is
/// a service; a node link at or below a service to `.../providers` is an edge from that
/// service to the linked one (the nearest enclosing service owns the link; relative targets
/// are resolved against the node holding the link). Edges are sorted.
///
/// Example: `zczk graph services.zk | dot -Tsvg > services.svg`
#[derive(Debug, clap::Args)]
#[command(
    after_help = r#"A node with a child `providers` is a service; a node link at or below a service whose target
ends in `/providers` is an edge from that service to the linked one (the nearest enclosing
service owns the link; relative targets are resolved against the node holding the link).
Output: digraph g { "/a" -> "/b"; }, edges sorted.

Example:
  zczk graph services.zk | dot -Tsvg > services.svg"#
)]
pub struct Args {
    /// The tree file, or `-` for stdin.
    pub file: Option<String>,
}

/// Runs `zczk graph`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let Some(file) = args.file else {
        // A usage error (status 2): there is nothing to read the tree from.
        eprintln!("zczk graph: give a tree FILE, or `-` to read stdin");
        return Ok(ExitCode::from(2));
    };
    let root = match parse_file(&file)? {
        Ok((root, _)) => root,
        Err(code) => return Ok(code),
    };
    write_stdout(&graph::dot_of(&root))?;
    Ok(ExitCode::SUCCESS)
}
