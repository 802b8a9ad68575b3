//! Ensembles whose members a case stops and starts: the emulated ensemble
//! (`zczk_emulator::ensemble`) and the real 3-server ensemble of `.ci/zookeeper-ensemble`. A
//! case takes a [`Members`] and reaches it over the wire through `zookeeper-client`, as
//! applications do; [`on_members!`](crate::on_members) runs it on both, and
//! [`on_reconfig_members!`](crate::on_reconfig_members) runs one that reconfigures on both with
//! dynamic reconfiguration enabled.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};
use zczk_core::store::{SessionState, Store};
use zczk_emulator::ensemble::{Ensemble as Emulated, EnsembleOptions};
use zczk_emulator::Emulator;
use zczk_zookeeper::testing::Ensemble as Real;
use zczk_zookeeper::{ZkConnector, ZkStore};

use crate::zookeeper::new_chroot;

/// The session timeout of the members cases: long enough to outlive a real election.
pub const MEMBERS_SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a members case waits for what a stop or start leads to (a real election takes
/// seconds).
const MEMBERS_WAIT: Duration = Duration::from_secs(30);

/// Turns on the real ensemble: cases that stop members take it alone, the others share it.
static TURN: LazyLock<Arc<RwLock<()>>> = LazyLock::new(Arc::default);

/// A shared turn on the real ensemble, for cases that stop no member.
pub(crate) async fn shared_turn() -> OwnedRwLockReadGuard<()> {
    TURN.clone().read_owned().await
}

/// An ensemble of 3 members (numbered 1 to 3) with a chroot of the test's own.
#[async_trait::async_trait]
pub trait Members: Send + Sync {
    /// The backend's name in test output.
    const NAME: &'static str;

    /// The client address of member `member`.
    fn address(&self, member: usize) -> String;

    /// The test's chroot.
    fn chroot(&self) -> &str;

    /// Stops member `member`; returns once it is down.
    async fn stop(&self, member: usize);

    /// Starts member `member` again; returns once it serves.
    async fn start(&self, member: usize);

    /// Makes member `member` fall behind the others until its clients `sync`, if this ensemble
    /// can be told to; true when it lags now.
    async fn lag(&self, member: usize) -> bool;

    /// The connection string of every member, under the test's chroot.
    fn servers(&self) -> String {
        let members: Vec<String> = (1..=3).map(|m| self.address(m)).collect();
        format!("{}{}", members.join(","), self.chroot())
    }

    /// A session on every member (the client picks one and moves when it goes).
    async fn session(&self) -> ZkStore {
        connect(&self.servers()).await
    }

    /// A session on member `member` alone.
    async fn session_on(&self, member: usize) -> ZkStore {
        connect(&format!("{}{}", self.address(member), self.chroot())).await
    }

    /// The answer of member `member` to a four-letter word; empty when it is down.
    async fn word(&self, member: usize, word: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let Ok(mut stream) = tokio::net::TcpStream::connect(self.address(member)).await else {
            return String::new();
        };
        let mut answer = String::new();
        if stream.write_all(word.as_bytes()).await.is_ok() {
            let _ = tokio::time::timeout(MEMBERS_WAIT, stream.read_to_string(&mut answer)).await;
        }
        answer
    }

    /// The member the session's client is connected to now (from each member's `cons`).
    async fn member_of(&self, session: i64) -> Option<usize> {
        let sid = format!("sid={session:#x},");
        for member in 1..=3 {
            if self.word(member, "cons").await.contains(&sid) {
                return Some(member);
            }
        }
        None
    }

    /// Waits until `store` is connected to a member other than `left`; returns that member.
    async fn moved(&self, store: &ZkStore, left: Option<usize>) -> usize {
        let deadline = tokio::time::Instant::now() + MEMBERS_WAIT;
        loop {
            if *store.session_state().borrow() == SessionState::Connected {
                match self.member_of(store.session_id()).await {
                    Some(member) if Some(member) != left => return member,
                    _ => {}
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: the session did not move off member {left:?}",
                Self::NAME
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn connect(servers: &str) -> ZkStore {
    ZkConnector::new(servers)
        .with_session_timeout(MEMBERS_SESSION_TIMEOUT)
        .open()
        .await
        .unwrap_or_else(|e| panic!("connecting to {servers}: {e}"))
}

/// The superuser of the ensembles with reconfiguration enabled, as kazoo's test harness and
/// `RECONFIG=1 .ci/zookeeper-ensemble` make it: `addauth digest super:test`.
pub const SUPERUSER: &str = "super:test";

/// A fresh emulated 3-member ensemble (`zczk serve --servers 3` in process).
pub struct EmulatedMembers {
    ensemble: Emulated,
    chroot: String,
}

impl EmulatedMembers {
    /// Starts one on free loopback ports.
    pub async fn start(test: &str) -> EmulatedMembers {
        EmulatedMembers::start_with(test, Emulator::new(), EnsembleOptions::default()).await
    }

    /// Starts one with reconfiguration enabled and [`SUPERUSER`] as its superuser
    /// (`zczk serve --servers 3 --reconfig --super-digest ...`).
    pub async fn start_reconfigurable(test: &str) -> EmulatedMembers {
        let config = zczk_emulator::Config {
            super_digest: Some(zczk_emulator::acl::digest_id(SUPERUSER)),
            ..zczk_emulator::Config::default()
        };
        let options = EnsembleOptions { reconfig: true, ..EnsembleOptions::default() };
        EmulatedMembers::start_with(test, Emulator::with_config(config), options).await
    }

    async fn start_with(test: &str, emulator: Emulator, options: EnsembleOptions) -> EmulatedMembers {
        let ensemble =
            Emulated::bind([127, 0, 0, 1], 3, emulator, options).await.expect("binding the ensemble");
        let chroot = new_chroot(&ensemble.connection_string(), test).await;
        EmulatedMembers { ensemble, chroot }
    }
}

#[async_trait::async_trait]
impl Members for EmulatedMembers {
    const NAME: &'static str = "emulated";

    fn address(&self, member: usize) -> String {
        self.ensemble.addresses()[member - 1].to_string()
    }

    fn chroot(&self) -> &str {
        &self.chroot
    }

    async fn stop(&self, member: usize) {
        self.ensemble.stop(member).await.expect("stopping a member");
    }

    async fn start(&self, member: usize) {
        self.ensemble.start(member).await.expect("starting a member");
    }

    async fn lag(&self, member: usize) -> bool {
        self.ensemble.lag(member, true).expect("making a member lag");
        true
    }
}

/// The real ensemble of `.ci/zookeeper-ensemble`, taken alone for the test (other tests that
/// use it wait), every member serving at the start.
pub struct RealMembers {
    ensemble: Real,
    addresses: Vec<String>,
    chroot: String,
    _turn: OwnedRwLockWriteGuard<()>,
}

impl RealMembers {
    /// Takes the ensemble of `RECONFIG=1 .ci/zookeeper-ensemble` (reconfiguration enabled,
    /// [`SUPERUSER`] its superuser), as [`RealMembers::take`]. Panics when the ensemble was
    /// started without it, so that a case cannot pass without having run.
    pub async fn take_reconfigurable(test: &str) -> RealMembers {
        if std::env::var("ZCZK_TEST_ENSEMBLE_RECONFIG").as_deref() != Ok("1") {
            panic!(
                "{test} needs an ensemble with reconfiguration enabled, and ZCZK_TEST_ENSEMBLE_RECONFIG \
                 is not 1: run it under RECONFIG=1 .ci/zookeeper-ensemble"
            );
        }
        RealMembers::take(test).await
    }

    /// Takes the ensemble; starts members an earlier failed test left down.
    pub async fn take(test: &str) -> RealMembers {
        let turn = TURN.clone().write_owned().await;
        let ensemble = Real::from_env(test);
        let control = ensemble.clone();
        tokio::task::spawn_blocking(move || {
            for member in 1..=3 {
                let _ = control.start(member);
            }
            control.wait()
        })
        .await
        .expect("the control task")
        .expect("every member serving");
        let addresses = ensemble.connection_string().split(',').map(str::to_string).collect();
        let chroot = new_chroot(ensemble.connection_string(), test).await;
        RealMembers { ensemble, addresses, chroot, _turn: turn }
    }

    async fn control(&self, what: fn(&Real, usize) -> std::io::Result<()>, member: usize) {
        let ensemble = self.ensemble.clone();
        tokio::task::spawn_blocking(move || what(&ensemble, member))
            .await
            .expect("the control task")
            .unwrap_or_else(|e| panic!("member {member}: {e}"));
    }
}

#[async_trait::async_trait]
impl Members for RealMembers {
    const NAME: &'static str = "ensemble";

    fn address(&self, member: usize) -> String {
        self.addresses[member - 1].clone()
    }

    fn chroot(&self) -> &str {
        &self.chroot
    }

    async fn stop(&self, member: usize) {
        self.control(Real::stop, member).await;
    }

    async fn start(&self, member: usize) {
        self.control(Real::start, member).await;
    }

    /// A real follower cannot be told to lag.
    async fn lag(&self, _member: usize) -> bool {
        false
    }
}

/// Runs `async fn $case<M: Members>(members: M)` on a fresh emulated ensemble
/// ([`EmulatedMembers`]) as `$case::emulated`, and on the real ensemble of
/// `.ci/zookeeper-ensemble` ([`RealMembers`]) as `$case::ensemble` (ignored unless asked for:
/// it needs `ZCZK_TEST_ENSEMBLE`).
#[macro_export]
macro_rules! on_members {
    ($($case:ident),+ $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn emulated() {
                let test = concat!(module_path!(), "::", stringify!($case));
                super::$case($crate::EmulatedMembers::start(test).await).await;
            }

            $crate::needs_ensemble! {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn ensemble() {
                    let test = concat!(module_path!(), "::", stringify!($case));
                    super::$case($crate::RealMembers::take(test).await).await;
                }
            }
        }
    )+};
}

/// Marks the test function it wraps as needing the ensemble of `RECONFIG=1
/// .ci/zookeeper-ensemble` (see [`RealMembers::take_reconfigurable`]): ignored unless asked
/// for, as `needs_ensemble!`. The other ensemble tests need reconfiguration disabled, so the
/// two kinds run under different ensembles: `cargo test -- --include-ignored --skip
/// reconfig_ensemble` under a plain one, `cargo test reconfig_ensemble -- --include-ignored`
/// under `RECONFIG=1`.
#[macro_export]
macro_rules! needs_reconfig_ensemble {
    ($($test:tt)*) => {
        #[ignore = "needs a ZooKeeper ensemble with reconfiguration enabled: RECONFIG=1 .ci/zookeeper-ensemble and --include-ignored"]
        $($test)*
    };
}

/// Runs `async fn $case<M: Members>(members: M)` on a fresh emulated ensemble with
/// reconfiguration enabled ([`EmulatedMembers::start_reconfigurable`]) as `$case::emulated`,
/// and on the real ensemble of `RECONFIG=1 .ci/zookeeper-ensemble`
/// ([`RealMembers::take_reconfigurable`]) as `$case::reconfig_ensemble` (ignored unless asked
/// for, see [`needs_reconfig_ensemble!`]). A case that changes the membership puts it back.
#[macro_export]
macro_rules! on_reconfig_members {
    ($($case:ident),+ $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn emulated() {
                let test = concat!(module_path!(), "::", stringify!($case));
                super::$case($crate::EmulatedMembers::start_reconfigurable(test).await).await;
            }

            $crate::needs_reconfig_ensemble! {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn reconfig_ensemble() {
                    let test = concat!(module_path!(), "::", stringify!($case));
                    super::$case($crate::RealMembers::take_reconfigurable(test).await).await;
                }
            }
        }
    )+};
}
