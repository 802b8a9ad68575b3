//! `zczk pick PATH`: one provider of a service, for shell scripts.

use std::process::ExitCode;
use std::time::Duration;

use zczk_core::client::Strategy;
use zczk_core::connection::Access;

use super::text_io::write_stdout;
use super::zk::{with_client, ZkArgs};
use super::CliError;

/// Print one provider of a service (a child of its providers node, resolved through links).
///
/// Exits 1 with a message naming the path when there is none.
///
/// Example: `curl http://$(zczk pick /services/web/providers)/health`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The providers node.
    pub path: String,
    /// How to choose: any at random, the first in name order (round-robin's first turn), or
    /// sticky (a random one; the library keeps it while it lives).
    #[arg(long, value_enum, default_value_t = StrategyArg::Random)]
    pub strategy: StrategyArg,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// The choice of `--strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StrategyArg {
    /// Any one, at random.
    Random,
    /// Each in turn, in name order.
    RoundRobin,
    /// The same one while it lives.
    Sticky,
}

/// Runs `zczk pick`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let strategy = match args.strategy {
        StrategyArg::Random => Strategy::Random,
        StrategyArg::RoundRobin => Strategy::RoundRobin,
        StrategyArg::Sticky => Strategy::Sticky,
    };
    let picked = with_client(&args.zk, Access::Read, |client| async move {
        // One pick per run: nothing is marked down, so the down time does not matter.
        let providers = client.providers(&args.path, strategy, Duration::ZERO).await?;
        Ok(providers.require()?)
    })?;
    write_stdout(&format!("{picked}\n"))?;
    Ok(ExitCode::SUCCESS)
}
