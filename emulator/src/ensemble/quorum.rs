//! Who serves in an emulated ensemble: which members run, which are cut off from the others,
//! which vote (the participants of the membership), who leads, and whether an election is
//! under way. Pure bookkeeping; the ensemble acts on it.

use std::time::Duration;

use tokio::time::Instant;

/// What an ensemble member does now, as `srvr` reports it in its `Mode:` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// It leads the quorum and serves clients.
    Leader,
    /// It follows the leader and serves clients.
    Follower,
    /// Cut off from a quorum, it serves reads to clients that asked for read-only mode.
    ReadOnly,
    /// It runs but serves no one: cut off from a quorum, or electing a leader.
    NotServing,
    /// It is stopped: its port is closed.
    Stopped,
}

impl Mode {
    /// The word ZooKeeper's `srvr` gives (`Mode: ...`), for the modes that serve.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Mode::Leader => Some("leader"),
            Mode::Follower => Some("follower"),
            Mode::ReadOnly => Some("read-only"),
            Mode::NotServing | Mode::Stopped => None,
        }
    }
}

/// The members' states (index 0 is member 1).
#[derive(Debug)]
pub(crate) struct Quorum {
    running: Vec<bool>,
    isolated: Vec<bool>,
    /// Which members are participants of the membership; the others (removed by a reconfig)
    /// follow the leader without a vote.
    voter: Vec<bool>,
    /// Participants of the membership that are no member (they never vote).
    absent_voters: usize,
    leader: Option<usize>,
    electing_until: Option<Instant>,
    /// How long an election keeps every member from serving.
    pub election_time: Duration,
    /// Whether members cut off from a quorum serve read-only clients (ZooKeeper's
    /// `readonlymode.enabled`).
    pub read_only: bool,
}

impl Quorum {
    /// `servers` running members; the highest-numbered leads, as a fresh ZooKeeper ensemble
    /// elects the largest server id among equals.
    pub fn new(servers: usize, election_time: Duration, read_only: bool) -> Quorum {
        Quorum {
            running: vec![true; servers],
            isolated: vec![false; servers],
            voter: vec![true; servers],
            absent_voters: 0,
            leader: servers.checked_sub(1),
            electing_until: None,
            election_time,
            read_only,
        }
    }

    pub fn servers(&self) -> usize {
        self.running.len()
    }

    /// The leader, once an election is over.
    pub fn leader(&self, now: Instant) -> Option<usize> {
        self.leader.filter(|_| !self.electing(now))
    }

    /// The leader, or the member being elected.
    pub fn elected(&self) -> Option<usize> {
        self.leader
    }

    fn electing(&self, now: Instant) -> bool {
        self.electing_until.is_some_and(|until| now < until)
    }

    /// Whether `member` runs and reaches the others.
    fn connected(&self, member: usize) -> bool {
        self.running[member] && !self.isolated[member]
    }

    /// Whether `member` votes now.
    fn voting(&self, member: usize) -> bool {
        self.connected(member) && self.voter[member]
    }

    fn has_quorum(&self) -> bool {
        let voters = self.voter.iter().filter(|v| **v).count() + self.absent_voters;
        (0..self.servers()).filter(|m| self.voting(*m)).count() > voters / 2
    }

    /// Whether the members in `voters` that follow the leader now, with the `absent` voters
    /// that are no member, would make a quorum: what ZooKeeper's leader asks of a new
    /// membership before it commits it (a "connected and synced quorum").
    pub fn synced_quorum(&self, voters: &[bool], absent: usize, now: Instant) -> bool {
        let serving = |m: usize| matches!(self.mode(m, now), Mode::Leader | Mode::Follower);
        let synced = (0..self.servers()).filter(|m| voters[*m] && serving(*m)).count();
        synced > (voters.iter().filter(|v| **v).count() + absent) / 2
    }

    /// Sets which members vote, and how many voters are no member; true when that starts an
    /// election (the leader no longer votes).
    pub fn set_voters(&mut self, voters: Vec<bool>, absent: usize, now: Instant) -> bool {
        self.voter = voters;
        self.absent_voters = absent;
        self.settle(now, None)
    }

    pub fn mode(&self, member: usize, now: Instant) -> Mode {
        if !self.running[member] {
            Mode::Stopped
        } else if self.has_quorum() && self.connected(member) {
            match self.leader {
                _ if self.electing(now) => Mode::NotServing,
                Some(leader) if leader == member => Mode::Leader,
                _ => Mode::Follower,
            }
        } else if self.read_only {
            Mode::ReadOnly
        } else {
            Mode::NotServing
        }
    }

    /// Starts or stops `member`; true when that starts an election.
    pub fn set_running(&mut self, member: usize, running: bool, now: Instant) -> bool {
        self.running[member] = running;
        self.settle(now, None)
    }

    /// Cuts `member` off from the others, or lets it back; true when that starts an election.
    pub fn set_isolated(&mut self, member: usize, isolated: bool, now: Instant) -> bool {
        self.isolated[member] = isolated;
        self.settle(now, None)
    }

    /// Forces a leader change: the leader steps down and another voting member is elected.
    /// False when there is no quorum to elect in.
    pub fn elect(&mut self, now: Instant) -> bool {
        let old = self.leader.take();
        self.settle(now, old)
    }

    /// Keeps the leader while it votes in a quorum; else elects the highest-numbered voting
    /// member (but not `not`, the leader stepping down, while another can lead). True when
    /// an election started.
    fn settle(&mut self, now: Instant, not: Option<usize>) -> bool {
        if !self.has_quorum() {
            self.leader = None;
            return false;
        }
        if self.leader.is_some_and(|leader| self.voting(leader)) {
            return false;
        }
        let voting: Vec<usize> = (0..self.servers()).filter(|m| self.voting(*m)).collect();
        let pick = voting.iter().rev().find(|m| Some(**m) != not).or(voting.last());
        self.leader = pick.copied();
        self.electing_until = Some(now + self.election_time);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modes(q: &Quorum, now: Instant) -> Vec<Mode> {
        (0..q.servers()).map(|m| q.mode(m, now)).collect()
    }

    #[test]
    fn the_highest_member_leads_and_a_stopped_leader_is_replaced_after_the_election() {
        let now = Instant::now();
        let mut q = Quorum::new(3, Duration::from_millis(100), false);
        assert_eq!(modes(&q, now), [Mode::Follower, Mode::Follower, Mode::Leader]);
        assert!(q.set_running(2, false, now));
        assert_eq!(modes(&q, now), [Mode::NotServing, Mode::NotServing, Mode::Stopped]);
        let later = now + Duration::from_millis(100);
        assert_eq!(modes(&q, later), [Mode::Follower, Mode::Leader, Mode::Stopped]);
        // The old leader comes back as a follower.
        assert!(!q.set_running(2, true, later));
        assert_eq!(modes(&q, later), [Mode::Follower, Mode::Leader, Mode::Follower]);
    }

    #[test]
    fn a_minority_serves_no_one_or_reads_only() {
        let now = Instant::now();
        let mut q = Quorum::new(3, Duration::ZERO, false);
        q.set_isolated(0, true, now);
        assert_eq!(modes(&q, now), [Mode::NotServing, Mode::Follower, Mode::Leader]);
        q.set_running(2, false, now);
        assert_eq!(modes(&q, now), [Mode::NotServing, Mode::NotServing, Mode::Stopped]);
        assert_eq!(q.leader(now), None);
        q.read_only = true;
        assert_eq!(modes(&q, now), [Mode::ReadOnly, Mode::ReadOnly, Mode::Stopped]);
        q.set_isolated(0, false, now);
        assert_eq!(modes(&q, now), [Mode::Follower, Mode::Leader, Mode::Stopped]);
    }

    #[test]
    fn a_forced_election_moves_the_leadership() {
        let now = Instant::now();
        let mut q = Quorum::new(5, Duration::ZERO, false);
        assert!(q.elect(now));
        assert_eq!(q.leader(now), Some(3));
        assert!(q.elect(now));
        assert_eq!(q.leader(now), Some(4));
        // Alone in its quorum of one, a lone server keeps leading.
        let mut lone = Quorum::new(1, Duration::ZERO, false);
        lone.elect(now);
        assert_eq!(lone.leader(now), Some(0));
    }

    #[test]
    fn members_removed_from_the_membership_follow_without_a_vote() {
        let now = Instant::now();
        let mut q = Quorum::new(3, Duration::ZERO, false);
        // Member 1 leaves: members 2 and 3 are the quorum, 1 still follows.
        assert!(!q.set_voters(vec![false, true, true], 0, now));
        assert_eq!(modes(&q, now), [Mode::Follower, Mode::Follower, Mode::Leader]);
        assert!(!q.synced_quorum(&[true, false, false], 2, now));
        // With 2 of its 2 voters needed, losing member 2 loses the quorum for every member.
        q.set_running(1, false, now);
        assert_eq!(modes(&q, now), [Mode::NotServing, Mode::Stopped, Mode::NotServing]);
        q.set_running(1, true, now);
        // The leader leaves: another voter is elected, the old leader follows.
        assert!(q.set_voters(vec![true, true, false], 0, now));
        assert_eq!(modes(&q, now), [Mode::Follower, Mode::Leader, Mode::Follower]);
        // A voter that is no member counts: 2 of 4 is no quorum.
        assert!(!q.synced_quorum(&[true, true, false], 2, now));
        assert!(q.synced_quorum(&[true, true, true], 1, now));
    }
}
