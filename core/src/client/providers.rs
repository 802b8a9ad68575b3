//! Choosing one provider of a service (as Curator's `ServiceProvider`): a live children view
//! of the providers node, a strategy, and providers marked down for a while after a failure.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::{Children, ClientError, Result, ZooKeeper};
use crate::store::Store;

/// How long [`Providers::mark_down`] takes a provider out of the choice unless told otherwise.
pub const DEFAULT_DOWN_FOR: Duration = Duration::from_secs(30);

/// How [`Providers::pick`] chooses among the providers that are up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Any one, at random (spreads the load without coordination).
    #[default]
    Random,
    /// Each in turn, in name order.
    RoundRobin,
    /// The same one while it is registered and up; then another, at random.
    Sticky,
}

/// One provider chosen at a time from a service's live list of providers (see
/// [`ZooKeeper::providers`]). Cheap to share behind an `Arc`; the list stays current while it
/// lives.
pub struct Providers {
    path: String,
    children: Children,
    strategy: Strategy,
    down_for: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// How many round-robin picks were made.
    turn: usize,
    /// The sticky choice.
    current: Option<String>,
    /// Providers marked down, until when.
    down: HashMap<String, Instant>,
}

impl<S: Store + 'static> ZooKeeper<S> {
    /// A chooser over the children of `path` (the service's `providers` node, resolved through
    /// links), kept current by a children view. A provider marked down stays out of the choice
    /// for `down_for` ([`DEFAULT_DOWN_FOR`] is Curator's usual 30 s).
    pub async fn providers(&self, path: &str, strategy: Strategy, down_for: Duration) -> Result<Providers> {
        let children = self.children(path).await?;
        let state = Mutex::new(State::default());
        Ok(Providers { path: path.to_string(), children, strategy, down_for, state })
    }
}

impl Providers {
    /// One provider's name (its address, for providers made by `register`), chosen by the
    /// strategy among those registered and not marked down; when all are down, among all
    /// registered ones (a provider that may have recovered beats none). `None` when there are
    /// none at all.
    pub fn pick(&self) -> Option<String> {
        let mut all = self.children.names();
        all.sort();
        let mut state = self.state.lock();
        let now = Instant::now();
        state.down.retain(|_, until| *until > now);
        let up: Vec<&String> = all.iter().filter(|name| !state.down.contains_key(*name)).collect();
        let choice: Vec<&String> = if up.is_empty() { all.iter().collect() } else { up };
        if choice.is_empty() {
            return None;
        }
        let picked = match self.strategy {
            Strategy::Random => choice[fastrand::usize(..choice.len())].clone(),
            Strategy::RoundRobin => {
                state.turn = state.turn.wrapping_add(1);
                choice[(state.turn - 1) % choice.len()].clone()
            }
            Strategy::Sticky => match &state.current {
                Some(current) if choice.contains(&current) => current.clone(),
                _ => {
                    let picked = choice[fastrand::usize(..choice.len())].clone();
                    state.current = Some(picked.clone());
                    picked
                }
            },
        };
        Some(picked)
    }

    /// As [`Providers::pick`], with an error naming the path when there is no provider.
    pub fn require(&self) -> Result<String> {
        self.pick().ok_or_else(|| ClientError::NoProvider { path: self.path.clone() })
    }

    /// Takes `name` out of the choice for the chooser's down time (after a failure talking to
    /// it), unless it is the only choice left.
    pub fn mark_down(&self, name: &str) {
        let until = Instant::now() + self.down_for;
        self.state.lock().down.insert(name.to_string(), until);
    }

    /// The providers registered now, in the server's order.
    pub fn names(&self) -> Vec<String> {
        self.children.names()
    }

    /// The live view the choice is made from.
    pub fn children(&self) -> &Children {
        &self.children
    }
}
