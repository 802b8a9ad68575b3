//! Connecting: a command waits for a session up to its connect timeout, retrying servers that
//! refuse or hang up, and then fails with one line naming every server tried.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn zczk() -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("zczk"));
    command.env_remove("ZC_ZK_CONNECTION_STRING").env_remove("ZC_ZK_AUTH");
    command
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A command started while its server hangs up on every connection (as a server that is
/// starting or electing a leader does), then is not there at all, succeeds once the server
/// comes up within the connect timeout.
#[test]
fn a_command_waits_for_a_server_that_comes_up_within_the_connect_timeout() {
    let hanging_up = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hanging_up.local_addr().unwrap().port();
    let zk = format!("127.0.0.1:{port}");
    let mut walk = zczk()
        .args(["walk", "--zk", &zk, "--connect-timeout", "60", "/"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Two connections, each closed at once: the second proves the first was retried.
    hanging_up.set_nonblocking(true).unwrap();
    let mut accepted = 0;
    while accepted < 2 {
        match hanging_up.accept() {
            Ok((connection, _)) => {
                drop(connection);
                accepted += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(status) = walk.try_wait().unwrap() {
                    let mut stderr = String::new();
                    std::io::Read::read_to_string(&mut walk.stderr.take().unwrap(), &mut stderr).unwrap();
                    panic!("walk gave up ({status}) after {accepted} hang-up(s): {stderr}");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
    drop(hanging_up);
    let mut serve = zczk()
        .args(["serve", "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut address = String::new();
    BufReader::new(serve.stdout.take().unwrap()).read_line(&mut address).unwrap();
    assert_eq!(address.trim(), zk);
    let output = walk.wait_with_output().unwrap();
    serve.kill().unwrap();
    serve.wait().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "/\n/zookeeper\n/zookeeper/config\n/zookeeper/quota\n"
    );
}

/// Nothing answers at any address: after the connect timeout, one line naming each address
/// and why it gave no session.
#[test]
fn dead_servers_fail_after_the_connect_timeout_naming_every_one() {
    let (a, b) = (free_port(), free_port());
    let zk = format!("127.0.0.1:{a},localhost:{b}/app");
    let started = Instant::now();
    let output = zczk().args(["get", "--zk", &zk, "--connect-timeout", "1.5", "/x"]).output().unwrap();
    let waited = started.elapsed();
    assert_eq!(output.status.code(), Some(1));
    assert!(waited >= Duration::from_millis(1500), "gave up after {waited:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        format!(
            "zczk: can't connect to ZooKeeper at {zk}: no session within 1.5 s \
             (127.0.0.1:{a}: connection refused; 127.0.0.1:{b}: connection refused)\n"
        )
    );
}

/// `--session-timeout`, `--connect-timeout`, `--auth` and the TLS files are on every command that
/// connects.
#[test]
fn every_connecting_command_has_the_connection_options() {
    for command in [
        "export",
        "import",
        "set-property",
        "get",
        "resolve",
        "ln",
        "walk",
        "delete",
        "graph",
        "register",
        "watch",
    ] {
        let output = zczk().args([command, "--help"]).output().unwrap();
        let help = String::from_utf8(output.stdout).unwrap();
        for option in [
            "--zk",
            "--session-timeout",
            "--connect-timeout",
            "--auth",
            "--tls-ca",
            "--tls-cert",
            "--tls-key",
        ] {
            assert!(help.contains(option), "zczk {command} --help lacks {option}");
        }
    }
}
