//! File persistence (`file:PATH`): round trip, what is and is not saved, corrupt files, the
//! lock between two openers, atomic replacement, and care for the file itself (mode, symbolic
//! links, read-only files and directories, what is not a regular file).

use std::path::Path;
use std::time::Duration;

use zczk_conformance::files::{chmod, mode_of, names_in, snapshot};
use zczk_core::connection::Access;
use zczk_core::store::{Acl, Code, CreateMode, CreateOptions, Perms, Store};
use zczk_emulator::acl::digest_acl;
use zczk_emulator::{Config, Emulator, FileError};

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
    assert_eq!(stored_sessions(&file), [id], "the live session is kept, the closed one is not");
    assert!(!stored_sessions(&file).contains(&closed));
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
    let file = dir.path().join("zk.db");
    {
        let emulator = Emulator::open_file(&file).unwrap();
        let s = emulator.session();
        s.create("/null", None, &CreateOptions::default()).await.unwrap();
        s.create("/empty", Some(b""), &CreateOptions::default()).await.unwrap();
        s.create("/was-set", Some(b"x"), &CreateOptions::default()).await.unwrap();
        s.set_data("/was-set", None, None).await.unwrap();
    }
    // NULL for null data, a zero-length blob for empty data.
    assert_eq!(stored_row_data(&file, "/null"), Some(None));
    assert_eq!(stored_row_data(&file, "/was-set"), Some(None));
    assert_eq!(stored_row_data(&file, "/empty"), Some(Some(Vec::new())));
    {
        let emulator = Emulator::open_file(&file).unwrap();
        let s = emulator.session();
        assert_eq!(s.get_data("/null").await.unwrap().0, None);
        assert_eq!(s.get_data("/was-set").await.unwrap().0, None);
        assert_eq!(s.get_data("/empty").await.unwrap().0, Some(vec![]));
    }
    // A JSON store says `"null_data": true`; one written before null was kept (no `null_data`)
    // reads as it always did: a node without data holds empty data. Both read as they are,
    // and are converted so.
    let node = |path: &str, extra: &str| {
        format!(
            r#"{{"path":"{path}",{extra}"acl":[{{"perms":31,"scheme":"world","id":"anyone"}}],"kind":"persistent",
             "czxid":1,"mzxid":1,"pzxid":1,"ctime":0,"mtime":0,"version":0,"creates":0,"aversion":0}}"#
        )
    };
    let json = format!(
        r#"{{"format":"zczk-emulator","version":1,"zxid":2,"nodes":[{},{},{}]}}"#,
        node("/", ""),
        node("/null", r#""null_data":true,"#),
        node("/old", "")
    );
    let file = dir.path().join("old.json");
    std::fs::write(&file, json).unwrap();
    let reader = Emulator::open_file_with(&file, Config::default(), Access::Read, false).unwrap();
    assert_eq!(reader.session().get_data("/null").await.unwrap().0, None);
    assert_eq!(reader.session().get_data("/old").await.unwrap().0, Some(vec![]));
    drop(reader);
    let emulator = Emulator::open_file(&file).unwrap();
    assert_eq!(emulator.session().get_data("/null").await.unwrap().0, None);
    assert_eq!(emulator.session().get_data("/old").await.unwrap().0, Some(vec![]));
    drop(emulator);
    assert_eq!(
        (stored_row_data(&file, "/null"), stored_row_data(&file, "/old")),
        (Some(None), Some(Some(vec![])))
    );
}

#[tokio::test(start_paused = true)]
async fn a_json_store_with_sessions_is_converted_with_them_and_its_session_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sessions.json");
    let id = 0x0100_0000_0000_0007_i64;
    std::fs::write(
        &file,
        format!(
            r#"{{"format":"zczk-emulator","version":1,"zxid":3,"sessions":[{{"id":{id},"timeout_ms":4000}}],
            "session_key":"000102030405060708090a0b0c0d0e0f","nodes":[
            {{"path":"/","acl":[{{"perms":31,"scheme":"world","id":"anyone"}}],"kind":"persistent",
             "czxid":0,"mzxid":0,"pzxid":3,"ctime":0,"mtime":0,"version":0,"creates":1,"aversion":0}},
            {{"path":"/e","data":"x","acl":[{{"perms":31,"scheme":"world","id":"anyone"}}],"kind":"ephemeral",
             "owner":{id},"czxid":3,"mzxid":3,"pzxid":3,"ctime":0,"mtime":0,"version":0,"creates":0,"aversion":0}}]}}"#
        ),
    )
    .unwrap();
    let emulator = Emulator::open_file(&file).unwrap();
    assert_eq!(stored_sessions(&file), [id]);
    let conn =
        rusqlite::Connection::open_with_flags(&file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let key: String =
        conn.query_row("SELECT value FROM meta WHERE key = 'session_key'", [], |r| r.get(0)).unwrap();
    assert_eq!(key, "000102030405060708090a0b0c0d0e0f");
    drop(conn);
    let s = emulator.session();
    assert!(s.id() > id, "new sessions take ids past the kept ones");
    assert_eq!(s.get_data("/e").await.unwrap().1.ephemeral_owner, id);
    // Its client does not come back: it expires, and that is kept at once.
    tokio::time::sleep(Duration::from_millis(4000 + 100)).await;
    assert_eq!(s.exists("/e").await.unwrap(), None);
    assert_eq!((stored_sessions(&file), stored_row_data(&file, "/e")), (vec![s.id()], None));
}

#[tokio::test]
async fn a_session_expired_by_a_fault_is_off_the_disk_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.db");
    let emulator = Emulator::open_file(&file).unwrap();
    let s = emulator.session();
    s.create("/e", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    assert_eq!(stored_sessions(&file), [s.id()]);
    emulator.faults(s.id()).expire();
    assert_eq!((stored_sessions(&file), stored_row_data(&file, "/e")), (vec![], None));
}

#[test]
fn an_ephemeral_whose_session_is_not_in_the_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.db");
    drop(Emulator::open_file(&file).unwrap().session());
    let before_rows = stored_paths(&file);
    assert!(!before_rows.is_empty());
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.execute("INSERT INTO nodes VALUES ('/e', NULL, NULL, 3, NULL, 99, 9, 9, 9, 0, 0, 0, 0, 0)", [])
        .unwrap();
    drop(conn);
    let before = snapshot(&file);
    let error = Emulator::open_file(&file).unwrap_err();
    assert!(error.to_string().contains("its session 0x63 is not in the store"), "{error}");
    assert_eq!(snapshot(&file), before);
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
    assert_eq!(stored_paths(&file), ["/", "/kept", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"]);
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
        assert!(stored_paths(&file).contains(&format!("/n{i}")));
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
    let stored = stored_paths(&file);
    assert!(stored.contains(&"/p".to_string()) && !stored.contains(&"/p/e".to_string()), "{stored:?}");
}

/// The paths of the nodes the store at `file` holds on disk, sorted, read straight from its
/// database.
fn stored_paths(file: &Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut statement = conn.prepare("SELECT path FROM nodes ORDER BY path").unwrap();
    let paths = statement.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect();
    paths
}

/// A store holding `/kept`, written and closed.
fn store_with_a_node(file: &Path) {
    let emulator = Emulator::open_file(file).unwrap();
    futures::executor::block_on(emulator.session().create("/kept", Some(b""), &CreateOptions::default()))
        .unwrap();
    emulator.close().unwrap();
}

#[tokio::test]
async fn a_new_store_is_0600_and_a_save_keeps_the_mode_it_has() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.json");
    store_with_a_node(&file);
    assert_eq!(mode_of(&file), 0o600, "a new store may hold digest hashes: only its owner reads it");
    for mode in [0o640, 0o600, 0o664] {
        chmod(&file, mode);
        let emulator = Emulator::open_file(&file).unwrap();
        emulator
            .session()
            .create(&format!("/m{mode:o}"), Some(b""), &CreateOptions::default())
            .await
            .unwrap();
        emulator.flush().unwrap();
        assert_eq!(mode_of(&file), mode, "a {mode:o} store");
        assert!(stored_paths(&file).contains(&format!("/m{mode:o}")));
    }
}

#[tokio::test]
async fn a_read_only_store_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.json");
    store_with_a_node(&file);
    // Root may write it anyway: the refusal rests on the mode bits, not on EACCES.
    chmod(&file, 0o444);
    let before = snapshot(&file);
    let error = Emulator::open_file(&file).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("file:{}: the store is read-only (mode 0444); make it writable to change it", file.display())
    );
    assert_eq!(snapshot(&file), before);
    // Made read-only while open: a write is not kept, so not acknowledged, and nothing later is.
    chmod(&file, 0o644);
    let emulator = Emulator::open_file(&file).unwrap();
    let s = emulator.session();
    s.create("/early", Some(b""), &CreateOptions::default()).await.unwrap();
    chmod(&file, 0o444);
    let before = snapshot(&file);
    let error = s.create("/late", Some(b""), &CreateOptions::default()).await.unwrap_err();
    assert_eq!(error.code, Code::ConnectionLoss);
    assert!(error.to_string().contains("read-only (mode 0444)"), "{error}");
    let error = s.set_data("/early", Some(b"x"), None).await.unwrap_err();
    assert!(error.to_string().contains("failed earlier"), "{error}");
    assert!(emulator.flush().unwrap_err().to_string().contains("read-only (mode 0444)"));
    drop((s, emulator));
    assert_eq!(snapshot(&file), before);
    chmod(&file, 0o644);
    assert!(stored_paths(&file).contains(&"/early".to_string()));
    assert!(!stored_paths(&file).contains(&"/late".to_string()));
}

#[tokio::test]
async fn a_symlink_at_the_old_temporary_name_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.json");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join("zk.json.tmp")).unwrap();
    let emulator = Emulator::open_file(&file).unwrap();
    emulator.session().create("/a", Some(b""), &CreateOptions::default()).await.unwrap();
    emulator.flush().unwrap();
    drop(emulator);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(std::fs::symlink_metadata(dir.path().join("zk.json.tmp")).unwrap().file_type().is_symlink());
    assert!(std::fs::symlink_metadata(&file).unwrap().file_type().is_file());
    assert!(stored_paths(&file).contains(&"/a".to_string()));
    // No temporary file is left behind.
    assert_eq!(names_in(dir.path()), ["victim", "zk.json", "zk.json.lock", "zk.json.tmp"]);
}

#[tokio::test]
async fn a_store_reached_through_a_symlink_is_written_at_its_target() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let real = dir.path().join("data/real.json");
    store_with_a_node(&real);
    chmod(&real, 0o640);
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("data/real.json", &link).unwrap();
    let emulator = Emulator::open_file(&link).unwrap();
    // One lock for both names: the real file's.
    assert!(matches!(Emulator::try_open_file(&real), Err(FileError::Locked { .. })));
    emulator.session().create("/via-link", Some(b""), &CreateOptions::default()).await.unwrap();
    emulator.close().unwrap();
    drop(emulator);
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("data/real.json"), "the link stays a link");
    let stored = stored_paths(&real);
    assert!(stored.contains(&"/via-link".to_string()) && stored.contains(&"/kept".to_string()), "{stored:?}");
    assert_eq!(mode_of(&real), 0o640);
    assert_eq!(names_in(dir.path()), ["data", "link.json"]);
    // A link to a store not made yet: the store is made at the target.
    let dangling = dir.path().join("new-link.json");
    std::os::unix::fs::symlink("data/new.json", &dangling).unwrap();
    store_with_a_node(&dangling);
    assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
    assert!(stored_paths(&dir.path().join("data/new.json")).contains(&"/kept".to_string()));
}

/// Runs `open` on another thread; a hang fails the test after 10 s instead of hanging it.
fn promptly<T: Send + 'static>(open: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(open()));
    rx.recv_timeout(Duration::from_secs(10)).expect("opening the store hung")
}

#[test]
fn anything_but_a_regular_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    std::fs::create_dir(dir.path().join("directory")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).unwrap();
    for (name, kind) in [("fifo", "a FIFO"), ("directory", "a directory"), ("zero", "a character device")] {
        let path = dir.path().join(name);
        let error = {
            let path = path.clone();
            promptly(move || Emulator::open_file(&path).unwrap_err())
        };
        assert_eq!(error.to_string(), format!("file:{}: not a regular file but {kind}", path.display()));
    }
    // Nothing was made next to them.
    assert_eq!(names_in(dir.path()), ["directory", "fifo", "zero"]);
}

#[tokio::test]
async fn a_reader_never_writes_and_needs_an_existing_store() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo.json");
    let error = Emulator::open_file_with(&missing, Config::default(), Access::Read, true).unwrap_err();
    assert_eq!(error.to_string(), format!("file:{}: no such store (a write creates it)", missing.display()));
    assert!(names_in(dir.path()).is_empty(), "a read made files");
    let file = dir.path().join("zk.json");
    store_with_a_node(&file);
    let before = snapshot(&file);
    {
        let reader = Emulator::open_file_with(&file, Config::default(), Access::Read, false).unwrap();
        // Readers share the lock; a writer waits for them.
        let other = Emulator::open_file_with(&file, Config::default(), Access::Read, false).unwrap();
        assert!(matches!(Emulator::try_open_file(&file), Err(FileError::Locked { .. })));
        let s = reader.session();
        assert!(s.exists("/kept").await.unwrap().is_some());
        reader.close().unwrap();
        drop((s, reader, other));
    }
    assert_eq!(snapshot(&file), before, "a reader wrote the file");
    // A writer that changes nothing does not rewrite it either.
    Emulator::open_file(&file).unwrap().flush().unwrap();
    assert_eq!(snapshot(&file), before, "an unchanged store was rewritten");
}

/// The data of the node at `path` as the store at `file` holds it on disk, if it is there
/// (and not null).
fn stored_data(file: &Path, path: &str) -> Option<Vec<u8>> {
    stored_row_data(file, path).flatten()
}

/// The data column of the node at `path` as the store at `file` holds it on disk: `None` when
/// there is no row, `Some(None)` for NULL (null data).
fn stored_row_data(file: &Path, path: &str) -> Option<Option<Vec<u8>>> {
    let conn =
        rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut statement = conn.prepare("SELECT data FROM nodes WHERE path = ?1").unwrap();
    let mut rows = statement.query([path]).unwrap();
    rows.next().unwrap().map(|row| row.get(0).unwrap())
}

/// The ids of the sessions the store at `file` holds on disk, in order.
fn stored_sessions(file: &Path) -> Vec<i64> {
    let conn =
        rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut statement = conn.prepare("SELECT id FROM sessions ORDER BY id").unwrap();
    let ids = statement.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect();
    ids
}

#[tokio::test]
async fn every_acknowledged_write_is_on_disk_before_its_reply() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.db");
    let emulator = Emulator::open_file(&file).unwrap();
    let s = emulator.session();
    s.create("/a", Some(b"1"), &CreateOptions::default()).await.unwrap();
    assert_eq!(stored_data(&file, "/a"), Some(b"1".to_vec()));
    s.set_data("/a", Some(b"2"), None).await.unwrap();
    assert_eq!(stored_data(&file, "/a"), Some(b"2".to_vec()));
    let acl = vec![digest_acl(Perms::ALL, "u", "p")];
    s.set_acl("/a", &acl, None).await.unwrap();
    s.multi(&[
        zczk_core::store::Op::Create {
            path: "/b".into(),
            data: Some(b"3".to_vec()),
            options: CreateOptions::default(),
        },
        zczk_core::store::Op::Delete { path: "/a".into(), version: None },
    ])
    .await
    .unwrap();
    assert_eq!((stored_data(&file, "/a"), stored_data(&file, "/b")), (None, Some(b"3".to_vec())));
    // Pipelined writes: all of them are on disk once the replies are in, whatever their order.
    let paths: Vec<String> = (0..50).map(|i| format!("/b/{i}")).collect();
    let options = CreateOptions::default();
    let replies: Vec<_> = paths.iter().map(|path| s.create(path, Some(b""), &options)).collect();
    for reply in futures::future::join_all(replies).await {
        reply.unwrap();
    }
    assert_eq!(stored_paths(&file).iter().filter(|p| p.starts_with("/b/")).count(), 50);
    // An ephemeral is kept with its session, which was kept when it was opened.
    s.create("/b/e", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    assert_eq!(stored_data(&file, "/b/e"), Some(Vec::new()));
    assert_eq!(stored_sessions(&file), [s.id()]);
    // Its end is kept before the close is answered: the session and its ephemeral are gone.
    s.close().await.unwrap();
    assert_eq!((stored_data(&file, "/b/e"), stored_sessions(&file)), (None, vec![]));
    drop((s, emulator));
}

/// A store in the first format: one JSON object.
const JSON_STORE: &str = r#"{"format":"zczk-emulator","version":1,"zxid":7,"nodes":[
{"path":"/","acl":[{"perms":31,"scheme":"world","id":"anyone"}],"kind":"persistent",
 "czxid":0,"mzxid":0,"pzxid":5,"ctime":0,"mtime":0,"version":0,"creates":1,"aversion":0},
{"path":"/app","data":"{\"port\": 80}","acl":[{"perms":1,"scheme":"world","id":"anyone"}],"kind":"persistent",
 "czxid":5,"mzxid":6,"pzxid":5,"ctime":10,"mtime":11,"version":1,"creates":0,"aversion":0},
{"path":"/box","data_base64":"/wA=","acl":[{"perms":31,"scheme":"world","id":"anyone"}],"kind":"container",
 "czxid":7,"mzxid":7,"pzxid":7,"ctime":12,"mtime":12,"version":0,"creates":0,"aversion":0}]}"#;

#[tokio::test]
async fn a_json_store_is_read_as_it_is_and_converted_once_by_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.json");
    std::fs::write(&file, JSON_STORE).unwrap();
    chmod(&file, 0o640);
    // A reader reads it without converting it.
    let before = snapshot(&file);
    let reader = Emulator::open_file_with(&file, Config::default(), Access::Read, false).unwrap();
    let (data, stat) = reader.session().get_data("/app").await.unwrap();
    assert_eq!((data.as_deref(), stat.version, stat.mzxid), (Some(&b"{\"port\": 80}"[..]), 1, 6));
    drop(reader);
    assert_eq!(snapshot(&file), before);
    // A writer converts it at once, keeping its mode, every node and the zxid.
    drop(Emulator::open_file(&file).unwrap());
    assert_eq!(&std::fs::read(&file).unwrap()[..16], b"SQLite format 3\0");
    assert_eq!(mode_of(&file), 0o640);
    assert_eq!(stored_paths(&file), ["/", "/app", "/box"]);
    let emulator = Emulator::open_file(&file).unwrap();
    let s = emulator.session();
    assert_eq!(s.get_data("/box").await.unwrap().0, Some(vec![0xff, 0x00]));
    assert_eq!(s.get_acl("/app").await.unwrap().0, vec![Acl::new(Perms::READ, "world", "anyone")]);
    let (_, stat) = s.get_data("/app").await.unwrap();
    assert_eq!((stat.czxid, stat.mzxid, stat.ctime, stat.mtime, stat.version), (5, 6, 10, 11, 1));
    assert!(s.create("/new", Some(b""), &CreateOptions::default()).await.unwrap().stat.czxid > 7);
    assert_eq!(names_in(dir.path()), ["old.json", "old.json.lock"]);
}

#[tokio::test]
async fn a_reopened_store_reads_its_nodes_as_they_are_needed_and_answers_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.db");
    {
        let emulator = Emulator::open_file(&file).unwrap();
        let s = emulator.session();
        for path in ["/a", "/a/b", "/a/c", "/box"] {
            let mode = if path == "/box" { CreateMode::Container } else { CreateMode::Persistent };
            s.create(path, Some(path.as_bytes()), &CreateOptions::new(mode)).await.unwrap();
        }
        s.create("/box/item", Some(b""), &CreateOptions::default()).await.unwrap();
        emulator.close().unwrap();
    }
    let emulator = Emulator::open_file(&file).unwrap();
    assert_eq!(emulator.node_count(), 9);
    let s = emulator.session();
    let (mut children, stat) = s.get_children("/a").await.unwrap();
    children.sort();
    assert_eq!((children, stat.num_children), (vec!["b".to_string(), "c".to_string()], 2));
    assert_eq!(
        s.create("/a/b", Some(b""), &CreateOptions::default()).await.unwrap_err().code,
        Code::NodeExists
    );
    assert_eq!(s.delete("/a", None).await.unwrap_err().code, Code::NotEmpty);
    s.delete("/a/b", None).await.unwrap();
    assert_eq!(s.exists("/a/b").await.unwrap(), None);
    assert_eq!(s.get_children("/a").await.unwrap().0, ["c"]);
    // The container is found by the cleanup without being asked for, once it is empty.
    s.delete("/box/item", None).await.unwrap();
    assert_eq!(emulator.run_cleanup(), ["/box"]);
    assert_eq!(emulator.node_count(), 6);
    drop((s, emulator));
    assert_eq!(
        stored_paths(&file),
        ["/", "/a", "/a/c", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"]
    );

    // Opened to read: changes live in memory only, and still hide what the file holds.
    let before = snapshot(&file);
    let reader = Emulator::open_file_with(&file, Config::default(), Access::Read, false).unwrap();
    let s = reader.session();
    s.delete("/a/c", None).await.unwrap();
    assert_eq!(s.exists("/a/c").await.unwrap(), None);
    assert_eq!(s.get_children("/a").await.unwrap().0, Vec::<String>::new());
    s.delete("/a", None).await.unwrap();
    assert_eq!(s.create("/a/x", Some(b""), &CreateOptions::default()).await.unwrap_err().code, Code::NoNode);
    s.create("/a", Some(b"new"), &CreateOptions::default()).await.unwrap();
    assert_eq!(s.get_data("/a").await.unwrap().0, Some(b"new".to_vec()));
    assert_eq!(s.get_children("/a").await.unwrap().0, Vec::<String>::new());
    drop((s, reader));
    assert_eq!(snapshot(&file), before);
}

#[test]
fn a_database_that_is_not_a_store_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.execute_batch("CREATE TABLE t (x)").unwrap();
    drop(conn);
    let before = snapshot(&file);
    let error = Emulator::open_file(&file).unwrap_err();
    assert!(error.to_string().contains("not a zczk store"), "{error}");
    assert_eq!(snapshot(&file), before);
}

#[tokio::test]
async fn a_point_read_reads_only_the_nodes_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.db");
    {
        let emulator = Emulator::open_file(&file).unwrap();
        let s = emulator.session();
        for path in ["/a", "/a/b", "/far", "/far/away"] {
            s.create(path, Some(path.as_bytes()), &CreateOptions::default()).await.unwrap();
        }
    }
    // A node no request asks for is unreadable: it is never read (the whole tree used to be).
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.execute("UPDATE nodes SET acl = 'not an ACL' WHERE path = '/far/away'", []).unwrap();
    drop(conn);
    let reader = Emulator::open_file_with(&file, Config::default(), Access::Read, false).unwrap();
    let s = reader.session();
    assert_eq!(s.get_data("/a/b").await.unwrap().0, Some(b"/a/b".to_vec()));
    assert_eq!(s.get_children("/far").await.unwrap().0, ["away"]);
}

#[tokio::test]
async fn a_reader_after_a_writer_killed_mid_commit_sees_the_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    {
        let emulator = Emulator::open_file(&live).unwrap();
        emulator.session().create("/kept", Some(b"1"), &CreateOptions::default()).await.unwrap();
    }
    // A commit half done: pages spilled to the file, the journal holding what they were. A
    // copy of both is the store as a writer killed at that moment leaves it.
    let conn = rusqlite::Connection::open(&live).unwrap();
    conn.execute_batch("PRAGMA cache_size = 2; BEGIN").unwrap();
    for i in 0..2000 {
        conn.execute(
            "INSERT INTO nodes VALUES (?1, zeroblob(500), NULL, 0, NULL, NULL, 9, 9, 9, 0, 0, 0, 0, 0)",
            [format!("/kept/{i}")],
        )
        .unwrap();
    }
    let crashed = dir.path().join("crashed.db");
    std::fs::copy(&live, &crashed).unwrap();
    std::fs::copy(dir.path().join("live.db-journal"), dir.path().join("crashed.db-journal")).unwrap();
    drop(conn);
    let reader = Emulator::open_file_with(&crashed, Config::default(), Access::Read, false).unwrap();
    let s = reader.session();
    assert_eq!(s.get_data("/kept").await.unwrap().0, Some(b"1".to_vec()));
    assert_eq!(s.get_children("/kept").await.unwrap().0, Vec::<String>::new());
    assert!(!dir.path().join("crashed.db-journal").exists(), "the journal was not rolled back");
}

/// A store in format version 3 (a `parent` column with an index of its own, every Stat field
/// written out), as that build wrote it: `/a` changed once, `/a-b` sorting between `/a` and
/// `/a/c`, `/box` a container.
fn write_v3_store(file: &Path) {
    let conn = rusqlite::Connection::open(file).unwrap();
    conn.execute_batch(
        "PRAGMA application_id = 2053339755; PRAGMA user_version = 3;
         CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
         CREATE TABLE sessions (id INTEGER PRIMARY KEY, timeout_ms INTEGER NOT NULL);
         CREATE TABLE nodes (path TEXT PRIMARY KEY, parent TEXT NOT NULL, data BLOB, acl TEXT,
             kind INTEGER NOT NULL, ttl_ms INTEGER, owner INTEGER, czxid INTEGER NOT NULL,
             mzxid INTEGER NOT NULL, pzxid INTEGER NOT NULL, ctime INTEGER NOT NULL,
             mtime INTEGER NOT NULL, version INTEGER NOT NULL, creates INTEGER NOT NULL,
             aversion INTEGER NOT NULL) WITHOUT ROWID;
         CREATE INDEX nodes_by_parent ON nodes (parent);
         CREATE INDEX nodes_kept ON nodes (path) WHERE kind <> 0;
         INSERT INTO meta VALUES ('zxid', 9), ('next_session', 1);
         INSERT INTO nodes VALUES
             ('/', '', NULL, NULL, 0, NULL, NULL, 0, 0, 8, 0, 0, 0, 3, 0),
             ('/a', '/', x'7b7d', NULL, 0, NULL, NULL, 5, 9, 7, 10, 11, 1, 1, 0),
             ('/a-b', '/', x'', NULL, 0, NULL, NULL, 6, 6, 6, 12, 12, 0, 0, 0),
             ('/a/c', '/a', NULL, '[[1,\"world\",\"anyone\"]]', 0, NULL, NULL, 7, 7, 7, 13, 13, 0, 0, 0),
             ('/box', '/', x'ff00', NULL, 1, NULL, NULL, 8, 8, 8, 14, 14, 0, 0, 0),
             ('/zookeeper', '/', x'', NULL, 0, NULL, NULL, 0, 0, 0, 0, 0, 0, 2, 0),
             ('/zookeeper/config', '/zookeeper', x'', NULL, 0, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0),
             ('/zookeeper/quota', '/zookeeper', x'', NULL, 0, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0);",
    )
    .unwrap();
}

/// The column names of the store's `nodes` table and its format version.
fn nodes_columns_and_version(file: &Path) -> (Vec<String>, u32) {
    let conn =
        rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut statement = conn.prepare("SELECT name FROM pragma_table_info('nodes')").unwrap();
    let columns = statement.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect();
    (columns, conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap())
}

#[tokio::test]
async fn a_version_3_store_is_read_as_it_is_and_converted_once_by_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v3.db");
    write_v3_store(&file);
    // A reader reads it without converting it, children and Stat as they were.
    let before = snapshot(&file);
    let reader = Emulator::open_file_with(&file, Config::default(), Access::Read, false).unwrap();
    let s = reader.session();
    assert_eq!(s.get_children("/").await.unwrap().0, ["a", "a-b", "box", "zookeeper"]);
    assert_eq!(s.get_children("/a").await.unwrap().0, ["c"]);
    let (data, stat) = s.get_data("/a").await.unwrap();
    assert_eq!(
        (data, stat.mzxid, stat.pzxid, stat.mtime, stat.num_children),
        (Some(b"{}".to_vec()), 9, 7, 11, 1)
    );
    drop((s, reader));
    assert_eq!(snapshot(&file), before);
    // A writer converts it at once: no `parent` column, the same nodes and Stat.
    drop(Emulator::open_file(&file).unwrap());
    let (columns, version) = nodes_columns_and_version(&file);
    assert_eq!(version, zczk_emulator::file::VERSION);
    assert!(!columns.iter().any(|c| c == "parent"), "{columns:?}");
    assert_eq!(
        stored_paths(&file),
        ["/", "/a", "/a-b", "/a/c", "/box", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"]
    );
    let emulator = Emulator::open_file(&file).unwrap();
    let s = emulator.session();
    assert_eq!(s.get_children("/").await.unwrap().0, ["a", "a-b", "box", "zookeeper"]);
    assert_eq!(s.get_children("/a").await.unwrap().0, ["c"]);
    let (data, stat) = s.get_data("/a").await.unwrap();
    assert_eq!((data, stat.czxid, stat.mzxid, stat.pzxid), (Some(b"{}".to_vec()), 5, 9, 7));
    assert_eq!((stat.ctime, stat.mtime, stat.version, stat.num_children), (10, 11, 1, 1));
    let (data, stat) = s.get_data("/a/c").await.unwrap();
    assert_eq!((data, stat.czxid, stat.mzxid, stat.pzxid, stat.mtime), (None, 7, 7, 7, 13));
    assert_eq!(s.get_acl("/a/c").await.unwrap().0, vec![Acl::new(Perms::READ, "world", "anyone")]);
    assert_eq!(s.get_data("/box").await.unwrap().0, Some(vec![0xff, 0x00]));
    assert!(s.create("/new", Some(b""), &CreateOptions::default()).await.unwrap().stat.czxid > 9);
}

#[tokio::test]
async fn children_are_listed_whatever_sorts_between_a_child_and_its_subtree() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.db");
    let names = ["a", "a b", "a-b", "a.b", "a0", "ab", "b"];
    {
        let emulator = Emulator::open_file(&file).unwrap();
        let s = emulator.session();
        s.create("/p", None, &CreateOptions::default()).await.unwrap();
        for name in names {
            s.create(&format!("/p/{name}"), None, &CreateOptions::default()).await.unwrap();
            s.create(&format!("/p/{name}/x"), None, &CreateOptions::default()).await.unwrap();
            s.create(&format!("/p/{name}/x/y"), None, &CreateOptions::default()).await.unwrap();
        }
        s.create("/p-q", None, &CreateOptions::default()).await.unwrap();
    }
    let reader = Emulator::open_file_with(&file, Config::default(), Access::Read, false).unwrap();
    let s = reader.session();
    let mut children = s.get_children("/p").await.unwrap().0;
    children.sort();
    assert_eq!(children, names);
    assert_eq!(s.get_children("/p/a").await.unwrap().0, ["x"]);
    assert_eq!(s.exists("/p").await.unwrap().unwrap().num_children, 7);
}

/// Every node below `/` but `/zookeeper`'s, breadth first: its path, data and Stat, the
/// times left out when `times` is false.
async fn walk(s: &impl Store, times: bool) -> Vec<(String, Option<Vec<u8>>, zczk_core::store::Stat)> {
    let mut out = Vec::new();
    let mut queue = std::collections::VecDeque::from(["/".to_string()]);
    while let Some(path) = queue.pop_front() {
        let (data, mut stat) = s.get_data(&path).await.unwrap();
        let (mut names, _) = s.get_children(&path).await.unwrap();
        names.sort();
        for name in names.into_iter().filter(|name| path != "/" || name != "zookeeper") {
            queue.push_back(if path == "/" { format!("/{name}") } else { format!("{path}/{name}") });
        }
        if !times {
            (stat.ctime, stat.mtime) = (0, 0);
        }
        out.push((path, data, stat));
    }
    out
}

/// Creates `parents` nodes with 1,000 children each, a `multi` of 1,000 creates at a time,
/// then changes the first and last child of each parent (data and children) and adds a
/// sibling to the last.
async fn fill(s: &impl Store, parents: usize) {
    let op = |path: String| zczk_core::store::Op::Create {
        data: Some(path.clone().into_bytes()),
        path,
        options: CreateOptions::default(),
    };
    s.multi(&(0..parents).map(|p| op(format!("/p{p}"))).collect::<Vec<_>>()).await.unwrap();
    for p in 0..parents {
        s.multi(&(0..1000).map(|c| op(format!("/p{p}/c{c:03}"))).collect::<Vec<_>>()).await.unwrap();
    }
    for p in 0..parents {
        s.set_data(&format!("/p{p}/c000"), Some(b"changed"), Some(0)).await.unwrap();
        s.create(&format!("/p{p}/c999/leaf"), None, &CreateOptions::default()).await.unwrap();
        // Sorts between `c999` and `c999/leaf`: not a child of `c999`.
        s.create(&format!("/p{p}/c999-x"), None, &CreateOptions::default()).await.unwrap();
    }
}

#[tokio::test]
async fn a_store_larger_than_the_node_cache_answers_as_memory_does_made_and_reopened() {
    // More nodes than the tree caches (16,384), so that saved ones are dropped and read again.
    let parents = 20;
    let memory = Emulator::new();
    fill(&memory.session(), parents).await;
    let want = walk(&memory.session(), false).await;
    assert_eq!(want.len(), 1 + parents * 1003);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.db");
    let made = {
        let emulator = Emulator::open_file(&file).unwrap();
        let s = emulator.session();
        fill(&s, parents).await;
        assert_eq!(walk(&s, false).await, want, "a new store differs from memory");
        walk(&s, true).await
    };
    // Reopened, nodes come back subtree by subtree, as they were.
    for access in [Access::ReadWrite, Access::Read] {
        let emulator = Emulator::open_file_with(&file, Config::default(), access, false).unwrap();
        assert_eq!(walk(&emulator.session(), true).await, made, "reopened for {access:?}");
    }
}
