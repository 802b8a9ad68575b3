//! Server addresses, `host:port`: the one rule for the servers of a connection string and for
//! the addresses services register.

use std::net::Ipv6Addr;

/// Splits `host:port` (`[ipv6]:port` with an IPv6 host) into the host, brackets removed, and
/// the port, or says what is wrong. The host may be empty (`:port`); a caller that needs one
/// checks. The port is 1 to 65535: port 0 is no port a client can connect to (a server asks
/// for it to be given one), so an address with it is a mistake.
pub fn split_host_port(addr: &str) -> Result<(&str, u16), &'static str> {
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (host, port) = rest.split_once("]:").ok_or("expected [ipv6]:port")?;
        host.parse::<Ipv6Addr>().map_err(|_| "not an IPv6 address in brackets")?;
        (host, port)
    } else {
        let (host, port) = addr.rsplit_once(':').ok_or("expected host:port")?;
        if host.contains(':') {
            return Err("an IPv6 host must be written in brackets: [::1]:80");
        }
        if host.contains('/') || host.chars().any(char::is_whitespace) {
            return Err("the host cannot contain / or spaces");
        }
        (host, port)
    };
    let port = port.parse::<u16>().map_err(|_| PORT_RANGE)?;
    check_port(port).map(|port| (host, port))
}

const PORT_RANGE: &str = "the port must be a number from 1 to 65535";

/// `port`, unless it is 0, which is no port a client can connect to.
pub fn check_port(port: u16) -> Result<u16, &'static str> {
    if port == 0 {
        return Err(PORT_RANGE);
    }
    Ok(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports_split() {
        assert_eq!(split_host_port("h:80"), Ok(("h", 80)));
        assert_eq!(split_host_port(":8080"), Ok(("", 8080)));
        assert_eq!(split_host_port("[::1]:2181"), Ok(("::1", 2181)));
        assert_eq!(split_host_port("10.0.0.1:1"), Ok(("10.0.0.1", 1)));
        assert_eq!(split_host_port("h:65535"), Ok(("h", 65535)));
    }

    #[test]
    fn what_no_client_could_connect_to_is_refused() {
        for (bad, reason) in [
            ("h:0", "the port must be a number from 1 to 65535"),
            ("h:65536", "the port must be a number from 1 to 65535"),
            ("h:", "the port must be a number from 1 to 65535"),
            ("h:x", "the port must be a number from 1 to 65535"),
            ("h", "expected host:port"),
            ("::1:80", "an IPv6 host must be written in brackets: [::1]:80"),
            ("[::1]80", "expected [ipv6]:port"),
            ("[zz]:80", "not an IPv6 address in brackets"),
            ("a/b:1", "the host cannot contain / or spaces"),
            ("a b:1", "the host cannot contain / or spaces"),
        ] {
            assert_eq!(split_host_port(bad), Err(reason), "{bad:?}");
        }
    }
}
