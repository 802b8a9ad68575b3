//! Servers started with a `jute.maxbuffer` larger than ZooKeeper's default: zczk writes node
//! data up to their limit when told it (`--jute-maxbuffer`), refuses one byte more naming the
//! node, and without being told keeps to the default limit. Run on `zczk serve` and on a real
//! ZooKeeper started here (ignored without the Debian package's jar).

use predicates::prelude::*;

use crate::cli_zk::Served;
use crate::private_server::{zczk, PrivateServer};

/// The servers' limit in these tests: 4 MiB.
const MAX: usize = 4 << 20;

fn writes_up_to_the_servers_limit_when_told_it(zk: &str) {
    let flag = ["--jute-maxbuffer", &MAX.to_string()];
    let limit = zczk::store::RequestLimit { max: MAX, chroot: 0 };
    let room = limit.max - limit.create("/big", b"", &zczk::store::CreateOptions::default());
    // The node's data is {"x":"..."}: 8 bytes around the value.
    let text = |len: usize| format!("/big\n  x = '{}'\n", "v".repeat(len - 8));
    let nothing_written = || zczk(zk).args(["get", "/big"]).assert().code(1);

    // Not told: the default limit holds, before anything is sent.
    let default_room = zczk::store::RequestLimit::default().max;
    zczk(zk)
        .args(["import", "-"])
        .write_stdin(text(2 << 20))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("-:1:1: node data is {} bytes", 2 << 20)));
    nothing_written();
    assert!(room > default_room, "the test writes more than the default allows");

    // Told: one byte over the servers' limit is refused, naming the node, and writes nothing.
    zczk(zk)
        .args(["import", "-"])
        .args(flag)
        .write_stdin(text(room + 1))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("/big: data is {} bytes", room + 1)));
    nothing_written();

    // Exactly the limit is written, and reads back the same (reading needs no flag).
    zczk(zk).args(["import", "-"]).args(flag).write_stdin(text(room)).assert().success();
    let got = zczk(zk).args(["get", "/big"]).assert().success().get_output().stdout.clone();
    let got: serde_json::Value = serde_json::from_slice(&got).unwrap();
    assert_eq!(got["x"].as_str(), Some("v".repeat(room - 8).as_str()), "on {zk}");
}

#[test]
fn zczk_serve_with_a_larger_jute_maxbuffer() {
    let served = Served::start_with(&["--jute-maxbuffer", &MAX.to_string()]);
    writes_up_to_the_servers_limit_when_told_it(&served.zk);
}

#[test]
fn validate_checks_node_data_against_the_servers_limit_when_told_it() {
    let text = format!("/big\n  x = '{}'\n", "v".repeat(2 << 20));
    zczk("mem:")
        .args(["validate", "-"])
        .write_stdin(text.clone())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("-:1:1: node data is"));
    zczk("mem:")
        .args(["validate", "-", "--jute-maxbuffer", &MAX.to_string()])
        .write_stdin(text)
        .assert()
        .success();
    zczk("mem:")
        .args(["validate", "-", "--jute-maxbuffer", "1023"])
        .write_stdin("/a\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--jute-maxbuffer"));
}

#[test]
fn jute_maxbuffer_is_refused_for_an_emulator_connection() {
    zczk("mem:")
        .args(["get", "/", "--jute-maxbuffer", "4194304"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("jute.maxbuffer is for a real ZooKeeper"));
}

zczk_zookeeper::needs_zookeeper_jar! {
#[test]
fn a_real_server_with_a_larger_jute_maxbuffer() {
    let test = "a_real_server_with_a_larger_jute_maxbuffer";
    let dir = PrivateServer::prepare(test);
    let jvm = [format!("-Djute.maxbuffer={MAX}")];
    let server = PrivateServer::start(test, dir, "", &jvm, &[]);
    writes_up_to_the_servers_limit_when_told_it(&server.plain);
}
}
