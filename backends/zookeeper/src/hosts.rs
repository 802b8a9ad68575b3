//! The servers of a connection string: resolving their names to every address, as ZooKeeper's
//! own client does, and saying why each could not be reached when no session was made.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use zczk_core::address::split_host_port;
use zczk_core::connection::Connection;

/// One `host:port` of a connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Host {
    /// As written in the connection string (`zk1:2181`, `[::1]:2181`).
    pub given: String,
    /// The host without brackets.
    host: String,
    port: u16,
}

/// The hosts and the chroot (`""` or `/app`) of an ensemble's connection string, or why it is
/// not one.
pub(crate) fn parse(connection_string: &str) -> Result<(Vec<Host>, String), String> {
    let (servers, chroot) = match Connection::parse(connection_string) {
        Ok(Connection::Ensemble { servers, chroot }) => (servers, chroot.unwrap_or_default()),
        Ok(_) => return Err("not a host:port list".to_string()),
        Err(e) => return Err(e.reason),
    };
    let hosts = servers
        .into_iter()
        .map(|given| {
            let (host, port) = split_host_port(&given).map_err(|reason| format!("{given}: {reason}"))?;
            Ok(Host { host: host.to_string(), port, given })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((hosts, chroot))
}

/// Every address of every host (a name may have several), each once, in the order found, with
/// the host it is an address of; and, for each host whose name did not resolve, why.
pub(crate) async fn resolve(hosts: &[Host]) -> (Vec<(SocketAddr, String)>, Vec<String>) {
    let mut addresses: Vec<(SocketAddr, String)> = Vec::new();
    let mut failures = Vec::new();
    for host in hosts {
        match tokio::net::lookup_host((host.host.as_str(), host.port)).await {
            Ok(found) => {
                for address in found {
                    if !addresses.iter().any(|(known, _)| *known == address) {
                        addresses.push((address, host.host.clone()));
                    }
                }
            }
            Err(e) => failures.push(format!("{}: can't resolve the name ({e})", host.given)),
        }
    }
    (addresses, failures)
}

/// A connection string of the addresses (IPv6 ones in brackets) followed by `chroot`.
pub(crate) fn connection_string(addresses: &[(SocketAddr, String)], chroot: &str) -> String {
    let list: Vec<String> = addresses.iter().map(|(address, _)| address.to_string()).collect();
    format!("{}{chroot}", list.join(","))
}

/// Why a session could not be made at `address`, found by connecting to it again: refused, no
/// answer, or accepted but closed without a session (a server that is starting, or whose
/// ensemble is electing a leader, says it is "not currently serving requests" and hangs up).
/// `None` for the last: the connection is accepted.
pub(crate) async fn why_no_session(address: SocketAddr) -> Option<String> {
    match tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(address)).await {
        Err(_) => Some(format!("{address}: no answer")),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Some(format!("{address}: connection refused"))
        }
        Ok(Err(e)) => Some(format!("{address}: {e}")),
        Ok(Ok(_)) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_chroot() {
        let (hosts, chroot) = parse("a:1,[::1]:2/app").unwrap();
        assert_eq!(hosts.iter().map(|h| h.given.as_str()).collect::<Vec<_>>(), ["a:1", "[::1]:2"]);
        assert_eq!((hosts[1].host.as_str(), hosts[1].port), ("::1", 2));
        assert_eq!(chroot, "/app");
        assert!(parse("a:x").is_err());
        assert!(parse("mem:").is_err());
    }

    #[tokio::test]
    async fn a_name_resolves_to_every_address_once() {
        let (hosts, _) = parse("localhost:2181,127.0.0.1:2181,[::1]:2182").unwrap();
        let (addresses, failures) = resolve(&hosts).await;
        assert!(failures.is_empty(), "{failures:?}");
        let v4: SocketAddr = "127.0.0.1:2181".parse().unwrap();
        assert_eq!(addresses.iter().filter(|(a, _)| *a == v4).count(), 1, "{addresses:?}");
        assert!(addresses.contains(&("[::1]:2182".parse().unwrap(), "::1".to_string())));
        assert_eq!(connection_string(&addresses[..1], "/x"), format!("{}/x", addresses[0].0));
    }
}
