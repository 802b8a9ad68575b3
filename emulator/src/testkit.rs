//! A seeded fault schedule (feature `proptest`): expiries, dropped connections, lost requests
//! and slow replies at random points, so that a property test can say "this survives any sequence of
//! faults". The same seed gives the same schedule; proptest shrinks a failing one.

use std::time::Duration;

use proptest::prelude::*;
use zczk_core::store::{Code, Store};

use crate::Emulator;

/// One fault, applied to the session the test names at the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The session expires (its ephemerals go; a client makes a new session).
    Expire,
    /// The connection drops for this long, then comes back (longer than the session timeout,
    /// the session expires meanwhile).
    Disconnect(Duration),
    /// The next `requests` requests fail with `ConnectionLoss` without being applied (as
    /// requests lost with a connection that comes back at once: a client cannot tell whether
    /// they were applied, and must find out or retry).
    Fail {
        /// How many requests.
        requests: u32,
    },
    /// The replies to the next `requests` requests wait `by`.
    Delay {
        /// How many requests.
        requests: u32,
        /// How long each reply waits.
        by: Duration,
    },
}

/// Faults, each after a pause: applied in order by [`FaultSchedule::run`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FaultSchedule {
    /// Each fault with the pause before it.
    pub steps: Vec<(Duration, Fault)>,
}

/// The longest pause between faults and the longest fault, to keep test cases quick.
const LONGEST: u64 = 50;

/// One fault, at random.
pub fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::Expire),
        (1..LONGEST).prop_map(|ms| Fault::Disconnect(Duration::from_millis(ms))),
        (1..5u32).prop_map(|requests| Fault::Fail { requests }),
        (1..5u32, 1..LONGEST)
            .prop_map(|(requests, ms)| Fault::Delay { requests, by: Duration::from_millis(ms) }),
    ]
}

/// A schedule of up to `max_len` faults, at random points.
pub fn fault_schedule(max_len: usize) -> impl Strategy<Value = FaultSchedule> {
    prop::collection::vec((0..LONGEST).prop_map(Duration::from_millis), 0..=max_len)
        .prop_flat_map(|pauses| {
            let len = pauses.len();
            (Just(pauses), prop::collection::vec(fault(), len))
        })
        .prop_map(|(pauses, faults)| FaultSchedule { steps: pauses.into_iter().zip(faults).collect() })
}

impl FaultSchedule {
    /// The schedule of `len` faults that `seed` stands for (the same every time), for tests
    /// that pick their seeds themselves.
    pub fn seeded(seed: u64, len: usize) -> FaultSchedule {
        let mut rng = fastrand::Rng::with_seed(seed);
        let millis = |rng: &mut fastrand::Rng| Duration::from_millis(rng.u64(1..LONGEST));
        let steps = (0..len)
            .map(|_| {
                let pause = millis(&mut rng);
                let fault = match rng.u8(0..4) {
                    0 => Fault::Expire,
                    1 => Fault::Disconnect(millis(&mut rng)),
                    2 => Fault::Fail { requests: rng.u32(1..5) },
                    _ => Fault::Delay { requests: rng.u32(1..5), by: millis(&mut rng) },
                };
                (pause, fault)
            })
            .collect();
        FaultSchedule { steps }
    }

    /// Applies the faults in order on `emulator`, each after its pause, to the session
    /// `session()` names at that moment (for a client, `|| zk.store().session_id()`: after an
    /// expiry it is the client's new session). Returns when the last fault is over: every
    /// dropped connection is back.
    pub async fn run(&self, emulator: &Emulator, session: impl Fn() -> i64) {
        for (pause, fault) in &self.steps {
            tokio::time::sleep(*pause).await;
            let faults = emulator.faults(session());
            match *fault {
                Fault::Expire => faults.expire(),
                Fault::Disconnect(time) => {
                    faults.disconnect();
                    tokio::time::sleep(time).await;
                    faults.reconnect();
                }
                Fault::Fail { requests } => faults.fail_next(requests, Code::ConnectionLoss),
                Fault::Delay { requests, by } => faults.delay_next(requests, by),
            }
        }
    }

    /// As [`FaultSchedule::run`], for the session of `store`.
    pub async fn run_on<S: Store>(&self, emulator: &Emulator, store: &S) {
        let id = store.session_id();
        self.run(emulator, || id).await
    }
}
