//! [`EmulatorConnector`]: the `Connector` that opens sessions on an [`Emulator`].

use std::time::Duration;

use zczk_core::store::{Code, Connector, OpKind, Store, StoreError};

use crate::emulator::Emulator;
use crate::session::{Session, SessionOptions};

impl Emulator {
    /// A [`zczk_core::store::Connector`] whose every `connect` opens a new session here.
    pub fn connector(&self) -> EmulatorConnector {
        EmulatorConnector::new(self.clone())
    }
}

/// Opens a new [`Session`] on one [`Emulator`] at each `connect`, with the same options and
/// identities each time. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EmulatorConnector {
    emulator: Emulator,
    options: SessionOptions,
    auth: Vec<(String, Vec<u8>)>,
    address: Option<String>,
}

impl EmulatorConnector {
    /// A connector with the default session options and no identity.
    pub fn new(emulator: Emulator) -> EmulatorConnector {
        EmulatorConnector { emulator, options: SessionOptions::default(), auth: Vec::new(), address: None }
    }

    /// The same connector asking for this session timeout (granted within the server's
    /// bounds, as a real server does).
    pub fn with_session_timeout(mut self, timeout: Duration) -> EmulatorConnector {
        self.options.timeout = timeout;
        self
    }

    /// The same connector with these session options.
    pub fn with_options(mut self, options: SessionOptions) -> EmulatorConnector {
        self.options = options;
        self
    }

    /// The same connector, adding `scheme`/`auth` (e.g. `digest`, `user:password`) to every
    /// new session before it is handed out.
    pub fn with_auth(mut self, scheme: impl Into<String>, auth: impl Into<Vec<u8>>) -> EmulatorConnector {
        self.auth.push((scheme.into(), auth.into()));
        self
    }

    /// The same connector, naming itself `address` in messages (default: `mem:`, or
    /// `file:PATH` for an emulator kept in a file).
    pub fn with_address(mut self, address: impl Into<String>) -> EmulatorConnector {
        self.address = Some(address.into());
        self
    }

    /// The emulator this connector opens sessions on.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Opens a session now (what `connect` does, without the future).
    pub fn open(&self) -> Result<Session, StoreError> {
        if self.emulator.refuses_connections() {
            return Err(StoreError::new(Code::ConnectionLoss, OpKind::Connect, self.address())
                .with_detail("the emulator refuses connections (fault injection)"));
        }
        Ok(self.emulator.session_with(&self.options))
    }
}

#[async_trait::async_trait]
impl Connector for EmulatorConnector {
    type Store = Session;

    async fn connect(&self) -> Result<Session, StoreError> {
        let session = self.open()?;
        for (scheme, auth) in &self.auth {
            session.add_auth(scheme, auth).await?;
        }
        Ok(session)
    }

    fn address(&self) -> String {
        if let Some(address) = &self.address {
            return address.clone();
        }
        match self.emulator.file_path() {
            Some(path) => format!("file:{}", path.display()),
            None => "mem:".to_string(),
        }
    }
}
