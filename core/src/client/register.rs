//! Service registration: ephemeral nodes named `host:port` (or any other name) under a
//! service path.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::{Map, Value};

use super::{restore, ClientError, Registration, Result, ZooKeeper};
use crate::address::{check_port, split_host_port};
use crate::path;
use crate::props;
use crate::store::{Acl, CreateMode, CreateOptions, Store};

/// A server address to register: `"host:port"`, `":port"` (every address of this machine),
/// `"[v6]:port"`, or a `(host, port)` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The host; empty for "every address of this machine".
    pub host: String,
    /// The port.
    pub port: u16,
}

impl Address {
    /// Parses `host:port`, `[ipv6]:port` or `:port` (see [`split_host_port`]).
    pub fn parse(addr: &str) -> Result<Address> {
        let (host, port) = split_host_port(addr)
            .map_err(|reason| ClientError::BadAddress { addr: addr.to_string(), reason })?;
        Ok(Address { host: host.to_string(), port })
    }

    /// The node name for this address: `host:port`, IPv6 hosts in brackets.
    pub fn node_name(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The node names to register: the address itself, or for a blank host every non-loopback
    /// IPv4 address of this machine (the loopback ones if there are no others, the host name
    /// if there are none at all).
    pub fn expand(&self) -> Vec<String> {
        if !self.host.is_empty() {
            return vec![self.node_name()];
        }
        let ips: Vec<Ipv4Addr> = if_addrs::get_if_addrs()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|i| match i.ip() {
                IpAddr::V4(ip) => Some(ip),
                IpAddr::V6(_) => None,
            })
            .collect();
        let mut chosen: Vec<String> =
            ips.iter().filter(|ip| !ip.is_loopback()).map(|ip| format!("{ip}:{}", self.port)).collect();
        if chosen.is_empty() {
            chosen = ips.iter().map(|ip| format!("{ip}:{}", self.port)).collect();
        }
        if chosen.is_empty() {
            chosen.push(format!("{}:{}", gethostname::gethostname().to_string_lossy(), self.port));
        }
        chosen.sort();
        chosen.dedup();
        chosen
    }
}

/// What `register` makes a node for: a server address, whose node is named `host:port` (one per
/// machine address for a blank host), or any other node name, registered as it is (zc.zk
/// registers any name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registrant {
    /// A server address.
    Address(Address),
    /// A node name that is not an address, such as `worker-1`.
    Name(String),
}

impl Registrant {
    /// Reads what `register` was given. A string that starts with `[` or ends in `:` and digits
    /// (`host:port`, `[v6]:port`, `:port`) is an address and must be a well-formed one, so a
    /// mistyped address is an error rather than a strange name; anything else is a name.
    pub fn parse(given: &str) -> Result<Registrant> {
        let port_like = |port: &str| port.bytes().all(|b| b.is_ascii_digit());
        let address = given.starts_with('[') || given.rsplit_once(':').is_some_and(|(_, p)| port_like(p));
        if address {
            Address::parse(given).map(Registrant::Address)
        } else {
            Ok(Registrant::Name(given.to_string()))
        }
    }

    /// The node names to register (see [`Address::expand`]).
    pub fn node_names(&self) -> Vec<String> {
        match self {
            Registrant::Address(addr) => addr.expand(),
            Registrant::Name(name) => vec![name.clone()],
        }
    }

    /// As subscribers see it: `host:port` (`:port` for a blank host), or the name.
    fn label(&self) -> String {
        match self {
            Registrant::Address(addr) => addr.node_name(),
            Registrant::Name(name) => name.clone(),
        }
    }
}

impl From<Address> for Registrant {
    fn from(addr: Address) -> Registrant {
        Registrant::Address(addr)
    }
}

impl<H: Into<String>> From<(H, u16)> for Registrant {
    fn from(pair: (H, u16)) -> Registrant {
        Registrant::Address(pair.into())
    }
}

impl std::str::FromStr for Registrant {
    type Err = ClientError;
    fn from_str(s: &str) -> Result<Registrant> {
        Registrant::parse(s)
    }
}

impl std::str::FromStr for Address {
    type Err = ClientError;
    fn from_str(s: &str) -> Result<Address> {
        Address::parse(s)
    }
}

impl<H: Into<String>> From<(H, u16)> for Address {
    fn from((host, port): (H, u16)) -> Address {
        Address { host: host.into(), port }
    }
}

/// The event subscribers get before a server is registered; they may add properties.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteringServer {
    /// The address as given (`":8080"` for a blank host), or the name.
    pub addr: String,
    /// The resolved service path.
    pub path: String,
    /// The properties the ephemeral nodes will get.
    pub properties: Map<String, Value>,
}

/// Options of [`ZooKeeper::register_with`].
#[derive(Debug, Clone)]
pub struct RegisterOptions {
    /// The ACL of the ephemeral nodes (default: world-readable, as zc.zk).
    pub acl: Vec<Acl>,
    /// Their properties (`pid` is added unless given).
    pub properties: Map<String, Value>,
}

impl Default for RegisterOptions {
    fn default() -> Self {
        RegisterOptions { acl: Acl::read_only(), properties: Map::new() }
    }
}

impl<S: Store + 'static> ZooKeeper<S> {
    /// Registers a server: creates the ephemeral node `path/host:port` (for a blank host, one
    /// per address of this machine), or `path/NAME` for any other node name (see
    /// [`Registrant::parse`]), with `properties` plus `pid`, world-readable. Returns the paths
    /// created. A duplicate registration fails with `NodeExists`.
    pub async fn register(
        &self,
        path: &str,
        addr: &str,
        properties: Map<String, Value>,
    ) -> Result<Vec<String>> {
        self.register_with(
            path,
            Registrant::parse(addr)?,
            RegisterOptions { properties, ..Default::default() },
        )
        .await
    }

    /// [`ZooKeeper::register`] with an [`Address`] or [`Registrant`] value and options.
    pub async fn register_with(
        &self,
        path: &str,
        addr: impl Into<Registrant>,
        options: RegisterOptions,
    ) -> Result<Vec<String>> {
        let addr = addr.into();
        if let Registrant::Address(address) = &addr {
            check_port(address.port)
                .map_err(|reason| ClientError::BadAddress { addr: address.node_name(), reason })?;
        }
        let names = addr.node_names();
        for name in &names {
            if let Some((_, reason)) = path::name_problem(name) {
                return Err(ClientError::BadName { name: name.clone(), reason });
            }
        }
        let service = self.resolve(path).await?;
        let mut properties = options.properties;
        properties.entry("pid").or_insert_with(|| Value::from(std::process::id()));
        let mut event = RegisteringServer { addr: addr.label(), path: service.clone(), properties };
        for subscriber in self.shared.subscribers.lock().iter() {
            subscriber(&mut event);
        }
        let data = props::encode(&event.properties).map_err(ClientError::bad_properties(&service))?;
        let create = CreateOptions::new(CreateMode::Ephemeral).with_acl(options.acl.clone());
        let store = self.ready_store().await?;
        let paths: Vec<String> = names.iter().map(|n| path::child(&service, n)).collect();
        let results =
            futures::future::join_all(paths.iter().map(|p| store.create(p, Some(&data), &create))).await;
        let mut created = Vec::new();
        let mut first_error = None;
        for (p, result) in paths.iter().zip(results) {
            match result {
                Ok(_) => {
                    let registration =
                        Registration::new(data.clone(), options.acl.clone(), store.session_id());
                    self.shared.registrations.lock().insert(p.clone(), registration);
                    created.push(p.clone());
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // Nodes made on a session that expired and was replaced before they were recorded here
        // were missed by the restore of the others: make them on the new session.
        restore::catch_up(&self.shared, &created).await;
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(created),
        }
    }

    /// Removes a registration made with [`ZooKeeper::register`]: deletes the ephemeral node(s)
    /// of `addr` (an address or a name, as given to `register`) under `path` and forgets them,
    /// so they are not restored after an expiry.
    pub async fn unregister(&self, path: &str, addr: &str) -> Result<()> {
        let service = self.resolve(path).await?;
        for name in Registrant::parse(addr)?.node_names() {
            let p = path::child(&service, &name);
            self.shared.registrations.lock().remove(&p);
            match self.ready_store().await?.delete(&p, None).await {
                Err(e) if e.is(crate::store::Code::NoNode) => {}
                other => other?,
            }
        }
        Ok(())
    }

    /// Calls `subscriber` with every [`RegisteringServer`] event, before the nodes are created.
    pub fn on_registering(&self, subscriber: impl Fn(&mut RegisteringServer) + Send + Sync + 'static) {
        self.shared.subscribers.lock().push(Box::new(subscriber));
    }

    /// The paths of the registrations this client will restore after a session expiry (those
    /// still waiting to be restored included).
    pub fn registrations(&self) -> Vec<String> {
        self.shared.registrations.lock().keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse() {
        assert_eq!(Address::parse("h:80").unwrap(), Address { host: "h".into(), port: 80 });
        assert_eq!(Address::parse(":8080").unwrap(), Address { host: "".into(), port: 8080 });
        assert_eq!(Address::parse("[::1]:80").unwrap().node_name(), "[::1]:80");
        assert_eq!(Address::from(("10.0.0.1", 9)).node_name(), "10.0.0.1:9");
    }

    #[test]
    fn a_port_is_1_to_65535_as_a_client_can_connect_to_it() {
        assert_eq!(Address::parse("h:1").unwrap().port, 1);
        assert_eq!(Address::parse("h:65535").unwrap().port, 65535);
        for unreachable in ["h:0", ":0", "[::1]:0", "h:65536"] {
            assert!(Address::parse(unreachable).is_err(), "{unreachable:?}");
        }
    }

    #[test]
    fn bad_addresses_are_refused() {
        for bad in ["h", "h:", "h:x", "h:70000", "::1:80", "[::1]80", "[zz]:80", "a/b:1", ""] {
            assert!(Address::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_that_are_not_addresses_are_registered_as_they_are() {
        for name in ["worker-1", "h", "h:x", "a b", "a/b", ".."] {
            assert_eq!(Registrant::parse(name).unwrap(), Registrant::Name(name.into()), "{name:?}");
        }
        assert_eq!(Registrant::parse("h:80").unwrap(), Registrant::Address(("h", 80).into()));
        for bad_address in ["h:", "h:70000", "::1:80", "[::1]80", "[zz]:80", "a/b:1", "a b:1"] {
            assert!(Registrant::parse(bad_address).is_err(), "{bad_address:?}");
        }
    }

    #[test]
    fn blank_host_expands_to_machine_addresses() {
        let names = Address::parse(":8080").unwrap().expand();
        assert!(!names.is_empty());
        assert!(names.iter().all(|n| n.ends_with(":8080") && !n.starts_with(':')));
    }
}
