//! zczk-conformance: behaviour tests written once against [`Store`], run against every backend.
//!
//! A behaviour is correct when the emulator and a real Apache ZooKeeper give the same answer.
//! Each test is an `async fn case<B: Backend>(backend: B)`; the [`on_every_backend!`] macro turns it into one
//! `#[tokio::test]` per backend. The real server's address comes from `ZCZK_TEST_ZOOKEEPER`
//! (`.ci/zookeeper-server` sets it). The real-server tests are ignored unless asked for with
//! `--include-ignored` (see [`needs_real_server!`]), and fail when asked for without a server, so
//! no run counts them as passed without having run them.
//!
//! Every real-server test runs under a chroot of its own (`/zczk-test-...`), so tests do not see
//! each other's nodes and can run in parallel on one server.
#![warn(missing_docs)]

/// Implements [`Connector`] for a backend struct by its `connector` field: a backend opens
/// sessions as its connector does, and adds fault injection ([`Backend`]).
macro_rules! connects_through_its_connector {
    ($backend:ty => $store:ty) => {
        #[async_trait::async_trait]
        impl zczk_core::store::Connector for $backend {
            type Store = $store;

            async fn connect(&self) -> Result<$store, zczk_core::store::StoreError> {
                self.connector.connect().await
            }

            fn address(&self) -> String {
                self.connector.address()
            }
        }
    };
}

mod emulator;
mod ensemble;
pub mod files;
mod members;
mod served;
mod zookeeper;

use std::time::Duration;

use zczk_core::store::{Connector, Store};

pub use emulator::EmulatorBackend;
pub use ensemble::RealEnsemble;
pub use members::{EmulatedMembers, Members, RealMembers, MEMBERS_SESSION_TIMEOUT, SUPERUSER};
pub use served::ServedEmulator;
pub use zookeeper::RealZooKeeper;

/// The session timeout tests ask for. The test server (tickTime 200) grants it.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(4);

/// How long a backend waits for a session to see the state a fault leads to.
const FAULT_WAIT: Duration = Duration::from_secs(5);

/// Cuts a session that reaches its server through `relay` off, and waits until it sees it.
async fn cut_off(relay: &zczk_zookeeper::testing::Relay, store: &zczk_zookeeper::ZkStore) {
    relay.cut(store.session_id());
    wait_for_state(store.session_state(), zczk_core::store::SessionState::Disconnected).await;
}

/// Lets a session cut off by [`cut_off`] back, and waits until it is connected again.
async fn let_back(relay: &zczk_zookeeper::testing::Relay, store: &zczk_zookeeper::ZkStore) {
    relay.restore(store.session_id());
    wait_for_state(store.session_state(), zczk_core::store::SessionState::Connected).await;
}

/// Waits until `store` is in `want`, failing the test after [`FAULT_WAIT`].
async fn wait_for_state(
    mut states: tokio::sync::watch::Receiver<zczk_core::store::SessionState>,
    want: zczk_core::store::SessionState,
) {
    let seen = tokio::time::timeout(FAULT_WAIT, states.wait_for(|s| *s == want)).await;
    assert!(
        seen.is_ok_and(|r| r.is_ok()),
        "the session did not become {want:?}; it is {:?}",
        *states.borrow()
    );
}

/// A place to run a test: makes sessions on one private tree, and injects faults.
#[async_trait::async_trait]
pub trait Backend: Connector + Clone {
    /// The backend's name in test output: `emulator` or `zookeeper`.
    const NAME: &'static str;

    /// Makes the session of `store` expire, as the server does when a client stops answering:
    /// its ephemerals are deleted, its watches are dropped, and `store` sees `Expired`. Returns
    /// once `store` has seen it.
    async fn expire(&self, store: &Self::Store);

    /// Cuts `store` off from the server without ending its session, as a broken network
    /// would, until [`Backend::reconnect`]. Returns once `store` has seen `Disconnected`.
    /// Other sessions keep working meanwhile.
    async fn disconnect(&self, store: &Self::Store);

    /// Lets `store` reach the server again. Returns once it is connected, in the same session.
    async fn reconnect(&self, store: &Self::Store);

    /// Makes `store`'s client give its session up as expired while the server keeps the
    /// session and its ephemerals, as after an outage longer than the session timeout when the
    /// server comes back with its data. Returns once `store` has seen `Expired`; the session
    /// lives on the server until [`Orphan::end`].
    async fn orphan(&self, store: &Self::Store) -> Orphan;

    /// A new session; panics (failing the test) when none can be made.
    async fn session(&self) -> Self::Store {
        match self.connect().await {
            Ok(store) => store,
            Err(error) => panic!("{}: cannot open a session: {error}", Self::NAME),
        }
    }
}

/// A session its client gave up on while the server still holds it (see [`Backend::orphan`]).
#[derive(Debug)]
pub enum Orphan {
    /// On the in-process emulator: the session's fault handle.
    Emulated(zczk_emulator::Faults),
    /// Behind a relay: a second connection keeps the session alive.
    Held(zczk_zookeeper::testing::HeldSession),
}

impl Orphan {
    /// Ends the session on the server, as its timeout running out does: its ephemerals are
    /// deleted and other sessions' watches fire. Returns once the server has done so.
    pub async fn end(self) {
        match self {
            Orphan::Emulated(faults) => faults.expire(),
            Orphan::Held(held) => held.end().await.expect("ending the orphaned session"),
        }
    }
}

/// Takes the session of `store` from it through `relay` (see [`Backend::orphan`]).
async fn hold(relay: &zczk_zookeeper::testing::Relay, store: &zczk_zookeeper::ZkStore) -> Orphan {
    Orphan::Held(relay.hold(store).await.expect("holding the session while its client gives it up"))
}

pub use zczk_zookeeper::testing::real_server_address;
pub use zczk_zookeeper::{needs_ensemble, needs_real_server, real_server_tests};

/// Closes a session, failing the test if that fails.
pub async fn close<S: Store>(store: S) {
    store.close().await.expect("closing the session");
}

/// Runs `async fn $case<B: Backend>(backend: B)` once per backend, as tests named
/// `$case::emulator` (a fresh [`EmulatorBackend`]), `$case::served` (a fresh emulator behind
/// `zczk serve`'s wire protocol, through `zookeeper-client`: [`ServedEmulator`]) and
/// `$case::zookeeper` (a private chroot on the real server, see [`real_server_address`]; ignored
/// unless asked for, see [`needs_real_server!`]).
#[macro_export]
macro_rules! on_every_backend {
    ($($case:ident),+ $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn emulator() {
                super::$case($crate::EmulatorBackend::new()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn served() {
                super::$case($crate::ServedEmulator::start().await).await;
            }

            $crate::needs_real_server! {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn zookeeper() {
                    let test = concat!(module_path!(), "::", stringify!($case));
                    super::$case($crate::RealZooKeeper::for_test(test).await).await;
                }
            }
        }
    )+};
}

/// Runs `async fn $case<B: Backend>(backend: B)` on the 3-server ensemble of
/// `.ci/zookeeper-ensemble` too ([`RealEnsemble`]), as tests named `on_ensemble::$case`
/// (ignored unless asked for: they need `ZCZK_TEST_ENSEMBLE`). For the session and watch cases,
/// whose behaviour an ensemble could change.
#[macro_export]
macro_rules! on_ensemble {
    ($($case:ident),+ $(,)?) => {
        mod on_ensemble {
            $(
                $crate::needs_ensemble! {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        let test = concat!(module_path!(), "::", stringify!($case));
                        super::$case($crate::RealEnsemble::for_test(test).await).await;
                    }
                }
            )+
        }
    };
}

/// [`on_every_backend!`] and [`on_ensemble!`] over one list of cases: each runs on every backend and on
/// the ensemble. Use it once per file (it makes the file's `on_ensemble` module).
#[macro_export]
macro_rules! everywhere {
    ($($case:ident),+ $(,)?) => {
        $crate::on_every_backend!($($case),+);
        $crate::on_ensemble!($($case),+);
    };
}
