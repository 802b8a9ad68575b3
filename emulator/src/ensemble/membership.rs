//! An ensemble's membership as ZooKeeper 3.5+ publishes it in `/zookeeper/config` and in its
//! `conf` word: one `server.N=HOST:QUORUM_PORT:ELECTION_PORT:participant` line per member,
//! then `version=HEX`, the zxid of the configuration (0 for the one a ZooKeeper ensemble
//! starts with when reconfiguration is disabled). The lines carry no client address, as on a
//! ZooKeeper whose configuration gives `clientPort` apart (that of `.ci/zookeeper-ensemble`).

use std::io;
use std::net::{SocketAddr, TcpListener};

/// The ports a member talks to the other members on. The emulated members never do, but
/// their ports are bound and held, so the ones the configuration names are really taken.
pub(crate) struct PeerPorts {
    _listeners: [TcpListener; 2],
    /// The port followers reach the leader on.
    pub quorum: u16,
    /// The port leader election runs on.
    pub election: u16,
}

impl PeerPorts {
    /// Binds a quorum and an election port on the member's address's IP.
    pub fn bind(member: SocketAddr) -> io::Result<PeerPorts> {
        let any = SocketAddr::new(member.ip(), 0);
        let (quorum, election) = (TcpListener::bind(any)?, TcpListener::bind(any)?);
        let ports = (quorum.local_addr()?.port(), election.local_addr()?.port());
        Ok(PeerPorts { _listeners: [quorum, election], quorum: ports.0, election: ports.1 })
    }
}

/// The text of `/zookeeper/config` for members numbered from 1 in `members` order, each with
/// its client address and peer ports.
pub(crate) fn config_text(members: &[(SocketAddr, &PeerPorts)]) -> String {
    let mut lines: Vec<String> = members
        .iter()
        .enumerate()
        .map(|(index, (address, ports))| {
            format!("server.{}={}:{}:{}:participant", index + 1, address.ip(), ports.quorum, ports.election)
        })
        .collect();
    lines.push("version=0".to_string());
    lines.join("\n")
}

/// What a member's `conf` word gives after its common part (from `serverId=` on): its number,
/// its peer settings and the membership. `initLimit` and `syncLimit` are those of
/// `.ci/zookeeper-ensemble`; the emulated members have no use for them.
pub(crate) fn conf_lines(number: usize, ports: &PeerPorts, config: &str) -> String {
    format!(
        "serverId={number}\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort={}\nquorumPort={}\npeerType=0\nmembership: \n{config}",
        ports.election, ports.quorum
    )
}
