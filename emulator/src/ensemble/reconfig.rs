//! Dynamic reconfiguration, as a ZooKeeper 3.5+ leader with `reconfigEnabled=true` does it:
//! a `reconfig` request changes the membership in `/zookeeper/config`, and with it who votes
//! in the quorum and who may lead.
//!
//! The leader's checks, in its order, each with its code: the request's `curConfigId` (when
//! not -1) must be the current version (`BadVersion`); its servers must parse
//! (`BadArguments`, or `MarshallingError` for an id that is not a number); at least 2
//! participants must remain (`BadArguments`); a majority of the new participants must be
//! members that follow the leader now (`NewConfigNoQuorum`); then the session must be allowed
//! to write `/zookeeper/config`, which only a superuser is (`NoAuth`). A member that leaves
//! keeps serving as a follower without a vote; when the leader leaves, it answers, then the
//! members elect another (every connection is closed, the requester's too).

use tokio::time::Instant;
use zczk_core::store::{Code, Stat};

use super::membership::{Membership, Refused};
use super::Core;

/// A reconfig request's fields (ZooKeeper's `ReconfigRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Request {
    /// Servers to add (`server.N=SPEC`, comma-separated), or none.
    pub joining: Option<String>,
    /// Ids of servers to remove, comma-separated, or none.
    pub leaving: Option<String>,
    /// The whole new membership (a non-incremental reconfig), or none.
    pub new_members: Option<String>,
    /// The version the client expects the membership to be at; -1 for any.
    pub from_config: i64,
}

/// Applies `request` of `session` to the ensemble: the new config node's data and stat, or
/// ZooKeeper's error code.
pub(crate) fn reconfigure(core: &Core, session: i64, request: &Request) -> Result<(Vec<u8>, Stat), Code> {
    let mut membership = core.membership.lock();
    let members = core.addresses.len();
    let quorum = |next: &Membership| {
        let mut voters = vec![false; members];
        let mut absent = 0;
        for id in next.participants() {
            match usize::try_from(id).ok().filter(|id| (1..=members).contains(id)) {
                Some(member) => voters[member - 1] = true,
                None => absent += 1,
            }
        }
        (voters, absent)
    };
    let (data, stat, (next, voters, absent)) = core.emulator.reconfigure(session, |zxid| {
        let mut next = plan(&membership, request).map_err(|refused| {
            tracing::debug!(code = ?refused.code, reason = %refused.reason, "reconfig refused");
            refused.code
        })?;
        let (voters, absent) = quorum(&next);
        if !core.quorum.lock().synced_quorum(&voters, absent, Instant::now()) {
            return Err(Code::NewConfigNoQuorum);
        }
        next.version = zxid;
        Ok((next.text(), (next, voters, absent)))
    })?;
    *membership = next;
    drop(membership);
    // When the leader left, every member's connections close for the election: the
    // requester's after this reply, as the real leader's reply goes out before it steps down.
    core.change(|quorum, now| quorum.set_voters(voters, absent, now));
    Ok((data, stat))
}

/// The membership `request` asks for, checked as the leader checks it before the quorum.
fn plan(current: &Membership, request: &Request) -> Result<Membership, Refused> {
    if request.from_config != -1 && request.from_config != current.version {
        return Err(Refused {
            code: Code::BadVersion,
            reason: format!(
                "the membership is at version {:x}, not {:x}",
                current.version, request.from_config
            ),
        });
    }
    let next = match &request.new_members {
        Some(new_members) => Membership::replaced(new_members)?,
        None => current.incremental(request.joining.as_deref(), request.leaving.as_deref())?,
    };
    if next.participants().count() < 2 {
        return Err(Refused {
            code: Code::BadArguments,
            reason: "the new membership must have at least 2 participants".to_string(),
        });
    }
    Ok(next)
}
