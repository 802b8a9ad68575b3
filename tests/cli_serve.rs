//! `zczk serve`'s admission rules from the command line: the control words on a non-loopback
//! listen address only with `--control`, and `--max-client-cnxns`; `--servers 3` and the
//! ensemble's control words, and its reconfiguration by `--super-digest`'s superuser. All traffic is on 127.0.0.1, also to a server bound to 0.0.0.0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `zczk serve`, killed when dropped.
struct Serve {
    child: Child,
    /// The loopback address to reach it by (an ensemble's first member).
    addr: String,
    /// What it printed: its address, or an ensemble's connection string.
    printed: String,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("zczk"))
            .args(["serve", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut listening = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut listening).unwrap();
        let first = listening.trim().split(',').next().unwrap_or_default();
        let port = first.rsplit_once(':').unwrap_or_else(|| panic!("{listening:?}")).1;
        Serve { child, addr: format!("127.0.0.1:{port}"), printed: listening.trim().to_string() }
    }

    /// Sends a four-letter word (with an argument line) and returns the whole answer.
    fn word(&self, command: &str) -> String {
        word_to(&self.addr, command)
    }
}

/// Sends a four-letter word (with an argument line) to `addr` and returns the whole answer.
fn word_to(addr: &str, command: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = stream.write_all(command.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn control_words_need_control_when_listening_beyond_loopback() {
    let open = Serve::start(&["--bind", "0.0.0.0"]);
    for word in ["sess", "expi 0x1\n", "drop 0x1\n"] {
        let answer = open.word(word);
        assert!(answer.starts_with("error: ") && answer.contains("--control"), "{word:?}: {answer:?}");
        assert_eq!(answer.lines().count(), 1, "{answer:?}");
    }
    assert_eq!(open.word("ruok"), "imok");

    let controlled = Serve::start(&["--bind", "0.0.0.0", "--control"]);
    assert_eq!(controlled.word("sess"), "");
    assert_eq!(controlled.word("expi 0x1\n"), "error: no session 0x1\n");

    let local = Serve::start(&[]);
    assert_eq!(local.word("expi 0x1\n"), "error: no session 0x1\n");
}

#[test]
fn max_client_cnxns_closes_one_connection_too_many() {
    let serve = Serve::start(&["--max-client-cnxns", "1"]);
    // An admitted connection that has not spoken yet still counts.
    let held = TcpStream::connect(&serve.addr).unwrap();
    assert_eq!(serve.word("ruok"), "", "a second connection was answered");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    while serve.word("ruok") != "imok" {
        assert!(Instant::now() < deadline, "the closed connection still counts");
    }
}

/// A SIGTERM sent as soon as the address is printed stops the server cleanly: the handler is in
/// place before the address tells anyone the server is there.
#[test]
fn sigterm_right_after_the_address_stops_the_server_cleanly() {
    for _ in 0..10 {
        let mut serve = Serve::start(&[]);
        let pid = serve.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = serve.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "zczk serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(status.success(), "zczk serve ended with {status} on SIGTERM");
    }
}

#[test]
fn servers_3_serves_one_tree_on_three_members_that_the_control_words_stop_and_start() {
    let serve = Serve::start(&["--servers", "3", "--election-time", "0"]);
    let members: Vec<&str> = serve.printed.split(',').collect();
    assert_eq!(members.len(), 3, "{:?}", serve.printed);
    let mode = |member: &str| {
        let srvr = word_to(member, "srvr");
        srvr.lines().find_map(|line| line.strip_prefix("Mode: ")).map(str::to_string)
    };
    assert_eq!(
        members.iter().map(|m| mode(m)).collect::<Vec<_>>(),
        [Some("follower".to_string()), Some("follower".to_string()), Some("leader".to_string())]
    );
    let zczk = crate::cli_zk::zczk;
    zczk(&serve.printed).args(["import", "-"]).write_stdin("/app\n  port = 80\n").assert().success();

    // The leader stops: its port closes, the others elect a new one, and clients go on.
    assert_eq!(serve.word("stop 3\n"), "stopped member 3\n");
    assert!(TcpStream::connect(members[2]).is_err(), "a stopped member's port is open");
    assert_eq!(serve.word("lead"), "2\n");
    let exported = zczk(&serve.printed).args(["export", "/app"]).assert().success();
    assert!(String::from_utf8_lossy(&exported.get_output().stdout).contains("port = 80"));
    assert_eq!(serve.word("boot 3\n"), "started member 3\n");
    assert_eq!(mode(members[2]).as_deref(), Some("follower"));

    // Member 1 cut off serves no one; the rest still have a quorum.
    assert_eq!(word_to(members[1], "isol 1\n"), "isolated member 1\n");
    assert_eq!(word_to(members[0], "srvr"), "This ZooKeeper instance is not currently serving requests\n");
    zczk(&serve.printed).args(["set-property", "/app", "port=81"]).assert().success();
    assert_eq!(serve.word("join 1\n"), "rejoined member 1\n");
    assert_eq!(serve.word("stop 7\n"), "error: no member 7: the members are 1 to 3\n");
}

#[test]
fn serve_help_documents_the_ensemble_and_its_control_words() {
    let help = Command::new(assert_cmd::cargo::cargo_bin("zczk")).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for needle in [
        "--servers <N>",
        "--election-time <MS>",
        "--read-only",
        "stop N",
        "boot N",
        "isol N",
        "elec [MS]",
        "lagg N",
        "--reconfig",
        "--super-digest <USER:HASH>",
    ] {
        assert!(help.contains(needle), "{needle:?} is not in zczk serve --help:\n{help}");
    }
}

#[test]
fn reconfig_lets_the_super_digests_superuser_change_the_membership() {
    // The digest of super:test, as `.ci/zookeeper-ensemble` and kazoo's harness give it.
    let digest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=";
    let serve = Serve::start(&["--servers", "3", "--reconfig", "--super-digest", digest]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let leave = || zookeeper_client::EnsembleUpdate::Incremental {
            joinings: [].iter().copied(),
            leavings: ["1"].iter().copied(),
        };
        let anyone = zookeeper_client::Client::connect(&serve.addr).await.unwrap();
        assert_eq!(anyone.update_ensemble(leave(), None).await.unwrap_err(), zookeeper_client::Error::NoAuth);
        let superuser = zookeeper_client::Client::connector()
            .with_auth("digest", b"super:test")
            .connect(&serve.addr)
            .await
            .unwrap();
        let (data, stat) = superuser.update_ensemble(leave(), None).await.unwrap();
        let text = String::from_utf8(data).unwrap();
        assert!(!text.contains("server.1=") && text.contains("server.2="), "{text}");
        assert!(text.ends_with(&format!("\nversion={:x}", stat.mzxid)), "{text}");
    });
}

#[test]
fn reconfig_needs_an_ensemble_and_the_super_digest_a_user_and_hash() {
    let serve = |args: &[&str]| {
        let out = Command::new(assert_cmd::cargo::cargo_bin("zczk"))
            .args(["serve", "--port", "0"])
            .args(args)
            .output();
        let out = out.unwrap();
        assert!(!out.status.success(), "zczk serve {args:?} started");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    assert!(serve(&["--reconfig"]).contains("--reconfig needs an ensemble"));
    assert!(serve(&["--servers", "3", "--super-digest", "nohash"]).contains("is not USER:HASH"));
}
