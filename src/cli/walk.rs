//! `zczk walk [--no-ephemeral] [--children] [PATH]`.

use std::process::ExitCode;

use zczk_core::client::WalkOptions;

use super::text_io::write_stdout;
use super::zk::{with_client, ZkArgs};
use super::CliError;

/// Print the paths of a subtree, parents first, children in name order.
///
/// Example: `zczk walk --no-ephemeral /services`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Leave out ephemeral nodes and their subtrees.
    #[arg(long)]
    pub no_ephemeral: bool,
    /// Print each node's child names after its path, tab-separated, as a JSON list.
    #[arg(long)]
    pub children: bool,
    /// The subtree.
    #[arg(default_value = "/")]
    pub path: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// Runs `zczk walk`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let options = WalkOptions { ephemeral: !args.no_ephemeral };
    let text = with_client(&args.zk, |client| async move {
        let mut walk = client.walk(&args.path, options)?;
        let mut text = String::new();
        while let Some(item) = walk.next().await {
            let item = item?;
            text.push_str(&item.path);
            if args.children {
                text.push('\t');
                text.push_str(&serde_json::to_string(&item.children).expect("names always print"));
            }
            text.push('\n');
        }
        Ok(text)
    })?;
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}
