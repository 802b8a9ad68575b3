//! `zczk register PATH ADDR [NAME=VALUE...]`.

use std::process::ExitCode;

use serde_json::{Map, Value};
use zczk_core::connection::Access;

use super::set_property::assignment;
use super::signals::shutdown_signal;
use super::text_io::write_lines;
use super::zk::{with_client, ZkArgs};
use super::CliError;

/// Register a server until SIGINT or SIGTERM.
///
/// Creates the ephemeral node PATH/HOST:PORT (or PATH/NAME for any other node name) and keeps
/// the session until SIGINT or SIGTERM, then closes it so the node vanishes at once.
///
/// A blank host (`:8080`) registers every non-loopback IPv4 address of this machine. The
/// node's properties are the given ones plus `pid`. The created paths are printed.
///
/// Example: `zczk register /services/db 10.0.0.7:5432 weight=2`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The service node (resolved through links).
    pub path: String,
    /// `host:port`, `[ipv6]:port`, `:port` for every address of this machine, or any other
    /// node name (such as `worker-1`), registered as it is.
    pub addr: String,
    /// Properties of the registration, values in the tree value grammar.
    #[arg(value_name = "NAME=VALUE", value_parser = assignment)]
    pub properties: Vec<(String, Value)>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// Runs `zczk register`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let properties: Map<String, Value> = args.properties.into_iter().collect();
    with_client(&args.zk, Access::ReadWrite, |client| async move {
        // Handlers first: a signal that comes while registering still ends the command.
        let stop = shutdown_signal()?;
        let created = client.register(&args.path, &args.addr, properties).await?;
        write_lines(&created)?;
        stop.await;
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
