//! What every command that talks to ZooKeeper shares: `--zk`, the timeouts, the runtime, and
//! closing the session whatever happens.

use std::future::Future;
use std::time::Duration;

use crate::connect::{self, Client, Options};
use zczk_core::connection::{Access, DEFAULT, ENV_VAR};

use super::CliError;

/// The default of `--timeout`.
pub const DEFAULT_TIMEOUT_SECONDS: f64 = 10.0;

/// Where to connect.
#[derive(Debug, Clone, clap::Args)]
pub struct ZkArgs {
    /// The connection string: `host:port[,host:port...][/chroot]` for a real ZooKeeper,
    /// `mem:` for a fresh in-process emulator, `file:PATH` for an emulator kept in a file (made
    /// by the first command that writes; commands that only read never write it).
    #[arg(long, value_name = "CONNECTION", env = ENV_VAR, default_value = DEFAULT)]
    pub zk: String,
    /// Seconds to wait for a session before giving up (also the session timeout asked for).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT_SECONDS, value_parser = seconds)]
    pub timeout: f64,
}

fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => Ok(s),
        _ => Err(format!(
            "{:?} is not a number of seconds between 0 and 3600",
            zczk_core::message::short(text)
        )),
    }
}

impl ZkArgs {
    fn options(&self, access: Access) -> Options {
        let timeout = Duration::from_secs_f64(self.timeout);
        Options { session_timeout: timeout, connect_timeout: Some(timeout), access }
    }
}

/// A runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| CliError::Io { path: "tokio runtime".into(), source })
}

/// Connects, runs `job` with the client, and closes the session (ephemerals vanish at once)
/// whether `job` succeeded or not. `job`'s error wins over a close error. `access` says
/// whether the command writes: a `file:` store is then created if missing, else it must
/// exist and is never written.
pub fn with_client<T, F, Fut>(zk: &ZkArgs, access: Access, job: F) -> Result<T, CliError>
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = Result<T, CliError>>,
{
    runtime()?.block_on(async {
        let session = connect::connect(&zk.zk, &zk.options(access)).await?;
        let result = job(session.client().clone()).await;
        let closed = session.close().await;
        let value = result?;
        closed?;
        Ok(value)
    })
}
