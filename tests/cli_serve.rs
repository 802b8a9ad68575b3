//! `zczk serve`'s admission rules from the command line: the control words on a non-loopback
//! listen address only with `--control`, and `--max-client-cnxns`. All traffic is on
//! 127.0.0.1, also to a server bound to 0.0.0.0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `zczk serve`, killed when dropped.
struct Serve {
    child: Child,
    /// The loopback address to reach it by.
    addr: String,
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
        let port = listening.trim().rsplit_once(':').unwrap_or_else(|| panic!("{listening:?}")).1;
        Serve { child, addr: format!("127.0.0.1:{port}") }
    }

    /// Sends a four-letter word (with an argument line) and returns the whole answer.
    fn word(&self, command: &str) -> String {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = stream.write_all(command.as_bytes());
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    }
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
