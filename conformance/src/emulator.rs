//! The emulator backend: a fresh in-memory server per test.

use zczk_core::store::{SessionState, Store};
use zczk_emulator::{Emulator, EmulatorConnector, Session};

use crate::{wait_for_state, Backend, Orphan, SESSION_TIMEOUT};

/// Sessions on a fresh [`Emulator`] of the test's own, asking for [`SESSION_TIMEOUT`] as the
/// real-server backend does.
#[derive(Debug, Clone)]
pub struct EmulatorBackend {
    connector: EmulatorConnector,
}

impl EmulatorBackend {
    /// A backend on a fresh emulator.
    pub fn new() -> EmulatorBackend {
        EmulatorBackend::on(Emulator::new())
    }

    /// A backend on `emulator` (for example one pre-loaded with a tree).
    pub fn on(emulator: Emulator) -> EmulatorBackend {
        EmulatorBackend { connector: emulator.connector().with_session_timeout(SESSION_TIMEOUT) }
    }

    /// The emulator, for fault injection and inspection.
    pub fn emulator(&self) -> &Emulator {
        self.connector.emulator()
    }
}

impl Default for EmulatorBackend {
    fn default() -> Self {
        EmulatorBackend::new()
    }
}

connects_through_its_connector!(EmulatorBackend => Session);

#[async_trait::async_trait]
impl Backend for EmulatorBackend {
    const NAME: &'static str = "emulator";

    async fn expire(&self, store: &Session) {
        store.faults().expire();
        // The emulator ends the session at once; this only confirms it.
        wait_for_state(store.session_state(), SessionState::Expired).await;
    }

    async fn disconnect(&self, store: &Session) {
        store.faults().disconnect();
        wait_for_state(store.session_state(), SessionState::Disconnected).await;
    }

    async fn reconnect(&self, store: &Session) {
        store.faults().reconnect();
        wait_for_state(store.session_state(), SessionState::Connected).await;
    }

    async fn orphan(&self, store: &Session) -> Orphan {
        store.faults().expire_on_client();
        wait_for_state(store.session_state(), SessionState::Expired).await;
        Orphan::Emulated(store.faults())
    }
}
