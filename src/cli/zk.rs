//! What every command that talks to ZooKeeper shares: `--zk`, the timeouts, the runtime, and
//! closing the session whatever happens.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use crate::connect::{self, Auth, Client, Options, TlsFiles};
use zczk_core::connection::{Access, DEFAULT, ENV_VAR};

use super::{denied, CliError};

/// The default of `--session-timeout`.
pub const DEFAULT_TIMEOUT_SECONDS: f64 = 10.0;

/// The variable holding an identity when no `--auth` is given.
pub const AUTH_ENV_VAR: &str = "ZC_ZK_AUTH";

/// Where and how to connect.
#[derive(Debug, Clone, clap::Args)]
pub struct ZkArgs {
    /// The connection string: `host:port[,host:port...][/chroot]` for a real ZooKeeper,
    /// `mem:` for a fresh in-process emulator, `file:PATH` for an emulator kept in a file (made
    /// by the first command that writes; commands that only read never write it).
    #[arg(long, value_name = "CONNECTION", env = ENV_VAR, default_value = DEFAULT)]
    pub zk: String,
    /// Seconds the session outlives a lost connection (its ephemerals vanish then).
    #[arg(long, alias = "timeout", value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT_SECONDS, value_parser = seconds)]
    pub session_timeout: f64,
    /// Seconds to wait for a session, trying every server again and again meanwhile
    /// [default: the session timeout].
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    pub connect_timeout: Option<f64>,
    /// An identity for the session, e.g. `digest:user:password` (repeatable; re-added to every
    /// new session); `sasl:user:password` logs in with SASL DIGEST-MD5 instead. Without it,
    /// the one in ZC_ZK_AUTH, if set.
    // Kept as text and parsed later: clap would echo a malformed value, credentials included.
    #[arg(long, value_name = "SCHEME:CREDENTIALS")]
    pub auth: Vec<String>,
    /// Connect with TLS (to the servers' secure client port), trusting the CA certificates of
    /// this PEM file.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// A client certificate (PEM) for servers that ask for one (with --tls-key and --tls-ca).
    #[arg(long, value_name = "FILE", requires_all = ["tls_key", "tls_ca"])]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The servers' jute.maxbuffer, when they were started with one other than ZooKeeper's
    /// default (1048575): the longest request they accept, so the largest node data zczk
    /// writes. A server cannot be asked for it. Real ZooKeeper only.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1024..=i32::MAX as i64))]
    pub jute_maxbuffer: Option<u32>,
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
    /// Only `--zk`, everything else at its default.
    pub fn new(zk: String) -> ZkArgs {
        ZkArgs {
            zk,
            session_timeout: DEFAULT_TIMEOUT_SECONDS,
            connect_timeout: None,
            auth: Vec::new(),
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            jute_maxbuffer: None,
        }
    }

    fn options(&self, access: Access) -> Result<Options, CliError> {
        let from_env;
        let texts = if self.auth.is_empty() {
            from_env = std::env::var(AUTH_ENV_VAR).ok().filter(|s| !s.is_empty());
            from_env.as_slice()
        } else {
            self.auth.as_slice()
        };
        let auth = texts
            .iter()
            .map(|text| text.parse::<Auth>().map_err(|e| CliError::Usage(format!("--auth: {e}"))))
            .collect::<Result<_, _>>()?;
        Ok(Options {
            session_timeout: Duration::from_secs_f64(self.session_timeout),
            connect_timeout: self.connect_timeout.map(Duration::from_secs_f64),
            auth,
            tls: self
                .tls_ca
                .clone()
                .map(|ca| TlsFiles { ca, identity: self.tls_cert.clone().zip(self.tls_key.clone()) }),
            max_request: self.jute_maxbuffer.map(|bytes| bytes as usize),
            access,
        })
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
        let options = zk.options(access)?;
        let session = connect::connect(&zk.zk, &options).await?;
        let result = match job(session.client().clone()).await {
            Err(e) => Err(denied::explain(e, session.client(), &options.auth).await),
            ok => ok,
        };
        let closed = session.close().await;
        let value = result?;
        closed?;
        Ok(value)
    })
}
