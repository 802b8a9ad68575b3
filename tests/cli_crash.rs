//! A `zczk serve --file` killed (`kill -9`) at random moments while a client writes to it, over
//! and over on one store: the store must always open again, and hold exactly a prefix of the
//! writes made, at least every acknowledged one. The moments come from a seeded generator
//! (`ZCZK_CRASH_SEED` to replay a failure; the seed is in every failure message).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::stream::{FuturesOrdered, StreamExt as _};
use futures::FutureExt as _;
use tokio::sync::oneshot;
use zczk_core::connection::Access;
use zczk_core::store::{Code, Connector as _, CreateOptions, Store};
use zczk_emulator::{Config, Emulator};
use zczk_zookeeper::ZkConnector;

/// How many times the server is killed.
const ROUNDS: usize = 24;
/// Requests in flight at once: replies come back in groups, as the server commits them.
const WINDOW: usize = 16;
/// The most writes a round makes (it is killed well before, in practice).
const MAX_STEPS: usize = 20_000;

/// A small seeded generator (xorshift64*): the same seed, the same moments.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Starts `zczk serve --file store` and returns it with the address it listens on; `None`
/// when it exits before listening (the store did not open). A store found locked is tried
/// again for a while: the reader of the last round has closed it, but a process that another
/// test of this binary was forking at that moment holds a copy of its lock until it execs.
fn serve(store: &Path) -> (Child, Option<String>) {
    for _ in 0..100 {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("zczk"))
            .args(["serve", "--port", "0", "--file"])
            .arg(store)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut listening = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut listening);
        let addr = listening.trim().rsplit_once(':').map(|(_, port)| format!("127.0.0.1:{port}"));
        if addr.is_some() {
            // Nothing reads it from now on: a full pipe must not stop the server.
            drop(child.stderr.take());
            return (child, addr);
        }
        let mut error = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut error);
        let _ = child.wait();
        if !error.contains("in use by another zczk emulator") {
            eprint!("{error}");
            return (child, None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{}: still locked after 2 s", store.display());
}

/// The writes of round `round`, in order: step `i` creates `/rR/i` and then sets `/rR` to `i`.
/// Returns how many writes were acknowledged (counted in order: a reply after a lost one
/// does not count) and how many were sent.
async fn write_until_killed(
    addr: String,
    round: usize,
    kill: impl FnOnce(oneshot::Sender<()>),
) -> (usize, usize) {
    let store = ZkConnector::new(addr).with_session_timeout(Duration::from_secs(30)).connect().await.unwrap();
    let parent = format!("/r{round}");
    store.create(&parent, Some(b""), &CreateOptions::default()).await.unwrap();
    let paths: Vec<String> = (0..MAX_STEPS).map(|i| format!("{parent}/{i:06}")).collect();
    let values: Vec<Vec<u8>> = (0..MAX_STEPS).map(|i| i.to_string().into_bytes()).collect();
    let options = CreateOptions::default();
    let store = &store;
    let mut kill = Some(kill);
    let (killed_tx, mut killed) = oneshot::channel();
    let mut killed_tx = Some(killed_tx);
    let (mut acked, mut sent, mut lost) = (0, 0, false);
    let mut pending = FuturesOrdered::new();
    let mut next = 0;
    loop {
        while pending.len() < WINDOW && next < 2 * MAX_STEPS && !lost {
            let step = next / 2;
            pending.push_back(if next % 2 == 0 {
                store.create(&paths[step], Some(b""), &options).map(|r| r.map(drop)).boxed()
            } else {
                store.set_data(&parent, Some(&values[step]), None).map(|r| r.map(drop)).boxed()
            });
            next += 1;
            sent += 1;
        }
        // Once the server is dead, the replies still missing will never come: the client
        // may keep retrying for its session timeout, so stop waiting for them.
        let reply = tokio::select! {
            biased;
            reply = pending.next() => reply,
            _ = &mut killed => None,
        };
        let Some(reply) = reply else { break };
        match reply {
            Ok(()) if !lost => acked += 1,
            Ok(()) => {}
            Err(error) => {
                assert!(
                    matches!(
                        error.code,
                        Code::ConnectionLoss | Code::SessionExpired | Code::OperationTimeout
                    ),
                    "round {round}: {error}"
                );
                lost = true;
            }
        }
        if acked == 1 {
            if let (Some(kill), Some(killed_tx)) = (kill.take(), killed_tx.take()) {
                kill(killed_tx);
            }
        }
    }
    (acked, sent)
}

/// How many writes of round `round` the store holds: checks that they are a prefix of the
/// round's writes (the children `0..n`, and `/rR` set to `n - 1` or, when the last set is
/// missing, `n - 2`).
async fn kept_writes(emulator: &Emulator, round: usize, seed: u64) -> usize {
    let s = emulator.session();
    let parent = format!("/r{round}");
    let (children, _) = s.get_children(&parent).await.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let mut numbers: Vec<usize> = children.iter().map(|name| name.parse().unwrap()).collect();
    numbers.sort_unstable();
    let n = numbers.len();
    assert_eq!(
        numbers,
        (0..n).collect::<Vec<_>>(),
        "seed {seed}, round {round}: not a prefix of the creates"
    );
    let (data, _) = s.get_data(&parent).await.unwrap();
    let last: Option<usize> =
        String::from_utf8(data.unwrap_or_default()).ok().and_then(|text| text.parse().ok());
    // Writes in order: create 0, set 0, create 1, set 1, ...
    match last {
        Some(last) if last + 1 == n => 2 * n,
        Some(last) if last + 2 == n => 2 * n - 1,
        None if n <= 1 => n,
        _ => panic!("seed {seed}, round {round}: {n} children but /r{round} = {last:?}: not a prefix"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_keeps_a_prefix_of_its_writes_with_every_acknowledged_one() {
    let seed = std::env::var("ZCZK_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_2026_u64);
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("zk.db");
    // What each round kept, checked again after every later crash.
    let mut kept = Vec::new();
    for round in 0..ROUNDS {
        let started = std::time::Instant::now();
        let (child, addr) = serve(&store);
        let addr = addr.unwrap_or_else(|| panic!("seed {seed}, round {round}: the store did not open"));
        let child = std::sync::Arc::new(std::sync::Mutex::new(child));
        let delay = Duration::from_micros(rng.below(30_000));
        let killer = child.clone();
        let kill = move |killed: oneshot::Sender<()>| {
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                // SIGKILL: no chance to save anything.
                let mut child = killer.lock().unwrap();
                let _ = child.kill();
                let _ = child.wait();
                let _ = killed.send(());
            });
        };
        let (acked, sent) =
            tokio::time::timeout(Duration::from_secs(60), write_until_killed(addr, round, kill))
                .await
                .unwrap();
        let _ = child.lock().unwrap().wait();
        let emulator = Emulator::open_file_with(&store, Config::default(), Access::Read, true)
            .unwrap_or_else(|e| panic!("seed {seed}, round {round}: the store does not open: {e}"));
        let writes = kept_writes(&emulator, round, seed).await;
        assert!(
            acked <= writes && writes <= sent,
            "seed {seed}, round {round}: {writes} writes kept, {acked} acknowledged, {sent} sent"
        );
        eprintln!("round {round}: {writes} kept, {acked} acked, {sent} sent, {:?}", started.elapsed());
        kept.push(writes);
        for (earlier, &writes) in kept.iter().enumerate() {
            assert_eq!(
                kept_writes(&emulator, earlier, seed).await,
                writes,
                "seed {seed}: round {earlier} changed"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_keeps_the_sessions_it_told_of_and_their_ephemerals() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("zk.db");
    let (mut child, addr) = serve(&store);
    let addr = addr.expect("zczk serve listens");
    let connector = ZkConnector::new(addr).with_session_timeout(Duration::from_secs(30));
    let owner = connector.connect().await.unwrap();
    owner
        .create("/e", Some(b"x"), &CreateOptions::new(zczk_core::store::CreateMode::Ephemeral))
        .await
        .unwrap();
    // A session that made no write: the connect's reply alone told its client of it.
    let idle = connector.connect().await.unwrap();
    // SIGKILL: nothing is saved at exit.
    child.kill().unwrap();
    child.wait().unwrap();
    let reader = Emulator::open_file_with(&store, Config::default(), Access::Read, true).unwrap();
    assert_eq!(reader.session_count(), 2, "both sessions are kept");
    let s = reader.session();
    let (data, stat) = s.get_data("/e").await.unwrap();
    assert_eq!((data, stat.ephemeral_owner), (Some(b"x".to_vec()), owner.session_id()));
    drop((owner, idle));
}
