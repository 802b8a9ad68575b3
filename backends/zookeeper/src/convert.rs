//! Value mapping between `zookeeper-client` and the `Store` door: errors, Stat, ACLs, create
//! modes, session states and watch events. Pure functions, no I/O.

use zczk_core::store::{
    Acl, Code, CreateMode, EventKind, OpKind, Perms, SessionState, Stat, StoreError, WatchEvent,
};
use zookeeper_client as zk;

/// ZooKeeper's `SystemError` (-1): what the server itself reports for failures that have no
/// better code. Used for the client's own surprises (a reply it could not decode, ...).
const SYSTEM_ERROR: i32 = -1;

/// The `Store` error for a failed request: the code, plus the operation and the path the caller
/// gave (not the chrooted server path).
pub(crate) fn error(e: zk::Error, op: OpKind, path: &str) -> StoreError {
    let (code, detail) = code(&e);
    let error = StoreError::new(code, op, path);
    match detail {
        Some(detail) => error.with_detail(detail),
        None => error,
    }
}

/// The code of a client error, with words for the reader when the code alone says too little.
fn code(e: &zk::Error) -> (Code, Option<String>) {
    use zk::Error as E;
    let code = match e {
        E::NoNode => Code::NoNode,
        E::NoAuth => Code::NoAuth,
        E::BadVersion => Code::BadVersion,
        E::NoChildrenForEphemerals => Code::NoChildrenForEphemerals,
        E::NodeExists => Code::NodeExists,
        E::NotEmpty => Code::NotEmpty,
        E::SessionExpired => Code::SessionExpired,
        E::InvalidAcl => Code::InvalidAcl,
        E::AuthFailed => Code::AuthFailed,
        E::SessionMoved => Code::SessionMoved,
        E::NotReadOnly => Code::NotReadOnly,
        E::NoWatcher => Code::NoWatcher,
        E::QuotaExceeded => Code::QuotaExceeded,
        E::Throttled => Code::Throttled,
        E::MarshallingError => Code::MarshallingError,
        E::Unimplemented => Code::Unimplemented,
        E::ConnectionLoss => Code::ConnectionLoss,
        E::ReconfigDisabled => Code::ReconfigDisabled,
        E::RuntimeInconsistent => Code::RuntimeInconsistency,
        E::ClientClosed => Code::SessionClosed,
        E::UnexpectedErrorCode(n) => Code::from_i32(*n),
        // The client's reason for refusing an argument (bad path, bad TTL) is worth showing.
        E::BadArguments(reason) => return (Code::BadArguments, Some((**reason).to_string())),
        E::NoHosts => return (Code::ConnectionLoss, Some("no server could be reached".to_string())),
        E::Timeout => return (Code::OperationTimeout, Some(e.to_string())),
        // The connection failed under the request (reset by the server or the network): the
        // request may or may not have been applied, which is what ConnectionLoss says.
        E::Custom(_) if is_io_failure(e) => return (Code::ConnectionLoss, Some(e.to_string())),
        // Decoding failures and other surprises of the client itself.
        other => return (Code::Other(SYSTEM_ERROR), Some(other.to_string())),
    };
    (code, None)
}

/// True when an I/O error is behind `e` (the client wraps the connection's errors, in an
/// `Arc`).
pub(crate) fn is_io_failure(e: &zk::Error) -> bool {
    type Shared = std::sync::Arc<dyn std::error::Error + Send + Sync>;
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let inner = cause.downcast_ref::<Shared>().map_or(cause, |shared| &**shared as _);
        if inner.is::<std::io::Error>() {
            return true;
        }
        source = inner.source();
    }
    false
}

/// Our Stat, field for field.
pub(crate) fn stat(s: &zk::Stat) -> Stat {
    Stat {
        czxid: s.czxid,
        mzxid: s.mzxid,
        ctime: s.ctime,
        mtime: s.mtime,
        version: s.version,
        cversion: s.cversion,
        aversion: s.aversion,
        ephemeral_owner: s.ephemeral_owner,
        data_length: s.data_length,
        num_children: s.num_children,
        pzxid: s.pzxid,
    }
}

/// The permission bits one by one: the client's `Permission` has no public raw constructor.
const PERMISSION_BITS: [(Perms, zk::Permission); 5] = [
    (Perms::READ, zk::Permission::READ),
    (Perms::WRITE, zk::Permission::WRITE),
    (Perms::CREATE, zk::Permission::CREATE),
    (Perms::DELETE, zk::Permission::DELETE),
    (Perms::ADMIN, zk::Permission::ADMIN),
];

/// The client's ACL entry for ours. Bits outside `rwcda` have no meaning to ZooKeeper and cannot
/// be expressed through the client, so they are dropped.
pub(crate) fn acl_to_zk(acl: &Acl) -> zk::Acl {
    let permission = PERMISSION_BITS
        .iter()
        .filter(|(ours, _)| acl.perms.contains(*ours))
        .fold(zk::Permission::NONE, |all, (_, theirs)| all | *theirs);
    zk::Acl::new(permission, zk::AuthId::new(&acl.scheme, &acl.id))
}

/// Our ACL entry for the client's.
pub(crate) fn acl_from_zk(acl: &zk::Acl) -> Acl {
    let perms = PERMISSION_BITS
        .iter()
        .filter(|(_, theirs)| acl.permission().has(*theirs))
        .fold(Perms(0), |all, (ours, _)| all | *ours);
    Acl::new(perms, acl.scheme(), acl.id())
}

/// The client's create mode for ours.
pub(crate) fn create_mode(mode: CreateMode) -> zk::CreateMode {
    match mode {
        CreateMode::Persistent => zk::CreateMode::Persistent,
        CreateMode::PersistentSequential => zk::CreateMode::PersistentSequential,
        CreateMode::Ephemeral => zk::CreateMode::Ephemeral,
        CreateMode::EphemeralSequential => zk::CreateMode::EphemeralSequential,
        CreateMode::Container => zk::CreateMode::Container,
    }
}

/// Our session state for the client's. A read-only connection still serves (reads), so it
/// counts as connected.
pub(crate) fn session_state(state: zk::SessionState) -> SessionState {
    match state {
        zk::SessionState::SyncConnected | zk::SessionState::ConnectedReadOnly => SessionState::Connected,
        zk::SessionState::Disconnected => SessionState::Disconnected,
        zk::SessionState::Expired => SessionState::Expired,
        zk::SessionState::Closed => SessionState::Closed,
        zk::SessionState::AuthFailed => SessionState::AuthFailed,
    }
}

/// What a node event says, or `None` for a session event (which has no node).
pub(crate) fn node_event(event: &zk::WatchedEvent) -> Option<EventKind> {
    match event.event_type {
        zk::EventType::NodeCreated => Some(EventKind::NodeCreated),
        zk::EventType::NodeDeleted => Some(EventKind::NodeDeleted),
        zk::EventType::NodeDataChanged => Some(EventKind::NodeDataChanged),
        zk::EventType::NodeChildrenChanged => Some(EventKind::NodeChildrenChanged),
        zk::EventType::Session => None,
    }
}

/// Our event for the client's. A session event carries no path, so it is reported on the
/// watched path.
pub(crate) fn event(event: zk::WatchedEvent, watched: &str) -> WatchEvent {
    match node_event(&event) {
        Some(kind) => WatchEvent { kind, path: event.path },
        None => WatchEvent {
            kind: EventKind::SessionEnded(session_state(event.session_state)),
            path: watched.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_round_trips_every_permission_combination() {
        for bits in 0..32 {
            let ours = Acl::new(Perms(bits), "digest", "u:h");
            assert_eq!(acl_from_zk(&acl_to_zk(&ours)), ours, "perms {bits}");
        }
    }

    #[test]
    fn acl_drops_bits_zookeeper_does_not_know() {
        let ours = Acl::new(Perms(64 | 1), "world", "anyone");
        assert_eq!(acl_from_zk(&acl_to_zk(&ours)).perms, Perms::READ);
    }

    #[test]
    fn errors_keep_the_callers_path_and_operation() {
        let e = error(zk::Error::NoNode, OpKind::GetData, "/a/b");
        assert_eq!(e, StoreError::new(Code::NoNode, OpKind::GetData, "/a/b"));
    }

    #[test]
    fn unknown_server_codes_keep_their_number() {
        assert_eq!(code(&zk::Error::UnexpectedErrorCode(-124)).0, Code::Other(-124));
        assert_eq!(code(&zk::Error::UnexpectedErrorCode(-8)).0, Code::BadArguments);
    }

    #[test]
    fn bad_arguments_carry_the_clients_reason() {
        let e = error(zk::Error::BadArguments(&"path must start with '/'"), OpKind::Create, "a");
        assert_eq!(e.code, Code::BadArguments);
        assert_eq!(e.detail.as_deref(), Some("path must start with '/'"));
    }

    #[test]
    fn closed_client_is_a_closed_session() {
        assert_eq!(code(&zk::Error::ClientClosed).0, Code::SessionClosed);
    }

    #[test]
    fn session_events_are_reported_on_the_watched_path() {
        let e = event(zk::WatchedEvent::new_session(zk::SessionState::Expired), "/w");
        assert_eq!(e, WatchEvent { kind: EventKind::SessionEnded(SessionState::Expired), path: "/w".into() });
    }

    #[test]
    fn node_events_keep_their_path() {
        let e = event(zk::WatchedEvent::new(zk::EventType::NodeDeleted, "/w/x"), "/w");
        assert_eq!(e, WatchEvent { kind: EventKind::NodeDeleted, path: "/w/x".into() });
    }
}
