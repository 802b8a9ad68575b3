//! `zczk export`: a subtree as tree text (or JSON).

use std::fs::File;
use std::io::{BufWriter, ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use zczk_core::connection::Access;
use zczk_core::export::{self, ExportOptions, WriteTextError};

use super::text_io::{write_stdout, Format};
use super::zk::{with_client, ZkArgs};
use super::CliError;
use crate::connect::Client;

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
    if args.format == Format::Text {
        with_client(&args.zk, Access::Read, |client| write_text(client, &args, options))?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = with_client(&args.zk, Access::Read, |client| async move {
        let value = export::export_json(&*client.store(), &args.path, &options).await?;
        Ok(format!("{}\n", serde_json::to_string_pretty(&value).expect("JSON values always print")))
    })?;
    match &args.output {
        Some(file) => std::fs::write(file, text).map_err(CliError::io(file))?,
        None => write_stdout(&text)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the text as it is read (a large tree is never held whole). With `-o FILE`, into a
/// file beside FILE that replaces it once the export is complete, so a failed export leaves
/// FILE as it was. A closed stdout (`zczk export | head`) is not an error.
async fn write_text(client: Client, args: &Args, options: ExportOptions) -> Result<(), CliError> {
    let store = client.store();
    let Some(file) = &args.output else {
        let mut out = BufWriter::new(std::io::stdout().lock());
        let written = export::write_text(&*store, &args.path, &options, &mut out).await;
        return match written.and_then(|()| Ok(out.flush()?)) {
            Err(WriteTextError::Io(e)) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
            other => other.map_err(|e| written_error(e, Path::new("<stdout>"))),
        };
    };
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = file.with_file_name(format!(".{name}.zczk-partial"));
    let mut out = BufWriter::new(File::create(&partial).map_err(CliError::io(&partial))?);
    let written = export::write_text(&*store, &args.path, &options, &mut out).await;
    let done = written.and_then(|()| Ok(out.flush()?)).map_err(|e| written_error(e, &partial));
    drop(out);
    match done.and_then(|()| std::fs::rename(&partial, file).map_err(CliError::io(file))) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// The error of [`export::write_text`] writing to `path`.
fn written_error(error: WriteTextError, path: &Path) -> CliError {
    match error {
        WriteTextError::Export(e) => e.into(),
        WriteTextError::Io(e) => CliError::io(path)(e),
    }
}
