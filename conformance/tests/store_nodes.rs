//! Nodes: create modes, sequential names, Stat fields after each op, versions, errors, paths
//! and the data size limit, on the emulator and on a real ZooKeeper.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zczk_conformance::{close, on_every_backend, Backend};
use zczk_core::store::{
    Code, CreateMode, CreateOptions, MultiError, Op, ReadOp, ReadResult, Stat, Store, StoreError,
};

fn mode(mode: CreateMode) -> CreateOptions {
    CreateOptions::new(mode)
}

fn code<T: std::fmt::Debug>(result: Result<T, StoreError>) -> Code {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.code,
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A Stat time is the server's clock, so it is near ours (both run on this machine).
fn assert_recent(time: i64) {
    assert!((now_ms() - time).abs() < 60_000, "time {time} is not near now ({})", now_ms());
}

on_every_backend!(
    create_returns_the_stat_of_a_fresh_node,
    set_data_bumps_version_mzxid_and_mtime,
    children_change_cversion_pzxid_and_num_children,
    sequential_names_count_from_the_parents_cversion,
    ephemeral_nodes_are_owned_by_the_session,
    container_and_ttl_nodes_are_created,
    conditional_writes_check_the_version,
    errors_name_the_code_and_path,
    invalid_paths_are_refused,
    data_over_the_request_limit_is_refused,
    get_children_lists_every_child,
    sync_answers_for_any_valid_path,
    null_data_is_kept_apart_from_empty,
);

/// Null data (`None`) reads back as null in the emulator, as on ZooKeeper (the wire cases in
/// the emulator's `wire_session` check the server's bytes). `zookeeper-client` 0.11 can neither
/// send nor see null, so the backends that go through it refuse null writes and read empty.
async fn null_data_is_kept_apart_from_empty<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/empty", Some(b""), &CreateOptions::default()).await.unwrap();
    assert_eq!(s.get_data("/empty").await.unwrap().0, Some(vec![]));
    let null = s.create("/null", None, &CreateOptions::default()).await;
    let set_null = s.set_data("/empty", None, None).await;
    let multi_null =
        s.multi(&[Op::Create { path: "/multi".into(), data: None, options: CreateOptions::default() }]).await;
    if B::NAME == "emulator" {
        assert_eq!(null.unwrap().stat.data_length, 0);
        assert_eq!(s.get_data("/null").await.unwrap().0, None);
        assert_eq!(set_null.unwrap().data_length, 0);
        assert_eq!(s.get_data("/empty").await.unwrap().0, None);
        multi_null.unwrap();
        let read = s.multi_read(&[ReadOp::GetData("/multi".into())]).await.unwrap();
        assert!(matches!(&read[..], [Ok(ReadResult::Data(None, _))]), "{read:?}");
    } else {
        assert_eq!(null.unwrap_err().code, Code::Unimplemented);
        assert_eq!(set_null.unwrap_err().code, Code::Unimplemented);
        assert!(
            matches!(multi_null, Err(MultiError::Op { index: 0, error }) if error.code == Code::Unimplemented)
        );
        assert_eq!(s.exists("/null").await.unwrap(), None, "nothing was sent");
    }
    close(s).await;
}

async fn create_returns_the_stat_of_a_fresh_node<B: Backend>(b: B) {
    let s = b.session().await;
    let created = s.create("/fresh", Some(b"hello"), &CreateOptions::default()).await.unwrap();
    assert_eq!(created.path, "/fresh");
    let st = created.stat;
    assert_eq!((st.mzxid, st.pzxid), (st.czxid, st.czxid));
    assert!(st.czxid > 0);
    assert_eq!(st.ctime, st.mtime);
    assert_recent(st.ctime);
    assert_eq!((st.version, st.cversion, st.aversion), (0, 0, 0));
    assert_eq!((st.ephemeral_owner, st.data_length, st.num_children), (0, 5, 0));
    let (data, read) = s.get_data("/fresh").await.unwrap();
    assert_eq!((data.as_deref(), read), (Some(&b"hello"[..]), st));
    assert_eq!(s.exists("/fresh").await.unwrap(), Some(st));
    assert_eq!(s.exists("/nothing").await.unwrap(), None);
    close(s).await;
}

async fn set_data_bumps_version_mzxid_and_mtime<B: Backend>(b: B) {
    let s = b.session().await;
    let created = s.create("/d", Some(b""), &CreateOptions::default()).await.unwrap().stat;
    let one = s.set_data("/d", Some(b"one"), None).await.unwrap();
    assert_eq!(one.version, 1);
    assert!(one.mzxid > created.mzxid);
    assert_eq!((one.czxid, one.ctime, one.pzxid), (created.czxid, created.ctime, created.pzxid));
    assert!(one.mtime >= created.mtime);
    assert_eq!((one.data_length, one.cversion, one.aversion), (3, 0, 0));
    // Setting the same bytes is still a change.
    let two = s.set_data("/d", Some(b"one"), Some(1)).await.unwrap();
    assert_eq!(two.version, 2);
    assert!(two.mzxid > one.mzxid);
    // Empty data.
    let three = s.set_data("/d", Some(b""), None).await.unwrap();
    assert_eq!((three.version, three.data_length), (3, 0));
    assert_eq!(s.get_data("/d").await.unwrap(), (Some(Vec::new()), three));
    close(s).await;
}

async fn children_change_cversion_pzxid_and_num_children<B: Backend>(b: B) {
    let s = b.session().await;
    let parent = s.create("/p", Some(b""), &CreateOptions::default()).await.unwrap().stat;
    let a = s.create("/p/a", Some(b""), &CreateOptions::default()).await.unwrap().stat;
    let p1 = s.exists("/p").await.unwrap().unwrap();
    assert_eq!((p1.cversion, p1.num_children, p1.pzxid), (1, 1, a.czxid));
    // A child's creation is no data change of the parent.
    assert_eq!((p1.version, p1.mzxid), (0, parent.mzxid));
    let b_ = s.create("/p/b", Some(b""), &CreateOptions::default()).await.unwrap().stat;
    s.set_data("/p/a", Some(b"x"), None).await.unwrap();
    let p2 = s.exists("/p").await.unwrap().unwrap();
    assert_eq!((p2.cversion, p2.num_children, p2.pzxid), (2, 2, b_.czxid));
    s.delete("/p/a", None).await.unwrap();
    let p3 = s.exists("/p").await.unwrap().unwrap();
    // A delete counts as a child change too, and moves pzxid.
    assert_eq!((p3.cversion, p3.num_children), (3, 1));
    assert!(p3.pzxid > p2.pzxid);
    close(s).await;
}

async fn sequential_names_count_from_the_parents_cversion<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/q", Some(b""), &CreateOptions::default()).await.unwrap();
    let seq = mode(CreateMode::PersistentSequential);
    let first = s.create("/q/job-", Some(b""), &seq).await.unwrap();
    assert_eq!(first.path, "/q/job-0000000000");
    s.create("/q/plain", Some(b""), &CreateOptions::default()).await.unwrap();
    let second = s.create("/q/job-", Some(b""), &seq).await.unwrap();
    assert_eq!(second.path, "/q/job-0000000002");
    s.delete("/q/plain", None).await.unwrap();
    // The number is the parent's count of creates, not its reported cversion.
    let third = s.create("/q/job-", Some(b""), &seq).await.unwrap();
    assert_eq!(third.path, "/q/job-0000000003");
    let q = s.exists("/q").await.unwrap().unwrap();
    assert_eq!((q.cversion, q.num_children), (5, 3));
    // An empty prefix: the name is only the number.
    let bare = s.create("/q/", Some(b""), &seq).await.unwrap();
    assert_eq!(bare.path, "/q/0000000004");
    let eph = s.create("/q/e-", Some(b""), &mode(CreateMode::EphemeralSequential)).await.unwrap();
    assert_eq!(eph.path, "/q/e-0000000005");
    assert_eq!(eph.stat.ephemeral_owner, s.session_id());
    // A sequential name that exists already (made by hand) is NodeExists.
    s.create("/q/x0000000007", Some(b""), &CreateOptions::default()).await.unwrap();
    assert_eq!(code(s.create("/q/x", Some(b""), &seq).await), Code::NodeExists);
    close(s).await;
}

async fn ephemeral_nodes_are_owned_by_the_session<B: Backend>(b: B) {
    let s = b.session().await;
    let other = b.session().await;
    assert_ne!(s.session_id(), other.session_id());
    let e = s.create("/eph", Some(b""), &mode(CreateMode::Ephemeral)).await.unwrap().stat;
    assert_eq!(e.ephemeral_owner, s.session_id());
    let seen = other.exists("/eph").await.unwrap().unwrap();
    assert!(seen.is_ephemeral());
    assert_eq!(seen.ephemeral_owner, s.session_id());
    assert_eq!(
        code(s.create("/eph/child", Some(b""), &CreateOptions::default()).await),
        Code::NoChildrenForEphemerals
    );
    close(s).await;
    assert_eq!(other.exists("/eph").await.unwrap(), None);
    close(other).await;
}

async fn container_and_ttl_nodes_are_created<B: Backend>(b: B) {
    let s = b.session().await;
    let c = s.create("/box", Some(b""), &mode(CreateMode::Container)).await.unwrap().stat;
    assert!(!c.is_ephemeral(), "a container reports no owner: {c:?}");
    s.create("/box/item", Some(b""), &CreateOptions::default()).await.unwrap();
    let ttl = CreateOptions::default().with_ttl(Duration::from_secs(3600));
    let t = s.create("/ttl", Some(b""), &ttl).await.unwrap().stat;
    assert!(!t.is_ephemeral(), "a TTL node reports no owner: {t:?}");
    let seq_ttl = mode(CreateMode::PersistentSequential).with_ttl(Duration::from_secs(3600));
    assert_eq!(s.create("/ttl-", Some(b""), &seq_ttl).await.unwrap().path.len(), "/ttl-".len() + 10);
    // A TTL only goes with the persistent modes.
    let eph_ttl = mode(CreateMode::Ephemeral).with_ttl(Duration::from_secs(3600));
    assert_eq!(code(s.create("/ttl-eph", Some(b""), &eph_ttl).await), Code::BadArguments);
    assert_eq!(s.exists("/ttl-eph").await.unwrap(), None);
    let zero = CreateOptions::default().with_ttl(Duration::ZERO);
    assert_eq!(code(s.create("/ttl-zero", Some(b""), &zero).await), Code::BadArguments);
    let container_ttl = mode(CreateMode::Container).with_ttl(Duration::from_secs(1));
    assert_eq!(code(s.create("/ttl-box", Some(b""), &container_ttl).await), Code::BadArguments);
    close(s).await;
}

async fn conditional_writes_check_the_version<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/v", Some(b"0"), &CreateOptions::default()).await.unwrap();
    assert_eq!(code(s.set_data("/v", Some(b"x"), Some(1)).await), Code::BadVersion);
    assert_eq!(s.set_data("/v", Some(b"1"), Some(0)).await.unwrap().version, 1);
    assert_eq!(code(s.set_data("/v", Some(b"x"), Some(0)).await), Code::BadVersion);
    assert_eq!(s.get_data("/v").await.unwrap().0.as_deref(), Some(&b"1"[..]));
    assert_eq!(code(s.delete("/v", Some(0)).await), Code::BadVersion);
    assert!(s.exists("/v").await.unwrap().is_some());
    s.delete("/v", Some(1)).await.unwrap();
    assert_eq!(s.exists("/v").await.unwrap(), None);
    close(s).await;
}

async fn errors_name_the_code_and_path<B: Backend>(b: B) {
    let s = b.session().await;
    let open = CreateOptions::default();
    s.create("/e", Some(b""), &open).await.unwrap();
    let exists = s.create("/e", Some(b""), &open).await.unwrap_err();
    assert_eq!((exists.code, exists.path.as_str()), (Code::NodeExists, "/e"));
    let orphan = s.create("/none/child", Some(b""), &open).await.unwrap_err();
    assert_eq!((orphan.code, orphan.path.as_str()), (Code::NoNode, "/none/child"));
    s.create("/e/c", Some(b""), &open).await.unwrap();
    assert_eq!(code(s.delete("/e", None).await), Code::NotEmpty);
    assert_eq!(code(s.delete("/missing", None).await), Code::NoNode);
    assert_eq!(code(s.get_data("/missing").await), Code::NoNode);
    assert_eq!(code(s.set_data("/missing", Some(b""), None).await), Code::NoNode);
    assert_eq!(code(s.get_children("/missing").await), Code::NoNode);
    assert_eq!(code(s.get_acl("/missing").await), Code::NoNode);
    // A failed request changes nothing.
    let (children, stat) = s.get_children("/e").await.unwrap();
    assert_eq!((children, stat.cversion), (vec!["c".to_string()], 1));
    close(s).await;
}

async fn invalid_paths_are_refused<B: Backend>(b: B) {
    let s = b.session().await;
    let open = CreateOptions::default();
    s.create("/a", Some(b""), &open).await.unwrap();
    for bad in ["", "a", "/a/", "//a", "/a//b", "/.", "/a/..", "/a/.", "/a/./b", "/a\0b", "/a\u{1}"] {
        assert_eq!(code(s.create(bad, Some(b""), &open).await), Code::BadArguments, "create {bad:?}");
    }
    // The server looks for the parent before it checks the name.
    assert_eq!(code(s.create("/none/..", Some(b""), &open).await), Code::NoNode);
    for bad in ["", "a", "/a/", "//a", "/a//b", "/a/./b", "/a/../b", "/a\0b", "/a\u{1}"] {
        assert_eq!(code(s.get_data(bad).await), Code::BadArguments, "get {bad:?}");
    }
    // The client lets a last `.` or `..` segment through, and the server validates only the
    // paths of creates, so other requests on them find no node.
    for dots in ["/.", "/a/..", "/none/."] {
        assert_eq!(code(s.get_data(dots).await), Code::NoNode, "get {dots:?}");
    }
    // The edges of the character ranges the server refuses (a character beyond U+FFFF is a
    // surrogate pair to Java, and refused).
    for bad in ["/a\u{7f}", "/a\u{9f}", "/a\u{e000}", "/a\u{f8ff}", "/a\u{fff0}", "/a\u{ffff}", "/a\u{1F600}"]
    {
        assert_eq!(code(s.create(bad, Some(b""), &open).await), Code::BadArguments, "create {bad:?}");
    }
    // Names that look odd but are valid.
    for good in ["/a...", "/.b", "/10.0.0.1:80", "/sp ace", "/é", "/a\u{a0}", "/a\u{f900}", "/a\u{ffef}"] {
        s.create(good, Some(b""), &open).await.unwrap_or_else(|e| panic!("{good:?}: {e}"));
    }
    // A sequential create may end in `/`: the number completes the name.
    assert_eq!(
        s.create("/.b/", Some(b""), &mode(CreateMode::PersistentSequential)).await.unwrap().path,
        "/.b/0000000000"
    );
    close(s).await;
}

async fn data_over_the_request_limit_is_refused<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/big", Some(b""), &CreateOptions::default()).await.unwrap();
    // Just under the 1 MB request limit (jute.maxbuffer) is fine.
    let ok = vec![b'x'; 1_000_000];
    assert_eq!(s.set_data("/big", Some(&ok), None).await.unwrap().data_length, 1_000_000);
    // Over it, the server drops the connection without applying anything. A fresh session
    // for it, as the real client has to reconnect afterwards.
    let other = b.session().await;
    let too_big = vec![b'y'; 1_100_000];
    assert_eq!(code(other.set_data("/big", Some(&too_big), None).await), Code::ConnectionLoss);
    let (_, stat) = s.get_data("/big").await.unwrap();
    assert_eq!((stat.version, stat.data_length), (1, 1_000_000));
    close(s).await;
    close(other).await;
}

async fn get_children_lists_every_child<B: Backend>(b: B) {
    let s = b.session().await;
    let open = CreateOptions::default();
    s.create("/list", Some(b""), &open).await.unwrap();
    // Pipelined: all sent before any is awaited.
    let names: Vec<String> = (0..50).map(|i| format!("/list/n{i}")).collect();
    let creates: Vec<_> = names.iter().map(|n| s.create(n, Some(b""), &open)).collect();
    for result in futures::future::join_all(creates).await {
        result.unwrap();
    }
    let (mut children, stat): (Vec<String>, Stat) = s.get_children("/list").await.unwrap();
    children.sort_by_key(|n| n[1..].parse::<u32>().unwrap_or(0));
    let expected: Vec<String> = (0..50).map(|i| format!("n{i}")).collect();
    assert_eq!(children, expected);
    assert_eq!((stat.num_children, stat.cversion), (50, 50));
    close(s).await;
}

async fn sync_answers_for_any_valid_path<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/synced", Some(b""), &CreateOptions::default()).await.unwrap();
    s.sync("/synced").await.unwrap();
    // sync does not look at the node.
    s.sync("/not-there").await.unwrap();
    assert_eq!(code(s.sync("bad").await), Code::BadArguments);
    close(s).await;
}
