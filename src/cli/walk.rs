//! `zczk walk [--no-ephemeral] [--children] [PATH]`.

use std::process::ExitCode;

use serde_json::{json, Value};
use zczk_core::client::WalkOptions;
use zczk_core::connection::Access;

use super::text_io::{write_stdout, Format};
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
    /// The output form: `text` (one path a line) or `json` (one array of paths, or with
    /// --children of `{"path": ..., "children": [...]}` objects). (`--output` is the old
    /// spelling, kept for scripts; elsewhere `-o/--output` names a file.)
    #[arg(long, alias = "output", value_enum, default_value_t = Format::Text)]
    pub format: Format,
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
    let text = with_client(&args.zk, Access::Read, |client| async move {
        let mut walk = client.walk(&args.path, options)?;
        let mut text = String::new();
        let mut items = Vec::new();
        while let Some(item) = walk.next().await {
            let item = item?;
            match (args.format, args.children) {
                (Format::Json, false) => items.push(json!(item.path)),
                (Format::Json, true) => items.push(json!({"path": item.path, "children": item.children})),
                (Format::Text, children) => {
                    text.push_str(&item.path);
                    if children {
                        text.push('\t');
                        text.push_str(&json!(item.children).to_string());
                    }
                    text.push('\n');
                }
            }
        }
        if args.format == Format::Json {
            text = format!("{}\n", Value::Array(items));
        }
        Ok(text)
    })?;
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}
