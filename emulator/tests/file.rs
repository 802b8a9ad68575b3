//! File persistence (`file:PATH`): round trip, what is and is not saved, corrupt files, the
//! lock between two openers, atomic replacement.

use std::time::Duration;

use zczk_core::store::{Acl, Code, CreateMode, CreateOptions, Perms, Store};
use zczk_emulator::acl::digest_acl;
use zczk_emulator::{Emulator, FileError};

#[tokio::test]
async fn persistent_nodes_survive_a_reopen_with_their_stat_acl_and_counters() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.json");
    let (stat, child_stat, acl) = {
        let emulator = Emulator::open_file(&file).unwrap();
        let s = emulator.session();
        s.create("/a", Some(b"{\"x\": 1}"), &CreateOptions::default()).await.unwrap();
        s.set_data("/a", Some(b"{\"x\": 2}"), Some(0)).await.unwrap();
        let acl = vec![digest_acl(Perms::ALL, "u", "p"), Acl::new(Perms::READ, "world", "anyone")];
        s.create("/a/b", Some(&[0xff, 0x00, 0x80]), &CreateOptions::default().with_acl(acl.clone()))
            .await
            .unwrap();
        s.create("/a/s-", Some(b""), &CreateOptions::new(CreateMode::PersistentSequential)).await.unwrap();
        s.delete("/a/s-0000000001", None).await.unwrap();
        s.create("/a/eph", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
        s.create("/box", Some(b""), &CreateOptions::new(CreateMode::Container)).await.unwrap();
        s.create("/ttl", Some(b""), &CreateOptions::default().with_ttl(Duration::from_secs(60)))
            .await
            .unwrap();
        emulator.flush().unwrap();
        let stat = s.exists("/a").await.unwrap().unwrap();
        let child_stat = s.exists("/a/b").await.unwrap().unwrap();
        // A closed session's ephemerals go (a live one's are kept: see
        // a_live_session_and_its_ephemerals_survive_a_reopen).
        s.close().await.unwrap();
        (stat, child_stat, acl)
    };
    let emulator = Emulator::open_file(&file).unwrap();
    let s = emulator.session();
    let (data, reopened) = s.get_data("/a").await.unwrap();
    assert_eq!(data.as_deref(), Some(&b"{\"x\": 2}"[..]));
    // The ephemeral is gone: one child fewer, one more change of the children list.
    assert_eq!(reopened.num_children, stat.num_children - 1);
    assert_eq!(reopened.cversion, stat.cversion + 1);
    assert_eq!((reopened.czxid, reopened.mzxid, reopened.version), (stat.czxid, stat.mzxid, stat.version));
    assert_eq!((reopened.ctime, reopened.mtime), (stat.ctime, stat.mtime));
    assert_eq!(s.exists("/a/eph").await.unwrap(), None);
    // Bytes that are not UTF-8 and a digest ACL come back as they were.
    s.add_auth("digest", b"u:p").await.unwrap();
    assert_eq!(s.get_data("/a/b").await.unwrap(), (Some(vec![0xff, 0x00, 0x80]), child_stat));
    assert_eq!(s.get_acl("/a/b").await.unwrap().0, acl);
    // Sequential numbering and zxids carry on where they stopped.
    let next =
        s.create("/a/s-", Some(b""), &CreateOptions::new(CreateMode::PersistentSequential)).await.unwrap();
    assert_eq!(next.path, "/a/s-0000000003");
    assert!(next.stat.czxid > stat.mzxid);
    assert!(s.exists("/box").await.unwrap().is_some());
    assert!(s.exists("/ttl").await.unwrap().is_some());
    assert!(s.exists("/zookeeper/config").await.unwrap().is_some());
}

#[tokio::test(start_paused = true)]
async fn a_live_session_and_its_ephemerals_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.json");
    let (id, closed) = {
        let emulator = Emulator::open_file(&file).unwrap();
        let s = emulator.session();
        s.create("/eph", Some(b"x"), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
        let closed = emulator.session();
        closed.create("/gone", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
        closed.close().await.unwrap();
        (s.id(), closed.id())
    };
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains(&format!("\"id\": {id}")) && !text.contains(&format!("\"id\": {closed}")),
        "{text}"
    );
    let emulator = Emulator::open_file(&file).unwrap();
    let other = emulator.session();
    assert_ne!(other.id(), id, "new sessions get new ids");
    let (_, stat) = other.get_data("/eph").await.unwrap();
    assert_eq!(stat.ephemeral_owner, id);
    assert_eq!(other.exists("/gone").await.unwrap(), None);
    // No client comes back: after the whole timeout, the session expires and its ephemeral goes.
    tokio::time::sleep(zczk_emulator::DEFAULT_TIMEOUT + Duration::from_secs(1)).await;
    assert_eq!(other.exists("/eph").await.unwrap(), None);
    assert_eq!(emulator.session_count(), 1);
}

#[tokio::test]
async fn null_data_survives_a_reopen_and_older_files_read_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.json");
    {
        let emulator = Emulator::open_file(&file).unwrap();
        let s = emulator.session();
        s.create("/null", None, &CreateOptions::default()).await.unwrap();
        s.create("/empty", Some(b""), &CreateOptions::default()).await.unwrap();
        emulator.flush().unwrap();
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"null_data\": true"), "{text}");
    {
        let emulator = Emulator::open_file(&file).unwrap();
        let s = emulator.session();
        assert_eq!(s.get_data("/null").await.unwrap().0, None);
        assert_eq!(s.get_data("/empty").await.unwrap().0, Some(vec![]));
    }
    // A file written before null was kept (no `null_data` anywhere) reads as it always did:
    // a node without data holds empty data.
    let old: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut old = old;
    for node in old["nodes"].as_array_mut().unwrap() {
        if node["path"] == "/null" {
            node.as_object_mut().unwrap().remove("null_data");
        }
    }
    std::fs::write(&file, serde_json::to_vec(&old).unwrap()).unwrap();
    let emulator = Emulator::open_file(&file).unwrap();
    assert_eq!(emulator.session().get_data("/null").await.unwrap().0, Some(vec![]));
}

#[tokio::test]
async fn a_missing_file_is_an_empty_tree_and_is_written_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new.json");
    let emulator = Emulator::open_file(&file).unwrap();
    assert_eq!(emulator.node_count(), 4);
    assert!(!file.exists());
    let s = emulator.session();
    s.create("/kept", Some(b""), &CreateOptions::default()).await.unwrap();
    drop(s);
    drop(emulator);
    // The last handle saved it.
    let emulator = Emulator::open_file(&file).unwrap();
    assert!(emulator.session().exists("/kept").await.unwrap().is_some());
    assert!(std::fs::read_to_string(&file).unwrap().contains("\"format\": \"zczk-emulator\""));
}

#[test]
fn a_corrupt_file_is_an_error_and_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 7] = [
        ("truncated.json", "{\"format\": \"zczk-emulator\", \"version\": 1, \"zxid\": 3, \"nodes\": ["),
        ("other.json", "{\"hello\": 1}"),
        (
            "orphan.json",
            r#"{"format":"zczk-emulator","version":1,"zxid":1,"nodes":[
            {"path":"/","acl":[{"perms":31,"scheme":"world","id":"anyone"}],"kind":"persistent",
             "czxid":0,"mzxid":0,"pzxid":0,"ctime":0,"mtime":0,"version":0,"creates":0,"aversion":0},
            {"path":"/a/b","acl":[{"perms":31,"scheme":"world","id":"anyone"}],"kind":"persistent",
             "czxid":1,"mzxid":1,"pzxid":1,"ctime":0,"mtime":0,"version":0,"creates":0,"aversion":0}]}"#,
        ),
        (
            "badpath.json",
            r#"{"format":"zczk-emulator","version":1,"zxid":1,"nodes":[
            {"path":"/a/","acl":[{"perms":31,"scheme":"world","id":"anyone"}],"kind":"persistent",
             "czxid":0,"mzxid":0,"pzxid":0,"ctime":0,"mtime":0,"version":0,"creates":0,"aversion":0}]}"#,
        ),
        ("empty.json", ""),
        (
            "ownerless.json",
            r#"{"format":"zczk-emulator","version":1,"zxid":1,"sessions":[{"id":7,"timeout_ms":4000}],"nodes":[
            {"path":"/","acl":[{"perms":31,"scheme":"world","id":"anyone"}],"kind":"persistent",
             "czxid":0,"mzxid":0,"pzxid":0,"ctime":0,"mtime":0,"version":0,"creates":0,"aversion":0},
            {"path":"/e","acl":[{"perms":31,"scheme":"world","id":"anyone"}],"kind":"ephemeral","owner":8,
             "czxid":1,"mzxid":1,"pzxid":1,"ctime":0,"mtime":0,"version":0,"creates":0,"aversion":0}]}"#,
        ),
        (
            "nulldata.json",
            r#"{"format":"zczk-emulator","version":1,"zxid":1,"nodes":[
            {"path":"/","data":"x","null_data":true,"acl":[{"perms":31,"scheme":"world","id":"anyone"}],
             "kind":"persistent","czxid":0,"mzxid":0,"pzxid":0,"ctime":0,"mtime":0,"version":0,"creates":0,
             "aversion":0}]}"#,
        ),
    ];
    for (name, text) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        match Emulator::open_file(&file) {
            Err(FileError::Corrupt { path, reason }) => {
                assert_eq!(path, file, "{name}");
                assert!(!reason.is_empty(), "{name}");
            }
            other => panic!("{name}: expected Corrupt, got {other:?}"),
        }
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "{name} was changed");
    }
}

#[test]
fn a_newer_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v9.json");
    std::fs::write(&file, r#"{"format":"zczk-emulator","version":9,"zxid":0,"nodes":[]}"#).unwrap();
    let error = Emulator::open_file(&file).unwrap_err();
    assert!(matches!(error, FileError::UnsupportedVersion { version: 9, .. }), "{error}");
    assert!(error.to_string().contains("v9.json"), "{error}");
}

#[test]
fn a_second_opener_is_refused_or_waits_for_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shared.json");
    let first = Emulator::open_file(&file).unwrap();
    let error = Emulator::try_open_file(&file).unwrap_err();
    assert!(matches!(&error, FileError::Locked { path, .. } if *path == file), "{error}");
    // A clone is the same server, not a second opener.
    let clone = first.clone();
    // A waiting opener gets the file once the first has written and gone.
    let waiter = {
        let file = file.clone();
        std::thread::spawn(move || {
            let second = Emulator::open_file(&file).unwrap();
            futures::executor::block_on(second.session().exists("/from-first")).unwrap().is_some()
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    assert!(!waiter.is_finished(), "the second opener did not wait");
    futures::executor::block_on(first.session().create("/from-first", Some(b""), &CreateOptions::default()))
        .unwrap();
    drop(first);
    drop(clone);
    assert!(waiter.join().unwrap(), "the second opener lost the first one's write");
}

#[tokio::test]
async fn flush_replaces_the_file_atomically_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("atomic.json");
    let emulator = Emulator::open_file(&file).unwrap();
    let s = emulator.session();
    for i in 0..3 {
        s.create(&format!("/n{i}"), Some(b""), &CreateOptions::default()).await.unwrap();
        emulator.flush().unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(&format!("\"/n{i}\"")));
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["atomic.json", "atomic.json.lock"]);
    assert_eq!(emulator.file_path(), Some(file.as_path()));
}

#[tokio::test]
async fn a_memory_emulator_has_no_file() {
    let emulator = Emulator::new();
    assert_eq!(emulator.file_path(), None);
    emulator.flush().unwrap();
    assert_eq!(Code::NoNode, emulator.session().get_data("/x").await.unwrap_err().code);
}

#[tokio::test]
async fn close_ends_every_session_and_saves_without_their_ephemerals() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("closed.json");
    let emulator = Emulator::open_file(&file).unwrap();
    let s = emulator.session();
    s.create("/p", Some(b""), &CreateOptions::default()).await.unwrap();
    s.create("/p/e", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    emulator.close().unwrap();
    assert_eq!(*s.session_state().borrow(), zczk_core::store::SessionState::Closed);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"/p\"") && !text.contains("\"/p/e\""), "{text}");
}
