//! End-to-end tests of the commands that work on tree text without connecting: `zczk validate`,
//! `zczk fmt` and `zczk graph`, run as the built binary.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn zczk() -> Command {
    let mut command = Command::cargo_bin("zczk").unwrap();
    // Nothing here may connect: point any connection at a port nobody listens on.
    command.env("ZC_ZK_CONNECTION_STRING", "127.0.0.1:1");
    command
}

/// A file holding `text` in a fresh temporary directory (kept alive by the returned guard).
fn file(text: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("tree.zk");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/services.zk")
}

const INVALID: &str = "\
/app
  threads = 1+2
  /providers
 color = 'red'
/app
  ok = True
/other
  ok = True
  ok = False
";

#[test]
fn validate_valid_file_prints_nothing() {
    let (_dir, path) = file("/a : web\n  x = 1\n  /providers\n");
    zczk().arg("validate").arg(&path).assert().success().stdout("").stderr("");
}

#[test]
fn validate_reports_every_error_with_file_line_and_column() {
    let (_dir, path) = file(INVALID);
    let name = path.display().to_string();
    let output = zczk().arg("validate").arg(&path).assert().code(1).stdout("").get_output().stderr.clone();
    let stderr = String::from_utf8(output).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(lines[0].starts_with(&format!("{name}:2:14: bad value: ")), "{stderr}");
    assert_eq!(lines[1], format!("{name}:4:2: invalid indentation: expected column 1 or 3"));
    assert_eq!(
        lines[2],
        format!("{name}:5:1: duplicate node `app`: a node of this name is already given above")
    );
    assert_eq!(
        lines[3],
        format!("{name}:9:3: duplicate property `ok`: it is already given above for this node")
    );
}

#[test]
fn validate_reads_stdin() {
    zczk().args(["validate", "-"]).write_stdin("/a\n  b = 'x'\n").assert().success().stderr("");
    zczk()
        .args(["validate", "-"])
        .write_stdin("/a\n  b = range(3)\n")
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("-:2:7: bad value: unknown name `range`"));
}

#[test]
fn validate_missing_file_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope.zk");
    zczk()
        .arg("validate")
        .arg(&missing)
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!("zczk: {}: No such file or directory (os error 2)\n", missing.display()));
}

#[test]
fn validate_never_connects() {
    // The environment's connection string points nowhere; validate answers anyway.
    let (_dir, path) = file("/a\n");
    zczk().arg("validate").arg(&path).timeout(std::time::Duration::from_secs(20)).assert().success();
}

#[test]
fn fmt_prints_canonical_form() {
    let (_dir, path) = file(
        "# services\n\
         /web: wsgi\n\
         \x20   /providers\n\
         \x20   db->/db/providers\n\
         \x20   threads = 4\n\
         \x20   color = \"blue\"\n\
         \x20   flags = (true, null, 1.50)\n\
         /db\n\
         \t/providers\n",
    );
    zczk().arg("fmt").arg(&path).assert().success().stderr("").stdout(
        "/db\n\
         \x20 /providers\n\
         # services\n\
         /web : wsgi\n\
         \x20 color = 'blue'\n\
         \x20 flags = [True, None, 1.5]\n\
         \x20 threads = 4\n\
         \x20 db -> /db/providers\n\
         \x20 /providers\n",
    );
}

#[test]
fn fmt_output_is_canonical_and_stable() {
    let (_dir, path) = file("/b\n  z=1\n  a=2\n/a\n");
    let once = zczk().arg("fmt").arg(&path).output().unwrap().stdout;
    let twice = zczk().args(["fmt", "-"]).write_stdin(once.clone()).output().unwrap().stdout;
    assert_eq!(once, twice);
    zczk().args(["fmt", "--check", "-"]).write_stdin(once).assert().success().stdout("").stderr("");
}

#[test]
fn fmt_check_fails_on_text_not_canonical() {
    let (_dir, path) = file("/a\n  y = 1\n  x = 2\n");
    zczk()
        .args(["fmt", "--check"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!("{}: not in canonical form (from line 2; `zczk fmt` prints it)\n", path.display()));
}

#[test]
fn fmt_keeps_comments_with_their_items() {
    let text = "# z first\n/z\n  # why\n  b = 1\n  a = 2\n# a second\n/a\n";
    let canonical = "# a second\n/a\n# z first\n/z\n  a = 2\n  # why\n  b = 1\n";
    zczk().args(["fmt", "-"]).write_stdin(text).assert().success().stdout(canonical);
    zczk().args(["fmt", "--check", "-"]).write_stdin(text).assert().code(1);
    zczk().args(["fmt", "--check", "-"]).write_stdin(canonical).assert().success().stderr("");
}

#[test]
fn fmt_check_passes_on_canonical_text() {
    let (_dir, path) = file("/a\n  x = 2\n  y = 1\n");
    zczk().args(["fmt", "--check"]).arg(&path).assert().success().stdout("").stderr("");
}

#[test]
fn fmt_of_invalid_text_reports_errors() {
    zczk()
        .args(["fmt", "-"])
        .write_stdin("/a\n  oops\n")
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with("-:2:3: unrecognized line"));
}

#[test]
fn graph_prints_dot() {
    let text = "/web\n  db -> /db/providers\n  /providers\n/db\n  /providers\n";
    zczk()
        .args(["graph", "-"])
        .write_stdin(text)
        .assert()
        .success()
        .stdout("digraph g {\n  \"/web\" -> \"/db\";\n}\n");
}

#[test]
fn graph_writes_to_a_file_with_o() {
    let dir = tempfile::TempDir::new().unwrap();
    let out = dir.path().join("g.dot");
    let text = "/web\n  db -> /db/providers\n  /providers\n/db\n  /providers\n";
    zczk().args(["graph", "-", "-o"]).arg(&out).write_stdin(text).assert().success().stdout("");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "digraph g {\n  \"/web\" -> \"/db\";\n}\n");
}

#[test]
fn graph_draws_svg() {
    let output = zczk().args(["graph", "--format", "svg"]).arg(example()).assert().success();
    let svg = String::from_utf8(output.get_output().stdout.clone()).unwrap();
    assert!(svg.contains("<svg "), "an SVG picture: {svg}");
    assert!(svg.trim_end().ends_with("</svg>"));
    // Every service is drawn, each with its name, and each edge is a path with an arrow head.
    for service in ["/lb", "/web", "/cache", "/databases/main"] {
        assert!(svg.contains(&format!(">{service}<")), "{service} is drawn");
    }
    assert_eq!(svg.matches("<path").count(), 3, "three edges: {svg}");
    let empty = zczk().args(["graph", "--format", "svg", "-"]).write_stdin("/a\n").assert().success();
    let empty = String::from_utf8(empty.get_output().stdout.clone()).unwrap();
    assert!(empty.contains("<svg ") && empty.trim_end().ends_with("</svg>"), "an empty picture: {empty}");
}

#[test]
fn graph_of_invalid_text_reports_errors() {
    zczk()
        .args(["graph", "-"])
        .write_stdin("/a\n  x -> a b\n")
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with("-:2:3: bad link format"));
}

#[test]
fn graph_without_a_file_reads_the_live_tree() {
    // Nothing listens on port 1: a clear error naming the address, no output.
    zczk()
        .args(["graph", "--zk", "127.0.0.1:1", "--timeout", "2"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("127.0.0.1:1"));
}

#[test]
fn example_tree_is_valid_canonical_and_graphs() {
    zczk().arg("validate").arg(example()).assert().success().stderr("");
    zczk().args(["fmt", "--check"]).arg(example()).assert().success().stderr("");
    zczk().arg("graph").arg(example()).assert().success().stdout(
        "digraph g {\n  \"/lb\" -> \"/web\";\n  \"/web\" -> \"/cache\";\n  \"/web\" -> \"/databases/main\";\n}\n",
    );
}
