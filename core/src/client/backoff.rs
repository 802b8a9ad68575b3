//! Growing delays between tries of something that failed for a reason no watch reports (a
//! server that cannot be reached), so that the client neither hammers it nor waits long once
//! it is back.

use std::time::Duration;

/// The first delay.
const FIRST: Duration = Duration::from_millis(50);

/// The longest delay.
const MAX: Duration = Duration::from_secs(5);

/// Delays that double from [`FIRST`] up to [`MAX`].
#[derive(Debug)]
pub(super) struct Backoff {
    next: Duration,
}

impl Backoff {
    /// Starts at [`FIRST`].
    pub(super) fn new() -> Backoff {
        Backoff { next: FIRST }
    }

    /// Waits the current delay, and doubles the next one.
    pub(super) async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(MAX);
    }
}
