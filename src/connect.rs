//! Opening a client from a connection string: a real ensemble, `mem:` or `file:PATH`.
//!
//! The high-level client is generic over its [`Store`]; here every backend is boxed behind
//! `Arc<dyn Store>` so that one client type, [`Client`], serves whatever the string names.
//! Each kind of string needs its backend's feature (`zookeeper` for an ensemble, `emulator`
//! for `mem:` and `file:`); without it, [`connect`] refuses the string and says which feature.

use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "emulator")]
use zczk_core::client::Backoff;
use zczk_core::client::{ClientError, ConnectOptions, ZooKeeper};
use zczk_core::connection::{Access, Connection, ConnectionError};
use zczk_core::store::{Connector, Store, StoreError};
#[cfg(feature = "emulator")]
use zczk_emulator::{Config, Emulator, FileError};
#[cfg(feature = "zookeeper")]
pub use zczk_zookeeper::TlsFiles;
#[cfg(feature = "zookeeper")]
use zczk_zookeeper::ZkConnector;

/// A session of any backend.
pub type DynStore = Arc<dyn Store>;

/// The high-level client over any backend.
pub type Client = ZooKeeper<DynStore>;

/// The session timeout asked for when none is given (the server may grant another).
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Why [`connect`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The connection string is malformed.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// No session could be opened.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The `file:` storage could not be opened or saved.
    #[cfg(feature = "emulator")]
    #[error(transparent)]
    File(#[from] FileError),
}

/// How [`connect`] connects.
#[derive(Debug, Clone)]
pub struct Options {
    /// The session timeout to ask for.
    pub session_timeout: Duration,
    /// How long to wait for a session (retrying every server of the ensemble meanwhile)
    /// before failing with a `FailedConnect` error naming them. `None`: the session timeout.
    pub connect_timeout: Option<Duration>,
    /// Whether the session will only read: a `file:` store is then never written, and must
    /// exist. Changes nothing for an ensemble or `mem:`.
    pub access: Access,
    /// Identities added to every session, including the new one made after an expiry.
    pub auth: Vec<Auth>,
    /// Connect with TLS, with these files (a real ZooKeeper's secure client port only).
    #[cfg(feature = "zookeeper")]
    pub tls: Option<TlsFiles>,
    /// The servers' `jute.maxbuffer` when it is not ZooKeeper's default (a real ZooKeeper
    /// only; see [`ZkConnector::with_max_request`]).
    #[cfg(feature = "zookeeper")]
    pub max_request: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            connect_timeout: None,
            auth: Vec::new(),
            #[cfg(feature = "zookeeper")]
            tls: None,
            #[cfg(feature = "zookeeper")]
            max_request: None,
            access: Access::ReadWrite,
        }
    }
}

/// An identity for a session: a scheme and its credentials (`digest` and `user:password`).
/// The scheme `sasl` with `user:password` is a SASL DIGEST-MD5 login instead (identity
/// `sasl:user`), made on every connection.
#[derive(Clone, PartialEq, Eq)]
pub struct Auth {
    /// The scheme (`digest`).
    pub scheme: String,
    /// The credentials, as the scheme wants them (`user:password` for `digest`).
    pub credentials: Vec<u8>,
}

/// Why an identity given as text is not one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an identity is SCHEME:CREDENTIALS (digest:user:password, or sasl:user:password for a SASL login)")]
pub struct BadAuth;

impl Auth {
    /// The user and password of a SASL DIGEST-MD5 login (`sasl:user:password`).
    pub fn sasl_login(&self) -> Option<(String, String)> {
        if self.scheme != "sasl" {
            return None;
        }
        let text = String::from_utf8_lossy(&self.credentials);
        let (user, password) = text.split_once(':')?;
        Some((user.to_string(), password.to_string()))
    }
}

impl std::str::FromStr for Auth {
    type Err = BadAuth;

    /// `SCHEME:CREDENTIALS`, split at the first colon (`digest:user:password`).
    fn from_str(text: &str) -> Result<Auth, BadAuth> {
        match text.split_once(':') {
            // A SASL login needs both its user and its password.
            Some(("sasl", credentials)) if !credentials.contains(':') => Err(BadAuth),
            Some((scheme, credentials)) if !scheme.is_empty() => {
                Ok(Auth { scheme: scheme.to_string(), credentials: credentials.as_bytes().to_vec() })
            }
            _ => Err(BadAuth),
        }
    }
}

impl std::fmt::Debug for Auth {
    // Hand-written so that credentials never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("scheme", &self.scheme).finish_non_exhaustive()
    }
}

/// Makes boxed sessions out of any connector.
struct Boxed<C>(C);

#[async_trait::async_trait]
impl<C: Connector> Connector for Boxed<C> {
    type Store = DynStore;

    async fn connect(&self) -> Result<DynStore, StoreError> {
        Ok(Arc::new(self.0.connect().await?))
    }

    fn address(&self) -> String {
        self.0.address()
    }
}

/// A client and what keeps its storage alive; [`Connected::close`] ends both.
pub struct Connected {
    client: Client,
    /// The in-process emulator behind `mem:` and `file:`.
    #[cfg(feature = "emulator")]
    emulator: Option<Emulator>,
}

impl Connected {
    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The in-process emulator, for `mem:` and `file:` connections.
    #[cfg(feature = "emulator")]
    pub fn emulator(&self) -> Option<&Emulator> {
        self.emulator.as_ref()
    }

    /// Closes the session (its ephemerals vanish at once) and, for `file:` opened to write,
    /// saves the file.
    pub async fn close(self) -> Result<(), ConnectError> {
        self.client.close().await?;
        #[cfg(feature = "emulator")]
        if let Some(emulator) = &self.emulator {
            emulator.flush()?;
        }
        Ok(())
    }
}

/// Opens a client for `connection` (see [`Connection::parse`]).
pub async fn connect(connection: &str, options: &Options) -> Result<Connected, ConnectError> {
    let parsed = Connection::parse(connection)?;
    let refuse = |reason: String| Err(ConnectionError { input: connection.to_string(), reason }.into());
    if !matches!(parsed, Connection::Ensemble { .. }) {
        let only_real =
            |what: &str| refuse(format!("{what} is for a real ZooKeeper (host:port...), not an emulator"));
        #[cfg(feature = "zookeeper")]
        if options.tls.is_some() {
            return only_real("TLS");
        }
        #[cfg(feature = "zookeeper")]
        if options.max_request.is_some() {
            return only_real("a server's jute.maxbuffer");
        }
        if options.auth.iter().any(|auth| auth.sasl_login().is_some()) {
            return only_real("a SASL login");
        }
    }
    match parsed {
        #[cfg(feature = "zookeeper")]
        Connection::Ensemble { .. } => ensemble(connection, options).await,
        #[cfg(feature = "emulator")]
        Connection::Memory => in_process(Emulator::new(), options).await,
        #[cfg(feature = "emulator")]
        Connection::File(path) => {
            let limit = options.connect_timeout.unwrap_or(options.session_timeout);
            in_process(open_file(path, options.access, limit).await?, options).await
        }
        #[allow(unreachable_patterns)] // with both backends built, every kind is served above
        _ => refuse(format!("zczk was built without the {:?} feature", feature_for(&parsed))),
    }
}

/// The crate feature that serves a kind of connection string.
fn feature_for(connection: &Connection) -> &'static str {
    match connection {
        Connection::Ensemble { .. } => "zookeeper",
        Connection::Memory | Connection::File(_) => "emulator",
    }
}

/// A client of a real ensemble.
#[cfg(feature = "zookeeper")]
async fn ensemble(connection: &str, options: &Options) -> Result<Connected, ConnectError> {
    let mut connector = ZkConnector::new(connection.trim()).with_session_timeout(options.session_timeout);
    if let Some(limit) = options.connect_timeout {
        connector = connector.with_connect_timeout(limit);
    }
    for auth in &options.auth {
        connector = match auth.sasl_login() {
            Some((user, password)) => connector.with_sasl_digest_md5(user, password),
            None => connector.with_auth(auth.scheme.clone(), auth.credentials.clone()),
        };
    }
    if let Some(files) = &options.tls {
        connector = connector.with_tls(files.clone());
    }
    if let Some(bytes) = options.max_request {
        connector = connector.with_max_request(bytes);
    }
    let client = ZooKeeper::with_options(Boxed(connector), ConnectOptions::default()).await?;
    Ok(Connected {
        client,
        #[cfg(feature = "emulator")]
        emulator: None,
    })
}

#[cfg(feature = "emulator")]
async fn in_process(emulator: Emulator, options: &Options) -> Result<Connected, ConnectError> {
    let mut connector = emulator.connector().with_session_timeout(options.session_timeout);
    for auth in &options.auth {
        connector = connector.with_auth(auth.scheme.clone(), auth.credentials.clone());
    }
    let client = ZooKeeper::with_options(Boxed(connector), ConnectOptions::default()).await?;
    Ok(Connected { client, emulator: Some(emulator) })
}

/// Opens a `file:` emulator, waiting up to `limit` while another process has it open.
#[cfg(feature = "emulator")]
async fn open_file(
    path: std::path::PathBuf,
    access: Access,
    limit: Duration,
) -> Result<Emulator, ConnectError> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut backoff = Backoff::new();
    loop {
        let attempt = path.clone();
        let opened = tokio::task::spawn_blocking(move || {
            Emulator::open_file_with(attempt, Config::default(), access, false)
        })
        .await
        .expect("opening an emulator file does not panic");
        match opened {
            Err(FileError::Locked { .. }) if backoff.wait_until(deadline).await => {}
            other => return Ok(other?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_is_split_at_its_first_colon_and_never_printed() {
        let auth: Auth = "digest:admin:s3cret:x".parse().unwrap();
        assert_eq!(auth.scheme, "digest");
        assert_eq!(auth.credentials, b"admin:s3cret:x");
        let options = Options { auth: vec![auth], ..Options::default() };
        assert!(!format!("{options:?}").contains("s3cret"), "{options:?}");
        assert_eq!("nocolon".parse::<Auth>(), Err(BadAuth));
        assert_eq!(":x".parse::<Auth>(), Err(BadAuth));
    }

    #[test]
    fn the_sasl_scheme_is_a_login() {
        let login: Auth = "sasl:alice:pass:word".parse().unwrap();
        assert_eq!(login.sasl_login(), Some(("alice".to_string(), "pass:word".to_string())));
        assert_eq!("digest:alice:pw".parse::<Auth>().unwrap().sasl_login(), None);
        assert_eq!("sasl:alice".parse::<Auth>(), Err(BadAuth));
    }
}
