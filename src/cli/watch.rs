//! `zczk watch [--children] PATH`: a live view, one JSON object per line.

use std::process::ExitCode;

use serde_json::{json, Map, Value};

use super::text_io::write_stdout;
use super::zk::{with_client, ZkArgs};
use super::CliError;

/// Print a node's properties or children now and on every change.
///
/// Prints its properties (property links followed) as one JSON line at once and on every
/// change, as `{"path": P, "properties": {...}}`, or with --children its child names
/// as `{"path": P, "children": [...]}`. P is the real path the given one resolves to. When
/// the node is gone for good, prints `{"path": P, "deleted": true}` and exits 0.
///
/// Example: `zczk watch --children /services/db/providers`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Watch the list of children instead of the properties.
    #[arg(long)]
    pub children: bool,
    /// The node (resolved through links).
    pub path: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// Runs `zczk watch`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    with_client(&args.zk, |client| async move {
        if args.children {
            let view = client.children(&args.path).await?;
            let mut updates = view.subscribe();
            loop {
                let snapshot = updates.borrow_and_update().clone();
                if snapshot.deleted {
                    return print_line(json!({"path": snapshot.path, "deleted": true}));
                }
                print_line(json!({"path": snapshot.path, "children": snapshot.children}))?;
                if updates.changed().await.is_err() {
                    return Ok(());
                }
            }
        } else {
            let view = client.properties(&args.path, true).await?;
            let mut updates = view.subscribe();
            loop {
                let snapshot = updates.borrow_and_update().clone();
                if snapshot.deleted {
                    return print_line(json!({"path": snapshot.path, "deleted": true}));
                }
                let properties: Map<String, Value> = snapshot.followed();
                print_line(json!({"path": snapshot.path, "properties": properties}))?;
                if updates.changed().await.is_err() {
                    return Ok(());
                }
            }
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

fn print_line(value: Value) -> Result<(), CliError> {
    write_stdout(&format!("{value}\n"))
}
