//! The real-server backend: a private chroot per test on the server in `ZCZK_TEST_ZOOKEEPER`,
//! reached through a relay of the test's own so that sessions can be expired without a race.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use zczk_core::store::{Connector, CreateOptions, Store};
use zczk_zookeeper::testing::Relay;
use zczk_zookeeper::{ZkConnector, ZkStore};

use crate::{cut_off, hold, let_back, real_server_address, Backend, Orphan, SESSION_TIMEOUT};

/// Sessions on a real Apache ZooKeeper, chrooted to a node of the test's own, through a
/// [`Relay`] that [`Backend::expire`] uses to cut them off.
#[derive(Debug, Clone)]
pub struct RealZooKeeper {
    connector: ZkConnector,
    relay: Arc<Relay>,
}

impl RealZooKeeper {
    /// A backend for test `test` under a fresh chroot on the configured server (see
    /// [`real_server_address`]).
    pub async fn for_test(test: &str) -> RealZooKeeper {
        let server = real_server_address(test);
        let chroot = new_chroot(&server, test).await;
        let relay = Relay::start(&server).await.unwrap_or_else(|e| panic!("{test}: starting a relay: {e}"));
        let connector =
            ZkConnector::new(format!("{}{chroot}", relay.address())).with_session_timeout(SESSION_TIMEOUT);
        RealZooKeeper { connector, relay: Arc::new(relay) }
    }

    /// The connection string, chroot included.
    pub fn connection_string(&self) -> &str {
        self.connector.connection_string()
    }
}

/// Creates a chroot of test `test`'s own ([`unique_chroot`]) on the servers `servers`, and
/// returns its path.
pub(crate) async fn new_chroot(servers: &str, test: &str) -> String {
    let chroot = unique_chroot(test);
    let root = ZkConnector::new(servers).with_session_timeout(SESSION_TIMEOUT);
    let store = root.connect().await.unwrap_or_else(|e| panic!("{test}: {e}"));
    store
        .create(&chroot, Some(b""), &CreateOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{test}: {e}"));
    store.close().await.unwrap_or_else(|e| panic!("{test}: {e}"));
    chroot
}

/// `/zczk-test-<test>-<pid>-<time>-<n>`: unique across tests, runs and processes.
fn unique_chroot(test: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name: String = test.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("/zczk-test-{name}-{}-{nanos}-{n}", std::process::id())
}

connects_through_its_connector!(RealZooKeeper => ZkStore);

#[async_trait::async_trait]
impl Backend for RealZooKeeper {
    const NAME: &'static str = "zookeeper";

    async fn expire(&self, store: &ZkStore) {
        self.relay.expire(store).await.expect("expiring a session on the real server");
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
