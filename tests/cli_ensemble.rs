//! Failover on a real 3-server ensemble (`.ci/zookeeper-ensemble`; skipped without it, failing
//! when `CI` is set): members are killed and restarted under running commands.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use zczk_core::store::Store;
use zczk_zookeeper::testing::Ensemble;

use crate::cli_zk::{stdout_of, zczk};

/// The tests kill members: one at a time, or two tests could take the quorum down together.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The ensemble with every member serving, and a fresh chroot on it (its connection string).
struct Setup {
    _turn: MutexGuard<'static, ()>,
    ensemble: Ensemble,
}

impl Setup {
    fn new(test: &str) -> Setup {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let ensemble = Ensemble::from_env(test);
        // A test that failed may have left a member down.
        for n in 1..=3 {
            let _ = ensemble.start(n);
        }
        ensemble.wait().unwrap();
        Setup { _turn: turn, ensemble }
    }

    /// A new chroot on the ensemble: its connection string.
    fn chroot(&self, name: &str) -> String {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let chroot = format!("/zczk-ensemble-{name}-{}-{nanos}", std::process::id());
        let servers = self.ensemble.connection_string();
        zczk(servers).args(["import", "-", "/"]).write_stdin(format!("{chroot}\n")).assert().success();
        format!("{servers}{chroot}")
    }

    /// Kills the leader; returns its number.
    fn kill_leader(&self) -> usize {
        let leader = self.ensemble.leader().unwrap();
        self.ensemble.kill(leader).unwrap();
        leader
    }
}

fn spawn(args: &[&str]) -> Child {
    StdCommand::new(assert_cmd::cargo::cargo_bin("zczk"))
        .env_remove("ZC_ZK_CONNECTION_STRING")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// 100 groups of 100 nodes with a property each: 10,101 nodes under `/big`.
fn big_tree() -> String {
    let mut text = String::from("/big\n");
    for group in 0..100 {
        text.push_str(&format!("  /g{group}\n"));
        for child in 0..100 {
            text.push_str(&format!("    /c{child}\n      i = {child}\n"));
        }
    }
    text
}

zczk_conformance::needs_ensemble! {
/// The leader is killed in the middle of a 10,000-node import: the import completes or stops
/// with one clear line, and a rerun converges to the tree an import without faults makes.
#[test]
fn an_import_survives_the_leader_killed_midway() {
    let setup = Setup::new("an_import_survives_the_leader_killed_midway");
    let tree = big_tree();
    let reference = setup.chroot("import-reference");
    zczk(&reference).args(["import", "-"]).write_stdin(tree.clone()).assert().success();
    let expected = stdout_of(zczk(&reference).args(["export", "/big"]));
    assert_eq!(expected.matches("i = ").count(), 10_000);

    let faulty = setup.chroot("import-faulty");
    let mut import = spawn(&["import", "--zk", &faulty, "-"]);
    import.stdin.take().unwrap().write_all(tree.as_bytes()).unwrap();
    // Kill the leader once the import has begun writing.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = zczk_zookeeper::connect(&faulty, Duration::from_secs(10)).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while store.exists("/big/g0").await.unwrap().is_none() {
            assert!(Instant::now() < deadline, "the import wrote nothing in 60 s");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        store.close().await.unwrap();
    });
    let killed = setup.kill_leader();
    let output = import.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() || output.status.code() == Some(1), "{:?}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    if !output.status.success() {
        // One error line (log lines, such as a close left unanswered, may come before it).
        let errors: Vec<&str> = stderr.lines().filter(|line| line.starts_with("zczk: ")).collect();
        assert_eq!(errors.len(), 1, "one error line: {stderr}");
        assert!(errors[0].contains("connection lost"), "{stderr}");
    }
    setup.ensemble.start(killed).unwrap();
    zczk(&faulty).args(["import", "-"]).write_stdin(tree).assert().success();
    assert_eq!(stdout_of(zczk(&faulty).args(["export", "/big"])), expected);
}
}

zczk_conformance::needs_ensemble! {
/// `zczk register` holds its ephemeral while each member in turn is killed and restarted: it is
/// there after each restart (back within the session timeout at worst), and gone after SIGTERM.
#[test]
fn a_registration_survives_each_member_restarted_in_turn() {
    let setup = Setup::new("a_registration_survives_each_member_restarted_in_turn");
    let zk = setup.chroot("register");
    zczk(&zk).args(["import", "-"]).write_stdin("/svc\n  /providers\n").assert().success();
    let mut register = spawn(&["register", "--zk", &zk, "/svc/providers", "127.0.0.1:8080"]);
    let mut line = String::new();
    BufReader::new(register.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "/svc/providers/127.0.0.1:8080\n");
    let session_timeout = Duration::from_secs(10);
    for member in 1..=3 {
        setup.ensemble.kill(member).unwrap();
        setup.ensemble.start(member).unwrap();
        let deadline = Instant::now() + session_timeout;
        loop {
            let walk = stdout_of(zczk(&zk).args(["walk", "/svc"]));
            if walk.contains("/svc/providers/127.0.0.1:8080\n") {
                break;
            }
            assert!(Instant::now() < deadline, "gone after member {member} restarted: {walk}");
        }
    }
    StdCommand::new("kill").args(["-TERM", &register.id().to_string()]).status().unwrap();
    let output = register.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // Closed by the leader before register exits; `sync` is not needed: the reading command's
    // session starts after the close, and ZooKeeper never shows a session an older state.
    zczk(&zk).args(["walk", "/svc"]).assert().success().stdout("/svc\n/svc/providers\n");
}
}

zczk_conformance::needs_ensemble! {
/// A live `watch` keeps reporting across a leader change, and ends on the final state.
#[test]
fn a_watch_keeps_reporting_across_a_leader_change() {
    let setup = Setup::new("a_watch_keeps_reporting_across_a_leader_change");
    let zk = setup.chroot("watch");
    zczk(&zk).args(["import", "-"]).write_stdin("/w\n  v = 0\n").assert().success();
    let mut watch = spawn(&["watch", "--zk", &zk, "/w"]);
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let mut next = || serde_json::from_str::<serde_json::Value>(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(next(), serde_json::json!({"path": "/w", "properties": {"v": 0}}));
    let killed = setup.kill_leader();
    // Written while the ensemble elects a new leader: the command waits for it.
    zczk(&zk).args(["set-property", "/w", "v=1"]).assert().success();
    assert_eq!(next(), serde_json::json!({"path": "/w", "properties": {"v": 1}}));
    setup.ensemble.start(killed).unwrap();
    setup.kill_leader();
    zczk(&zk).args(["set-property", "/w", "v=2"]).assert().success();
    assert_eq!(next(), serde_json::json!({"path": "/w", "properties": {"v": 2}}));
    zczk(&zk).args(["delete", "-r", "/w"]).assert().success();
    assert_eq!(next(), serde_json::json!({"path": "/w", "deleted": true}));
    assert!(watch.wait().unwrap().success());
}
}

zczk_conformance::needs_ensemble! {
/// Every kind of command run right after the leader is killed succeeds once a new leader is
/// elected, within its connect timeout.
#[test]
fn commands_run_during_an_election_succeed() {
    let setup = Setup::new("commands_run_during_an_election_succeed");
    let zk = setup.chroot("election");
    zczk(&zk).args(["import", "-"]).write_stdin("/app\n  n = 1\n  /providers\n").assert().success();
    let commands: [&[&str]; 5] = [
        &["get", "/app"],
        &["set-property", "/app", "n=2"],
        &["walk", "/app"],
        &["export", "/app"],
        &["ln", "/app", "/link"],
    ];
    for command in commands {
        let killed = setup.kill_leader();
        zczk(&zk).args(command).assert().success();
        setup.ensemble.start(killed).unwrap();
    }
    assert_eq!(stdout_of(zczk(&zk).args(["export", "/app"])), "/app\n  n = 2\n  /providers\n");
    zczk(&zk).args(["resolve", "/link"]).assert().success().stdout("/app\n");
}
}
