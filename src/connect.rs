//! Opening a client from a connection string: a real ensemble, `mem:` or `file:PATH`.
//!
//! The high-level client is generic over its [`Store`]; here every backend is boxed behind
//! `Arc<dyn Store>` so that one client type, [`Client`], serves whatever the string names.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use zczk_core::client::{ClientError, ConnectOptions, ZooKeeper};
use zczk_core::connection::{Access, Connection, ConnectionError};
use zczk_core::store::{Connector, Store, StoreError};
use zczk_emulator::{Config, Emulator, FileError};
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
    #[error(transparent)]
    File(#[from] FileError),
}

/// How [`connect`] connects.
#[derive(Debug, Clone)]
pub struct Options {
    /// The session timeout to ask for.
    pub session_timeout: Duration,
    /// How long to wait for a first session before failing with a `FailedConnect` error
    /// naming the address. `None`: the session timeout.
    pub connect_timeout: Option<Duration>,
    /// Whether the session will only read: a `file:` store is then never written, and must
    /// exist. Changes nothing for an ensemble or `mem:`.
    pub access: Access,
}

impl Default for Options {
    fn default() -> Self {
        Options { session_timeout: DEFAULT_SESSION_TIMEOUT, connect_timeout: None, access: Access::ReadWrite }
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

/// A client and what keeps its storage alive; [`Session::close`] ends both.
pub struct Session {
    client: Client,
    /// The in-process emulator behind `mem:` and `file:`.
    emulator: Option<Emulator>,
}

impl Session {
    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The in-process emulator, for `mem:` and `file:` connections.
    pub fn emulator(&self) -> Option<&Emulator> {
        self.emulator.as_ref()
    }

    /// Closes the session (its ephemerals vanish at once) and, for `file:` opened to write,
    /// saves the file.
    pub async fn close(self) -> Result<(), ConnectError> {
        self.client.close().await?;
        if let Some(emulator) = &self.emulator {
            emulator.flush()?;
        }
        Ok(())
    }
}

/// Opens a client for `connection` (see [`Connection::parse`]).
pub async fn connect(connection: &str, options: &Options) -> Result<Session, ConnectError> {
    match Connection::parse(connection)? {
        Connection::Ensemble { .. } => {
            let mut connector =
                ZkConnector::new(connection.trim()).with_session_timeout(options.session_timeout);
            if let Some(limit) = options.connect_timeout {
                connector = connector.with_connect_timeout(limit);
            }
            let client = ZooKeeper::with_options(Boxed(connector), ConnectOptions::default()).await?;
            Ok(Session { client, emulator: None })
        }
        Connection::Memory => in_process(Emulator::new(), options).await,
        Connection::File(path) => {
            let limit = options.connect_timeout.unwrap_or(options.session_timeout);
            in_process(open_file(path, options.access, limit).await?, options).await
        }
    }
}

async fn in_process(emulator: Emulator, options: &Options) -> Result<Session, ConnectError> {
    let connector = emulator.connector().with_session_timeout(options.session_timeout);
    let client = ZooKeeper::with_options(Boxed(connector), ConnectOptions::default()).await?;
    Ok(Session { client, emulator: Some(emulator) })
}

/// Opens a `file:` emulator, waiting up to `limit` while another process has it open.
async fn open_file(path: PathBuf, access: Access, limit: Duration) -> Result<Emulator, ConnectError> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let attempt = path.clone();
        let opened = tokio::task::spawn_blocking(move || {
            Emulator::open_file_with(attempt, Config::default(), access, false)
        })
        .await
        .expect("opening an emulator file does not panic");
        match opened {
            Err(FileError::Locked { .. }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return Ok(other?),
        }
    }
}
