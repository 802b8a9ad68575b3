//! Helpers for tests against a real server: force a session to expire, and list the server's
//! watches. Not for production use.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zczk_core::store::{Code, OpKind, Store, StoreError};
use zookeeper_client as zk;

use crate::store::ZkStore;

/// The address of the real server tests run against (`ZCZK_TEST_ZOOKEEPER`, which
/// `.ci/zookeeper-server` sets), or `None` after saying that test `test` is skipped. Panics
/// when `CI` is set and the address is not, so CI can never pass by skipping.
pub fn real_server_address(test: &str) -> Option<String> {
    match std::env::var("ZCZK_TEST_ZOOKEEPER") {
        Ok(address) if !address.trim().is_empty() => Some(address),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{test}: ZCZK_TEST_ZOOKEEPER is not set, and CI needs it")
        }
        _ => {
            eprintln!("{test}: skipped on a real ZooKeeper: ZCZK_TEST_ZOOKEEPER is not set (see .ci/zookeeper-server)");
            None
        }
    }
}

/// How many times [`expire`] joins and closes the session before giving up.
const EXPIRY_ATTEMPTS: usize = 5;
/// How long [`expire`] waits, after the session is closed, for the store to see its end.
const EXPIRY_WAIT: Duration = Duration::from_secs(5);

/// The servers part of a connection string (without the chroot).
fn servers(connection_string: &str) -> &str {
    connection_string.split_once('/').map_or(connection_string, |(servers, _)| servers)
}

/// Makes `store`'s session expire, as the server does when a client stops answering: its
/// ephemerals are deleted, other sessions' watches fire, and `store` sees `Expired`.
///
/// It joins the session from a second connection with the session's id and password and closes
/// it there; the server then ends the session, and `store`'s client, reconnecting, is told the
/// session expired. Returns once `store`'s state is terminal.
pub async fn expire(store: &ZkStore) -> Result<(), StoreError> {
    let address = servers(store.connection_string());
    let mut state = store.session_state();
    for _ in 0..EXPIRY_ATTEMPTS {
        if state.borrow().is_terminal() {
            return Ok(());
        }
        // The server moves the session to the joining connection and drops `store`'s, which
        // reconnects at once and may take the session back before the close arrives. The
        // joining client then reconnects too (no `fail_eagerly`), so the close gets through
        // after a few rounds at worst; a new attempt covers the rest.
        let joining = zk::Client::connector()
            .with_session(store.session_info().clone())
            .with_session_timeout(store.session_timeout())
            .connect(address);
        match tokio::time::timeout(store.session_timeout(), joining).await {
            Ok(Ok(other)) => {
                let mut joined = other.state_watcher();
                // Dropping the only handle sends CloseSession for the session.
                drop(other);
                let closed = async { while !joined.changed().await.is_terminated() {} };
                let _ = tokio::time::timeout(store.session_timeout(), closed).await;
            }
            // Already gone: `store` will be told so when it next reconnects.
            Ok(Err(zk::Error::SessionExpired)) => {}
            Ok(Err(_)) | Err(_) => continue,
        }
        let ended = tokio::time::timeout(EXPIRY_WAIT, state.wait_for(|s| s.is_terminal())).await;
        if ended.is_ok_and(|r| r.is_ok()) {
            return Ok(());
        }
    }
    let now = *state.borrow();
    Err(StoreError::new(Code::ConnectionLoss, OpKind::Close, address).with_detail(format!(
        "could not expire session {:#x} by closing it from another connection; its store says {now:?}",
        store.session_id()
    )))
}

/// One watch the server holds: the (server, not chrooted) path and the session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerWatch {
    /// The watched path, as the server knows it (with the chroot).
    pub path: String,
    /// The session that set the watch.
    pub session_id: i64,
}

/// The watches the server at `server` (`host:port`) holds, by its `wchp` command (needs
/// `4lw.commands.whitelist` to allow it). Persistent watches are listed too.
pub async fn server_watches(server: &str) -> std::io::Result<Vec<ServerWatch>> {
    let text = four_letter_word(servers(server), "wchp").await?;
    let mut watches = Vec::new();
    let mut path = None;
    for line in text.lines() {
        if line.starts_with('/') {
            path = Some(line.trim().to_string());
        } else if let (Some(path), Some(id)) = (&path, line.trim().strip_prefix("0x")) {
            if let Ok(session_id) = u64::from_str_radix(id, 16) {
                // Session ids are printed unsigned; ours are ZooKeeper's signed longs.
                watches.push(ServerWatch { path: path.clone(), session_id: session_id as i64 });
            }
        }
    }
    Ok(watches)
}

/// Sends a four-letter-word command and returns the server's whole answer.
pub async fn four_letter_word(server: &str, word: &str) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(server).await?;
    stream.write_all(word.as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    if answer.contains("is not executed because it is not in the whitelist") {
        return Err(std::io::Error::other(answer.trim().to_string()));
    }
    Ok(answer)
}
