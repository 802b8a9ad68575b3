//! `zczk set-property PATH NAME=VALUE...`.

use std::process::ExitCode;

use serde_json::{Map, Value};
use zczk_core::connection::Access;
use zczk_core::tree::parse_value;

use super::zk::{with_client, ZkArgs};
use super::CliError;

/// Set properties of a node, in one versioned update.
///
/// The node's other properties stay.
///
/// Values are tree-format literals: `'text'`, `"text"`, `42`, `1.5`, `True`, `None`,
/// `[1, 'a']`, `{'k': 'v'}`. PATH is resolved through links; the real node is written.
///
/// Example: `zczk set-property /services/db threads=4 'mode="ro"'`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The node.
    pub path: String,
    /// NAME=VALUE pairs.
    #[arg(required = true, value_name = "NAME=VALUE", value_parser = assignment)]
    pub assignments: Vec<(String, Value)>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// Parses `name=value`, the value in the tree value grammar.
pub fn assignment(text: &str) -> Result<(String, Value), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{:?} is not NAME=VALUE", zczk_core::message::short(text)))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("{:?} has no property name before '='", zczk_core::message::short(text)));
    }
    let value = parse_value(value).map_err(|e| format!("bad value for {name}: {e}"))?;
    Ok((name.to_string(), value))
}

/// Runs `zczk set-property`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let changes: Map<String, Value> = args.assignments.into_iter().collect();
    with_client(&args.zk, Access::ReadWrite, |client| async move {
        let properties = client.properties(&args.path, false).await?;
        properties.update(changes).await?;
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
