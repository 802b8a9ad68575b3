//! `zczk graph [FILE|-]`: the service graph of a tree as Graphviz DOT.

use std::process::ExitCode;

use zczk_core::connection::Access;
use zczk_core::export::{self, ExportOptions};
use zczk_core::graph;

use super::text_io::write_stdout;
use super::validate::parse_file;
use super::zk::{with_client, ZkArgs};
use super::CliError;

/// The whole live tree (ephemeral nodes left out: registrations are not part of the graph).
fn live_tree(zk: &ZkArgs) -> Result<zczk_core::tree::Node, CliError> {
    with_client(zk, Access::Read, |client| async move {
        let options = ExportOptions::default();
        let snapshot = export::read(&*client.store(), "/", &options, None).await?;
        Ok(export::to_tree(&snapshot, &options))
    })
}

/// Print the service graph of tree text (or of the live tree) as Graphviz DOT.
///
/// A node with a child `providers` is a service; a node link at or below a service to `.../providers` is an edge from that
/// service to the linked one (the nearest enclosing service owns the link; relative targets
/// are resolved against the node holding the link). Edges are sorted.
///
/// Examples: `zczk graph services.zk | dot -Tsvg > services.svg`, `zczk graph --zk zk1:2181/app`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tree file, or `-` for stdin. Without it, the live tree at `--zk` is read.
    pub file: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// Runs `zczk graph`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let root = match &args.file {
        Some(file) => match parse_file(file, None)? {
            Ok((root, _)) => root,
            Err(code) => return Ok(code),
        },
        None => live_tree(&args.zk)?,
    };
    write_stdout(&graph::dot_of(&root))?;
    Ok(ExitCode::SUCCESS)
}
