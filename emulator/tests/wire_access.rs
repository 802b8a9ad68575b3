//! Who may use the served emulator: the control words (`sess`, `expi`, `drop`) only on a
//! loopback listen address unless enabled, and at most `max_client_cnxns` connections from
//! one client address, as ZooKeeper's `maxClientCnxns`. All traffic stays on 127.0.0.1; a
//! server bound to 0.0.0.0 is reached through 127.0.0.1 and still judged by its listen address.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zczk_emulator::wire::proto::{op, ConnectRequest};
use zczk_emulator::wire::{Control, ServerHandle, ServerOptions};
use zczk_emulator::Emulator;

use crate::wire_support::{create_body, Raw, MUST};

/// A server listening on `bind` (port 0), and the loopback address to reach it by.
async fn served(bind: &str, options: ServerOptions) -> (ServerHandle, String) {
    let server = zczk_emulator::serve_with((bind, 0), Emulator::new(), options).await.unwrap();
    let addr = format!("127.0.0.1:{}", server.local_addr().port());
    (server, addr)
}

/// Sends a four-letter word (with an argument line) and returns the whole answer.
async fn four_letter_word(addr: &str, command: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(command.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(MUST, stream.read_to_string(&mut answer)).await.unwrap().unwrap();
    answer
}

/// Opens a connection and sends a connect request: true when the server answers it, false
/// when it closes the connection without a word.
async fn answers_a_connect(addr: &str) -> bool {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout_ms: 4000,
        session_id: 0,
        password: vec![0; 16],
        read_only: false,
    };
    // The server may have closed already: the write's outcome does not matter, the read's does.
    let _ = stream.write_all(&request.encode()).await;
    let mut len = [0; 4];
    tokio::time::timeout(MUST, stream.read_exact(&mut len)).await.expect("no answer").is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_words_are_refused_when_listening_beyond_loopback() {
    let (_server, addr) = served("0.0.0.0", ServerOptions::default()).await;
    let (mut c, connected) = Raw::session(&addr, 4000).await;
    let id = format!("{:#x}", connected.session_id);
    for word in ["sess".to_string(), format!("expi {id}\n"), format!("drop {id}\n")] {
        let answer = four_letter_word(&addr, &word).await;
        assert!(answer.starts_with("error: ") && answer.contains("--control"), "{word}: {answer:?}");
        assert!(!answer.contains(&id), "{word} told the session id: {answer:?}");
    }
    // The session was neither expired nor dropped; the health checks stay open.
    let (reply, _) = c.call(op::CREATE, create_body("/still-here", b"", 0)).await;
    assert_eq!(reply.err, 0);
    assert_eq!(four_letter_word(&addr, "ruok").await, "imok");
    assert!(four_letter_word(&addr, "srvr").await.contains("Connections: 1\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_words_work_beyond_loopback_when_enabled_and_on_loopback_by_default() {
    let enabled = ServerOptions { control: Control::Enabled, ..ServerOptions::default() };
    let (_server, addr) = served("0.0.0.0", enabled).await;
    let (mut c, connected) = Raw::session(&addr, 4000).await;
    let id = format!("{:#x}", connected.session_id);
    assert_eq!(four_letter_word(&addr, "sess").await, format!("{id}\n"));
    assert!(four_letter_word(&addr, &format!("expi {id}\n")).await.starts_with("expired"));
    assert!(c.closed().await, "expi left the connection open");

    let (_server, addr) = served("127.0.0.1", ServerOptions::default()).await;
    let (_c, connected) = Raw::session(&addr, 4000).await;
    assert_eq!(four_letter_word(&addr, "sess").await, format!("{:#x}\n", connected.session_id));

    let disabled = ServerOptions { control: Control::Disabled, ..ServerOptions::default() };
    let (_server, addr) = served("127.0.0.1", disabled).await;
    assert!(four_letter_word(&addr, "sess").await.starts_with("error: "));
}

/// The default cap is ZooKeeper's: 60 connections from one address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_sixty_connections_by_default() {
    let (_server, addr) = served("127.0.0.1", ServerOptions::default()).await;
    let mut open = Vec::new();
    for _ in 0..60 {
        open.push(Raw::session(&addr, 4000).await.0);
    }
    assert!(!answers_a_connect(&addr).await, "the 61st connection was served");
    // Once one closes, there is room again.
    drop(open.pop());
    let deadline = tokio::time::Instant::now() + MUST;
    while !answers_a_connect(&addr).await {
        assert!(tokio::time::Instant::now() < deadline, "a closed connection still counts");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_client_cnxns_caps_connections_per_address_and_zero_lifts_the_cap() {
    let capped = ServerOptions { max_client_cnxns: 2, ..ServerOptions::default() };
    let (_server, addr) = served("127.0.0.1", capped).await;
    let (first, _) = Raw::session(&addr, 4000).await;
    let (_second, _) = Raw::session(&addr, 4000).await;
    assert!(!answers_a_connect(&addr).await, "the third connection was served");
    // A four-letter word is a connection too, as on ZooKeeper.
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let _ = stream.write_all(b"ruok").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(MUST, stream.read_to_end(&mut answer)).await.unwrap();
    assert!(answer.is_empty(), "ruok was answered over the cap");
    drop(first);
    let deadline = tokio::time::Instant::now() + MUST;
    while !answers_a_connect(&addr).await {
        assert!(tokio::time::Instant::now() < deadline, "a closed connection still counts");
    }

    let unlimited = ServerOptions { max_client_cnxns: 0, ..ServerOptions::default() };
    let (_server, addr) = served("127.0.0.1", unlimited).await;
    let mut open = Vec::new();
    for _ in 0..61 {
        open.push(Raw::session(&addr, 4000).await.0);
    }
    assert!(answers_a_connect(&addr).await);
}
