//! The one retry policy: growing delays between tries of something that failed for a reason no
//! watch reports (a server that cannot be reached, a file another process holds), so that a
//! retry loop neither hammers the server nor waits long once it is back.
//!
//! Every retry loop uses it: opening a session ([`ConnectOptions::wait`](super::ConnectOptions)),
//! replacing an expired one, restoring registrations, re-setting a live view's watch, asking
//! again where a deleted view's path leads, and `zczk::connect` waiting for a `file:` lock.

use std::time::Duration;

use tokio::time::Instant;

/// The first delay.
const FIRST: Duration = Duration::from_millis(50);

/// The longest delay: a retry loop notices within this long that what it waits for is back.
const MAX: Duration = Duration::from_secs(1);

/// Delays that double from 50 ms up to 1 s, each shortened by a random part of up to half
/// (so clients that lost the same server at the same moment do not all come back to it in
/// step). Start a new one (or [`Backoff::reset`]) after a success, so the next failure is
/// retried quickly again.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    rng: fastrand::Rng,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

impl Backoff {
    /// Starts at the first (shortest) delay.
    pub fn new() -> Backoff {
        Backoff { next: FIRST, rng: fastrand::Rng::new() }
    }

    /// The delay to wait now: between half the current step and all of it. The step after is
    /// twice as long, up to the longest.
    pub fn delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(MAX);
        let half = step / 2;
        half + half.mul_f64(self.rng.f64())
    }

    /// Waits the current delay (see [`Backoff::delay`]).
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.delay()).await;
    }

    /// Waits the current delay, but not past `deadline`; false when the deadline has passed
    /// (there is no time left for another try).
    pub async fn wait_until(&mut self, deadline: Instant) -> bool {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        tokio::time::sleep(self.delay().min(deadline - now)).await;
        true
    }

    /// Back to the first delay, after a success.
    pub fn reset(&mut self) {
        self.next = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The steps, in milliseconds, that each delay falls in the upper half of.
    const STEPS: [u64; 7] = [50, 100, 200, 400, 800, 1000, 1000];

    #[test]
    fn delays_double_up_to_the_longest_and_restart_after_a_reset() {
        let mut backoff = Backoff::new();
        for step in STEPS {
            let delay = backoff.delay();
            let step = Duration::from_millis(step);
            assert!(delay >= step / 2 && delay <= step, "{delay:?} outside {step:?}/2..={step:?}");
        }
        backoff.reset();
        assert!(backoff.delay() <= FIRST);
    }

    #[test]
    fn two_clients_do_not_retry_in_step() {
        let schedule =
            |mut backoff: Backoff| -> Vec<Duration> { (0..STEPS.len()).map(|_| backoff.delay()).collect() };
        let apart = (0..20).filter(|_| schedule(Backoff::new()) != schedule(Backoff::new())).count();
        assert_eq!(apart, 20, "each pair of fresh backoffs has its own random delays");
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_stops_at_the_deadline() {
        let mut backoff = Backoff::new();
        for _ in 0..5 {
            backoff.delay();
        }
        let start = Instant::now();
        let deadline = start + Duration::from_millis(300);
        assert!(backoff.wait_until(deadline).await);
        assert_eq!(Instant::now(), deadline, "waited 300 ms, not the 1 s delay");
        assert!(!backoff.wait_until(deadline).await);
    }
}
