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
/// Example: `zczk export --zk 127.0.0.1:2181 /services -o services.zk`
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
    let options = ExportOptions { ephemeral: args.ephemeral, name: args.name.clone(), ..Default::default() };
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
