//! An emulated ZooKeeper ensemble: one tree served on several ports, as the members of a
//! ZooKeeper ensemble (`zczk serve --servers 3`), with control over the members that a test of
//! failover needs, each change taking effect at once.
//!
//! The members share one [`Emulator`] and one table of sessions, so a session is the
//! ensemble's, as in ZooKeeper: a client whose member goes away reconnects to another with
//! its session id and keeps its session, ephemerals and watches. A session with no connection
//! on any member expires after its timeout.
//!
//! A member is [`Mode::Leader`] or [`Mode::Follower`] while it votes in a quorum (a majority
//! of the members running and not cut off). The controls, by member number (1 to N, as
//! ZooKeeper's server ids):
//! - [`Ensemble::stop`] closes a member's port and disconnects its clients, which move to
//!   other members; [`Ensemble::start`] opens it again.
//! - [`Ensemble::isolate`] cuts a member off from the others (a minority partition): it
//!   closes its clients' connections and serves no one until [`Ensemble::rejoin`].
//! - When the leader goes, or on [`Ensemble::elect`], the members elect another: for the
//!   election time every member closes its connections and refuses clients, as a ZooKeeper
//!   server that is "not currently serving requests".
//! - Without a quorum, the running members serve no one, or, with read-only mode on
//!   ([`EnsembleOptions::read_only`], ZooKeeper's `readonlymode.enabled`), serve reads to
//!   clients that connected with the read-only flag; their writes fail with `NotReadOnly`.
//! - [`Ensemble::lag`] makes a member fall behind, as a slow follower: its plain reads (`get`,
//!   `exists`, `getChildren`, `getACL` without a watch) show the tree as it was, until one of
//!   its clients sends `sync`, which brings it up to date (and it falls behind again from
//!   there). So tests catch clients that assume a write made through one session is seen at
//!   once by another. Reads that set a watch see the present, so that no change goes unwatched.
//!
//! The members publish their membership in `/zookeeper/config` and their `conf` word, in
//! ZooKeeper's format (see `membership`). A `reconfig` request is refused with
//! `ReconfigDisabled`, as by a ZooKeeper ensemble with reconfiguration disabled (its default),
//! unless [`EnsembleOptions::reconfig`] enables it: then a superuser's `reconfig` (see
//! [`Config::super_digest`](crate::Config::super_digest)) changes the membership as on a
//! ZooKeeper 3.5+ ensemble with `reconfigEnabled=true`, with the same checks and error codes
//! (see `reconfig`), and the membership decides who votes: a member that leaves keeps serving
//! as a follower without a vote, the quorum is a majority of the participants (servers that
//! joined but are no member count, and never vote), and when the leader leaves another is
//! elected.
//!
//! The same controls are words on every member's port (see [`CONTROL_WORDS`]), for tests in
//! other processes.

mod membership;
mod quorum;
mod reconfig;
mod words;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::wire::{Server, ServerOptions, Sessions};
use crate::Emulator;

pub use quorum::Mode;
pub(crate) use reconfig::Request as ReconfigRequest;
pub(crate) use words::control;
pub use words::CONTROL_WORDS;

/// How an [`Ensemble`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnsembleOptions {
    /// How each member admits clients.
    pub server: ServerOptions,
    /// How long an election keeps every member from serving.
    pub election_time: Duration,
    /// Whether members cut off from a quorum serve read-only clients.
    pub read_only: bool,
    /// Whether `reconfig` requests change the membership (ZooKeeper's `reconfigEnabled`); only
    /// a superuser's may (the emulator's [`Config::super_digest`](crate::Config::super_digest)).
    pub reconfig: bool,
}

impl Default for EnsembleOptions {
    fn default() -> Self {
        EnsembleOptions {
            server: ServerOptions::default(),
            election_time: Duration::from_millis(200),
            read_only: false,
            reconfig: false,
        }
    }
}

/// Why a control on an [`Ensemble`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No member has that number.
    #[error("no member {member}: the members are 1 to {servers}")]
    NoMember {
        /// The number asked for.
        member: usize,
        /// How many members there are.
        servers: usize,
    },
    /// The member is already running (start) or already stopped (stop).
    #[error("member {member} is {state} already")]
    Already {
        /// The member.
        member: usize,
        /// `running` or `stopped`.
        state: &'static str,
    },
    /// The member's port could not be listened on again.
    #[error("member {member}: listening on {address}: {error}")]
    Listen {
        /// The member.
        member: usize,
        /// Its address.
        address: SocketAddr,
        /// Why.
        error: io::Error,
    },
}

/// One member's running server.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// What the members share.
struct Core {
    emulator: Emulator,
    options: ServerOptions,
    sessions: Sessions,
    addresses: Vec<SocketAddr>,
    /// Held for the members' lifetime: the ports `/zookeeper/config` names.
    peer_ports: Vec<membership::PeerPorts>,
    /// The membership, as in `/zookeeper/config`.
    membership: Mutex<membership::Membership>,
    /// Whether reconfig requests change it.
    reconfig: bool,
    quorum: Mutex<quorum::Quorum>,
    running: Mutex<Vec<Option<Running>>>,
    /// The views lagging members serve their plain reads from.
    lagging: Mutex<Vec<Option<View>>>,
}

/// The tree as a lagging member last saw it.
#[derive(Clone)]
pub(crate) struct View {
    /// A copy of the tree, on a server of its own.
    pub tree: Emulator,
    /// Tells views apart, so a connection knows when to read from a newer one.
    pub generation: u64,
}

impl View {
    fn now(emulator: &Emulator) -> View {
        static GENERATION: AtomicU64 = AtomicU64::new(1);
        View { tree: emulator.snapshot(), generation: GENERATION.fetch_add(1, Ordering::Relaxed) }
    }
}

/// A member's view of its ensemble, held by its server.
#[derive(Clone)]
pub(crate) struct Seat {
    core: Arc<Core>,
    /// Index (member number - 1).
    index: usize,
}

impl Seat {
    /// The member's number (1 to N).
    pub fn number(&self) -> usize {
        self.index + 1
    }

    pub fn mode(&self) -> Mode {
        self.core.quorum.lock().mode(self.index, Instant::now())
    }

    /// Whether the member serves reads only.
    pub fn read_only(&self) -> bool {
        self.mode() == Mode::ReadOnly
    }

    /// Whether a client (`read_only`: one that accepts a read-only server) may connect now.
    pub fn admits(&self, read_only: bool) -> Result<(), &'static str> {
        match self.mode() {
            Mode::Leader | Mode::Follower => Ok(()),
            Mode::ReadOnly if read_only => Ok(()),
            Mode::ReadOnly => Err("the member is read-only and the client did not ask for read-only mode"),
            Mode::NotServing | Mode::Stopped => Err("the member is not currently serving requests"),
        }
    }

    /// The view a lagging member serves plain reads from; `None` when it is up to date.
    pub fn lagging_view(&self) -> Option<View> {
        self.core.lagging.lock()[self.index].clone()
    }

    /// A client's `sync`: a lagging member catches up with the leader.
    pub fn catch_up(&self) {
        let mut lagging = self.core.lagging.lock();
        if lagging[self.index].is_some() {
            lagging[self.index] = Some(View::now(&self.core.emulator));
        }
    }

    /// The member's part of its `conf` word, from `serverId=` on.
    pub fn conf(&self) -> String {
        let config = self.core.membership.lock().text();
        membership::conf_lines(self.number(), &self.core.peer_ports[self.index], &config)
    }

    /// Answers a reconfig request of `session` made on this member: the config node's new
    /// data and stat, or ZooKeeper's error code (`ReconfigDisabled` unless enabled).
    pub fn reconfig(
        &self,
        session: i64,
        request: &ReconfigRequest,
    ) -> Result<(Vec<u8>, zczk_core::store::Stat), zczk_core::store::Code> {
        if !self.core.reconfig {
            return Err(zczk_core::store::Code::ReconfigDisabled);
        }
        reconfig::reconfigure(&self.core, session, request)
    }

    pub fn ensemble(&self) -> Ensemble {
        Ensemble { core: self.core.clone(), owner: false }
    }
}

/// An emulated ensemble of N members serving one [`Emulator`] (see the [module](self) docs).
/// Dropping the handle returned by [`Ensemble::bind`] stops every member.
///
/// ```
/// use zczk_emulator::ensemble::{Ensemble, EnsembleOptions, Mode};
/// use zczk_emulator::Emulator;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let ensemble = Ensemble::bind([127, 0, 0, 1], 3, Emulator::new(), EnsembleOptions::default()).await?;
/// // Point any ZooKeeper client at all the members:
/// let servers = ensemble.connection_string(); // 127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
/// assert_eq!(ensemble.leader(), Some(3));
/// ensemble.stop(3).await?; // its clients move to members 1 and 2, keeping their sessions
/// assert_eq!(ensemble.mode(3), Mode::Stopped);
/// ensemble.start(3).await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct Ensemble {
    core: Arc<Core>,
    /// Whether dropping this handle stops the members (the one `bind` returned).
    owner: bool,
}

impl std::fmt::Debug for Ensemble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ensemble").field("addresses", &self.core.addresses).finish()
    }
}

impl Ensemble {
    /// Starts `servers` members on free ports of `ip`, serving `emulator`.
    pub async fn bind(
        ip: impl Into<std::net::IpAddr>,
        servers: usize,
        emulator: Emulator,
        options: EnsembleOptions,
    ) -> io::Result<Ensemble> {
        let ip = ip.into();
        Ensemble::bind_ports(&vec![SocketAddr::new(ip, 0); servers], emulator, options).await
    }

    /// Starts one member on each of `addresses` (port 0 picks a free one), serving `emulator`.
    pub async fn bind_ports(
        addresses: &[SocketAddr],
        emulator: Emulator,
        options: EnsembleOptions,
    ) -> io::Result<Ensemble> {
        let mut listeners = Vec::new();
        for address in addresses {
            listeners.push(TcpListener::bind(address).await?);
        }
        let addresses = listeners.iter().map(TcpListener::local_addr).collect::<io::Result<Vec<_>>>()?;
        let servers = addresses.len();
        let peer_ports =
            addresses.iter().map(|a| membership::PeerPorts::bind(*a)).collect::<io::Result<Vec<_>>>()?;
        let members: Vec<_> = addresses.iter().copied().zip(&peer_ports).collect();
        // A ZooKeeper ensemble started with reconfiguration enabled versions its first
        // configuration with its first zxid (one without, 0), and each reconfig with its own:
        // the zxids start there, so that versions only grow.
        let version = if options.reconfig { membership::FIRST_RECONFIGURABLE_VERSION } else { 0 };
        emulator.start_zxids_at(version);
        let membership = membership::Membership::of_members(&members, version);
        emulator.set_membership(membership.text());
        let core = Arc::new(Core {
            emulator,
            options: options.server,
            sessions: Sessions::default(),
            addresses,
            peer_ports,
            membership: Mutex::new(membership),
            reconfig: options.reconfig,
            quorum: Mutex::new(quorum::Quorum::new(servers, options.election_time, options.read_only)),
            running: Mutex::new((0..servers).map(|_| None).collect()),
            lagging: Mutex::new(vec![None; servers]),
        });
        for (index, listener) in listeners.into_iter().enumerate() {
            core.serve(index, listener)?;
        }
        Ok(Ensemble { core, owner: true })
    }

    /// The members' addresses, member 1 first.
    pub fn addresses(&self) -> &[SocketAddr] {
        &self.core.addresses
    }

    /// The connection string of every member: `127.0.0.1:P1,127.0.0.1:P2,...`.
    pub fn connection_string(&self) -> String {
        let members: Vec<String> = self.core.addresses.iter().map(SocketAddr::to_string).collect();
        members.join(",")
    }

    /// The emulator the members serve.
    pub fn emulator(&self) -> &Emulator {
        &self.core.emulator
    }

    /// The number of the member that leads, if an elected one does.
    pub fn leader(&self) -> Option<usize> {
        self.core.quorum.lock().leader(Instant::now()).map(|index| index + 1)
    }

    /// What member `member` does now (`Stopped` for a number out of range).
    pub fn mode(&self, member: usize) -> Mode {
        match self.index(member) {
            Ok(index) => self.core.quorum.lock().mode(index, Instant::now()),
            Err(_) => Mode::Stopped,
        }
    }

    /// The member whose port the session's client is connected to now, if any.
    pub fn member_of(&self, session_id: i64) -> Option<usize> {
        self.core.sessions.lock().get(&session_id).filter(|slot| slot.conn != 0).map(|slot| slot.member)
    }

    /// Stops member `member`: its port is closed, its clients are disconnected (they move to
    /// other members with their sessions). Stopping the leader starts an election.
    pub async fn stop(&self, member: usize) -> Result<(), ControlError> {
        let index = self.index(member)?;
        let running = self.core.running.lock()[index].take();
        let Some(running) = running else {
            return Err(ControlError::Already { member, state: "stopped" });
        };
        self.core.change(|quorum, now| quorum.set_running(index, false, now));
        let _ = running.stop.send(());
        let _ = running.task.await;
        Ok(())
    }

    /// Starts member `member` again on its port; it joins the quorum at once.
    pub async fn start(&self, member: usize) -> Result<(), ControlError> {
        let index = self.index(member)?;
        if self.core.running.lock()[index].is_some() {
            return Err(ControlError::Already { member, state: "running" });
        }
        let address = self.core.addresses[index];
        let listen = |error| ControlError::Listen { member, address, error };
        let listener = TcpListener::bind(address).await.map_err(listen)?;
        self.core.serve(index, listener).map_err(listen)?;
        self.core.change(|quorum, now| quorum.set_running(index, true, now));
        Ok(())
    }

    /// Cuts member `member` off from the others, as a network partition would: it disconnects
    /// its clients and serves no one (or reads only, see [`EnsembleOptions::read_only`]), and
    /// the others elect a new leader if it led.
    pub fn isolate(&self, member: usize) -> Result<(), ControlError> {
        let index = self.index(member)?;
        self.core.change(|quorum, now| quorum.set_isolated(index, true, now));
        Ok(())
    }

    /// Ends the isolation of member `member`: it rejoins the quorum.
    pub fn rejoin(&self, member: usize) -> Result<(), ControlError> {
        let index = self.index(member)?;
        self.core.change(|quorum, now| quorum.set_isolated(index, false, now));
        Ok(())
    }

    /// Forces a leader change: the leader steps down and, for the election time, every member
    /// closes its connections and refuses clients. Returns the new leader (`None` without a
    /// quorum).
    pub fn elect(&self) -> Option<usize> {
        self.core.change(|quorum, now| quorum.elect(now));
        self.core.quorum.lock().elected().map(|index| index + 1)
    }

    /// Makes member `member` fall behind from now on (`lag` true), or catch up for good: while
    /// it lags, its plain reads show the tree as of now, or as of its clients' last `sync`.
    pub fn lag(&self, member: usize, lag: bool) -> Result<(), ControlError> {
        let index = self.index(member)?;
        self.core.lagging.lock()[index] = lag.then(|| View::now(&self.core.emulator));
        Ok(())
    }

    /// Sets how long later elections keep the members from serving.
    pub fn set_election_time(&self, time: Duration) {
        self.core.quorum.lock().election_time = time;
    }

    /// Stops every member and waits until their ports are closed.
    pub async fn shutdown(self) {
        for member in 1..=self.core.addresses.len() {
            let _ = self.stop(member).await;
        }
    }

    fn index(&self, member: usize) -> Result<usize, ControlError> {
        let servers = self.core.addresses.len();
        if (1..=servers).contains(&member) {
            Ok(member - 1)
        } else {
            Err(ControlError::NoMember { member, servers })
        }
    }
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        if self.owner {
            for running in self.core.running.lock().iter_mut().filter_map(Option::take) {
                let _ = running.stop.send(());
            }
        }
    }
}

impl Core {
    /// Serves member `index` on `listener` in the background.
    fn serve(self: &Arc<Self>, index: usize, listener: TcpListener) -> io::Result<()> {
        let seat = Seat { core: self.clone(), index };
        let server = Server::on_listener(
            listener,
            self.emulator.clone(),
            self.options,
            self.sessions.clone(),
            Some(seat),
        )?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run_until(async move {
            let _ = stopped.await;
        }));
        self.running.lock()[index] = Some(Running { stop, task });
        Ok(())
    }

    /// Applies `change` to the quorum, then closes the connections of every member whose
    /// mode changed, or of every member when an election started (a ZooKeeper server that
    /// loses its leader restarts, dropping its clients).
    fn change(&self, change: impl FnOnce(&mut quorum::Quorum, Instant) -> bool) {
        let now = Instant::now();
        let kicked: Vec<usize> = {
            let mut quorum = self.quorum.lock();
            let before: Vec<Mode> = (0..self.addresses.len()).map(|m| quorum.mode(m, now)).collect();
            let election = change(&mut quorum, now);
            (0..self.addresses.len()).filter(|m| election || quorum.mode(*m, now) != before[*m]).collect()
        };
        let mut sessions = self.sessions.lock();
        for slot in sessions.values_mut() {
            if slot.conn != 0 && kicked.iter().any(|index| index + 1 == slot.member) {
                if let Some(kick) = slot.kick.take() {
                    let _ = kick.send(());
                }
            }
        }
    }
}
