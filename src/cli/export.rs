//! `zczk export`: a subtree as tree text (or JSON).

use std::path::PathBuf;
use std::process::ExitCode;

use zczk_core::connection::Access;
use zczk_core::export::{self, ExportOptions};

use super::text_io::{write_stdout, Format};
use super::zk::{with_client, ZkArgs};
use super::CliError;

/// Print the subtree at PATH as tree text (or JSON), as `zczk import` reads it.
///
/// With --acl, each node's ACL follows its line, one `acl SCHEME:ID:PERMS` line per entry
/// (`acl digest:admin:HASH:cdrwa`), and `zczk import` gives the nodes those ACLs, so a copy
/// to another cluster keeps them. ZooKeeper shows digest hashes only to a session with ADMIN
/// permission on the node: export as that identity (--auth), else the export fails.
///
/// Examples: `zczk export --zk 127.0.0.1:2181 /services -o services.zk`,
/// `zczk export --acl --auth digest:admin:secret /services`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Include ephemeral nodes (registered servers) and what is below them.
    #[arg(short, long)]
    pub ephemeral: bool,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the top node under this name.
    #[arg(long)]
    pub name: Option<String>,
    /// Include each node's ACL (`acl SCHEME:ID:PERMS` lines; an `acl` list in JSON).
    #[arg(long)]
    pub acl: bool,
    /// The output form: tree text, or nested JSON objects with `properties` and `children`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The subtree to export.
    #[arg(default_value = "/")]
    pub path: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// Runs `zczk export`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let options = ExportOptions {
        ephemeral: args.ephemeral,
        name: args.name.clone(),
        acl: args.acl,
        ..Default::default()
    };
    let text = with_client(&args.zk, Access::Read, |client| async move {
        let store = client.store();
        Ok(match args.format {
            Format::Text => export::export_tree(&*store, &args.path, &options).await?,
            Format::Json => {
                let value = export::export_json(&*store, &args.path, &options).await?;
                format!("{}\n", serde_json::to_string_pretty(&value).expect("JSON values always print"))
            }
        })
    })?;
    match &args.output {
        Some(file) => std::fs::write(file, text).map_err(CliError::io(file))?,
        None => write_stdout(&text)?,
    }
    Ok(ExitCode::SUCCESS)
}
