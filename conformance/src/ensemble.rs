//! The ensemble backend: a private chroot per test on the 3-server ensemble of
//! `.ci/zookeeper-ensemble`, each member reached through a relay of the test's own, so that a
//! session can be cut off from every member at once.

use std::sync::Arc;

use zczk_core::store::Store;
use zczk_zookeeper::testing::{Ensemble, Relay};
use zczk_zookeeper::{ZkConnector, ZkStore};

use crate::{hold, wait_for_state, zookeeper::new_chroot, Backend, Orphan, SESSION_TIMEOUT};
use zczk_core::store::SessionState;

/// Sessions on a real 3-server ensemble, chrooted to a node of the test's own.
#[derive(Debug, Clone)]
pub struct RealEnsemble {
    connector: ZkConnector,
    /// One relay per member, in member order.
    relays: Arc<Vec<Relay>>,
    /// Keeps cases that stop members off the ensemble meanwhile.
    _turn: Arc<tokio::sync::OwnedRwLockReadGuard<()>>,
}

impl RealEnsemble {
    /// A backend for test `test` under a fresh chroot on the configured ensemble (see
    /// [`Ensemble::from_env`]).
    pub async fn for_test(test: &str) -> RealEnsemble {
        let turn = Arc::new(crate::members::shared_turn().await);
        let ensemble = Ensemble::from_env(test);
        let servers = ensemble.connection_string().to_string();
        let chroot = new_chroot(&servers, test).await;
        let mut relays = Vec::new();
        for member in servers.split(',') {
            relays
                .push(Relay::start(member).await.unwrap_or_else(|e| panic!("{test}: starting a relay: {e}")));
        }
        let addresses: Vec<String> = relays.iter().map(Relay::address).collect();
        let connector = ZkConnector::new(format!("{}{chroot}", addresses.join(",")))
            .with_session_timeout(SESSION_TIMEOUT);
        RealEnsemble { connector, relays: Arc::new(relays), _turn: turn }
    }
}

connects_through_its_connector!(RealEnsemble => ZkStore);

#[async_trait::async_trait]
impl Backend for RealEnsemble {
    const NAME: &'static str = "ensemble";

    async fn expire(&self, store: &ZkStore) {
        // Off every member, so that only the first relay's expiry (which joins and closes the
        // session through its member) decides when the store may reconnect.
        let id = store.session_id();
        for relay in self.relays.iter() {
            relay.cut(id);
        }
        let expired = self.relays[0].expire(store).await;
        for relay in self.relays.iter() {
            relay.restore(id);
        }
        expired.expect("expiring a session on the ensemble");
    }

    async fn disconnect(&self, store: &ZkStore) {
        for relay in self.relays.iter() {
            relay.cut(store.session_id());
        }
        wait_for_state(store.session_state(), SessionState::Disconnected).await;
    }

    async fn reconnect(&self, store: &ZkStore) {
        for relay in self.relays.iter() {
            relay.restore(store.session_id());
        }
        wait_for_state(store.session_state(), SessionState::Connected).await;
    }

    async fn orphan(&self, store: &ZkStore) -> Orphan {
        // Off every member, so that the client gives its session up while the first relay's
        // member keeps it alive from a second connection.
        let id = store.session_id();
        for relay in self.relays.iter() {
            relay.cut(id);
        }
        let orphan = hold(&self.relays[0], store).await;
        for relay in self.relays.iter() {
            relay.restore(id);
        }
        orphan
    }
}
