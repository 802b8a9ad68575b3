//! `zczk get [--raw] PATH`.

use std::process::ExitCode;

use serde_json::{Map, Value};
use zczk_core::connection::Access;

use super::text_io::write_stdout;
use super::zk::{with_client, ZkArgs};
use super::CliError;

/// Print a node's properties as one JSON object, keys sorted.
///
/// PATH is resolved through links. Node links (`"x ->": "/target"`) print as stored; each
/// property link `k =>` is replaced by `k` and the value it leads to (an error if it leads
/// nowhere). `--raw` prints the stored properties untouched.
///
/// Example: `zczk get /services/db`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the stored properties without following property links.
    #[arg(long)]
    pub raw: bool,
    /// The node.
    pub path: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// Runs `zczk get`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let object = with_client(&args.zk, Access::Read, |client| async move {
        let properties = client.properties(&args.path, false).await?;
        let snapshot = properties.snapshot();
        if args.raw {
            return Ok(snapshot.properties.clone());
        }
        let mut out = Map::new();
        for key in snapshot.keys() {
            if let Some(value) = snapshot.get(&key)? {
                out.insert(key, value);
            }
        }
        Ok(out)
    })?;
    let sorted: std::collections::BTreeMap<String, Value> = object.into_iter().collect();
    let text = serde_json::to_string_pretty(&sorted).expect("JSON values always print");
    write_stdout(&format!("{text}\n"))?;
    Ok(ExitCode::SUCCESS)
}
