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
    // Each error's line comes under it, with a caret under the column.
    assert_eq!(lines.len(), 12, "{stderr}");
    assert!(lines[0].starts_with(&format!("{name}:2:14: bad value: ")), "{stderr}");
    assert_eq!(lines[1..3], ["  2 |   threads = 1+2", "    |              ^"], "{stderr}");
    assert_eq!(
        lines[3..6],
        [
            format!("{name}:4:2: invalid indentation: expected column 1 or 3").as_str(),
            "  4 |  color = 'red'",
            "    |  ^"
        ],
        "{stderr}"
    );
    assert_eq!(
        lines[6..9],
        [
            format!("{name}:5:1: duplicate node `app`: a node of this name is already given above").as_str(),
            "  5 | /app",
            "    | ^"
        ],
        "{stderr}"
    );
    assert_eq!(
        lines[9..12],
        [
            format!("{name}:9:3: duplicate property `ok`: it is already given above for this node").as_str(),
            "  9 |   ok = False",
            "    |   ^"
        ],
        "{stderr}"
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

/// `x = [[...[1]...]]`, `depth` lists deep, under `/a`.
fn nested_value(depth: usize) -> String {
    format!("/a\n  x = {}1{}\n", "[".repeat(depth), "]".repeat(depth))
}

/// Texts that ZooKeeper (or reading node data back) would refuse, each with the position and
/// message both `validate` and `import` must give.
fn refused_texts() -> Vec<(&'static str, Vec<u8>, String)> {
    // The most data a setData of `/big` carries (the path counts against the request limit).
    let limit = zczk_core::store::RequestLimit::default().data_room("/big");
    // `{"x":"..."}` is the string and 8 bytes: this is one byte too many.
    let big = format!("/ok\n/big\n  x = '{}'\n", "a".repeat(limit - 7));
    let refused = |what, text: &[u8], message: &str| (what, text.to_vec(), message.to_string());
    vec![
        refused(
            "slash in a name",
            b"/ok\n  /a/b\n",
            "2:5: invalid node name `a/b`: a node name cannot contain /",
        ),
        refused(
            "dot-dot",
            b"/..\n",
            "1:2: invalid node name `..`: relative paths (. and ..) are not allowed",
        ),
        refused(
            "zookeeper",
            b"/ok\n/zookeeper\n",
            "2:2: `/zookeeper` is in ZooKeeper's own subtree, which is not imported into",
        ),
        refused(
            "control character",
            b"/ok\n  /a\x01b\n",
            "2:5: invalid node name `a\\u{1}b`: invalid character",
        ),
        refused(
            "data over the limit",
            big.as_bytes(),
            &format!("2:1: node data is {} bytes, more than ZooKeeper's limit of {limit} bytes", limit + 1),
        ),
        refused(
            "value too deep",
            nested_value(127).as_bytes(),
            "2:133: bad value: value nested deeper than 126 levels",
        ),
        refused(
            "invalid UTF-8",
            b"/ok\n  x = 1\n  y = '\xff'\n",
            "3:8: invalid UTF-8: byte 0xff is not part of a UTF-8 character (tree text is UTF-8)",
        ),
    ]
}

#[test]
fn validate_and_import_refuse_the_same_texts_with_the_same_message() {
    for (what, text, message) in refused_texts() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("tree.zk");
        std::fs::write(&path, &text).unwrap();
        let name = path.display().to_string();
        let line = message.split(':').next().unwrap();
        let stderr = |command: &mut Command| {
            let output = command.assert().code(1).stdout("").get_output().stderr.clone();
            String::from_utf8(output).unwrap()
        };
        let validated = stderr(zczk().arg("validate").arg(&path));
        let (first, snippet) = validated.split_once('\n').unwrap();
        assert_eq!(first, format!("{name}:{message}"), "{what}");
        // The line in question, and the caret.
        assert_eq!(snippet.lines().count(), 2, "{what}: {validated}");
        assert!(
            snippet.starts_with(&format!("  {line} | ")) && snippet.ends_with("^\n"),
            "{what}: {validated}"
        );
        let imported = stderr(zczk().args(["import", "--zk", "mem:"]).arg(&path));
        assert_eq!(imported, format!("zczk: {validated}"), "{what}");
        // From stdin too, named `-`.
        let output = zczk().args(["validate", "-"]).write_stdin(text).assert().code(1).get_output().clone();
        assert_eq!(String::from_utf8_lossy(&output.stderr), format!("-:{message}\n{snippet}"), "{what}");
    }
}

#[test]
fn a_refused_import_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("zk.json");
    let zk = format!("file:{}", store.display());
    let good = dir.path().join("good.zk");
    std::fs::write(&good, "/ok\n  x = 1\n").unwrap();
    zczk().args(["import", "--zk", &zk]).arg(&good).assert().success();
    let before = std::fs::read(&store).unwrap();
    for (what, text, _) in refused_texts() {
        // Each text would also add `/new`, before the line that is refused.
        let mut text = text;
        text.splice(0..0, b"/new\n".iter().copied());
        let path = dir.path().join("bad.zk");
        std::fs::write(&path, &text).unwrap();
        zczk().args(["import", "--zk", &zk]).arg(&path).assert().code(1);
        assert_eq!(std::fs::read(&store).unwrap(), before, "{what}: the store changed");
    }
}

#[test]
fn validate_checks_as_an_import_into_its_path() {
    let (_dir, path) = file("/zookeeper\n  x = 1\n");
    zczk().arg("validate").arg(&path).assert().code(1);
    zczk().arg("validate").arg(&path).arg("/apps").assert().success().stderr("");
    zczk()
        .arg("validate")
        .arg(&path)
        .arg("/zookeeper")
        .assert()
        .code(1)
        .stderr("zczk: /zookeeper: ZooKeeper's own subtree is not imported into\n");
}

#[test]
fn the_deepest_value_round_trips_through_a_store() {
    let dir = TempDir::new().unwrap();
    let zk = format!("file:{}", dir.path().join("zk.json").display());
    let path = dir.path().join("deep.zk");
    std::fs::write(&path, nested_value(126)).unwrap();
    zczk().args(["import", "--zk", &zk]).arg(&path).assert().success().stdout("");
    // Read back exactly: a dry run finds nothing to change, and export prints the same value.
    zczk().args(["import", "--dry-run", "--zk", &zk]).arg(&path).assert().success().stdout("");
    let exported = zczk().args(["export", "--zk", &zk]).assert().success().get_output().stdout.clone();
    assert_eq!(String::from_utf8(exported).unwrap(), nested_value(126));
    // One level more is refused by set-property too, and nothing changes.
    let deeper = format!("x={}1{}", "[".repeat(127), "]".repeat(127));
    zczk()
        .args(["set-property", "--zk", &zk, "/a", &deeper])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("value nested deeper than 126 levels"));
    zczk().args(["import", "--dry-run", "--zk", &zk]).arg(&path).assert().success().stdout("");
}
