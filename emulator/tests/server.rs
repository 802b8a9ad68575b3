//! Server-side behaviour under the test's control: container and TTL cleanup with a movable
//! clock, the super user, session timeout bounds, counters.

use std::time::Duration;

use zczk_core::store::{Acl, Code, CreateMode, CreateOptions, EventKind, Perms, Store};
use zczk_emulator::acl::digest_id;
use zczk_emulator::{Config, Emulator, SessionOptions};

#[tokio::test]
async fn cleanup_deletes_emptied_containers_and_expired_ttl_nodes_only() {
    let emulator = Emulator::new();
    let s = emulator.session();
    let container = CreateOptions::new(CreateMode::Container);
    s.create("/never-used", Some(b""), &container).await.unwrap();
    s.create("/emptied", Some(b""), &container).await.unwrap();
    s.create("/emptied/x", Some(b""), &CreateOptions::default()).await.unwrap();
    s.delete("/emptied/x", None).await.unwrap();
    s.create("/busy", Some(b""), &container).await.unwrap();
    s.create("/busy/x", Some(b""), &CreateOptions::default()).await.unwrap();
    let ttl = CreateOptions::default().with_ttl(Duration::from_secs(60));
    s.create("/ttl", Some(b""), &ttl).await.unwrap();
    s.create("/ttl-parent", Some(b""), &ttl).await.unwrap();
    s.create("/ttl-parent/x", Some(b""), &CreateOptions::default()).await.unwrap();
    let (_, gone) = s.exists_watch("/emptied").await.unwrap();
    assert_eq!(emulator.run_cleanup(), ["/emptied"]);
    assert_eq!(gone.await.kind, EventKind::NodeDeleted);
    assert!(s.exists("/never-used").await.unwrap().is_some());
    // The TTL counts from the last change.
    emulator.advance_clock(Duration::from_secs(61));
    assert_eq!(emulator.run_cleanup(), ["/ttl"]);
    assert!(s.exists("/ttl-parent").await.unwrap().is_some());
    s.set_data("/ttl-parent", Some(b"touched"), None).await.unwrap();
    s.delete("/ttl-parent/x", None).await.unwrap();
    assert!(emulator.run_cleanup().is_empty());
    emulator.advance_clock(Duration::from_secs(61));
    assert_eq!(emulator.run_cleanup(), ["/ttl-parent"]);
}

#[tokio::test]
async fn ttl_nodes_can_be_disabled_as_on_a_server_without_extended_types() {
    let emulator = Emulator::with_config(Config { extended_types: false, ..Config::default() });
    let s = emulator.session();
    let ttl = CreateOptions::default().with_ttl(Duration::from_secs(60));
    assert_eq!(s.create("/t", Some(b""), &ttl).await.unwrap_err().code, Code::Unimplemented);
}

#[tokio::test]
async fn the_super_digest_passes_every_acl() {
    let config = Config { super_digest: Some(digest_id("root:secret")), ..Config::default() };
    let emulator = Emulator::with_config(config);
    let owner = emulator.session();
    owner.add_auth("digest", b"u:p").await.unwrap();
    owner
        .create("/locked", Some(b"x"), &CreateOptions::default().with_acl(Acl::creator_all()))
        .await
        .unwrap();
    let admin = emulator.session();
    assert_eq!(admin.get_data("/locked").await.unwrap_err().code, Code::NoAuth);
    admin.add_auth("digest", b"root:secret").await.unwrap();
    assert_eq!(admin.get_data("/locked").await.unwrap().0.as_deref(), Some(&b"x"[..]));
    admin.set_acl("/locked", &[Acl::new(Perms::READ, "world", "anyone")], None).await.unwrap();
}

#[tokio::test]
async fn session_timeouts_are_granted_within_the_servers_bounds() {
    let emulator = Emulator::new();
    let short =
        emulator.session_with(&SessionOptions { timeout: Duration::from_millis(10), ..Default::default() });
    let long =
        emulator.session_with(&SessionOptions { timeout: Duration::from_secs(3600), ..Default::default() });
    assert_eq!(short.timeout(), emulator.config().min_session_timeout);
    assert_eq!(long.timeout(), emulator.config().max_session_timeout);
}

#[tokio::test]
async fn ip_acls_match_the_sessions_client_address() {
    let emulator = Emulator::new();
    let local = emulator.session();
    let acl = vec![Acl::new(Perms::ALL, "ip", "127.0.0.0/8")];
    local.create("/lan", Some(b""), &CreateOptions::default().with_acl(acl)).await.unwrap();
    local.get_data("/lan").await.unwrap();
    let remote = emulator.session_with(&SessionOptions {
        client_address: "10.1.2.3".to_string(),
        ..SessionOptions::default()
    });
    assert_eq!(remote.get_data("/lan").await.unwrap_err().code, Code::NoAuth);
}

#[tokio::test]
async fn counters_report_nodes_sessions_watches_and_zxids() {
    let emulator = Emulator::new();
    assert_eq!((emulator.node_count(), emulator.session_count()), (4, 0));
    let s = emulator.session();
    let before = emulator.last_zxid();
    s.create("/a", Some(b""), &CreateOptions::default()).await.unwrap();
    assert_eq!(emulator.last_zxid(), before + 1);
    // A failed write takes a zxid too, as on the server.
    s.create("/a", Some(b""), &CreateOptions::default()).await.unwrap_err();
    assert_eq!(emulator.last_zxid(), before + 2);
    let (_, _, watch) = s.get_data_watch("/a").await.unwrap();
    assert_eq!((emulator.node_count(), emulator.session_count(), emulator.watch_count()), (5, 1, 1));
    drop(watch);
    // A one-shot watch nobody can hear is forgotten.
    assert_eq!(emulator.watch_count(), 0);
    s.close().await.unwrap();
    drop(s);
    assert_eq!(emulator.session_count(), 0);
}
