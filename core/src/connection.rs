//! Connection strings: `host:port[,host:port...][/chroot]` for a real ensemble, `mem:` for a
//! fresh in-process emulator, `file:PATH` for an emulator kept in a file.

use std::fmt;
use std::path::PathBuf;

use crate::address::split_host_port;
use crate::message::short;
use crate::path;

/// The environment variable that names the default connection string.
pub const ENV_VAR: &str = "ZC_ZK_CONNECTION_STRING";
/// The connection string used when none is given and [`ENV_VAR`] is unset.
pub const DEFAULT: &str = "127.0.0.1:2181";

/// Why a connection string is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad connection string {:?}: {reason}", short(.input))]
pub struct ConnectionError {
    /// The string as given.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

/// What a user of a connection will do with the data: only read it, or write it too.
///
/// For `file:PATH` storage this decides how the file is treated: with [`Access::Read`] it is
/// never written (a read works in a read-only directory) and a missing file is an error; with
/// [`Access::ReadWrite`] a missing file is created at the first save. A real ensemble and
/// `mem:` behave the same either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Access {
    /// Only reads: the storage is never written.
    Read,
    /// Reads and writes (creates `file:` storage that does not exist yet).
    #[default]
    ReadWrite,
}

/// A parsed connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// `mem:`: a fresh emulator in this process.
    Memory,
    /// `file:PATH`: an emulator whose persistent nodes are kept in a file.
    File(PathBuf),
    /// A real ensemble.
    Ensemble {
        /// `host:port` of each server (IPv6 hosts in brackets), as given.
        servers: Vec<String>,
        /// The chroot, if any (`/app`).
        chroot: Option<String>,
    },
}

impl Connection {
    /// Parses a connection string.
    pub fn parse(input: &str) -> Result<Connection, ConnectionError> {
        let bad = |reason: &str| ConnectionError { input: input.to_string(), reason: reason.to_string() };
        let s = input.trim();
        if let Some(rest) = s.strip_prefix("mem:") {
            // ZooKeeper's chroot is a suffix of a server list; a fresh, empty emulator has no
            // node to root a client at, so there is nothing it could mean here.
            return match rest {
                "" => Ok(Connection::Memory),
                _ if rest.starts_with('/') => Err(bad("mem: takes no chroot (only a host:port list does)")),
                _ => Err(bad("mem: takes nothing after the colon")),
            };
        }
        if let Some(file) = s.strip_prefix("file:") {
            if file.is_empty() {
                return Err(bad("file: needs a path, as in file:/tmp/zk.json"));
            }
            return Ok(Connection::File(PathBuf::from(file)));
        }
        if s.is_empty() {
            return Err(bad("it is empty; expected host:port[,host:port...][/chroot], mem: or file:PATH"));
        }
        let (hosts, chroot) = match s.find('/') {
            Some(i) => (&s[..i], Some(&s[i..])),
            None => (s, None),
        };
        let chroot = match chroot {
            None | Some("/") => None,
            Some(c) => {
                path::validate(c).map_err(|e| bad(&format!("bad chroot: {}", e.reason)))?;
                Some(c.to_string())
            }
        };
        let mut servers = Vec::new();
        for server in hosts.split(',') {
            let server = server.trim();
            match split_host_port(server) {
                Ok(("", _)) => {
                    return Err(bad(&format!("{:?}: expected host:port (a host is needed)", short(server))))
                }
                Ok(_) => {}
                Err(reason) => return Err(bad(&format!("{:?}: {reason}", short(server)))),
            }
            servers.push(server.to_string());
        }
        Ok(Connection::Ensemble { servers, chroot })
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Connection::Memory => f.write_str("mem:"),
            Connection::File(p) => write!(f, "file:{}", p.display()),
            Connection::Ensemble { servers, chroot } => {
                write!(f, "{}{}", servers.join(","), chroot.as_deref().unwrap_or(""))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        assert_eq!(Connection::parse("mem:").unwrap(), Connection::Memory);
        assert_eq!(Connection::parse("file:/tmp/x").unwrap(), Connection::File("/tmp/x".into()));
        assert_eq!(
            Connection::parse("a:1,[::1]:2/app/x").unwrap(),
            Connection::Ensemble {
                servers: vec!["a:1".into(), "[::1]:2".into()],
                chroot: Some("/app/x".into())
            }
        );
        assert_eq!(
            Connection::parse("h:2181/").unwrap(),
            Connection::Ensemble { servers: vec!["h:2181".into()], chroot: None }
        );
    }

    #[test]
    fn refuses_bad_strings_with_a_reason() {
        for bad in [
            "",
            "file:",
            "host",
            "host:",
            "host:0",
            "host:99999",
            "a:1,",
            "::1:2181",
            "h:1/a/",
            "h:1//a",
            ":2181",
            "mem:x",
        ] {
            let e = Connection::parse(bad).unwrap_err();
            assert!(!e.reason.is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn a_port_is_1_to_65535_and_a_host_is_well_formed() {
        assert!(Connection::parse("h:1,h:65535,[::1]:2181").is_ok());
        for bad in ["h:0", "h:65536", "[zz]:2181", "a b:2181"] {
            let e = Connection::parse(bad).unwrap_err();
            assert!(!e.reason.is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn mem_takes_no_chroot() {
        let e = Connection::parse("mem:/chroot").unwrap_err();
        assert!(e.reason.starts_with("mem: takes no chroot"), "{e}");
    }

    #[test]
    fn display_round_trips() {
        for s in ["mem:", "file:/x", "a:1,b:2/c"] {
            assert_eq!(Connection::parse(s).unwrap().to_string(), s);
        }
    }
}
