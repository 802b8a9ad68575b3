//! End-to-end tests of the `zczk` commands that talk to ZooKeeper: each runs the built binary
//! against `file:` storage, against a `zczk serve` process, and against the real server in
//! `ZCZK_TEST_ZOOKEEPER` (those are ignored unless run with `--include-ignored`, see
//! `needs_real_server!`).

use std::io::{BufRead, BufReader};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

const TREE: &str = "\
/app : service
  threads = 4
  color = 'red'
  db -> /db
  /providers
/db
  host = 'db.example'
  /providers
";

/// Where a test's commands connect: a `file:` emulator in a temporary directory, a fresh
/// `zczk serve` process, or a fresh chroot on the real server.
pub(crate) struct Target {
    pub(crate) zk: String,
    _dir: Option<TempDir>,
    _served: Option<Served>,
}

fn file_target() -> Target {
    let dir = TempDir::new().unwrap();
    let zk = format!("file:{}", dir.path().join("zk.json").display());
    Target { zk, _dir: Some(dir), _served: None }
}

fn served_target() -> Target {
    let served = Served::start();
    Target { zk: served.zk.clone(), _dir: None, _served: Some(served) }
}

/// A chroot of its own on the real server (see `real_server_address`).
pub(crate) fn real_target(test: &str) -> Target {
    let server = zczk_conformance::real_server_address(test);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let chroot = format!("/zczk-cli-{test}-{}-{nanos}", std::process::id());
    // Create the chroot with the tool itself.
    zczk(&server).args(["import", "-", "/"]).write_stdin(format!("{chroot}\n")).assert().success();
    Target { zk: format!("{server}{chroot}"), _dir: None, _served: None }
}

/// Runs each `fn case(t: &Target)` as three tests: `case::file` on `file:` storage,
/// `case::served` on a `zczk serve` process and `case::zookeeper` on the real server (ignored
/// unless asked for).
macro_rules! on_every_backend {
    ($($case:ident),+ $(,)?) => {$(
        mod $case {
            #[test]
            fn file() {
                super::$case(&super::file_target());
            }

            #[test]
            fn served() {
                super::$case(&super::served_target());
            }

            zczk_conformance::needs_real_server! {
                #[test]
                fn zookeeper() {
                    super::$case(&super::real_target(stringify!($case)));
                }
            }
        }
    )+};
}

/// Runs each `fn case(t: &Target)` as a test `case::zookeeper` on the real server only (ignored
/// unless asked for).
macro_rules! zookeeper_only {
    ($($case:ident),+ $(,)?) => {$(
        mod $case {
            zczk_conformance::needs_real_server! {
                #[test]
                fn zookeeper() {
                    super::$case(&super::real_target(stringify!($case)));
                }
            }
        }
    )+};
}

on_every_backend!(
    import_then_export_round_trips,
    export_acl_then_import_elsewhere_keeps_the_acls,
    dry_run_reports_and_changes_nothing_and_trim_deletes_extras,
    set_property_then_get_resolve_and_ln,
    bad_input_is_one_clear_line_and_changes_nothing,
    graph_of_the_live_tree_matches_the_graph_of_its_file,
    a_tree_of_very_long_names_imports_exports_and_deletes,
    import_refuses_data_one_byte_over_the_limit_naming_the_node,
    digest_acls_from_import_and_refusals_that_say_what_was_missing,
    pick_prints_one_provider,
    import_check_exits_1_when_the_tree_differs,
    register_refuses_an_invalid_name_and_registers_nothing,
);

zookeeper_only!(register_until_terminated_and_delete_keeps_ephemerals, register_takes_any_node_name);

pub(crate) fn zczk(zk: &str) -> Command {
    let mut command = Command::cargo_bin("zczk").unwrap();
    command
        .env_remove("ZC_ZK_CONNECTION_STRING")
        .env("ZC_ZK_CONNECTION_STRING", zk)
        .timeout(Duration::from_secs(60));
    command
}

pub(crate) fn stdout_of(command: &mut Command) -> String {
    let output = command.assert().success().get_output().stdout.clone();
    String::from_utf8(output).unwrap()
}

fn import_then_export_round_trips(t: &Target) {
    zczk(&t.zk).args(["import", "-"]).write_stdin(TREE).assert().success().stdout("");
    let exported = stdout_of(zczk(&t.zk).args(["export", "/"]));
    let expected = "\
/app : service
  color = 'red'
  threads = 4
  db -> /db
  /providers
/db
  host = 'db.example'
  /providers
";
    assert_eq!(exported, expected, "on {}", t.zk);
    // Importing the export again changes nothing and says nothing.
    zczk(&t.zk).args(["import", "-", "/"]).write_stdin(exported.clone()).assert().success().stdout("");
    assert_eq!(stdout_of(zczk(&t.zk).args(["export"])), exported);
    // JSON form.
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(zczk(&t.zk).args(["export", "--format", "json", "/db"]))).unwrap();
    assert_eq!(json["properties"]["host"], "db.example");
}

fn dry_run_reports_and_changes_nothing_and_trim_deletes_extras(t: &Target) {
    zczk(&t.zk).args(["import", "-"]).write_stdin(TREE).assert().success();
    let changed = TREE.replace("threads = 4", "threads = 8").replace("  /providers\n/db", "/db");
    zczk(&t.zk)
        .args(["import", "--dry-run", "-"])
        .write_stdin(changed.clone())
        .assert()
        .success()
        .stdout("/app threads change from 4 to 8\nextra path not trimmed: /app/providers\n");
    assert!(stdout_of(zczk(&t.zk).args(["export"])).contains("threads = 4"));
    zczk(&t.zk).args(["import", "-q", "-"]).write_stdin(changed.clone()).assert().success().stdout("");
    zczk(&t.zk).args(["walk", "/app"]).assert().success().stdout("/app\n/app/providers\n");
    zczk(&t.zk).args(["import", "--trim", "-"]).write_stdin(changed).assert().success().stdout("");
    zczk(&t.zk).args(["walk", "/app"]).assert().success().stdout("/app\n");
}

fn set_property_then_get_resolve_and_ln(t: &Target) {
    zczk(&t.zk).args(["import", "-"]).write_stdin(TREE).assert().success();
    zczk(&t.zk).args(["set-property", "/app/db", "port=5432", "tags=['a', 'b']"]).assert().success();
    // Written to the resolved node, /db.
    let got: serde_json::Value = serde_json::from_str(&stdout_of(zczk(&t.zk).args(["get", "/db"]))).unwrap();
    assert_eq!(got, serde_json::json!({"host": "db.example", "port": 5432, "tags": ["a", "b"]}));
    zczk(&t.zk).args(["resolve", "/app/db/providers"]).assert().success().stdout("/db/providers\n");
    zczk(&t.zk).args(["ln", "/db", "/app/store"]).assert().success();
    zczk(&t.zk).args(["resolve", "/app/store"]).assert().success().stdout("/db\n");
    // A target ending in `/` gets the link's name appended, as upstream's `ln` does.
    zczk(&t.zk).args(["ln", "/db/", "/app/main"]).assert().success();
    let app: serde_json::Value =
        serde_json::from_str(&stdout_of(zczk(&t.zk).args(["get", "--raw", "/app"]))).unwrap();
    assert_eq!(app["main ->"], "/db/main");
    zczk(&t.zk)
        .args(["resolve", "/app/nowhere"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/app/nowhere").and(predicate::str::contains("no such node")));
}

fn bad_input_is_one_clear_line_and_changes_nothing(t: &Target) {
    zczk(&t.zk).args(["import", "-"]).write_stdin(TREE).assert().success();
    let before = stdout_of(zczk(&t.zk).args(["export"]));
    // A bad tree: nothing is written.
    zczk(&t.zk)
        .args(["import", "-"])
        .write_stdin("/new\n  x = 1+2\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("-:2:").and(predicate::str::contains("panicked").not()));
    // A bad value for set-property: a usage error.
    zczk(&t.zk).args(["set-property", "/db", "x=range(3)"]).assert().code(2);
    // A missing file.
    zczk(&t.zk)
        .args(["import", "/no/such/file.zk"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/no/such/file.zk"));
    assert_eq!(stdout_of(zczk(&t.zk).args(["export"])), before);
}

#[test]
fn bad_connection_strings_and_unreachable_servers_are_clear_errors() {
    zczk("127.0.0.1:").args(["export"]).assert().code(1).stderr(
        predicate::str::contains("bad connection string").and(predicate::str::contains("panicked").not()),
    );
    zczk("file:").args(["export"]).assert().code(1).stderr(predicate::str::contains("file:"));
    // Nothing listens on port 1: the error names the address, well within the timeout.
    zczk("127.0.0.1:1")
        .args(["export", "--timeout", "3"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("127.0.0.1:1"));
    // A corrupt file is an error, and is left as it is.
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("zk.json");
    std::fs::write(&file, "not json").unwrap();
    zczk(&format!("file:{}", file.display()))
        .args(["export"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("zk.json"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not json");
}

#[test]
fn usage_errors_exit_2_and_every_command_has_help() {
    Command::cargo_bin("zczk").unwrap().args(["export", "--no-such-flag"]).assert().code(2);
    Command::cargo_bin("zczk").unwrap().args(["delete", "/x"]).assert().code(2);
    for command in [
        "export",
        "import",
        "set-property",
        "get",
        "validate",
        "fmt",
        "resolve",
        "ln",
        "walk",
        "delete",
        "graph",
        "register",
        "watch",
        "completions",
    ] {
        Command::cargo_bin("zczk")
            .unwrap()
            .args([command, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: zczk"));
    }
    Command::cargo_bin("zczk").unwrap().args(["completions", "bash"]).assert().success();
}

#[test]
fn upstream_script_names_take_upstream_arguments() {
    let t = file_target();
    Command::cargo_bin("zookeeper_import").unwrap().args([&t.zk, "-"]).write_stdin(TREE).assert().success();
    Command::cargo_bin("zookeeper_set_property").unwrap().args([&t.zk, "/db", "port=1"]).assert().success();
    let exported = Command::cargo_bin("zookeeper_export").unwrap().args([&t.zk, "/db"]).assert().success();
    let text = String::from_utf8(exported.get_output().stdout.clone()).unwrap();
    assert!(text.contains("port = 1"), "{text}");
    Command::cargo_bin("zookeeper_validate").unwrap().arg("-").write_stdin(TREE).assert().success();
}

/// Starts `zczk register /app/providers ADDR weight=2` and returns once it says it registered.
fn start_register(zk: &str, addr: &str) -> std::process::Child {
    let mut register = StdCommand::new(assert_cmd::cargo::cargo_bin("zczk"))
        .args(["register", "--zk", zk, "/app/providers", addr, "weight=2"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(register.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, format!("/app/providers/{addr}\n"));
    register
}

/// A registration lives while `zczk register` runs; delete keeps it; SIGTERM removes it.
fn register_until_terminated_and_delete_keeps_ephemerals(t: &Target) {
    zczk(&t.zk).args(["import", "-"]).write_stdin(TREE).assert().success();
    let mut register = start_register(&t.zk, "10.0.0.1:80");
    let got: serde_json::Value =
        serde_json::from_str(&stdout_of(zczk(&t.zk).args(["get", "/app/providers/10.0.0.1:80"]))).unwrap();
    assert_eq!(got["weight"], 2);
    zczk(&t.zk).args(["delete", "-r", "/app"]).assert().success().stdout(
        "Not deleting /app/providers/10.0.0.1:80 because it's ephemeral.\n\
         /app/providers not deleted due to ephemeral descendent.\n\
         /app not deleted due to ephemeral descendent.\n",
    );
    // SIGTERM: the session is closed, so the node is gone at once.
    StdCommand::new("kill").args(["-TERM", &register.id().to_string()]).status().unwrap();
    assert!(register.wait().unwrap().success());
    zczk(&t.zk).args(["walk", "/app"]).assert().success().stdout("/app\n/app/providers\n");
}

/// A name that is not an address is registered as it is, as zc.zk does.
fn register_takes_any_node_name(t: &Target) {
    zczk(&t.zk).args(["import", "-"]).write_stdin(TREE).assert().success();
    let mut register = start_register(&t.zk, "worker-1");
    let got: serde_json::Value =
        serde_json::from_str(&stdout_of(zczk(&t.zk).args(["get", "/app/providers/worker-1"]))).unwrap();
    assert_eq!(got["weight"], 2);
    zczk(&t.zk).args(["walk", "--no-ephemeral", "/app"]).assert().success().stdout("/app\n/app/providers\n");
    StdCommand::new("kill").args(["-TERM", &register.id().to_string()]).status().unwrap();
    assert!(register.wait().unwrap().success());
    zczk(&t.zk).args(["walk", "/app"]).assert().success().stdout("/app\n/app/providers\n");
}

/// A name ZooKeeper would refuse is a one-line error naming it; nothing is registered.
fn register_refuses_an_invalid_name_and_registers_nothing(t: &Target) {
    zczk(&t.zk).args(["import", "-"]).write_stdin(TREE).assert().success();
    zczk(&t.zk)
        .args(["register", "/app/providers", "a/b"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("zczk: can't register \"a/b\": a node name cannot contain /\n");
    zczk(&t.zk).args(["walk", "/app"]).assert().success().stdout("/app\n/app/providers\n");
}

fn graph_of_the_live_tree_matches_the_graph_of_its_file(t: &Target) {
    let example = std::fs::read_to_string("examples/services.zk").unwrap();
    zczk(&t.zk).args(["import", "-"]).write_stdin(example).assert().success();
    let live = stdout_of(zczk(&t.zk).args(["graph"]));
    let offline = stdout_of(zczk(&t.zk).args(["graph", "examples/services.zk"]));
    assert!(live.contains(r#""/lb" -> "/web";"#), "{live}");
    assert_eq!(live, offline);
}

#[test]
fn walk_prints_text_or_json() {
    let t = file_target();
    zczk(&t.zk).args(["import", "-"]).write_stdin(TREE).assert().success();
    zczk(&t.zk)
        .args(["walk", "--children", "/db"])
        .assert()
        .success()
        .stdout("/db\t[\"providers\"]\n/db/providers\t[]\n");
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(zczk(&t.zk).args(["walk", "--format", "json", "/db"]))).unwrap();
    assert_eq!(json, serde_json::json!(["/db", "/db/providers"]));
    // `--output`, the old spelling, still works for scripts.
    let old = stdout_of(zczk(&t.zk).args(["walk", "--output", "json", "/db"]));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&old).unwrap(), json);
}

/// The server goes away while `zczk register` holds a session: SIGTERM still ends it promptly,
/// with status 0 and no panic, and the next command fails with one clear line.
#[test]
fn a_server_that_goes_away_mid_command_is_a_clear_error() {
    let served = Served::start();
    let zk = served.zk.clone();
    zczk(&zk).args(["import", "-"]).write_stdin(TREE).assert().success();
    let mut register = StdCommand::new(assert_cmd::cargo::cargo_bin("zczk"))
        .args(["register", "--zk", &zk, "--timeout", "2", "/app/providers", "10.0.0.1:80"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(register.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "/app/providers/10.0.0.1:80\n");
    drop(served);
    StdCommand::new("kill").args(["-TERM", &register.id().to_string()]).status().unwrap();
    let output = register.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    zczk(&zk)
        .args(["export", "--timeout", "2"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(zk.as_str()).and(predicate::str::contains("panicked").not()));
}

/// `zczk watch` prints a line at once and on each change, then `deleted` and exit 0 when the
/// node is gone for good (here on `zczk serve`, which other processes can change meanwhile).
#[test]
fn watch_prints_each_change_until_the_node_is_gone() {
    let served = Served::start();
    let zk = served.zk.clone();
    zczk(&zk).args(["import", "-"]).write_stdin(TREE).assert().success();
    let mut watch = StdCommand::new(assert_cmd::cargo::cargo_bin("zczk"))
        .args(["watch", "--zk", &zk, "/app/db"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let mut next = || serde_json::from_str::<serde_json::Value>(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(next(), serde_json::json!({"path": "/db", "properties": {"host": "db.example"}}));
    zczk(&zk).args(["set-property", "/db", "port=1"]).assert().success();
    assert_eq!(next(), serde_json::json!({"path": "/db", "properties": {"host": "db.example", "port": 1}}));
    zczk(&zk).args(["delete", "-r", "/db"]).assert().success();
    assert_eq!(next(), serde_json::json!({"path": "/db", "deleted": true}));
    assert!(watch.wait().unwrap().success());

    let mut children = StdCommand::new(assert_cmd::cargo::cargo_bin("zczk"))
        .args(["watch", "--zk", &zk, "--children", "/app"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(children.stdout.take().unwrap()).lines();
    let mut next = || serde_json::from_str::<serde_json::Value>(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(next(), serde_json::json!({"path": "/app", "children": ["providers"]}));
    zczk(&zk).args(["delete", "-r", "/app"]).assert().success();
    let last = next();
    let last = if last.get("deleted").is_none() { next() } else { last };
    assert_eq!(last, serde_json::json!({"path": "/app", "deleted": true}));
    assert!(children.wait().unwrap().success());
}

/// The tree of issue 19: two siblings whose names are 600,000 characters long. Reading both in
/// one request is over the server's 1 MB request limit.
fn a_tree_of_very_long_names_imports_exports_and_deletes(t: &Target) {
    let text = format!("/t\n  /{}\n  /{}\n", "a".repeat(600_000), "z".repeat(600_000));
    zczk(&t.zk).args(["import", "-"]).write_stdin(text.clone()).assert().success().stdout("");
    assert!(stdout_of(zczk(&t.zk).args(["export", "/t"])) == text, "export differs on {}", t.zk);
    zczk(&t.zk).args(["delete", "-r", "/t"]).assert().success();
    assert_eq!(stdout_of(zczk(&t.zk).args(["export", "/"])), "\n", "on {}", t.zk);
}

/// Import refuses data one byte over what the server takes for the node (its request length,
/// path and chroot included), naming the node and its size, and writes nothing.
fn import_refuses_data_one_byte_over_the_limit_naming_the_node(t: &Target) {
    // A store to read back from (a file: store is made by the first write).
    zczk(&t.zk).args(["import", "-"]).write_stdin("/keep\n").assert().success();
    let chroot = if t.zk.starts_with("file:") { "" } else { t.zk.find('/').map_or("", |at| &t.zk[at..]) };
    let limit = zczk::store::RequestLimit::with_chroot(chroot);
    let room = limit.max - limit.create("/big", b"", &zczk::store::CreateOptions::default());
    // The node's data is {"x":"..."}: 8 bytes around the value.
    let text = |len: usize| format!("/a\n/big\n  x = '{}'\n", "v".repeat(len - 8));
    zczk(&t.zk)
        .args(["import", "-"])
        .write_stdin(text(room + 1))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("/big: data is {} bytes", room + 1)));
    assert_eq!(stdout_of(zczk(&t.zk).args(["export", "/"])), "/keep\n", "on {}", t.zk);
    zczk(&t.zk).args(["import", "-"]).write_stdin(text(room)).assert().success();
    let got: serde_json::Value = serde_json::from_str(&stdout_of(zczk(&t.zk).args(["get", "/big"]))).unwrap();
    assert_eq!(got["x"].as_str().map(str::len), Some(room - 8), "on {}", t.zk);
}

/// Digest ACLs from `import -p` with `--auth`; another identity, or none, is refused with the
/// node, the permission, the ACL and the session's identities (never the password), and an
/// atomic import refused on one node writes nothing.
fn digest_acls_from_import_and_refusals_that_say_what_was_missing(t: &Target) {
    let hash_id = zczk_emulator::acl::digest_id("admin:s3cret");
    let acl = format!("digest:{hash_id}:cdrwa,world:anyone:r");
    zczk(&t.zk)
        .args(["import", "--auth", "digest:admin:s3cret", "-p", &acl, "-"])
        .write_stdin("/app\n  x = 1\n  /c\n")
        .assert()
        .success();
    let before = stdout_of(zczk(&t.zk).args(["export", "/app"]));
    assert_eq!(before, "/app\n  x = 1\n  /c\n", "on {}", t.zk);
    let refused = |session: &str, permission: &str| {
        format!(
            "zczk: /app: not allowed to {permission} \
             (ACL: digest:admin:..:rwcda, world:anyone:r; this session: {session})\n"
        )
    };
    zczk(&t.zk)
        .args(["set-property", "/app", "x=2"])
        .assert()
        .code(1)
        .stderr(refused("world:anyone", "write"));
    zczk(&t.zk)
        .args(["set-property", "--auth", "digest:intruder:s3cret", "/app", "x=2"])
        .assert()
        .code(1)
        .stderr(refused("world:anyone, digest:intruder", "write"));
    zczk(&t.zk)
        .args(["import", "--atomic", "-"])
        .write_stdin("/app\n  x = 2\n  /c\n  /d\n")
        .assert()
        .code(1)
        .stderr(refused("world:anyone", "create children"));
    assert_eq!(stdout_of(zczk(&t.zk).args(["export", "/app"])), before, "atomic: nothing written");
    zczk(&t.zk)
        .args(["delete", "-r", "/app/c"])
        .assert()
        .code(1)
        .stderr(refused("world:anyone", "delete children"));
    // The identity from ZC_ZK_AUTH.
    zczk(&t.zk)
        .env("ZC_ZK_AUTH", "digest:admin:s3cret")
        .args(["set-property", "/app", "x=3"])
        .assert()
        .success();
    assert_eq!(stdout_of(zczk(&t.zk).args(["get", "/app"])), "{\n  \"x\": 3\n}\n");
    // A malformed identity is refused without being echoed.
    zczk(&t.zk)
        .args(["get", "--auth", "s3cret", "/app"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--auth").and(predicate::str::contains("s3cret").not()));
}

/// `export --acl` prints each node's ACL as `acl` lines that `import` gives back: into a new
/// place (creates) and over nodes with other ACLs (versioned setACL, reported by a dry run).
/// Digest hashes are shown only to an identity with ADMIN; a bad `acl` line, and an atomic
/// import the new ACLs refuse, write nothing.
fn export_acl_then_import_elsewhere_keeps_the_acls(t: &Target) {
    let admin = zczk_emulator::acl::digest_id("admin:s3cret");
    let tree = format!(
        "/app\n  acl digest:{admin}:cdrwa\n  acl world:anyone:r\n  x = 1\n  /c\n    acl world:anyone:cdrwa\n/open\n"
    );
    let auth = ["--auth", "digest:admin:s3cret"];
    zczk(&t.zk).args(["import"]).args(auth).arg("-").write_stdin(tree.clone()).assert().success().stdout("");
    let exported = stdout_of(zczk(&t.zk).args(["export", "--acl"]).args(auth));
    // Entries in the order given, permissions as ZooKeeper's shell prints them.
    let expected = format!(
        "/app\n  acl digest:{admin}:rwcda\n  acl world:anyone:r\n  x = 1\n  /c\n    acl world:anyone:rwcda\n\
         /open\n  acl world:anyone:rwcda\n"
    );
    assert_eq!(exported, expected, "on {}", t.zk);
    let json = stdout_of(zczk(&t.zk).args(["export", "--acl", "--format", "json"]).args(auth).arg("/app"));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["acl"], serde_json::json!([format!("digest:{admin}:rwcda"), "world:anyone:r"]));
    assert_eq!(json["children"]["c"]["acl"], serde_json::json!(["world:anyone:rwcda"]));
    // Without ADMIN on /app, ZooKeeper hides the hash: no export that would lock everyone out.
    zczk(&t.zk).args(["export", "--acl", "/app"]).assert().code(1).stdout("").stderr(
        predicate::str::starts_with("zczk: /app: ZooKeeper hides the hash of ACL entry `digest:admin:..`"),
    );
    // Into another place: /copy/app exists with the open ACL, /copy/app/c and /copy/open do not.
    zczk(&t.zk).args(["import", "-"]).write_stdin("/copy\n  /app\n    x = 1\n").assert().success();
    zczk(&t.zk)
        .args(["import", "--dry-run", "-", "/copy"])
        .write_stdin(exported.clone())
        .assert()
        .success()
        .stdout(format!(
            "/copy/app change ACL from world:anyone:rwcda to digest:{admin}:rwcda, world:anyone:r\n\
             add /copy/app/c\nadd /copy/open\n"
        ));
    zczk(&t.zk)
        .args(["import"])
        .args(auth)
        .args(["-", "/copy"])
        .write_stdin(exported.clone())
        .assert()
        .success();
    let copied = stdout_of(zczk(&t.zk).args(["export", "--acl", "--name", "x"]).args(auth).arg("/copy"));
    let open = "  acl world:anyone:rwcda\n";
    assert_eq!(
        copied,
        format!("/x\n{open}{}", exported.lines().map(|l| format!("  {l}\n")).collect::<String>())
    );
    // Nothing left to change.
    zczk(&t.zk)
        .args(["import", "--check"])
        .args(auth)
        .args(["-", "/copy"])
        .write_stdin(exported)
        .assert()
        .success();
    // The ACL is enforced: without the identity, /copy/app is read-only.
    zczk(&t.zk).args(["set-property", "/copy/app", "x=2"]).assert().code(1);

    // A bad ACL line: its line and column, and nothing written.
    zczk(&t.zk)
        .args(["import", "-"])
        .write_stdin("/bad\n  x = 1\n  acl world:anyone:rx\n")
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("zczk: -:3:20: bad ACL line: expected permissions"));
    // New nodes whose ACL refuses this session children: with --atomic, nothing is written.
    zczk(&t.zk)
        .args(["import", "--atomic", "-"])
        .write_stdin(format!("/locked\n  acl digest:{admin}:cdrwa\n  /child\n"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/locked: not allowed to create children"));
    zczk(&t.zk).args(["walk", "/"]).assert().success().stdout(predicate::str::contains("/bad").not());
    zczk(&t.zk).args(["walk", "/"]).assert().success().stdout(predicate::str::contains("/locked").not());
}

/// `zczk pick` prints one provider of a service, by strategy; exit 1 naming the path when there
/// is none.
fn pick_prints_one_provider(t: &Target) {
    let tree = "/svc\n  /providers\n    /h:2\n    /h:1\n/empty\n  /providers\n";
    zczk(&t.zk).args(["import", "-"]).write_stdin(tree).assert().success();
    zczk(&t.zk)
        .args(["pick", "--strategy", "round-robin", "/svc/providers"])
        .assert()
        .success()
        .stdout("h:1\n");
    let picked = stdout_of(zczk(&t.zk).args(["pick", "/svc/providers"]));
    assert!(["h:1\n", "h:2\n"].contains(&picked.as_str()), "{picked:?}");
    zczk(&t.zk)
        .args(["pick", "/empty/providers"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("zczk: /empty/providers: no providers\n");
    zczk(&t.zk).args(["pick", "/svc/providers", "--strategy", "best"]).assert().code(2);
}

/// `import --check` is a drift check: exit 0 when the tree matches, 1 with the dry-run report
/// when it differs; extras count only with `--trim`. It never writes.
fn import_check_exits_1_when_the_tree_differs(t: &Target) {
    zczk(&t.zk).args(["import", "-"]).write_stdin(TREE).assert().success();
    zczk(&t.zk).args(["import", "--check", "-"]).write_stdin(TREE).assert().code(0).stdout("");
    zczk(&t.zk).args(["set-property", "/app", "threads=8"]).assert().success();
    zczk(&t.zk)
        .args(["import", "--check", "-"])
        .write_stdin(TREE)
        .assert()
        .code(1)
        .stdout("/app threads change from 8 to 4\n")
        .stderr(predicate::str::contains("differs"));
    assert!(stdout_of(zczk(&t.zk).args(["export"])).contains("threads = 8"), "--check changed nothing");
    zczk(&t.zk).args(["set-property", "/app", "threads=4"]).assert().success();
    zczk(&t.zk).args(["import", "-", "/app"]).write_stdin("/extra\n").assert().success();
    // An extra node is reported, but only a difference with --trim.
    zczk(&t.zk)
        .args(["import", "--check", "-"])
        .write_stdin(TREE)
        .assert()
        .code(0)
        .stdout("extra path not trimmed: /app/extra\n");
    zczk(&t.zk)
        .args(["import", "--check", "--trim", "-"])
        .write_stdin(TREE)
        .assert()
        .code(1)
        .stdout("would delete /app/extra.\n");
    zczk(&t.zk).args(["walk", "/app"]).assert().success().stdout("/app\n/app/extra\n/app/providers\n");
}

/// A `zczk serve` process on a free port, killed when dropped.
pub(crate) struct Served {
    child: std::process::Child,
    pub(crate) zk: String,
}

impl Served {
    pub(crate) fn start() -> Self {
        Served::start_with(&[])
    }

    /// A `zczk serve --port 0` with more options.
    pub(crate) fn start_with(options: &[&str]) -> Self {
        let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("zczk"))
            .args(["serve", "--port", "0"])
            .args(options)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut address = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut address).unwrap();
        Served { child, zk: address.trim().to_string() }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `zczk watch` prints a line when a node a property link points at changes, even when the
/// followed value stays the same (as upstream's callbacks are called).
fn watch_prints_a_line_when_a_linked_node_changes(zk: &str) {
    zczk(zk)
        .args(["import", "-"])
        .write_stdin("/a\n  /b\n    x => ../c\n  /c\n    x = 1\n")
        .assert()
        .success();
    let mut watch = Killed(
        StdCommand::new(assert_cmd::cargo::cargo_bin("zczk"))
            .args(["watch", "--zk", zk, "/a/b"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let lines = json_lines(watch.0.stdout.take().unwrap());
    let next = || lines.recv_timeout(Duration::from_secs(20)).expect("a line from zczk watch");
    let line = serde_json::json!({"path": "/a/b", "properties": {"x": 1}});
    assert_eq!(next(), line);
    zczk(zk).args(["set-property", "/a/c", "y=1"]).assert().success();
    assert_eq!(next(), line, "a line for the linked node's change");
    zczk(zk).args(["delete", "-r", "/a/b"]).assert().success();
    assert_eq!(next(), serde_json::json!({"path": "/a/b", "deleted": true}));
    assert!(watch.0.wait().unwrap().success());
}

/// [`watch_prints_a_line_when_a_linked_node_changes`] on `zczk serve` (a live emulator other
/// processes share) and on the real server.
mod watch_prints_a_line_when_a_linked_node_changes {
    #[test]
    fn served() {
        let served = super::Served::start();
        super::watch_prints_a_line_when_a_linked_node_changes(&served.zk);
    }

    zczk_conformance::needs_real_server! {
        #[test]
        fn zookeeper() {
            let target = super::real_target("watch_prints_a_line_when_a_linked_node_changes");
            super::watch_prints_a_line_when_a_linked_node_changes(&target.zk);
        }
    }
}

/// A child process killed when the test ends, even when it fails.
pub(crate) struct Killed(pub(crate) std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The JSON lines a child prints, read on a thread so a test can wait for one with a timeout.
fn json_lines(out: std::process::ChildStdout) -> std::sync::mpsc::Receiver<serde_json::Value> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if send.send(serde_json::from_str(&line).unwrap()).is_err() {
                return;
            }
        }
    });
    receive
}
