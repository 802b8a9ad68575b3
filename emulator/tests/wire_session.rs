//! The served emulator at the byte level: handshake, session resume and expiry, ping, error
//! and multi replies, notifications and setWatches. The protocol cases also run against the
//! real server in `ZCZK_TEST_ZOOKEEPER` (ignored unless run with `--include-ignored`, see
//! `needs_real_server!`), so the encoding is checked against Apache ZooKeeper itself.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::wire_support::{create_body, Raw, MUST};
use zczk_emulator::wire::jute::Reader;
use zczk_emulator::wire::proto::op;
use zczk_emulator::wire::ServerHandle;
use zczk_emulator::{Config, Emulator};
use zczk_zookeeper::testing::real_server_address;

const NO_NODE: i32 = -101;
const BAD_VERSION: i32 = -103;
const RUNTIME_INCONSISTENCY: i32 = -2;
const NO_WATCHER: i32 = -121;
const BAD_ARGUMENTS: i32 = -8;
const NODE_EXISTS: i32 = -110;

async fn served(config: Config) -> (ServerHandle, String) {
    let server = zczk_emulator::serve("127.0.0.1:0", Emulator::with_config(config)).await.unwrap();
    let addr = server.local_addr().to_string();
    (server, addr)
}

/// A config with short session timeouts, so expiry tests are quick.
fn quick() -> Config {
    Config {
        min_session_timeout: Duration::from_millis(300),
        max_session_timeout: Duration::from_millis(600),
        ..Config::default()
    }
}

/// A fresh top-level path, so runs on a shared real server do not collide.
fn unique(name: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("/zczk-wire-{name}-{}-{nanos}", std::process::id())
}

/// Runs a protocol case on the served emulator and, when asked for, on the real server.
macro_rules! on_both {
    ($($case:ident),+ $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn served() {
                let (_server, addr) = super::served(zczk_emulator::Config::default()).await;
                super::$case(&addr).await;
            }

            zczk_zookeeper::needs_real_server! {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn zookeeper() {
                    super::$case(&super::real_server_address(stringify!($case))).await;
                }
            }
        }
    )+};
}

on_both!(
    errors_have_no_body,
    a_failed_multi_reports_every_op,
    notifications_come_before_the_reply_that_sees_the_change,
    set_watches_fires_what_changed_since_the_zxid,
    check_and_remove_watches,
    close_session_replies_then_closes,
    invalid_paths_get_the_servers_codes,
    who_am_i_ephemerals_and_subtree_counts,
    a_resumed_session_keeps_ephemerals_and_gets_its_watches_back,
    null_data_reads_back_as_null,
    four_letter_words_answer_as_the_server_does,
    a_later_add_watch_replaces_the_earlier_mode,
);

/// The notifications (type, path) a connection got before the reply to an `exists` of `/`,
/// which comes after every event of the changes made before it.
async fn events_until_now(c: &mut Raw) -> Vec<(i32, String)> {
    let (_, events) = c
        .call(op::EXISTS, |w| {
            w.string("/").bool(false);
        })
        .await;
    events.iter().map(|e| e.event()).map(|(kind, _, path)| (kind, path)).collect()
}

async fn add_watch(c: &mut Raw, path: &str, mode: i32) {
    let (reply, _) = c
        .call(op::ADD_WATCH, |w| {
            w.string(path).i32(mode);
        })
        .await;
    assert_eq!(reply.err, 0, "addWatch {path} mode {mode}");
}

/// ZooKeeper 3.8 keeps one watch mode per path and connection: a later addWatch replaces the
/// earlier one, so no change is told twice.
async fn a_later_add_watch_replaces_the_earlier_mode(addr: &str) {
    let (mut c, _) = Raw::session(addr, 4000).await;
    let (mut writer, _) = Raw::session(addr, 4000).await;
    let node = unique("modes");
    let child = format!("{node}/c");
    writer.call(op::CREATE, create_body(&node, b"", 0)).await;
    add_watch(&mut c, &node, 0).await;
    add_watch(&mut c, &node, 1).await;
    writer
        .call(op::SET_DATA, |w| {
            w.string(&node).buffer(b"1").i32(-1);
        })
        .await;
    writer.call(op::CREATE, create_body(&child, b"", 0)).await;
    let events = events_until_now(&mut c).await;
    // Recursive only: no children event for the node itself.
    assert_eq!(events, [(3, node.clone()), (1, child.clone())], "persistent, then recursive");
    // Recursive then persistent: the persistent mode replaces the recursive one.
    let (mut c, _) = Raw::session(addr, 4000).await;
    add_watch(&mut c, &node, 1).await;
    add_watch(&mut c, &node, 0).await;
    writer
        .call(op::SET_DATA, |w| {
            w.string(&child).buffer(b"1").i32(-1);
        })
        .await;
    writer
        .call(op::SET_DATA, |w| {
            w.string(&node).buffer(b"2").i32(-1);
        })
        .await;
    writer
        .call(op::DELETE, |w| {
            w.string(&child).i32(-1);
        })
        .await;
    let events = events_until_now(&mut c).await;
    // Persistent only: nothing about the child's data.
    assert_eq!(events, [(3, node.clone()), (4, node)], "recursive, then persistent");
}

/// The words a 3.8 server answers about itself, in its format: checked on shapes and on the
/// lines about this test's own session (other tests may share the real server).
async fn four_letter_words_answer_as_the_server_does(addr: &str) {
    let (mut c, connected) = Raw::session(addr, 4000).await;
    let id = format!("{:#x}", connected.session_id);
    let node = unique("words");
    let eph = format!("{node}/e");
    c.call(op::CREATE, create_body(&node, b"", 0)).await;
    c.call(op::CREATE, create_body(&eph, b"", 1)).await;
    c.call(op::GET_DATA, |w| {
        w.string(&node).bool(true);
    })
    .await;
    // kazoo's server_version: the digits and dots that start zookeeper.version.
    let envi = four_letter_word(addr, "envi").await;
    assert!(envi.starts_with("Environment:\n"), "{envi}");
    let version = envi.lines().find_map(|l| l.strip_prefix("zookeeper.version=")).unwrap_or_default();
    let digits: String = version.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    assert!(digits.starts_with("3.8."), "envi: {envi}");
    assert_eq!(four_letter_word(addr, "isro").await, "rw");
    let port = addr.rsplit(':').next().unwrap_or_default();
    let conf = four_letter_word(addr, "conf").await;
    assert!(
        conf.contains(&format!("clientPort={port}\n")) && conf.contains("\nminSessionTimeout="),
        "{conf}"
    );
    let mntr = four_letter_word(addr, "mntr").await;
    assert!(mntr.starts_with("zk_version\t3.8."), "{mntr}");
    for key in ["zk_server_state\tstandalone\n", "\nzk_znode_count\t", "\nzk_ephemerals_count\t"] {
        assert!(mntr.contains(key), "mntr has no {key:?}: {mntr}");
    }
    for word in ["srvr", "stat"] {
        let answer = four_letter_word(addr, word).await;
        assert!(answer.starts_with("Zookeeper version: 3.8."), "{word}: {answer}");
        for line in ["\nZxid: 0x", "\nMode: standalone\n", "\nNode count: "] {
            assert!(answer.contains(line), "{word} has no {line:?}: {answer}");
        }
        assert_eq!(word == "stat", answer.contains("\nClients:\n /127.0.0.1:"), "{word}: {answer}");
    }
    let cons = four_letter_word(addr, "cons").await;
    assert!(cons.contains(&format!(",sid={id},")) && cons.ends_with(")\n\n"), "{cons}");
    assert!(four_letter_word(addr, "wchs").await.contains(" connections watching "));
    let wchc = four_letter_word(addr, "wchc").await;
    assert!(wchc.contains(&format!("{id}\n\t{node}\n")) && wchc.ends_with("\n\n"), "{wchc}");
    let wchp = four_letter_word(addr, "wchp").await;
    assert!(wchp.contains(&format!("{node}\n\t{id}\n")), "{wchp}");
    let dump = four_letter_word(addr, "dump").await;
    assert!(dump.starts_with("SessionTracker dump:\nSession Sets ("), "{dump}");
    assert!(dump.contains(&format!("\n{id}:\n\t{eph}\n")), "{dump}");
    assert!(dump.contains("\nConnections dump:\n"), "{dump}");
}

/// The data of `path` as getData answers it: `None` for null (length -1).
async fn data_of(c: &mut Raw, path: &str) -> Option<Vec<u8>> {
    let (reply, _) = c
        .call(op::GET_DATA, |w| {
            w.string(path).bool(false);
        })
        .await;
    assert_eq!(reply.err, 0, "getData {path}");
    let mut r = Reader::new(&reply.body);
    let data = r.nullable_buffer("data").unwrap().map(<[u8]>::to_vec);
    let _czxid = r.i64("czxid").unwrap();
    data
}

async fn null_data_reads_back_as_null(addr: &str) {
    let (mut c, _) = Raw::session(addr, 4000).await;
    let node = unique("null");
    let (reply, _) = c
        .call(op::CREATE, |w| {
            w.string(&node).nullable_buffer(None).acls(&zczk_core::store::Acl::open()).i32(0);
        })
        .await;
    assert_eq!(reply.err, 0);
    assert_eq!(data_of(&mut c, &node).await, None, "created with no data");
    let set = |data: Option<&'static [u8]>, node: String| {
        move |w: &mut zczk_emulator::wire::jute::Writer| {
            w.string(&node).nullable_buffer(data).i32(-1);
        }
    };
    assert_eq!(c.call(op::SET_DATA, set(Some(b""), node.clone())).await.0.err, 0);
    assert_eq!(data_of(&mut c, &node).await, Some(vec![]), "set to empty data");
    assert_eq!(c.call(op::SET_DATA, set(None, node.clone())).await.0.err, 0);
    assert_eq!(data_of(&mut c, &node).await, None, "set to no data");
    // In a multi: a create and a set with no data; then read both in one multiRead.
    let child = format!("{node}/c");
    let (reply, _) = c
        .call(op::MULTI, |w| {
            w.i32(op::SET_DATA).bool(false).i32(-1).string(&node).buffer(b"x").i32(-1);
            w.i32(op::CREATE).bool(false).i32(-1);
            w.string(&child).nullable_buffer(None).acls(&zczk_core::store::Acl::open()).i32(0);
            w.i32(op::SET_DATA).bool(false).i32(-1).string(&node).nullable_buffer(None).i32(-1);
            w.i32(-1).bool(true).i32(-1);
        })
        .await;
    assert_eq!(reply.err, 0);
    let (reply, _) = c
        .call(op::MULTI_READ, |w| {
            for path in [&node, &child] {
                w.i32(op::GET_DATA).bool(false).i32(-1).string(path).bool(false);
            }
            w.i32(-1).bool(true).i32(-1);
        })
        .await;
    assert_eq!(reply.err, 0);
    let mut r = Reader::new(&reply.body);
    for path in [&node, &child] {
        assert_eq!(
            (r.i32("op").unwrap(), r.bool("done").unwrap(), r.i32("err").unwrap()),
            (op::GET_DATA, false, 0)
        );
        assert_eq!(r.nullable_buffer("data").unwrap(), None, "{path} holds null after the multi");
        let stat: Vec<i64> = (0..4).map(|_| r.i64("stat").unwrap()).collect();
        let _versions = (r.i32("version").unwrap(), r.i32("cversion").unwrap(), r.i32("aversion").unwrap());
        let _owner = r.i64("ephemeralOwner").unwrap();
        assert_eq!(r.i32("dataLength").unwrap(), 0, "null data has length 0 in the Stat ({stat:?})");
        let _rest = (r.i32("numChildren").unwrap(), r.i64("pzxid").unwrap());
    }
}

async fn a_resumed_session_keeps_ephemerals_and_gets_its_watches_back(addr: &str) {
    let (mut c, connected) = Raw::session(addr, 4000).await;
    let watched = unique("watched");
    let eph = unique("mine");
    c.call(op::CREATE, create_body(&watched, b"", 0)).await;
    c.call(op::CREATE, create_body(&eph, b"", 1)).await;
    let (reply, _) = c
        .call(op::ADD_WATCH, |w| {
            w.string(&watched).i32(1);
        })
        .await;
    assert_eq!(reply.err, 0);
    let (seen, _) = c
        .call(op::EXISTS, |w| {
            w.string("/").bool(false);
        })
        .await;
    drop(c);
    let (mut c, again) =
        Raw::tcp(addr).await.handshake(connected.session_id, &connected.password, 4000).await;
    let again = again.expect("the server answered the resume");
    assert_eq!((again.session_id, again.timeout_ms > 0), (connected.session_id, true));
    c.send_xid(-8, op::SET_WATCHES2, |w| {
        w.i64(seen.zxid).i32(0).i32(0).i32(0).i32(0).strings(&[&watched]);
    })
    .await;
    let (reply, events) = c.reply_to(-8).await;
    assert_eq!((reply.err, events.len()), (0, 0));
    let (mut other, _) = Raw::session(addr, 4000).await;
    other.call(op::CREATE, create_body(&format!("{watched}/kid"), b"", 0)).await;
    let (reply, events) = c
        .call(op::EXISTS, |w| {
            w.string(&eph).bool(false);
        })
        .await;
    assert_eq!(reply.err, 0, "the ephemeral survived the reconnect");
    let events: Vec<_> = events.iter().map(|e| e.event()).collect();
    assert_eq!(events, [(1, 3, format!("{watched}/kid"))], "the recursive watch came back");
}

async fn who_am_i_ephemerals_and_subtree_counts(addr: &str) {
    let (mut c, _) = Raw::session(addr, 4000).await;
    let (reply, _) = c.call(op::WHO_AM_I, |_| {}).await;
    let mut r = Reader::new(&reply.body);
    assert_eq!(r.i32("count").unwrap(), 1);
    assert_eq!((r.string("scheme").unwrap(), r.string("user").unwrap()), ("ip", "127.0.0.1"));
    let base = unique("eph");
    c.call(op::CREATE, create_body(&base, b"", 0)).await;
    for name in ["a", "b"] {
        c.call(op::CREATE, create_body(&format!("{base}/{name}"), b"", 1)).await;
    }
    c.call(op::CREATE, create_body(&format!("{base}/p"), b"", 0)).await;
    c.call(op::CREATE, create_body(&format!("{base}/p/q"), b"", 1)).await;
    let (mut other, _) = Raw::session(addr, 4000).await;
    other.call(op::CREATE, create_body(&format!("{base}/theirs"), b"", 1)).await;
    let (reply, _) = c
        .call(op::GET_EPHEMERALS, |w| {
            w.string(&base);
        })
        .await;
    assert_eq!(reply.err, 0);
    let mut mine = Reader::new(&reply.body).strings("ephemerals").unwrap();
    mine.sort();
    assert_eq!(mine, [format!("{base}/a"), format!("{base}/b"), format!("{base}/p/q")]);
    let (reply, _) = c
        .call(op::GET_ALL_CHILDREN_NUMBER, |w| {
            w.string(&base);
        })
        .await;
    assert_eq!((reply.err, Reader::new(&reply.body).i32("total").unwrap()), (0, 5));
    let (reply, _) = c
        .call(op::GET_ALL_CHILDREN_NUMBER, |w| {
            w.string(&format!("{base}/missing"));
        })
        .await;
    assert_eq!(reply.err, NO_NODE);
}

/// Paths a client library would refuse, sent anyway: reads find no node, writes look at the
/// parent first (the codes are Apache ZooKeeper 3.8's).
async fn invalid_paths_get_the_servers_codes(addr: &str) {
    let (mut c, _) = Raw::session(addr, 4000).await;
    let parent = unique("parent");
    c.call(op::CREATE, create_body(&parent, b"", 0)).await;
    let trailing = format!("{parent}/");
    let cases = [
        // path, getData, exists, getChildren, delete, setData, create
        ("relative", NO_NODE, NO_NODE, NO_NODE, BAD_ARGUMENTS, BAD_ARGUMENTS, BAD_ARGUMENTS),
        ("/missing-parent/", NO_NODE, NO_NODE, NO_NODE, NO_NODE, BAD_ARGUMENTS, NO_NODE),
        ("/a//b", NO_NODE, NO_NODE, NO_NODE, NO_NODE, BAD_ARGUMENTS, NO_NODE),
        (trailing.as_str(), NO_NODE, NO_NODE, NO_NODE, NO_NODE, BAD_ARGUMENTS, BAD_ARGUMENTS),
        ("/", 0, 0, 0, BAD_ARGUMENTS, 0, NODE_EXISTS),
    ];
    for (path, get, exists, children, delete, set, create) in cases {
        let (r, _) = c
            .call(op::GET_DATA, |w| {
                w.string(path).bool(false);
            })
            .await;
        let (e, _) = c
            .call(op::EXISTS, |w| {
                w.string(path).bool(true);
            })
            .await;
        let (l, _) = c
            .call(op::GET_CHILDREN, |w| {
                w.string(path).bool(false);
            })
            .await;
        let (d, _) = c
            .call(op::DELETE, |w| {
                w.string(path).i32(-1);
            })
            .await;
        let (s, _) = c
            .call(op::SET_DATA, |w| {
                w.string(path).buffer(b"").i32(-1);
            })
            .await;
        let (k, _) = c.call(op::CREATE, create_body(path, b"", 0)).await;
        assert_eq!(
            (r.err, e.err, l.err, d.err, s.err, k.err),
            (get, exists, children, delete, set, create),
            "codes for {path:?}"
        );
    }
}

async fn errors_have_no_body(addr: &str) {
    let (mut c, _) = Raw::session(addr, 4000).await;
    let missing = unique("missing");
    let (reply, _) = c
        .call(op::GET_DATA, |w| {
            w.string(&missing).bool(false);
        })
        .await;
    assert_eq!((reply.err, reply.body.len()), (NO_NODE, 0));
    let (reply, _) = c
        .call(op::EXISTS, |w| {
            w.string(&missing).bool(false);
        })
        .await;
    assert_eq!((reply.err, reply.body.len()), (NO_NODE, 0));
    // A ping is answered with the ping xid, whatever xid it came with.
    c.send_xid(7, op::PING, |_| {}).await;
    let (pong, _) = c.reply_to(-2).await;
    assert_eq!((pong.err, pong.body.len()), (0, 0));
    assert!(pong.zxid > 0);
}

async fn a_failed_multi_reports_every_op(addr: &str) {
    let (mut c, _) = Raw::session(addr, 4000).await;
    let base = unique("multi");
    let (reply, _) = c.call(op::CREATE, create_body(&base, b"", 0)).await;
    assert_eq!(reply.err, 0);
    let child = format!("{base}/a");
    let (reply, _) = c
        .call(op::MULTI, |w| {
            w.i32(op::CREATE).bool(false).i32(-1);
            create_body(&child, b"", 0)(w);
            w.i32(op::CHECK).bool(false).i32(-1).string(&base).i32(5);
            w.i32(op::DELETE).bool(false).i32(-1).string(&base).i32(-1);
            w.i32(-1).bool(true).i32(-1);
        })
        .await;
    assert_eq!(reply.err, 0, "a failed multi is reported in its body");
    let mut r = Reader::new(&reply.body);
    let mut results = Vec::new();
    loop {
        let (kind, done, err) = (r.i32("op").unwrap(), r.bool("done").unwrap(), r.i32("err").unwrap());
        if done {
            assert_eq!((kind, err), (-1, -1));
            break;
        }
        assert_eq!(kind, op::ERROR);
        assert_eq!(r.i32("ErrorResponse").unwrap(), err);
        results.push(err);
    }
    assert_eq!(results, [0, BAD_VERSION, RUNTIME_INCONSISTENCY]);
    assert_eq!(r.remaining(), 0);
    let (reply, _) = c
        .call(op::EXISTS, |w| {
            w.string(&child).bool(false);
        })
        .await;
    assert_eq!(reply.err, NO_NODE, "nothing of the failed multi applied");
    let (reply, _) = c
        .call(op::MULTI, |w| {
            w.i32(op::CREATE2).bool(false).i32(-1);
            create_body(&child, b"xy", 0)(w);
            w.i32(op::SET_DATA).bool(false).i32(-1).string(&child).buffer(b"z").i32(0);
            w.i32(-1).bool(true).i32(-1);
        })
        .await;
    assert_eq!(reply.err, 0);
    let mut r = Reader::new(&reply.body);
    // Even a create2 answers as a plain create inside a multi: path, no Stat.
    assert_eq!(
        (r.i32("op").unwrap(), r.bool("done").unwrap(), r.i32("err").unwrap()),
        (op::CREATE, false, 0)
    );
    assert_eq!(r.string("path").unwrap(), child);
    assert_eq!(
        (r.i32("op").unwrap(), r.bool("done").unwrap(), r.i32("err").unwrap()),
        (op::SET_DATA, false, 0)
    );
    let czxid = r.i64("czxid").unwrap();
    assert_eq!(r.i64("mzxid").unwrap(), czxid, "created and set in one transaction");
}

async fn notifications_come_before_the_reply_that_sees_the_change(addr: &str) {
    let (mut watcher, _) = Raw::session(addr, 4000).await;
    let (mut writer, _) = Raw::session(addr, 4000).await;
    let path = unique("notify");
    writer.call(op::CREATE, create_body(&path, b"0", 0)).await;
    let (reply, _) = watcher
        .call(op::GET_DATA, |w| {
            w.string(&path).bool(true);
        })
        .await;
    assert_eq!(reply.err, 0);
    let (reply, _) = writer
        .call(op::SET_DATA, |w| {
            w.string(&path).buffer(b"1").i32(0);
        })
        .await;
    assert_eq!(reply.err, 0);
    let (reply, events) = watcher
        .call(op::GET_DATA, |w| {
            w.string(&path).bool(false);
        })
        .await;
    assert_eq!(events.len(), 1, "one notification before the read: {events:?}");
    assert_eq!(events[0].event(), (3, 3, path.clone()), "NodeDataChanged, SyncConnected");
    assert_eq!((events[0].zxid, events[0].err), (-1, 0));
    assert_eq!(Reader::new(&reply.body).buffer("data").unwrap(), b"1");
}

async fn set_watches_fires_what_changed_since_the_zxid(addr: &str) {
    let (mut c, _) = Raw::session(addr, 4000).await;
    let changed = unique("changed");
    let same = unique("same");
    let gone = unique("gone");
    let born = unique("born");
    c.call(op::CREATE, create_body(&changed, b"", 0)).await;
    c.call(op::CREATE, create_body(&same, b"", 0)).await;
    let (reply, _) = c
        .call(op::SYNC, |w| {
            w.string("/");
        })
        .await;
    let seen = reply.zxid;
    c.call(op::SET_DATA, |w| {
        w.string(&changed).buffer(b"new").i32(-1);
    })
    .await;
    c.call(op::CREATE, create_body(&born, b"", 0)).await;
    let xid = -8;
    c.send_xid(xid, op::SET_WATCHES, |w| {
        w.i64(seen);
        w.strings(&[&changed, &same, &gone]);
        w.strings(&[&born]);
        w.strings(&[&same]);
    })
    .await;
    let (reply, events) = c.reply_to(xid).await;
    assert_eq!(reply.err, 0);
    let mut events: Vec<_> = events.iter().map(|e| e.event()).collect();
    events.sort();
    let mut expected = vec![(1, 3, born.clone()), (2, 3, gone.clone()), (3, 3, changed.clone())];
    expected.sort();
    assert_eq!(events, expected);
    // The unchanged node's watches are armed: a change fires them (data and child).
    let (mut other, _) = Raw::session(addr, 4000).await;
    other.call(op::CREATE, create_body(&format!("{same}/kid"), b"", 0)).await;
    let (_, events) = c
        .call(op::EXISTS, |w| {
            w.string("/").bool(false);
        })
        .await;
    assert_eq!(events.iter().map(|e| e.event()).collect::<Vec<_>>(), [(4, 3, same.clone())]);
}

async fn check_and_remove_watches(addr: &str) {
    let (mut c, _) = Raw::session(addr, 4000).await;
    let path = unique("rw");
    c.call(op::CREATE, create_body(&path, b"", 0)).await;
    let (reply, _) = c
        .call(op::CHECK_WATCHES, |w| {
            w.string(&path).i32(2);
        })
        .await;
    assert_eq!(reply.err, NO_WATCHER);
    c.call(op::GET_DATA, |w| {
        w.string(&path).bool(true);
    })
    .await;
    let (reply, _) = c
        .call(op::CHECK_WATCHES, |w| {
            w.string(&path).i32(2);
        })
        .await;
    assert_eq!(reply.err, 0);
    let (reply, _) = c
        .call(op::REMOVE_WATCHES, |w| {
            w.string(&path).i32(1);
        })
        .await;
    assert_eq!(reply.err, NO_WATCHER, "no child watch to remove");
    let (reply, _) = c
        .call(op::REMOVE_WATCHES, |w| {
            w.string(&path).i32(2);
        })
        .await;
    assert_eq!(reply.err, 0);
    c.call(op::SET_DATA, |w| {
        w.string(&path).buffer(b"x").i32(-1);
    })
    .await;
    let (_, events) = c
        .call(op::EXISTS, |w| {
            w.string("/").bool(false);
        })
        .await;
    assert!(events.is_empty(), "a removed watch fired: {events:?}");
}

async fn close_session_replies_then_closes(addr: &str) {
    let (mut c, connected) = Raw::session(addr, 4000).await;
    let path = unique("eph");
    c.call(op::CREATE, create_body(&path, b"", 1)).await;
    let (reply, _) = c.call(op::CLOSE_SESSION, |_| {}).await;
    assert_eq!(reply.err, 0);
    assert!(c.closed().await, "the server kept the connection after closeSession");
    let (_, again) = Raw::tcp(addr).await.handshake(connected.session_id, &connected.password, 4000).await;
    if let Some(again) = again {
        assert_eq!(again.timeout_ms, 0, "a closed session cannot be resumed");
    }
    let (mut other, _) = Raw::session(addr, 4000).await;
    let (reply, _) = other
        .call(op::EXISTS, |w| {
            w.string(&path).bool(false);
        })
        .await;
    assert_eq!(reply.err, NO_NODE, "the ephemeral went with the session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_negotiates_the_timeout() {
    let (_server, addr) = served(Config::default()).await;
    let (_c, low) = Raw::session(&addr, 1).await;
    assert_eq!(low.timeout_ms, 4000);
    let (_c, high) = Raw::session(&addr, 1_000_000).await;
    assert_eq!(high.timeout_ms, 40_000);
    let (_c, mid) = Raw::session(&addr, 6000).await;
    assert_eq!((mid.timeout_ms, mid.password.len()), (6000, 16));
    assert_ne!(low.session_id, high.session_id);
}

/// A `file:` server that stops and starts again keeps its sessions and their ephemerals, as
/// ZooKeeper keeps them in its snapshot: a client back within its timeout resumes its session;
/// one that does not come back has its session expired a timeout after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_survive_a_restart_of_a_file_server() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.json");
    let timeout = Duration::from_millis(1500);
    let config = Config { min_session_timeout: timeout, max_session_timeout: timeout, ..Config::default() };
    let open = |file: std::path::PathBuf, config: Config| async move {
        // Waits for the lock the stopped server holds until its last handle is gone.
        tokio::task::spawn_blocking(move || {
            Emulator::open_file_with(&file, config, zczk_core::connection::Access::ReadWrite, true).unwrap()
        })
        .await
        .unwrap()
    };
    let server = zczk_emulator::serve("127.0.0.1:0", open(file.clone(), config.clone()).await).await.unwrap();
    let addr = server.local_addr().to_string();
    let (mut back, first) = Raw::session(&addr, 1500).await;
    let (seen, _) = back.call(op::CREATE, create_body("/back", b"", 1)).await;
    let (mut away, gone) = Raw::session(&addr, 1500).await;
    away.call(op::CREATE, create_body("/away", b"", 1)).await;
    server.shutdown().await;
    drop((back, away));

    let server = zczk_emulator::serve("127.0.0.1:0", open(file.clone(), config).await).await.unwrap();
    let addr = server.local_addr().to_string();
    let (mut back, resumed) = Raw::tcp(&addr).await.handshake(first.session_id, &first.password, 1500).await;
    let resumed = resumed.expect("the restarted server answered");
    assert_eq!((resumed.session_id, resumed.timeout_ms), (first.session_id, 1500), "the session is resumed");
    let exists = |path: &'static str| {
        move |w: &mut zczk_emulator::wire::jute::Writer| {
            w.string(path).bool(false);
        }
    };
    // The client sets its data watch on its ephemeral again, as clients do when they resume.
    back.send_xid(-8, op::SET_WATCHES2, |w| {
        w.i64(seen.zxid).strings(&["/back"]).i32(0).i32(0).i32(0).i32(0);
    })
    .await;
    assert_eq!(back.reply_to(-8).await.0.err, 0);
    let (mut writer, _) = Raw::session(&addr, 1500).await;
    writer
        .call(op::SET_DATA, |w| {
            w.string("/back").buffer(b"1").i32(-1);
        })
        .await;
    let (reply, events) = back.call(op::EXISTS, exists("/back")).await;
    assert_eq!(reply.err, 0, "its ephemeral is kept");
    let events: Vec<_> = events.iter().map(|e| e.event()).collect();
    assert_eq!(events, [(3, 3, "/back".to_string())], "and its watch works again");
    drop(writer);
    assert_eq!(back.call(op::EXISTS, exists("/away")).await.0.err, 0, "the other session's too, for now");
    // Past the other session's timeout (the returned client keeps talking meanwhile).
    let deadline = tokio::time::Instant::now() + timeout + Duration::from_millis(700);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(back.call(op::EXISTS, exists("/back")).await.0.err, 0);
    }
    assert_eq!(
        back.call(op::EXISTS, exists("/away")).await.0.err,
        NO_NODE,
        "the session that did not come back expired"
    );
    let (_, late) = Raw::tcp(&addr).await.handshake(gone.session_id, &gone.password, 1500).await;
    assert_eq!(late.map(|r| r.timeout_ms), Some(0), "and is told so");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_needs_the_password_and_a_live_session() {
    let (server, addr) = served(quick()).await;
    let (mut c, first) = Raw::session(&addr, 300).await;
    c.call(op::CREATE, create_body("/eph", b"", 1)).await;
    drop(c);
    let mut wrong = first.password.clone();
    wrong[0] ^= 1;
    let (_, refused) = Raw::tcp(&addr).await.handshake(first.session_id, &wrong, 300).await;
    assert_eq!(refused.map(|r| r.timeout_ms), Some(0), "a wrong password is refused");
    let (mut c, resumed) = Raw::tcp(&addr).await.handshake(first.session_id, &first.password, 300).await;
    let resumed = resumed.unwrap();
    assert_eq!((resumed.session_id, resumed.timeout_ms), (first.session_id, 300));
    let (reply, _) = c
        .call(op::EXISTS, |w| {
            w.string("/eph").bool(false);
        })
        .await;
    assert_eq!(reply.err, 0, "the ephemeral survived the reconnect");
    drop(c);
    tokio::time::sleep(Duration::from_millis(900)).await;
    let (_, late) = Raw::tcp(&addr).await.handshake(first.session_id, &first.password, 300).await;
    assert_eq!(late.map(|r| r.timeout_ms), Some(0), "an expired session is not resumed");
    assert_eq!(server.emulator().session_count(), 0);
    let (mut other, _) = Raw::session(&addr, 300).await;
    let (reply, _) = other
        .call(op::EXISTS, |w| {
            w.string("/eph").bool(false);
        })
        .await;
    assert_eq!(reply.err, NO_NODE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_loses_its_session() {
    let (server, addr) = served(quick()).await;
    let (mut c, connected) = Raw::session(&addr, 300).await;
    c.call(op::CREATE, create_body("/eph", b"", 1)).await;
    // No pings: the server expires the session after its timeout and drops the connection.
    let started = tokio::time::Instant::now();
    assert!(c.closed().await, "the server kept a silent client");
    assert!(started.elapsed() >= Duration::from_millis(250), "closed too early: {:?}", started.elapsed());
    let faults = server.emulator().faults(connected.session_id);
    assert!(!faults.is_disconnected());
    let (mut other, _) = Raw::session(&addr, 300).await;
    let (reply, _) = other
        .call(op::EXISTS, |w| {
            w.string("/eph").bool(false);
        })
        .await;
    assert_eq!(reply.err, NO_NODE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_moves_to_its_newest_connection() {
    let (_server, addr) = served(Config::default()).await;
    let (mut old, first) = Raw::session(&addr, 4000).await;
    let (mut new, again) = Raw::tcp(&addr).await.handshake(first.session_id, &first.password, 4000).await;
    assert_eq!(again.unwrap().session_id, first.session_id);
    assert!(old.closed().await, "the old connection stays open");
    let (reply, _) = new
        .call(op::EXISTS, |w| {
            w.string("/").bool(false);
        })
        .await;
    assert_eq!(reply.err, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconfig_is_disabled_and_unknown_ops_close() {
    let (_server, addr) = served(Config::default()).await;
    let (mut c, _) = Raw::session(&addr, 4000).await;
    let (reply, _) = c
        .call(op::RECONFIG, |w| {
            w.string("").string("").string("").i64(-1);
        })
        .await;
    assert_eq!(reply.err, -123, "reconfig is ReconfigDisabled, as on ZooKeeper by default");
    c.send(999, |_| {}).await;
    assert!(c.closed().await, "an unknown op code closes the connection");
    let _ = MUST;
}

/// Sends a four-letter word (with an argument line) and returns the whole answer.
async fn four_letter_word(addr: &str, command: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(command.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(MUST, stream.read_to_string(&mut answer)).await.unwrap().unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_letter_words_check_health_and_inject_faults() {
    let (_server, addr) = served(Config::default()).await;
    assert_eq!(four_letter_word(&addr, "ruok").await, "imok");
    let (mut c, connected) = Raw::session(&addr, 4000).await;
    c.call(op::CREATE, create_body("/eph", b"", 1)).await;
    let id = format!("{:#x}", connected.session_id);
    assert_eq!(four_letter_word(&addr, "sess").await, format!("{id}\n"));
    // The 4 built-in nodes, the ephemeral, and the root counted twice, as the server counts.
    assert!(four_letter_word(&addr, "srvr").await.contains("Node count: 6\n"));
    // drop: the connection closes, the session waits for the client to come back.
    assert!(four_letter_word(&addr, &format!("drop {id}\n")).await.starts_with("dropped"));
    assert!(c.closed().await, "drop left the connection open");
    let (mut c, again) =
        Raw::tcp(&addr).await.handshake(connected.session_id, &connected.password, 4000).await;
    assert_eq!(again.unwrap().session_id, connected.session_id);
    let (reply, _) = c
        .call(op::EXISTS, |w| {
            w.string("/eph").bool(false);
        })
        .await;
    assert_eq!(reply.err, 0);
    // expi: the session ends and its ephemeral goes.
    assert!(four_letter_word(&addr, &format!("expi {id}\n")).await.starts_with("expired"));
    assert!(c.closed().await, "expi left the connection open");
    let (_, late) = Raw::tcp(&addr).await.handshake(connected.session_id, &connected.password, 4000).await;
    assert_eq!(late.map(|r| r.timeout_ms), Some(0));
    assert!(four_letter_word(&addr, "expi 0x1\n").await.starts_with("error: no session"));
    assert_eq!(four_letter_word(&addr, "zzzz").await, "", "an unknown word gets no answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_letter_words_count_what_the_emulator_holds() {
    let (_server, addr) = served(Config::default()).await;
    let (mut c, _) = Raw::session(&addr, 4000).await;
    c.call(op::CREATE, create_body("/a", b"", 0)).await;
    c.call(op::CREATE, create_body("/a/e", b"", 1)).await;
    for path in ["/a", "/nothing"] {
        c.call(op::EXISTS, |w| {
            w.string(path).bool(true);
        })
        .await;
    }
    // A child watch is in the other table: wchs counts the data table, as the server does.
    c.call(op::GET_CHILDREN, |w| {
        w.string("/a").bool(true);
    })
    .await;
    assert_eq!(four_letter_word(&addr, "wchs").await, "1 connections watching 2 paths\nTotal watches:2\n");
    let mntr = four_letter_word(&addr, "mntr").await;
    for line in ["zk_ephemerals_count\t1\n", "zk_znode_count\t7\n", "zk_num_alive_connections\t1\n"] {
        assert!(mntr.contains(line), "mntr has no {line:?}: {mntr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_letter_words_count_a_file_store_the_same_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk.db");
    let counts = |mntr: String| -> Vec<String> {
        mntr.lines()
            .filter(|line| line.starts_with("zk_znode_count") || line.starts_with("zk_approximate_data_size"))
            .map(str::to_string)
            .collect()
    };
    let server = zczk_emulator::serve("127.0.0.1:0", Emulator::open_file(&file).unwrap()).await.unwrap();
    let addr = server.local_addr().to_string();
    let (mut c, _) = Raw::session(&addr, 4000).await;
    c.call(op::CREATE, create_body("/a", b"hello", 0)).await;
    c.call(op::CREATE, create_body("/a/b", b"\xff", 0)).await;
    c.call(op::CREATE, create_body("/a/e", b"eph", 1)).await;
    let before = counts(four_letter_word(&addr, "mntr").await);
    assert_eq!(before.len(), 2, "{before:?}");
    server.shutdown().await;
    drop(c);
    // Reopened, the store holds its nodes on disk and reads none it is not asked for.
    let emulator = tokio::task::spawn_blocking(move || Emulator::open_file(&file).unwrap()).await.unwrap();
    let server = zczk_emulator::serve("127.0.0.1:0", emulator).await.unwrap();
    assert_eq!(counts(four_letter_word(&server.local_addr().to_string(), "mntr").await), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_connections_and_disconnects_their_sessions() {
    let emulator = Emulator::new();
    let server = zczk_emulator::serve("127.0.0.1:0", emulator.clone()).await.unwrap();
    let addr = server.local_addr().to_string();
    let (mut c, connected) = Raw::session(&addr, 4000).await;
    c.call(op::CREATE, create_body("/eph", b"", 1)).await;
    server.shutdown().await;
    assert!(c.closed().await, "a connection outlived the server");
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err(), "the listener is still open");
    // The sessions are disconnected, not ended: their ephemerals stay until they time out.
    assert!(emulator.faults(connected.session_id).is_disconnected());
    let server = zczk_emulator::serve("127.0.0.1:0", emulator.clone()).await.unwrap();
    let (mut other, _) = Raw::session(&server.local_addr().to_string(), 4000).await;
    let (reply, _) = other
        .call(op::EXISTS, |w| {
            w.string("/eph").bool(false);
        })
        .await;
    assert_eq!(reply.err, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_connection_leaves_no_watch_behind() {
    let (server, addr) = served(Config::default()).await;
    let (mut c, connected) = Raw::session(&addr, 4000).await;
    c.call(op::CREATE, create_body("/w", b"", 0)).await;
    c.call(op::GET_DATA, |w| {
        w.string("/w").bool(true);
    })
    .await;
    c.call(op::GET_CHILDREN, |w| {
        w.string("/w").bool(true);
    })
    .await;
    c.call(op::ADD_WATCH, |w| {
        w.string("/w").i32(0);
    })
    .await;
    let emulator = server.emulator().clone();
    assert_eq!(emulator.watch_count_for(connected.session_id), 3);
    drop(c);
    let deadline = tokio::time::Instant::now() + MUST;
    while emulator.watch_count_for(connected.session_id) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(emulator.watch_count(), 0, "watches outlived their connection");
    assert!(emulator.faults(connected.session_id).is_disconnected());
}
