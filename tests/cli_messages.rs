//! Error messages stay one short line whatever they quote (long names, paths, connection
//! strings, many failed writes), a parse error's line shown under it stays short, and stderr
//! gets no colour codes when it is not a terminal.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use tempfile::TempDir;

/// The most bytes an error line may take.
const SHORT: usize = 600;

fn zczk(zk: &str) -> Command {
    let mut command = Command::cargo_bin("zczk").unwrap();
    command.env("ZC_ZK_CONNECTION_STRING", zk).timeout(Duration::from_secs(60));
    command
}

/// Runs a command that must fail with status 1 and returns its stderr, after checking that
/// its message is one short line. Only a parse error's message (`FILE:LINE:COLUMN: ...`) is
/// followed by more: that line of the text, cut short too, and a caret under the column.
fn one_short_error(command: &mut Command) -> String {
    let output = command.assert().code(1).get_output().clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let (message, snippet) = stderr.split_once('\n').unwrap_or((&stderr, ""));
    assert!(message.len() <= SHORT, "{} bytes: {}...", message.len(), &message[..SHORT.min(message.len())]);
    assert!(message.starts_with("zczk: ") && stderr.ends_with('\n'), "{stderr}");
    if !snippet.is_empty() {
        let first = snippet.lines().next().unwrap();
        let line = first.trim_start().split_once(" | ").map_or("", |(number, _)| number);
        assert!(message.contains(&format!(":{line}:")) && !line.is_empty(), "not a parse error: {stderr}");
        assert_eq!(snippet.lines().count(), 2, "{stderr}");
        assert!(snippet.len() <= SHORT, "{} bytes: {snippet}", snippet.len());
    }
    stderr
}

fn file_store() -> (TempDir, String) {
    let dir = TempDir::new().unwrap();
    let zk = format!("file:{}", dir.path().join("zk.json").display());
    (dir, zk)
}

#[test]
fn long_names_are_cut_short_in_errors() {
    let (_dir, zk) = file_store();
    // A store to read from (reading one that does not exist is an error of its own).
    zczk(&zk).args(["import", "-"]).write_stdin("/a\n").assert().success();
    // A path argument (an argument can hold at most 128 KiB).
    let name = format!("/{}", "n".repeat(100_000));
    let stderr = one_short_error(zczk(&zk).args(["get", &name]));
    assert!(
        stderr.contains("/nnnn") && stderr.contains("...") && stderr.contains("no such node"),
        "{stderr}"
    );
    // A node name from tree text, far over the request size limit.
    let text = format!("/{}x\n", "m".repeat(2_000_000));
    let stderr = one_short_error(zczk(&zk).args(["import", "-"]).write_stdin(text));
    assert!(
        stderr.contains("`mmmm")
            && stderr.contains("mx`")
            && stderr.contains("longer than a ZooKeeper request"),
        "{stderr}"
    );
    // A connection string.
    let bad = format!("{}:99999", "h".repeat(100_000));
    let stderr = one_short_error(zczk(&bad).args(["get", "/"]));
    assert!(stderr.contains("bad connection string \"hhh"), "{stderr}");
    // A file: store path too long for the file system.
    let stderr = one_short_error(zczk(&format!("file:/tmp/{}", "f".repeat(100_000))).args(["export"]));
    assert!(stderr.contains("/tmp/fff") && stderr.contains("..."), "{stderr}");
}

#[test]
fn a_failed_import_names_a_few_nodes_in_one_short_line() {
    let (_dir, zk) = file_store();
    // A node that lets nobody create below it; then 300 children with long names.
    zczk(&zk).args(["import", "-p", "r", "-"]).write_stdin("/locked\n").assert().success();
    let mut text = String::from("/locked\n");
    for i in 0..300 {
        text.push_str(&format!("  /child-{i}-{}\n", "c".repeat(500)));
    }
    let stderr = one_short_error(zczk(&zk).args(["import", "-"]).write_stdin(text));
    assert!(stderr.contains("/locked: not allowed to create children (ACL: world:anyone:r"), "{stderr}");
}

#[test]
fn mem_takes_no_chroot() {
    let stderr = one_short_error(zczk("mem:/app").args(["walk", "/"]));
    assert!(stderr.contains("mem: takes no chroot") && !stderr.contains("the port"), "{stderr}");
}

/// Log lines (here `zczk serve`'s warning about an unknown four-letter word) carry no ANSI
/// colour codes when stderr is a pipe.
#[test]
fn no_colour_codes_on_a_stderr_that_is_not_a_terminal() {
    let mut serve = StdCommand::new(assert_cmd::cargo::cargo_bin("zczk"))
        .args(["serve", "--port", "0"])
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut address = String::new();
    BufReader::new(serve.stdout.take().unwrap()).read_line(&mut address).unwrap();
    TcpStream::connect(address.trim()).unwrap().write_all(b"zzzz").unwrap();
    let mut log = BufReader::new(serve.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("unknown four-letter word") {
        line.clear();
        assert_ne!(log.read_line(&mut line).unwrap(), 0, "zczk serve ended without the warning");
    }
    serve.kill().unwrap();
    serve.wait().unwrap();
    assert!(!line.contains('\x1b'), "{line:?}");
}

/// The log of a `zczk serve` run on a terminal (a pseudo-terminal from `script`) until its
/// warning about an unknown four-letter word; `NO_COLOR` set to `no_color` when given.
fn log_on_a_terminal(no_color: Option<&str>) -> String {
    let serve = format!("timeout 3 {} serve --port 0", assert_cmd::cargo::cargo_bin("zczk").display());
    let mut script = StdCommand::new("script");
    script.args(["-qec", &serve, "/dev/null"]).env_remove("NO_COLOR").env_remove("ZCZK_LOG");
    if let Some(value) = no_color {
        script.env("NO_COLOR", value);
    }
    let mut script = script.stdin(Stdio::null()).stdout(Stdio::piped()).spawn().unwrap();
    let mut terminal = BufReader::new(script.stdout.take().unwrap());
    let mut address = String::new();
    terminal.read_line(&mut address).unwrap();
    TcpStream::connect(address.trim()).unwrap().write_all(b"zzzz").unwrap();
    let mut line = String::new();
    while !line.contains("unknown four-letter word") {
        line.clear();
        assert_ne!(terminal.read_line(&mut line).unwrap(), 0, "zczk serve ended without the warning");
    }
    script.wait().unwrap();
    line
}

/// On a terminal the log is coloured, unless `NO_COLOR` is set to anything but the empty string.
/// (tracing-subscriber checks `NO_COLOR` itself, but only when not told whether to colour; this
/// guards the CLI's own choice, which overrides it.)
#[test]
fn no_colour_codes_with_no_color_even_on_a_terminal() {
    assert!(log_on_a_terminal(None).contains("\x1b["), "no colours on a terminal");
    assert!(log_on_a_terminal(Some("")).contains("\x1b["), "an empty NO_COLOR turned colours off");
    let line = log_on_a_terminal(Some("1"));
    assert!(!line.contains('\x1b'), "{line:?}");
}

/// `zczk validate FILE` run on a terminal (a pseudo-terminal from `script`), `NO_COLOR` set
/// to `no_color` when given: what it printed.
fn validate_on_a_terminal(file: &std::path::Path, no_color: Option<&str>) -> String {
    let validate = format!("{} validate {}", assert_cmd::cargo::cargo_bin("zczk").display(), file.display());
    let mut script = StdCommand::new("script");
    script.args(["-qec", &validate, "/dev/null"]).env_remove("NO_COLOR");
    if let Some(value) = no_color {
        script.env("NO_COLOR", value);
    }
    let output = script.stdin(Stdio::null()).output().unwrap();
    String::from_utf8(output.stdout).unwrap()
}

/// A parse error's line and caret are coloured on a terminal only, as the log is; the message
/// line stays as it is.
#[test]
fn parse_error_snippets_are_coloured_on_a_terminal_only() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("bad.zk");
    std::fs::write(&file, "/a\n  x = 1+2\n").unwrap();
    let coloured = validate_on_a_terminal(&file, None);
    let message = format!("{}:2:8: bad value: ", file.display());
    assert!(coloured.starts_with(&message) && coloured.contains("\x1b[1;31m^\x1b[0m"), "{coloured:?}");
    let plain = validate_on_a_terminal(&file, Some("1"));
    assert!(
        plain.starts_with(&message) && plain.contains("|        ^") && !plain.contains('\x1b'),
        "{plain:?}"
    );
    let piped =
        StdCommand::new(assert_cmd::cargo::cargo_bin("zczk")).arg("validate").arg(&file).output().unwrap();
    let piped = String::from_utf8(piped.stderr).unwrap();
    assert!(piped.contains("  2 |   x = 1+2\n    |        ^\n") && !piped.contains('\x1b'), "{piped:?}");
}
