//! `zczk watch [--children] PATH`: a live view, one JSON object per line.

use std::process::ExitCode;

use std::sync::Arc;

use futures::{Stream, StreamExt};
use serde_json::{json, Value};
use zczk_core::connection::Access;

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
    with_client(&args.zk, Access::Read, |client| async move {
        // Each view lives while its stream is read: dropping it would end the stream.
        if args.children {
            let view = client.children(&args.path).await?;
            print_each(view.stream(), |s| (&s.path, s.deleted, json!({"children": s.children}))).await
        } else {
            let view = client.properties(&args.path, true).await?;
            print_each(view.stream(), |s| (&s.path, s.deleted, json!({"properties": s.followed()}))).await
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Prints one JSON line per snapshot: `{"path": P, ...fields}`, or `{"path": P, "deleted":
/// true}` for the last one when the node is gone for good.
async fn print_each<T>(
    snapshots: impl Stream<Item = Arc<T>>,
    fields: impl Fn(&T) -> (&String, bool, Value),
) -> Result<(), CliError> {
    let mut snapshots = std::pin::pin!(snapshots);
    while let Some(snapshot) = snapshots.next().await {
        let (path, deleted, fields) = fields(&snapshot);
        let mut line = json!({"path": path});
        if deleted {
            line["deleted"] = Value::Bool(true);
        } else if let Value::Object(fields) = fields {
            line.as_object_mut().expect("an object").extend(fields);
        }
        write_stdout(&format!("{line}\n"))?;
    }
    Ok(())
}
