//! Opening sessions: [`connect`] and [`ZkConnector`], the [`Connector`] a client keeps to open
//! a new session after expiry.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;

use tokio::time::Instant;

use zczk_core::store::size::DEFAULT_MAX_REQUEST;
use zczk_core::store::{Code, Connector, OpKind, Store, StoreError};
use zookeeper_client as zk;

use crate::convert;
use crate::hosts;
use crate::store::ZkStore;
use crate::tls_probe;

/// The session timeout asked for when none is given (kazoo's and zc.zk's default).
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a session on `connection_string` (`host:port[,host:port...][/chroot]`) asking for
/// `session_timeout`. Fails with `ConnectionLoss`, naming the address, when no server answers
/// within the session timeout.
pub async fn connect(connection_string: &str, session_timeout: Duration) -> Result<ZkStore, StoreError> {
    ZkConnector::new(connection_string).with_session_timeout(session_timeout).open().await
}

/// Everything needed to open a session, again and again: the connection string, the timeouts
/// and the identities to add (`digest` `user:password`, ...).
#[derive(Clone)]
pub struct ZkConnector {
    connection_string: String,
    session_timeout: Duration,
    connect_timeout: Option<Duration>,
    auth: Vec<(String, Vec<u8>)>,
    tls: Option<TlsFiles>,
    /// SASL DIGEST-MD5 user name and password.
    sasl: Option<(String, String)>,
    /// The servers' `jute.maxbuffer`.
    max_request: usize,
}

/// PEM files for connecting with TLS, to the servers' secure client port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA certificates that must have signed the servers' certificates.
    pub ca: PathBuf,
    /// A client certificate and its private key, for servers that ask for one.
    pub identity: Option<(PathBuf, PathBuf)>,
}

impl TlsFiles {
    /// The client's TLS options, or one line naming the file that is wrong and why.
    fn options(&self) -> Result<zk::TlsOptions, String> {
        let read = |path: &Path, holds: &str| {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            if text.contains(holds) {
                Ok(text)
            } else {
                Err(format!("{}: no PEM {} in it", path.display(), holds.trim_matches('-').to_lowercase()))
            }
        };
        let ca = read(&self.ca, "CERTIFICATE-----")?;
        let options = zk::TlsOptions::new()
            .with_pem_ca(&ca)
            .map_err(|e| format!("{}: not a usable CA certificate ({e})", self.ca.display()))?;
        let Some((cert, key)) = &self.identity else { return Ok(options) };
        let (cert_text, key_text) = (read(cert, "CERTIFICATE-----")?, read(key, "PRIVATE KEY-----")?);
        options.with_pem_identity(&cert_text, &key_text).map_err(|e| {
            format!("{} and {}: not a usable certificate and key ({e})", cert.display(), key.display())
        })
    }
}

impl ZkConnector {
    /// A connector for `connection_string` (`host:port[,host:port...][/chroot]`) with the
    /// default session timeout and no identities.
    pub fn new(connection_string: impl Into<String>) -> ZkConnector {
        ZkConnector {
            connection_string: connection_string.into(),
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            connect_timeout: None,
            auth: Vec::new(),
            tls: None,
            sasl: None,
            max_request: DEFAULT_MAX_REQUEST,
        }
    }

    /// The same connector logging in with SASL DIGEST-MD5 as `user` on every connection (the
    /// server needs `SASLAuthenticationProvider` and the user in its JAAS `Server` section).
    /// The session then has the identity `sasl:user`.
    pub fn with_sasl_digest_md5(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> ZkConnector {
        self.sasl = Some((user.into(), password.into()));
        self
    }

    /// The same connector connecting with TLS (to the servers' secure client port). Names in
    /// the connection string are then kept as they are: they are what the servers'
    /// certificates are checked against.
    pub fn with_tls(mut self, files: TlsFiles) -> ZkConnector {
        self.tls = Some(files);
        self
    }

    /// The same connector asking for this session timeout (the server bounds it between its
    /// `minSessionTimeout` and `maxSessionTimeout`).
    pub fn with_session_timeout(mut self, timeout: Duration) -> ZkConnector {
        self.session_timeout = timeout;
        self
    }

    /// The same connector giving up on opening a session after `timeout` (default: the session
    /// timeout).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> ZkConnector {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The same connector for servers whose `jute.maxbuffer` (the longest request they accept)
    /// is `bytes` rather than ZooKeeper's default (1 MiB less one byte). A server cannot be
    /// asked for it, so say it when the servers were started with a larger one: it is what
    /// [`Store::request_limit`] tells, so what an import may write and how it batches.
    pub fn with_max_request(mut self, bytes: usize) -> ZkConnector {
        self.max_request = bytes;
        self
    }

    /// The same connector adding an identity to each session it opens, as
    /// [`Store::add_auth`] does (`"digest"`, `b"user:password"`).
    pub fn with_auth(mut self, scheme: impl Into<String>, auth: impl Into<Vec<u8>>) -> ZkConnector {
        self.auth.push((scheme.into(), auth.into()));
        self
    }

    /// The connection string.
    pub fn connection_string(&self) -> &str {
        &self.connection_string
    }

    /// Opens a session and adds the identities to it.
    ///
    /// Until the connect timeout, tries every address of every host (names are resolved anew
    /// each round) again and again with a short backoff: a refused connection, or a server
    /// that hangs up because it is starting or electing a leader, is retried, not reported.
    /// Then fails with `ConnectionLoss` whose detail names every address tried and why it gave
    /// no session. `BadArguments` for a malformed connection string, `AuthFailed` when the
    /// server refuses an identity.
    pub async fn open(&self) -> Result<ZkStore, StoreError> {
        let limit = self.connect_timeout.unwrap_or(self.session_timeout);
        let deadline = Instant::now() + limit;
        let (hosts, chroot) = hosts::parse(&self.connection_string).map_err(|reason| {
            StoreError::new(Code::BadArguments, OpKind::Connect, &self.connection_string).with_detail(reason)
        })?;
        let bad_tls = |reason| {
            StoreError::new(Code::BadArguments, OpKind::Connect, &self.connection_string).with_detail(reason)
        };
        let tls = self.tls.as_ref().map(TlsFiles::options).transpose().map_err(bad_tls)?;
        let mut backoff = FIRST_BACKOFF;
        let client = loop {
            let (addresses, mut failures) = hosts::resolve(&hosts).await;
            if !addresses.is_empty() {
                // `fail_eagerly`: one round over the addresses per attempt, so that this loop,
                // not the client's growing backoff, decides when to try again.
                let mut connector =
                    zk::Client::connector().with_session_timeout(self.session_timeout).with_fail_eagerly();
                if let Some((user, password)) = &self.sasl {
                    connector =
                        connector.with_sasl(zk::SaslOptions::digest_md5(user.clone(), password.clone()));
                }
                let servers = hosts::connection_string(&addresses, &chroot);
                let connecting: BoxFuture<'_, Result<zk::Client, zk::Error>> = match &tls {
                    Some(options) => Box::pin(
                        connector.with_tls(options.clone()).secure_connect(self.connection_string.trim()),
                    ),
                    None => Box::pin(connector.connect(&servers)),
                };
                match tokio::time::timeout_at(deadline, connecting).await {
                    Ok(Ok(client)) => break client,
                    Ok(Err(e)) if !is_transient(&e) => {
                        return Err(convert::error(e, OpKind::Connect, &self.connection_string))
                    }
                    Ok(Err(_)) | Err(_) => {}
                }
            }
            if Instant::now() >= deadline {
                for (address, host) in addresses {
                    failures.push(self.why_no_session(address, host).await);
                }
                return Err(StoreError::new(Code::ConnectionLoss, OpKind::Connect, &self.connection_string)
                    .with_detail(format!(
                        "no session within {} s ({})",
                        limit.as_secs_f64(),
                        failures.join("; ")
                    )));
            }
            tokio::time::sleep_until(deadline.min(Instant::now() + backoff)).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        };
        let store = ZkStore::new(client, self.connection_string.clone(), self.max_request);
        for (scheme, auth) in &self.auth {
            if let Err(e) = store.add_auth(scheme, auth).await {
                // Best effort: the session is useless without its identity.
                let _ = store.close().await;
                return Err(
                    e.with_detail(format!("adding the {scheme} identity on {}", self.connection_string))
                );
            }
        }
        Ok(store)
    }
}

impl ZkConnector {
    /// Why `address` (of `host`) gave no session, as one phrase starting with the address.
    async fn why_no_session(&self, address: SocketAddr, host: String) -> String {
        if let Some(why) = hosts::why_no_session(address).await {
            return why;
        }
        let accepted = format!("{address}: accepted the connection but opened no session");
        let Some(files) = self.tls.clone() else { return format!("{accepted} (not serving requests)") };
        let probe = tokio::task::spawn_blocking(move || tls_probe::handshake_failure(address, &host, &files));
        match probe.await {
            Ok(Some(why)) => format!("{address}: {why}"),
            _ => format!("{accepted} (not serving requests)"),
        }
    }
}

/// The first pause between two rounds over the servers; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause between two rounds: an election takes about half a second.
const MAX_BACKOFF: Duration = Duration::from_millis(400);

/// Whether a failed attempt to open a session is worth another round: no server answered,
/// or one answered and hung up.
fn is_transient(e: &zk::Error) -> bool {
    matches!(e, zk::Error::NoHosts | zk::Error::Timeout | zk::Error::ConnectionLoss)
        || convert::is_io_failure(e)
}

impl fmt::Debug for ZkConnector {
    // Hand-written so the identities' secrets are not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let schemes: Vec<&str> = self.auth.iter().map(|(scheme, _)| scheme.as_str()).collect();
        f.debug_struct("ZkConnector")
            .field("connection_string", &self.connection_string)
            .field("session_timeout", &self.session_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("auth_schemes", &schemes)
            .field("tls", &self.tls)
            .field("sasl_user", &self.sasl.as_ref().map(|(user, _)| user))
            .finish()
    }
}

#[async_trait::async_trait]
impl Connector for ZkConnector {
    type Store = ZkStore;

    async fn connect(&self) -> Result<ZkStore, StoreError> {
        self.open().await
    }

    fn address(&self) -> String {
        self.connection_string.clone()
    }
}
