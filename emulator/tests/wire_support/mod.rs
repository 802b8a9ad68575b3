//! A bare ZooKeeper wire client for tests: sends single records and reads raw replies, so
//! tests can check the bytes a server answers and feed it bad input.

#![allow(dead_code)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zczk_emulator::wire::jute::{Reader, Writer};
use zczk_emulator::wire::proto::ConnectRequest;

/// How long a test waits for a reply that must come.
pub const MUST: Duration = Duration::from_secs(5);

/// The connect response fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    pub timeout_ms: i32,
    pub session_id: i64,
    pub password: Vec<u8>,
}

/// A reply or notification frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub xid: i32,
    pub zxid: i64,
    pub err: i32,
    pub body: Vec<u8>,
}

impl Frame {
    /// Reads the body as a watch notification: (type, state, path).
    pub fn event(&self) -> (i32, i32, String) {
        let mut r = Reader::new(&self.body);
        (r.i32("type").unwrap(), r.i32("state").unwrap(), r.string("path").unwrap().to_string())
    }
}

/// One raw connection.
pub struct Raw {
    pub stream: TcpStream,
    next_xid: i32,
}

impl Raw {
    /// Opens a TCP connection without the handshake.
    pub async fn tcp(addr: &str) -> Raw {
        Raw { stream: TcpStream::connect(addr).await.expect("connecting"), next_xid: 1 }
    }

    /// Connects and performs the handshake; `None` when the server closed without answering.
    pub async fn handshake(
        self,
        session_id: i64,
        password: &[u8],
        timeout_ms: i32,
    ) -> (Raw, Option<Connected>) {
        let (raw, connected) = self.handshake_as(session_id, password, timeout_ms, false).await;
        (raw, connected.map(|(connected, _)| connected))
    }

    /// A new session from a client that accepts a read-only server; the server's answer with
    /// its read-only flag, `None` when it closed without answering.
    pub async fn read_only_session(addr: &str, timeout_ms: i32) -> (Raw, Option<(Connected, bool)>) {
        Raw::tcp(addr).await.handshake_as(0, &[0; 16], timeout_ms, true).await
    }

    async fn handshake_as(
        mut self,
        session_id: i64,
        password: &[u8],
        timeout_ms: i32,
        read_only: bool,
    ) -> (Raw, Option<(Connected, bool)>) {
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms,
            session_id,
            password: password.to_vec(),
            read_only,
        };
        self.stream.write_all(&request.encode()).await.unwrap();
        let Some(payload) = self.read_payload().await else {
            return (self, None);
        };
        let mut r = Reader::new(&payload);
        let _version = r.i32("protocolVersion").unwrap();
        let timeout_ms = r.i32("timeOut").unwrap();
        let session_id = r.i64("sessionId").unwrap();
        let password = r.buffer("passwd").unwrap().to_vec();
        let read_only = r.remaining() > 0 && r.bool("readOnly").unwrap();
        (self, Some((Connected { timeout_ms, session_id, password }, read_only)))
    }

    /// A new session with this timeout.
    pub async fn session(addr: &str, timeout_ms: i32) -> (Raw, Connected) {
        let (raw, connected) = Raw::tcp(addr).await.handshake(0, &[0; 16], timeout_ms).await;
        (raw, connected.expect("the server answered the handshake"))
    }

    async fn read_payload(&mut self) -> Option<Vec<u8>> {
        let mut len = [0; 4];
        tokio::time::timeout(MUST, self.stream.read_exact(&mut len)).await.expect("no answer").ok()?;
        let mut payload = vec![0; i32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut payload).await.ok()?;
        Some(payload)
    }

    /// Sends a request with the next xid; returns the xid.
    pub async fn send(&mut self, kind: i32, body: impl FnOnce(&mut Writer)) -> i32 {
        let xid = self.next_xid;
        self.next_xid += 1;
        self.send_xid(xid, kind, body).await;
        xid
    }

    /// Sends a request with a given xid.
    pub async fn send_xid(&mut self, xid: i32, kind: i32, body: impl FnOnce(&mut Writer)) {
        let mut w = Writer::default();
        w.i32(xid).i32(kind);
        body(&mut w);
        self.send_raw(&w.buf).await;
    }

    /// Sends one frame with this payload.
    pub async fn send_raw(&mut self, payload: &[u8]) {
        let mut bytes = (payload.len() as i32).to_be_bytes().to_vec();
        bytes.extend_from_slice(payload);
        let _ = self.stream.write_all(&bytes).await;
    }

    /// The next frame, or `None` once the server closed the connection.
    pub async fn recv(&mut self) -> Option<Frame> {
        let payload = self.read_payload().await?;
        let mut r = Reader::new(&payload);
        let xid = r.i32("xid").unwrap();
        let zxid = r.i64("zxid").unwrap();
        let err = r.i32("err").unwrap();
        Some(Frame { xid, zxid, err, body: payload[16..].to_vec() })
    }

    /// Sends a request and returns its reply, with the notifications that came before it.
    pub async fn call(&mut self, kind: i32, body: impl FnOnce(&mut Writer)) -> (Frame, Vec<Frame>) {
        let xid = self.send(kind, body).await;
        self.reply_to(xid).await
    }

    /// Reads up to the reply to `xid`.
    pub async fn reply_to(&mut self, xid: i32) -> (Frame, Vec<Frame>) {
        let mut events = Vec::new();
        loop {
            let frame = self.recv().await.expect("the connection closed before the reply");
            if frame.xid == xid {
                return (frame, events);
            }
            assert_eq!(frame.xid, -1, "a reply to another request came first: {frame:?}");
            events.push(frame);
        }
    }

    /// True when the server closes the connection within `MUST` (reading and dropping what
    /// it still sends).
    pub async fn closed(&mut self) -> bool {
        let mut buf = [0; 4096];
        let deadline = tokio::time::Instant::now() + MUST;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// `create` body: path, data, open ACL, flags.
pub fn create_body<'a>(path: &'a str, data: &'a [u8], flags: i32) -> impl FnOnce(&mut Writer) + 'a {
    move |w| {
        w.string(path).buffer(data).acls(&zczk_core::store::Acl::open()).i32(flags);
    }
}
