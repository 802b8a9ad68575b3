//! An ensemble's membership as ZooKeeper 3.5+ publishes it in `/zookeeper/config`: one
//! `server.N=HOST:QUORUM_PORT:ELECTION_PORT:participant` line per member, then
//! `version=HEX`, the zxid of the configuration (0 for the one the ensemble started with).
//! The lines carry no client address, as on a ZooKeeper whose configuration gives
//! `clientPort` apart (that of `.ci/zookeeper-ensemble`).

use std::io;
use std::net::{SocketAddr, TcpListener};

/// The ports a member talks to the other members on. The emulated members never do, but
/// their ports are bound and held, so the ones the configuration names are really taken.
pub(crate) struct PeerPorts {
    quorum: TcpListener,
    election: TcpListener,
}

impl PeerPorts {
    /// Binds a quorum and an election port on the member's address's IP.
    pub fn bind(member: SocketAddr) -> io::Result<PeerPorts> {
        let any = SocketAddr::new(member.ip(), 0);
        Ok(PeerPorts { quorum: TcpListener::bind(any)?, election: TcpListener::bind(any)? })
    }
}

/// The text of `/zookeeper/config` for members numbered from 1 in `members` order, each with
/// its client address and peer ports; the configuration is the first, version 0.
pub(crate) fn config_text(members: &[(SocketAddr, &PeerPorts)]) -> io::Result<String> {
    let mut lines = Vec::new();
    for (index, (address, ports)) in members.iter().enumerate() {
        let quorum = ports.quorum.local_addr()?.port();
        let election = ports.election.local_addr()?.port();
        lines.push(format!("server.{}={}:{quorum}:{election}:participant", index + 1, address.ip()));
    }
    lines.push("version=0".to_string());
    Ok(lines.join("\n"))
}
