//! End-to-end tests of how the built `zczk` treats a `file:PATH` store's file: its mode, a
//! read-only file or directory, symbolic links, a mistyped path, and what is not a regular file.
//!
//! They run as root in CI too, where permission bits stop nothing: a read-only file is checked
//! by its mode bits, a read-only directory by finding nothing changed in it, and once more as
//! `nobody` (through `setpriv`) so that the OS enforces the bits.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;
use zczk_conformance::files::{chmod, mode_of, names_in, snapshot};

const TREE: &str = "/app\n  threads = 4\n  db -> /db\n/db\n  host = 'db.example'\n";

/// `zczk ARGS --zk file:PATH`, killed (and so failed) if it hangs.
fn zczk(store: &Path, args: &[&str]) -> Command {
    on_store(Command::cargo_bin("zczk").unwrap(), store, args)
}

/// `command ARGS --zk file:PATH`, killed (and so failed) if it hangs.
fn on_store(mut command: Command, store: &Path, args: &[&str]) -> Command {
    command
        .env_remove("ZC_ZK_CONNECTION_STRING")
        .args(args)
        .arg("--zk")
        .arg(format!("file:{}", store.display()))
        .timeout(Duration::from_secs(20));
    command
}

fn import(store: &Path) {
    zczk(store, &["import", "-"]).write_stdin(TREE).assert().success();
}

/// Every command that only reads, with its arguments.
const READERS: [&[&str]; 6] = [
    &["get", "/db"],
    &["walk"],
    &["export"],
    &["resolve", "/app/db"],
    &["graph"],
    &["import", "--dry-run", "-"],
];

#[test]
fn a_new_store_is_0600_and_writes_keep_its_mode() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("zk.json");
    import(&store);
    assert_eq!(mode_of(&store), 0o600);
    for mode in [0o600, 0o640] {
        chmod(&store, mode);
        zczk(&store, &["set-property", "/db", &format!("mode={mode}")]).assert().success();
        zczk(&store, &["ln", "/db", "/link"]).assert().success();
        assert_eq!(mode_of(&store), mode);
    }
    zczk(&store, &["get", "/db"]).assert().success().stdout(predicate::str::contains("\"mode\": 416"));
}

#[test]
fn a_read_only_store_is_refused_for_writes_and_left_as_it_is() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("zk.json");
    import(&store);
    chmod(&store, 0o444);
    let before = snapshot(&store);
    let refused = format!(
        "zczk: file:{}: the store is read-only (mode 0444); make it writable to change it\n",
        store.display()
    );
    zczk(&store, &["set-property", "/db", "x=1"]).assert().code(1).stderr(refused.clone());
    zczk(&store, &["import", "-"]).write_stdin("/new\n").assert().code(1).stderr(refused);
    assert_eq!(snapshot(&store), before);
    // It can still be read.
    zczk(&store, &["get", "/db"]).assert().success().stdout(predicate::str::contains("db.example"));
    assert_eq!(snapshot(&store), before);
}

#[test]
fn a_symlink_planted_at_path_tmp_is_never_followed() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("zk.json");
    import(&store);
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let planted = dir.path().join("zk.json.tmp");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    zczk(&store, &["set-property", "/db", "x=1"]).assert().success();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(std::fs::read_link(&planted).unwrap(), victim);
    assert!(std::fs::symlink_metadata(&store).unwrap().file_type().is_file());
    zczk(&store, &["get", "/db"]).assert().success().stdout(predicate::str::contains("\"x\": 1"));
}

#[test]
fn a_store_reached_through_a_symlink_is_written_at_its_target() {
    let dir = TempDir::new().unwrap();
    std::fs::create_dir(dir.path().join("real")).unwrap();
    let real = dir.path().join("real/zk.json");
    import(&real);
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("real/zk.json", &link).unwrap();
    zczk(&link, &["set-property", "/db", "x=1"]).assert().success();
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("real/zk.json"), "the link stays a link");
    zczk(&real, &["get", "/db"]).assert().success().stdout(predicate::str::contains("\"x\": 1"));
    assert_eq!(names_in(dir.path()), ["link.json", "real"]);
}

#[test]
fn reads_leave_the_store_untouched_even_in_a_read_only_directory() {
    let dir = TempDir::new().unwrap();
    let home = dir.path().join("ro");
    std::fs::create_dir(&home).unwrap();
    let store = home.join("zk.json");
    import(&store);
    let before = (snapshot(&store), names_in(&home));
    chmod(&home, 0o555);
    for args in READERS {
        zczk(&store, args).write_stdin(TREE).assert().success();
    }
    let after = (snapshot(&store), names_in(&home));
    chmod(&home, 0o755);
    assert_eq!(after, before, "a read-only command changed the store or its directory");
}

#[test]
fn a_mistyped_store_is_an_error_for_reads_and_made_by_writes() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("typo.json");
    let message = format!("zczk: file:{}: no such store (a write creates it)\n", store.display());
    for args in READERS.iter().copied().chain([&["watch", "/db"][..], &["delete", "-r", "--dry-run", "/db"]])
    {
        zczk(&store, args).write_stdin(TREE).assert().code(1).stdout("").stderr(message.clone());
        assert!(names_in(dir.path()).is_empty(), "{args:?} made files");
    }
    import(&store);
    zczk(&store, &["get", "/db"]).assert().success().stdout(predicate::str::contains("db.example"));
}

#[test]
fn a_fifo_a_device_or_a_directory_is_refused_at_once() {
    let dir = TempDir::new().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let directory = dir.path().join("directory");
    std::fs::create_dir(&directory).unwrap();
    let cases = [
        (fifo.as_path(), "a FIFO"),
        (Path::new("/dev/zero"), "a character device"),
        (&directory, "a directory"),
    ];
    for (store, kind) in cases {
        let message = format!("zczk: file:{}: not a regular file but {kind}\n", store.display());
        for args in [&["export"][..], &["import", "-"]] {
            zczk(store, args).write_stdin(TREE).assert().code(1).stderr(message.clone());
        }
    }
    assert_eq!(names_in(dir.path()), ["directory", "fifo"]);
    assert!(names_in(&directory).is_empty());
    assert!(!Path::new("/dev/zero.lock").exists());
}

/// `zczk ARGS --zk file:PATH` as a user who is not root (`nobody`, through `setpriv`, when the
/// tests run as root), so that permission bits are enforced for real.
fn zczk_unprivileged(store: &Path, args: &[&str]) -> Command {
    let bin = assert_cmd::cargo::cargo_bin("zczk");
    let is_root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    let command = if is_root {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(bin);
        command
    } else {
        Command::new(bin)
    };
    on_store(command, store, args)
}

#[test]
fn a_user_who_may_not_write_the_directory_reads_with_or_without_a_lock_file() {
    let dir = TempDir::new().unwrap();
    let home = dir.path().join("ro");
    std::fs::create_dir(&home).unwrap();
    let store = home.join("zk.json");
    import(&store);
    chmod(dir.path(), 0o755);
    chmod(&store, 0o644);
    let lock = home.join("zk.json.lock");
    chmod(&lock, 0o644);
    chmod(&home, 0o555);
    let before = snapshot(&store);
    // With the lock file a writer left: a shared lock through a read-only descriptor.
    zczk_unprivileged(&store, &["get", "/db"])
        .assert()
        .success()
        .stdout(predicate::str::contains("db.example"));
    zczk_unprivileged(&store, &["set-property", "/db", "x=1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Permission denied"));
    // Without one (it cannot be made here): read all the same.
    chmod(&home, 0o755);
    std::fs::remove_file(&lock).unwrap();
    chmod(&home, 0o555);
    for args in READERS {
        zczk_unprivileged(&store, args).write_stdin(TREE).assert().success();
    }
    let after = (snapshot(&store), names_in(&home));
    chmod(&home, 0o755);
    assert_eq!(after, (before, vec!["zk.json".to_string()]));
}

#[test]
fn an_old_json_store_is_converted_once_and_says_so() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("zk.json");
    let json = r#"{"format":"zczk-emulator","version":1,"zxid":2,"nodes":[
{"path":"/","acl":[{"perms":31,"scheme":"world","id":"anyone"}],"kind":"persistent",
 "czxid":0,"mzxid":0,"pzxid":2,"ctime":0,"mtime":0,"version":0,"creates":1,"aversion":0},
{"path":"/db","data":"{\"host\": \"db.example\"}","acl":[{"perms":31,"scheme":"world","id":"anyone"}],
 "kind":"persistent","czxid":2,"mzxid":2,"pzxid":2,"ctime":0,"mtime":0,"version":0,"creates":0,"aversion":0}]}"#;
    std::fs::write(&store, json).unwrap();
    chmod(&store, 0o640);
    // A read leaves it as it is.
    zczk(&store, &["get", "/db"])
        .assert()
        .success()
        .stderr("")
        .stdout(predicate::str::contains("db.example"));
    assert_eq!(std::fs::read_to_string(&store).unwrap(), json);
    // The first write converts it, and says so once.
    let converted = format!("file:{}: converted from the old JSON format", store.display());
    zczk(&store, &["set-property", "/db", "port=5432"])
        .assert()
        .success()
        .stderr(predicate::str::contains(converted.clone()));
    assert_eq!(&std::fs::read(&store).unwrap()[..16], b"SQLite format 3\0");
    assert_eq!(mode_of(&store), 0o640);
    zczk(&store, &["set-property", "/db", "port=5433"]).assert().success().stderr("");
    zczk(&store, &["get", "/db"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"port\": 5433").and(predicate::str::contains("db.example")));
}
