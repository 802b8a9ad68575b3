//! The emulator over the wire: a fresh `zczk_emulator::serve` server in this process per test,
//! reached through the `zookeeper-client` crate, so every case also checks the jute encoding,
//! session handling and watch delivery of `zczk serve` against a real ZooKeeper client.
//! Sessions reach it through a [`Relay`] that [`Backend::disconnect`] cuts, as a broken
//! network would (the emulator's own disconnect fault would let the client straight back in).

use std::sync::Arc;

use zczk_core::store::{SessionState, Store};
use zczk_emulator::wire::ServerHandle;
use zczk_emulator::Emulator;
use zczk_zookeeper::testing::Relay;
use zczk_zookeeper::{ZkConnector, ZkStore};

use crate::{cut_off, hold, let_back, wait_for_state, Backend, Orphan, SESSION_TIMEOUT};

/// Sessions through `zookeeper-client` on an emulator served over TCP in this process.
#[derive(Clone)]
pub struct ServedEmulator {
    server: Arc<ServerHandle>,
    relay: Arc<Relay>,
    connector: ZkConnector,
}

impl ServedEmulator {
    /// Serves a fresh emulator on a free loopback port.
    pub async fn start() -> ServedEmulator {
        let server = zczk_emulator::serve("127.0.0.1:0", Emulator::new()).await.expect("binding the server");
        let address = server.local_addr().to_string();
        let relay = Relay::start(&address).await.expect("starting a relay");
        let connector = ZkConnector::new(relay.address()).with_session_timeout(SESSION_TIMEOUT);
        ServedEmulator { server: Arc::new(server), relay: Arc::new(relay), connector }
    }

    /// The emulator behind the server, for fault injection and inspection.
    pub fn emulator(&self) -> &Emulator {
        self.server.emulator()
    }

    /// The server.
    pub fn server(&self) -> &ServerHandle {
        &self.server
    }
}

connects_through_its_connector!(ServedEmulator => ZkStore);

#[async_trait::async_trait]
impl Backend for ServedEmulator {
    const NAME: &'static str = "served";

    async fn expire(&self, store: &ZkStore) {
        self.emulator().faults(store.session_id()).expire();
        // The client learns it when it reconnects, told by the server that the session expired.
        wait_for_state(store.session_state(), SessionState::Expired).await;
    }

    async fn disconnect(&self, store: &ZkStore) {
        cut_off(&self.relay, store).await;
    }

    async fn reconnect(&self, store: &ZkStore) {
        let_back(&self.relay, store).await;
    }

    async fn orphan(&self, store: &ZkStore) -> Orphan {
        hold(&self.relay, store).await
    }
}
