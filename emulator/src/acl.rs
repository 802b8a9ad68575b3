//! ACLs as the server checks them: identities, the `digest` and `ip` schemes, the expansion
//! of `auth` entries, permission checks, and the redaction of digests in `get_acl` replies.

use base64::Engine as _;
use sha1::{Digest as _, Sha1};
use zczk_core::store::{Acl, Perms};

/// An identity a session holds (`digest:user:hash`, `ip:127.0.0.1`, `super:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The scheme: `digest`, `ip` or `super`.
    pub scheme: String,
    /// The id within the scheme.
    pub id: String,
}

impl Identity {
    /// An identity.
    pub fn new(scheme: impl Into<String>, id: impl Into<String>) -> Identity {
        Identity { scheme: scheme.into(), id: id.into() }
    }
}

/// The `digest` scheme's id for `user:password`: `user:base64(sha1("user:password"))`.
///
/// This is what `add_auth("digest", b"user:password")` grants, and what an ACL entry must
/// hold to match it.
pub fn digest_id(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let hash = Sha1::digest(user_password.as_bytes());
    format!("{user}:{}", base64::engine::general_purpose::STANDARD.encode(hash))
}

/// The ACL entry granting `perms` to `user` with `password` (scheme `digest`).
pub fn digest_acl(perms: Perms, user: &str, password: &str) -> Acl {
    Acl::new(perms, "digest", digest_id(&format!("{user}:{password}")))
}

/// Java's `String.split(sep)`: trailing empty pieces are dropped, and an empty input is one
/// empty piece. The server's id validation counts pieces this way.
fn java_split_count(s: &str, sep: char) -> usize {
    if s.is_empty() {
        return 1;
    }
    let pieces: Vec<&str> = s.split(sep).collect();
    pieces.iter().rposition(|p| !p.is_empty()).map_or(0, |last| last + 1)
}

/// An IPv4 address as the server's `ip` provider parses it (IPv6 is not supported there).
fn parse_v4(addr: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = addr.split('.');
    for slot in out.iter_mut() {
        let v: i32 = parts.next()?.parse().ok()?;
        *slot = u8::try_from(v).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// Parses `a.b.c.d` or `a.b.c.d/bits`.
fn parse_ip_expr(expr: &str) -> Option<([u8; 4], u32)> {
    let (addr, bits) = match expr.split_once('/') {
        Some((addr, bits)) => (addr, Some(bits)),
        None => (expr, None),
    };
    let addr = parse_v4(addr)?;
    let bits = match bits {
        None => 32,
        Some(b) => {
            let b: i32 = b.parse().ok()?;
            u32::try_from(b).ok().filter(|b| *b <= 32)?
        }
    };
    Some((addr, bits))
}

fn ip_matches(client: &str, expr: &str) -> bool {
    let (Some((acl_addr, bits)), Some(client)) = (parse_ip_expr(expr), parse_v4(client)) else {
        return false;
    };
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    u32::from_be_bytes(acl_addr) & mask == u32::from_be_bytes(client) & mask
}

/// True when the server's provider for `scheme` accepts `id` in an ACL.
fn is_valid_id(scheme: &str, id: &str) -> bool {
    match scheme {
        "digest" => java_split_count(id, ':') == 2,
        "ip" => parse_ip_expr(id).is_some(),
        _ => false,
    }
}

/// Checks and expands an ACL given to create or set_acl, as the server's `fixupACL` does:
/// duplicates are dropped; an empty list is invalid; `world` only as `world:anyone`; each
/// `auth` entry becomes one entry per authenticated identity of the session (`digest` ones:
/// `ip` identities do not count), and is invalid when there is none; `digest` ids must be
/// `user:hash`; `ip` ids an IPv4 address or CIDR block; any other scheme is invalid.
/// Returns `None` when the ACL is invalid.
pub fn fixup(acl: &[Acl], auth: &[Identity]) -> Option<Vec<Acl>> {
    let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
    for entry in acl {
        if !unique.contains(&entry) {
            unique.push(entry);
        }
    }
    if unique.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(unique.len());
    for entry in unique {
        if entry.scheme == "world" && entry.id == "anyone" {
            out.push(entry.clone());
        } else if entry.scheme == "auth" {
            let mut any = false;
            for identity in auth.iter().filter(|i| i.scheme == "digest") {
                any = true;
                out.push(Acl::new(entry.perms, identity.scheme.clone(), identity.id.clone()));
            }
            if !any {
                return None;
            }
        } else if is_valid_id(&entry.scheme, &entry.id) {
            out.push(entry.clone());
        } else {
            return None;
        }
    }
    Some(out)
}

/// True when `acl` grants any bit of `perm` to a session holding `auth`, as the server's
/// `checkACL`: an empty ACL allows everything, a `super` identity passes every check,
/// `world:anyone` matches everyone, `digest` ids match exactly, `ip` ids by address or block.
pub fn allows(acl: &[Acl], perm: Perms, auth: &[Identity]) -> bool {
    if acl.is_empty() || auth.iter().any(|i| i.scheme == "super") {
        return true;
    }
    acl.iter().filter(|entry| entry.perms.0 & perm.0 != 0).any(|entry| match entry.scheme.as_str() {
        "world" => entry.id == "anyone",
        "digest" => auth.iter().any(|i| i.scheme == "digest" && i.id == entry.id),
        "ip" => auth.iter().any(|i| i.scheme == "ip" && ip_matches(&i.id, &entry.id)),
        _ => false,
    })
}

/// The ACL as `get_acl` shows it to a session without ADMIN: the hash of each `digest` id is
/// replaced by `x` (`user:x`).
pub fn redacted(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|entry| {
            if entry.scheme == "digest" {
                let user = entry.id.split(':').next().unwrap_or("");
                Acl::new(entry.perms, "digest", format!("{user}:x"))
            } else {
                entry.clone()
            }
        })
        .collect()
}

/// True for the one ACL almost every node has, so checks can skip the general path.
pub fn is_open(acl: &[Acl]) -> bool {
    matches!(acl, [only] if only.perms == Perms::ALL && only.scheme == "world" && only.id == "anyone")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_the_server() {
        // Checked against ZooKeeper 3.8: `u:p` gives this id.
        assert_eq!(digest_id("u:p"), "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=");
        assert_eq!(digest_acl(Perms::READ, "u", "p").id, "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=");
    }

    #[test]
    fn digest_ids_are_validated_like_java_split() {
        assert!(is_valid_id("digest", "u:abc"));
        assert!(is_valid_id("digest", ":abc"));
        assert!(is_valid_id("digest", "u:abc::"));
        assert!(!is_valid_id("digest", "u:"));
        assert!(!is_valid_id("digest", "u"));
        assert!(!is_valid_id("digest", "a:b:c"));
        assert!(!is_valid_id("digest", ""));
    }

    #[test]
    fn ip_ids_and_matching() {
        assert!(is_valid_id("ip", "127.0.0.1"));
        assert!(is_valid_id("ip", "10.0.0.0/8"));
        assert!(!is_valid_id("ip", "127.0.0.1/33"));
        assert!(!is_valid_id("ip", "::1"));
        assert!(!is_valid_id("ip", "256.0.0.1"));
        assert!(ip_matches("127.0.0.1", "127.0.0.0/8"));
        assert!(ip_matches("10.1.2.3", "0.0.0.0/0"));
        assert!(!ip_matches("10.1.2.3", "10.1.2.4"));
        assert!(ip_matches("10.1.2.3", "10.1.2.3"));
    }

    #[test]
    fn fixup_expands_auth_and_rejects_bad_entries() {
        let digest = Identity::new("digest", "u:h");
        let ip = Identity::new("ip", "127.0.0.1");
        assert_eq!(fixup(&[], &[]), None);
        assert_eq!(fixup(&Acl::creator_all(), std::slice::from_ref(&ip)), None);
        assert_eq!(
            fixup(&Acl::creator_all(), &[ip.clone(), digest.clone()]),
            Some(vec![Acl::new(Perms::ALL, "digest", "u:h")])
        );
        assert_eq!(fixup(&[Acl::new(Perms::ALL, "world", "foo")], &[]), None);
        assert_eq!(fixup(&[Acl::new(Perms::ALL, "x509", "CN=a")], &[]), None);
        let twice = [Acl::open(), Acl::open()].concat();
        assert_eq!(fixup(&twice, &[]), Some(Acl::open()));
    }

    #[test]
    fn checks_follow_the_server() {
        let ip = Identity::new("ip", "127.0.0.1");
        let acl = vec![Acl::new(Perms::READ, "world", "anyone"), Acl::new(Perms::ALL, "digest", "u:h")];
        assert!(allows(&acl, Perms::READ, std::slice::from_ref(&ip)));
        assert!(!allows(&acl, Perms::WRITE, std::slice::from_ref(&ip)));
        assert!(allows(&acl, Perms::WRITE, &[ip.clone(), Identity::new("digest", "u:h")]));
        assert!(allows(&acl, Perms::WRITE, &[Identity::new("super", "")]));
        assert!(allows(&[Acl::new(Perms::ALL, "ip", "127.0.0.0/8")], Perms::DELETE, &[ip]));
        // getACL asks for READ or ADMIN: any one bit is enough.
        assert!(allows(&[Acl::new(Perms::ADMIN, "world", "anyone")], Perms::READ | Perms::ADMIN, &[]));
    }

    #[test]
    fn redaction_hides_digest_hashes() {
        let acl = vec![Acl::new(Perms::READ, "digest", "u:abc"), Acl::new(Perms::READ, "world", "anyone")];
        assert_eq!(redacted(&acl)[0].id, "u:x");
        assert_eq!(redacted(&acl)[1].id, "anyone");
    }
}
