//! An ensemble's membership as ZooKeeper 3.5+ publishes it in `/zookeeper/config` and in its
//! `conf` word: one `server.N=HOST:QUORUM_PORT:ELECTION_PORT:ROLE[;CLIENT_HOST:CLIENT_PORT]`
//! line per server, by id, then `version=HEX`, the zxid of the reconfiguration that made it.
//! The emulated members' own lines carry no client address, as on a ZooKeeper whose
//! configuration gives `clientPort` apart (that of `.ci/zookeeper-ensemble`).
//!
//! A reconfig request's new membership is parsed and checked here, as ZooKeeper's leader
//! checks it, and fails with the code it gives.

use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, TcpListener};

use zczk_core::store::Code;

/// The version a ZooKeeper ensemble started with reconfiguration enabled gives its first
/// configuration: the first zxid of its first epoch.
pub(crate) const FIRST_RECONFIGURABLE_VERSION: i64 = 0x1_0000_0000;

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

/// Whether a server votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Participant,
    Observer,
}

/// One server of a membership.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Server {
    host: String,
    quorum: u16,
    election: u16,
    role: Role,
    /// Where clients reach it (host, port), when its line says.
    client: Option<(String, u16)>,
}

impl Server {
    /// Parses `HOST:QUORUM_PORT:ELECTION_PORT[:ROLE][;[CLIENT_HOST:]CLIENT_PORT]`, as
    /// ZooKeeper's `QuorumServer` does (IPv6 and multiple addresses are not supported).
    fn parse(spec: &str) -> Result<Server, String> {
        let bad = || format!("{spec:?} is not HOST:PORT:PORT[:participant|observer][;[HOST:]PORT]");
        let (server, client) = match spec.split(';').collect::<Vec<_>>()[..] {
            [server] => (server, None),
            [server, client] => (server, Some(client)),
            _ => return Err(bad()),
        };
        let port = |text: &str| text.trim().parse::<u16>().map_err(|_| bad());
        let (host, quorum, election, role) = match server.split(':').collect::<Vec<_>>()[..] {
            [host, quorum, election] => (host, quorum, election, "participant"),
            [host, quorum, election, role] => (host, quorum, election, role),
            _ => return Err(bad()),
        };
        let role = match role.trim() {
            "participant" => Role::Participant,
            "observer" => Role::Observer,
            _ => return Err(bad()),
        };
        let client = match client.map(|c| c.split(':').collect::<Vec<_>>()) {
            None => None,
            Some(parts) => match parts[..] {
                [port_only] => Some(("0.0.0.0".to_string(), port(port_only)?)),
                [host, client_port] => Some((host.trim().to_string(), port(client_port)?)),
                _ => return Err(bad()),
            },
        };
        Ok(Server {
            host: host.trim().to_string(),
            quorum: port(quorum)?,
            election: port(election)?,
            role,
            client,
        })
    }

    fn line(&self, id: i64) -> String {
        let role = match self.role {
            Role::Participant => "participant",
            Role::Observer => "observer",
        };
        let mut line = format!("server.{id}={}:{}:{}:{role}", self.host, self.quorum, self.election);
        if let Some((host, port)) = &self.client {
            line.push_str(&format!(";{host}:{port}"));
        }
        line
    }

    /// True when `self` and `other` name a same peer address, which ZooKeeper refuses.
    fn shares_an_address(&self, other: &Server) -> bool {
        let ours = [self.quorum, self.election];
        self.host == other.host && [other.quorum, other.election].iter().any(|p| ours.contains(p))
    }
}

/// Why a reconfig request's membership was refused: the code ZooKeeper gives, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub code: Code,
    pub reason: String,
}

fn refused(code: Code, reason: impl Into<String>) -> Refused {
    Refused { code, reason: reason.into() }
}

/// The servers of an ensemble and the version of their configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Membership {
    servers: BTreeMap<i64, Server>,
    /// The zxid of the reconfiguration that made it (its `version=` line, in hex).
    pub version: i64,
}

impl Membership {
    /// The membership of emulated members numbered from 1 in `members` order, each with its
    /// client address and peer ports.
    pub fn of_members(members: &[(SocketAddr, &PeerPorts)], version: i64) -> Membership {
        let servers = (1..)
            .zip(members)
            .map(|(id, (address, ports))| {
                let server = Server {
                    host: address.ip().to_string(),
                    quorum: ports.quorum,
                    election: ports.election,
                    role: Role::Participant,
                    client: None,
                };
                (id, server)
            })
            .collect();
        Membership { servers, version }
    }

    /// The text of `/zookeeper/config`.
    pub fn text(&self) -> String {
        let mut text: String = self.servers.iter().map(|(id, server)| server.line(*id) + "\n").collect();
        text.push_str(&format!("version={:x}", self.version));
        text
    }

    /// The ids of the servers that vote.
    pub fn participants(&self) -> impl Iterator<Item = i64> + '_ {
        self.servers.iter().filter(|(_, s)| s.role == Role::Participant).map(|(id, _)| *id)
    }

    /// An incremental reconfig: the servers `leaving` (ids, comma-separated) leave, then
    /// those `joining` (`server.N=SPEC`, comma-separated, each with a client address) join or
    /// replace the server of their id.
    pub fn incremental(&self, joining: Option<&str>, leaving: Option<&str>) -> Result<Membership, Refused> {
        let mut next = self.servers.clone();
        for id in items(leaving) {
            next.remove(&server_id(id)?);
        }
        for joiner in items(joining) {
            let parts: Vec<&str> = joiner.split('=').map(str::trim).filter(|p| !p.is_empty()).collect();
            let [key, spec] = parts[..] else {
                return Err(refused(Code::BadArguments, format!("{joiner:?} is not server.N=SPEC")));
            };
            let id = server_id(key.rsplit('.').next().unwrap_or(key))?;
            let server = Server::parse(spec).map_err(|reason| refused(Code::BadArguments, reason))?;
            if server.client.is_none() {
                return Err(refused(Code::BadArguments, format!("{joiner:?} gives no client address")));
            }
            if let Some((other, _)) = next.iter().find(|(o, s)| **o != id && server.shares_an_address(s)) {
                return Err(refused(
                    Code::BadArguments,
                    format!("{joiner:?} takes a port of server {other}"),
                ));
            }
            next.insert(id, server);
        }
        Ok(Membership { servers: next, version: self.version })
    }

    /// A non-incremental reconfig: `new_members`, `server.N=SPEC` lines (or comma-separated),
    /// is the whole membership.
    pub fn replaced(new_members: &str) -> Result<Membership, Refused> {
        let mut servers = BTreeMap::new();
        for line in new_members.split([',', '\n']).map(str::trim).filter(|l| !l.is_empty()) {
            // As a Java properties line: the key ends at the first `=`, `:` or blank.
            let end = line.find(['=', ':', ' ', '\t']).unwrap_or(line.len());
            let (key, value) = (&line[..end], line[end..].trim_start_matches(['=', ':', ' ', '\t']));
            if key == "version" {
                continue;
            }
            let Some(id) = key.strip_prefix("server.") else {
                return Err(refused(Code::BadArguments, format!("unrecognised parameter {key:?}")));
            };
            let server = Server::parse(value).map_err(|reason| refused(Code::BadArguments, reason))?;
            servers.insert(server_id(id)?, server);
        }
        Ok(Membership { servers, version: 0 })
    }
}

/// The comma-separated items of a request field, trimmed, empty ones left out.
fn items(field: Option<&str>) -> impl Iterator<Item = &str> {
    field.unwrap_or_default().split(',').map(str::trim).filter(|item| !item.is_empty())
}

/// A server id; ZooKeeper's leader fails a request with another with a `MarshallingError`
/// (its number parsing throws past the checks that give `BadArguments`).
fn server_id(text: &str) -> Result<i64, Refused> {
    text.trim().parse().map_err(|_| refused(Code::MarshallingError, format!("{text:?} is not a server id")))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Membership {
        Membership::replaced(
            "server.1=127.0.0.1:11:12\nserver.2=127.0.0.1:21:22:participant\nserver.3=127.0.0.1:31:32",
        )
        .unwrap()
    }

    #[test]
    fn lines_come_by_id_with_the_version_in_hex() {
        let mut m = three().incremental(Some("server.10=0.0.0.0:1:2:observer;3"), Some("2")).unwrap();
        m.version = 0x1_0000_0007;
        assert_eq!(
            m.text(),
            "server.1=127.0.0.1:11:12:participant\nserver.3=127.0.0.1:31:32:participant\n\
             server.10=0.0.0.0:1:2:observer;0.0.0.0:3\nversion=100000007"
        );
        assert_eq!(m.participants().collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn bad_joiners_are_refused_with_zookeepers_codes() {
        let code = |joining: &str| three().incremental(Some(joining), None).unwrap_err().code;
        assert_eq!(code("some thing"), Code::BadArguments);
        assert_eq!(code("server.4=127.0.0.1:41:42"), Code::BadArguments, "no client address");
        assert_eq!(code("server.4=127.0.0.1:41:42:voter;43"), Code::BadArguments);
        assert_eq!(code("server.4=127.0.0.1:11:42;43"), Code::BadArguments, "server 1's port");
        assert_eq!(code("server.x=127.0.0.1:41:42;43"), Code::MarshallingError);
        assert_eq!(three().incremental(None, Some("x")).unwrap_err().code, Code::MarshallingError);
        assert_eq!(Membership::replaced("tickTime=2").unwrap_err().code, Code::BadArguments);
        // Its own id may keep its ports.
        assert!(three().incremental(Some("server.1=127.0.0.1:11:12;13"), None).is_ok());
    }
}
