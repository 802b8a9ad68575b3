//! Opening sessions: [`connect`] and [`ZkConnector`], the [`Connector`] a client keeps to open
//! a new session after expiry.

use std::fmt;
use std::time::Duration;

use zczk_core::store::{Code, Connector, OpKind, Store, StoreError};
use zookeeper_client as zk;

use crate::convert;
use crate::store::ZkStore;

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
        }
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
    /// Fails with `ConnectionLoss` naming the address when no server answers within the
    /// connect timeout, `BadArguments` for a malformed connection string, `AuthFailed` when the
    /// server refuses an identity.
    pub async fn open(&self) -> Result<ZkStore, StoreError> {
        let limit = self.connect_timeout.unwrap_or(self.session_timeout);
        let no_answer = |why: &str| {
            StoreError::new(Code::ConnectionLoss, OpKind::Connect, &self.connection_string)
                .with_detail(format!("no ZooKeeper server answered {why}"))
        };
        // `fail_eagerly` stops the first connection attempt after one round over the servers
        // instead of cycling forever; later reconnections of the session still cycle.
        let connecting = zk::Client::connector()
            .with_session_timeout(self.session_timeout)
            .with_fail_eagerly()
            .connect(&self.connection_string);
        let client = match tokio::time::timeout(limit, connecting).await {
            Err(_) => return Err(no_answer(&format!("within {} ms", limit.as_millis()))),
            Ok(Err(zk::Error::NoHosts | zk::Error::Timeout)) => {
                return Err(no_answer("(none accepted a session)"))
            }
            Ok(Err(e)) => return Err(convert::error(e, OpKind::Connect, &self.connection_string)),
            Ok(Ok(client)) => client,
        };
        let store = ZkStore::new(client, self.connection_string.clone());
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

impl fmt::Debug for ZkConnector {
    // Hand-written so the identities' secrets are not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let schemes: Vec<&str> = self.auth.iter().map(|(scheme, _)| scheme.as_str()).collect();
        f.debug_struct("ZkConnector")
            .field("connection_string", &self.connection_string)
            .field("session_timeout", &self.session_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("auth_schemes", &schemes)
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
