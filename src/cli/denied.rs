//! A request refused for lack of permission, told as the node, the permission it lacked, the
//! node's ACL and the session's identities, instead of ZooKeeper's bare "not authorized".

use std::fmt;

use zczk_core::client::ClientError;
use zczk_core::delete::DeleteError;
use zczk_core::export::ExportError;
use zczk_core::import::ImportError;
use zczk_core::store::{Acl, Code, MultiError, OpKind, Store, StoreError};

use super::CliError;
use crate::connect::{Auth, Client};

/// `/app: not allowed to write (ACL: digest:admin:..:cdrwa; this session: world:anyone)`.
#[derive(Debug, thiserror::Error)]
pub struct Denied {
    /// The node whose ACL refused the request.
    pub node: String,
    /// What the request needed: `read`, `write`, `create children`, ...
    pub permission: &'static str,
    /// The node's ACL, when it could be read.
    pub acl: Option<Vec<Acl>>,
    /// The session's identities (`world:anyone`, `digest:admin`), never their secrets.
    pub identities: Vec<String>,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: not allowed to {} (", self.node, self.permission)?;
        if let Some(acl) = &self.acl {
            let entries: Vec<String> = acl.iter().map(shown).collect();
            write!(f, "ACL: {}; ", entries.join(", "))?;
        }
        write!(f, "this session: {})", self.identities.join(", "))
    }
}

/// An ACL entry as shown: a digest's password hash is left out.
fn shown(acl: &Acl) -> String {
    match (acl.scheme.as_str(), acl.id.split_once(':')) {
        ("digest", Some((user, _hash))) => format!("digest:{user}:..:{}", acl.perms),
        _ => acl.to_string(),
    }
}

/// `error` told as a [`Denied`] when a request was refused for lack of permission (the
/// node's ACL read with `client`), else `error` as it is.
pub async fn explain(error: CliError, client: &Client, auth: &[Auth]) -> CliError {
    let Some(refused) = refused(&error) else { return error };
    let Some((node, permission)) = needed(refused) else { return error };
    let acl = client.store().get_acl(&node).await.ok().map(|(acl, _)| acl);
    let mut identities = vec!["world:anyone".to_string()];
    identities.extend(auth.iter().map(|a| {
        match (a.scheme.as_str(), a.credentials.split(|b| *b == b':').next()) {
            ("digest" | "sasl", Some(user)) => format!("{}:{}", a.scheme, String::from_utf8_lossy(user)),
            (scheme, _) => scheme.to_string(),
        }
    }));
    CliError::Denied(Denied { node, permission, acl, identities })
}

/// The first request of `error` refused for lack of permission.
fn refused(error: &CliError) -> Option<&StoreError> {
    let no_auth = |e: &&StoreError| e.code == Code::NoAuth;
    match error {
        CliError::Client(ClientError::Store(e)) => Some(e),
        CliError::Import(ImportError::Read(e)) => Some(e),
        CliError::Import(ImportError::Write { failures, .. }) => failures.iter().find(no_auth),
        CliError::Import(ImportError::Multi(MultiError::Op { error, .. } | MultiError::Request(error))) => {
            Some(error)
        }
        CliError::Delete(DeleteError::Read(e)) => Some(e),
        CliError::Delete(DeleteError::Stopped { failures, .. }) => failures.iter().find(no_auth),
        CliError::Export(ExportError::Read(e)) => Some(e),
        _ => None,
    }
    .filter(no_auth)
}

/// The node whose ACL decides `refused`, and the permission it needed there.
fn needed(refused: &StoreError) -> Option<(String, &'static str)> {
    let path = refused.path.as_str();
    let parent = || match path.rsplit_once('/') {
        Some(("", _)) => "/".to_string(),
        Some((parent, _)) => parent.to_string(),
        None => path.to_string(),
    };
    Some(match refused.op {
        OpKind::Create => (parent(), "create children"),
        OpKind::Delete => (parent(), "delete children"),
        OpKind::SetData => (path.to_string(), "write"),
        OpKind::GetData | OpKind::GetChildren | OpKind::Exists | OpKind::Watch => (path.to_string(), "read"),
        OpKind::SetAcl => (path.to_string(), "change the ACL"),
        // getACL needs READ or ADMIN.
        OpKind::GetAcl => (path.to_string(), "read the ACL"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zczk_core::store::Perms;

    #[test]
    fn the_node_and_permission_a_refused_request_needed() {
        let refused = |op, path| StoreError::new(Code::NoAuth, op, path);
        assert_eq!(needed(&refused(OpKind::Create, "/app/d")), Some(("/app".into(), "create children")));
        assert_eq!(needed(&refused(OpKind::Create, "/app")), Some(("/".into(), "create children")));
        assert_eq!(needed(&refused(OpKind::SetData, "/app")), Some(("/app".into(), "write")));
        assert_eq!(needed(&refused(OpKind::Delete, "/app/c")), Some(("/app".into(), "delete children")));
        assert_eq!(needed(&refused(OpKind::GetAcl, "/app")), Some(("/app".into(), "read the ACL")));
    }

    #[test]
    fn a_digest_hash_is_not_shown() {
        let denied = Denied {
            node: "/app".into(),
            permission: "write",
            acl: Some(vec![
                Acl::new(Perms::ALL, "digest", "admin:HASH="),
                Acl::new(Perms::READ, "world", "anyone"),
            ]),
            identities: vec!["world:anyone".into()],
        };
        assert_eq!(
            denied.to_string(),
            "/app: not allowed to write (ACL: digest:admin:..:rwcda, world:anyone:r; this session: world:anyone)"
        );
    }
}
