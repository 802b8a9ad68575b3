//! `zczk resolve PATH` and `zczk ln TARGET SOURCE`.

use std::process::ExitCode;

use zczk_core::connection::Access;

use super::text_io::write_stdout;
use super::zk::{with_client, ZkArgs};
use super::CliError;

/// Print the real path a path stands for, following node links (`name -> path`).
///
/// Example: `zczk resolve /cms/database/providers`
#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// The (virtual) path.
    pub path: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// Runs `zczk resolve`.
pub fn resolve(args: ResolveArgs) -> Result<ExitCode, CliError> {
    let real =
        with_client(&args.zk, Access::Read, |client| async move { Ok(client.resolve(&args.path).await?) })?;
    write_stdout(&format!("{real}\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// Make SOURCE a link to TARGET: adds `name -> TARGET` to SOURCE's parent.
///
/// The name is SOURCE's last segment; when SOURCE ends with `/`, it is TARGET's last segment.
///
/// Example: `zczk ln /databases/main /cms/database`
#[derive(Debug, clap::Args)]
pub struct LnArgs {
    /// The path the link points to.
    pub target: String,
    /// The link's path.
    pub source: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// Runs `zczk ln`.
pub fn ln(args: LnArgs) -> Result<ExitCode, CliError> {
    with_client(&args.zk, Access::ReadWrite, |client| async move {
        Ok(client.ln(&args.target, &args.source).await?)
    })?;
    Ok(ExitCode::SUCCESS)
}
