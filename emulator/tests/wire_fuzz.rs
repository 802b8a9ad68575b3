//! Hostile input: random bytes, random and mutated frames, truncated frames and absurd lengths.
//! Each may close its own connection, but the server stays up, keeps its memory bounded, and
//! answers a well-formed client afterwards.

use std::time::Duration;

use crate::wire_support::{create_body, Raw};
use tokio::io::AsyncWriteExt;
use zczk_emulator::wire::jute::{Reader, Writer};
use zczk_emulator::wire::proto::op;
use zczk_emulator::Emulator;

/// A small deterministic generator (xorshift64*), so a failure can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Well-formed requests to mutate.
fn valid_requests() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut push = |kind: i32, body: &dyn Fn(&mut Writer)| {
        let mut w = Writer::default();
        w.i32(1).i32(kind);
        body(&mut w);
        out.push(w.buf);
    };
    push(op::CREATE2, &|w| create_body("/fuzz", b"data", 0)(w));
    push(op::GET_DATA, &|w| {
        w.string("/fuzz").bool(true);
    });
    push(op::SET_DATA, &|w| {
        w.string("/fuzz").buffer(b"x").i32(-1);
    });
    push(op::GET_CHILDREN2, &|w| {
        w.string("/").bool(true);
    });
    push(op::MULTI, &|w| {
        w.i32(op::CREATE).bool(false).i32(-1);
        create_body("/fuzz/m", b"", 1)(w);
        w.i32(op::CHECK).bool(false).i32(-1).string("/fuzz").i32(0);
        w.i32(-1).bool(true).i32(-1);
    });
    push(op::SET_WATCHES2, &|w| {
        w.i64(0).strings(&["/a"]).strings(&["/b"]).strings(&["/c"]).strings(&["/d"]).strings(&["/e"]);
    });
    push(op::SET_ACL, &|w| {
        w.string("/fuzz").acls(&zczk_core::store::Acl::open()).i32(-1);
    });
    push(op::AUTH, &|w| {
        w.i32(0).string("digest").buffer(b"u:p");
    });
    out
}

/// One hostile connection, chosen by `rng`. Returns once the server closed it or it was left.
async fn attack(addr: &str, rng: &mut Rng, valid: &[Vec<u8>]) {
    let scenario = rng.below(7);
    let mut raw = Raw::tcp(addr).await;
    match scenario {
        // Random bytes instead of a handshake.
        0 => {
            let n = rng.below(200) as usize;
            let junk = rng.bytes(n);
            let _ = raw.stream.write_all(&junk).await;
        }
        // Lengths no frame may have: negative, or far over jute.maxbuffer.
        1 => {
            let len: i32 = if rng.below(2) == 0 {
                -(rng.below(1000) as i32) - 1
            } else {
                i32::MAX - rng.below(1000) as i32
            };
            let _ = raw.stream.write_all(&len.to_be_bytes()).await;
            assert!(raw.closed().await, "the server waited for a frame of length {len}");
            return;
        }
        // A frame cut short by the client going away.
        2 => {
            let (mut raw, _) = raw.handshake(0, &[0; 16], 4000).await;
            let _ = raw.stream.write_all(&100i32.to_be_bytes()).await;
            let n = rng.below(99) as usize;
            let junk = rng.bytes(n);
            let _ = raw.stream.write_all(&junk).await;
            return;
        }
        // Random payloads in well-formed frames, after a handshake.
        3 => {
            let (mut raw, _) = raw.handshake(0, &[0; 16], 4000).await;
            for _ in 0..rng.below(5) + 1 {
                let n = rng.below(64) as usize;
                raw.send_raw(&rng.bytes(n)).await;
            }
            raw = drain(raw).await;
            drop(raw);
            return;
        }
        // Valid requests with some bytes flipped, cut or extended.
        4 | 5 => {
            let (mut raw, _) = raw.handshake(0, &[0; 16], 4000).await;
            for _ in 0..rng.below(8) + 1 {
                let mut frame = valid[rng.below(valid.len() as u64) as usize].clone();
                match rng.below(3) {
                    0 => {
                        for _ in 0..rng.below(4) + 1 {
                            let i = rng.below(frame.len() as u64) as usize;
                            frame[i] = rng.next() as u8;
                        }
                    }
                    1 => frame.truncate(rng.below(frame.len() as u64) as usize),
                    _ => {
                        let n = rng.below(8) as usize + 1;
                        frame.extend(rng.bytes(n));
                    }
                }
                raw.send_raw(&frame).await;
            }
            drop(drain(raw).await);
            return;
        }
        // A connect request with a garbled body.
        _ => {
            let mut w = Writer::default();
            w.i32(0).i64(0).i32(4000).i64(rng.next() as i64).i32(rng.below(1 << 20) as i32);
            raw.send_raw(&w.buf).await;
        }
    }
    let _ = tokio::time::timeout(Duration::from_millis(200), raw.closed()).await;
}

/// Reads what the server answers until it closes or goes quiet.
async fn drain(mut raw: Raw) -> Raw {
    let _ = tokio::time::timeout(Duration::from_millis(100), raw.closed()).await;
    raw
}

/// A well-formed client still gets correct answers.
async fn healthy(addr: &str, round: usize) {
    let (mut c, connected) = Raw::session(addr, 4000).await;
    assert!(connected.timeout_ms > 0);
    let path = format!("/healthy-{round}");
    let (reply, _) = c.call(op::CREATE, create_body(&path, b"ok", 0)).await;
    assert_eq!(reply.err, 0, "create after the attacks");
    let (reply, _) = c
        .call(op::GET_DATA, |w| {
            w.string(&path).bool(false);
        })
        .await;
    assert_eq!(reply.err, 0);
    assert_eq!(Reader::new(&reply.body).buffer("data").unwrap(), b"ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_input_never_takes_the_server_down() {
    let server = zczk_emulator::serve("127.0.0.1:0", Emulator::new()).await.unwrap();
    let addr = server.local_addr().to_string();
    let valid = valid_requests();
    let seed = std::env::var("ZCZK_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_1234_u64);
    let mut rng = Rng(seed);
    for round in 0..300 {
        attack(&addr, &mut rng, &valid).await;
        if round % 50 == 49 {
            healthy(&addr, round).await;
        }
    }
    healthy(&addr, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_parallel_hostile_connections() {
    let server = zczk_emulator::serve("127.0.0.1:0", Emulator::new()).await.unwrap();
    let addr = server.local_addr().to_string();
    let valid = valid_requests();
    let tasks: Vec<_> = (0..32u64)
        .map(|i| {
            let addr = addr.clone();
            let valid = valid.clone();
            tokio::spawn(async move {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (i + 1));
                for _ in 0..10 {
                    attack(&addr, &mut rng, &valid).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("an attacking task panicked");
    }
    healthy(&addr, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_the_limit_closes_the_connection() {
    let server = zczk_emulator::serve("127.0.0.1:0", Emulator::new()).await.unwrap();
    let addr = server.local_addr().to_string();
    let (mut c, _) = Raw::session(&addr, 4000).await;
    let limit = server.emulator().config().max_request_bytes;
    let _ = c.stream.write_all(&((limit + 1) as i32).to_be_bytes()).await;
    assert!(c.closed().await, "a frame over jute.maxbuffer was accepted");
    // A request just under the data limit still works on a fresh connection.
    let (mut c, _) = Raw::session(&addr, 4000).await;
    let data = vec![7u8; 1000 * 1000];
    let (reply, _) = c.call(op::CREATE, create_body("/big", &data, 0)).await;
    assert_eq!(reply.err, 0);
    healthy(&addr, 0).await;
}

/// The decoders are pure functions over bytes: random and mutated input gives an error or a
/// request, never a panic, and never a request that claims more bytes than the frame has.
#[test]
fn decoders_take_any_bytes() {
    use zczk_emulator::wire::proto::{decode_request, ConnectRequest, Request};
    let valid = valid_requests();
    let mut rng = Rng(0xdec0_de00_1234_5678);
    let mut decoded = 0;
    for i in 0..100_000 {
        let frame = if i % 2 == 0 {
            let n = rng.below(80) as usize;
            rng.bytes(n)
        } else {
            let mut frame = valid[rng.below(valid.len() as u64) as usize].clone();
            for _ in 0..rng.below(3) + 1 {
                let at = rng.below(frame.len() as u64) as usize;
                frame[at] = rng.next() as u8;
            }
            frame
        };
        let _ = ConnectRequest::decode(&frame);
        if let Ok((_, _, request)) = decode_request(&frame) {
            decoded += 1;
            if let Request::Create(body) = &request {
                assert!(body.data.as_ref().map_or(0, Vec::len) + body.path.len() <= frame.len());
            }
        }
    }
    // The mutations leave many requests intact, so both paths are exercised.
    assert!(decoded > 1000, "only {decoded} frames decoded");
}
