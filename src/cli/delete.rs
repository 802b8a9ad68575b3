//! `zczk delete -r [--dry-run] [--force] PATH`.

use std::process::ExitCode;

use zczk_core::connection::Access;
use zczk_core::delete::DeleteOptions;

use super::text_io::write_lines;
use super::zk::{with_client, ZkArgs};
use super::CliError;

/// Delete a subtree, keeping registered servers.
///
/// Children go first. Ephemeral nodes (registered servers) and their ancestors are kept
/// unless --force. `/` and `/zookeeper` are never deleted.
///
/// Example: `zczk delete -r --dry-run /services/old`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Delete the whole subtree (required: zczk never deletes a subtree by surprise).
    #[arg(short, long, required = true)]
    pub recursive: bool,
    /// Change nothing: print what would be deleted.
    #[arg(short, long)]
    pub dry_run: bool,
    /// Delete ephemeral nodes too.
    #[arg(short, long)]
    pub force: bool,
    /// The subtree.
    pub path: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// Runs `zczk delete`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let options = DeleteOptions { dry_run: args.dry_run, force: args.force, ..DeleteOptions::default() };
    let report = with_client(
        &args.zk,
        // A dry run only reads.
        if args.dry_run { Access::Read } else { Access::ReadWrite },
        |client| async move { Ok(client.delete_recursive(&args.path, &options).await?) },
    )?;
    write_lines(&report.lines)?;
    Ok(ExitCode::SUCCESS)
}
