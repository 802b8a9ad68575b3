//! `multi`: all or nothing, one result per op, the failing op's index, on both backends.

use zczk_conformance::{close, on_every_backend, Backend};
use zczk_core::store::{Code, CreateMode, CreateOptions, EventKind, MultiError, Op, OpResult, Store};

fn create(path: &str, data: &[u8]) -> Op {
    Op::Create { path: path.into(), data: Some(data.to_vec()), options: CreateOptions::default() }
}

fn failing(result: Result<Vec<OpResult>, MultiError>) -> (usize, Code, String) {
    match result {
        Err(MultiError::Op { index, error }) => (index, error.code, error.path),
        other => panic!("expected one op to fail, got {other:?}"),
    }
}

on_every_backend!(
    multi_applies_every_op_in_order,
    multi_failure_applies_nothing_and_names_the_op,
    multi_ops_see_the_earlier_ops,
    multi_fires_watches_once_committed,
    empty_multi_succeeds,
);

async fn multi_applies_every_op_in_order<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/m", Some(b""), &CreateOptions::default()).await.unwrap();
    let ops = vec![
        create("/m/a", b"a"),
        create("/m/b", b""),
        Op::SetData { path: "/m/a".into(), data: Some(b"a2".to_vec()), version: Some(0) },
        Op::Check { path: "/m/b".into(), version: 0 },
        Op::Delete { path: "/m/b".into(), version: None },
        Op::Create {
            path: "/m/s-".into(),
            data: Some(vec![]),
            options: CreateOptions::new(CreateMode::PersistentSequential),
        },
    ];
    let results = s.multi(&ops).await.unwrap();
    assert_eq!(results.len(), 6);
    assert!(matches!(&results[0], OpResult::Create(c) if c.path == "/m/a"));
    // A create inside a multi reports no Stat (3.8 sends none: the client fills in -1s); a
    // set_data does.
    assert!(matches!(&results[0], OpResult::Create(c) if (c.stat.czxid, c.stat.version) == (-1, -1)));
    assert!(matches!(&results[1], OpResult::Create(c) if c.path == "/m/b"));
    assert!(matches!(&results[2], OpResult::SetData(st) if (st.version, st.data_length) == (1, 2)));
    assert_eq!(results[3], OpResult::Check);
    assert_eq!(results[4], OpResult::Delete);
    // Sequential numbering counts the creates before it in the same transaction.
    assert!(matches!(&results[5], OpResult::Create(c) if c.path == "/m/s-0000000002"), "{:?}", results[5]);
    let (data, stat) = s.get_data("/m/a").await.unwrap();
    assert_eq!((data.as_deref(), stat.version), (Some(&b"a2"[..]), 1));
    assert_eq!(s.exists("/m/b").await.unwrap(), None);
    // One transaction: the nodes it made share one zxid.
    let s_stat = s.exists("/m/s-0000000002").await.unwrap().unwrap();
    assert_eq!(s_stat.czxid, stat.czxid);
    assert_eq!(stat.mzxid, stat.czxid);
    let m = s.exists("/m").await.unwrap().unwrap();
    assert_eq!((m.num_children, m.cversion, m.pzxid), (2, 4, stat.czxid));
    close(s).await;
}

async fn multi_failure_applies_nothing_and_names_the_op<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/f", Some(b"0"), &CreateOptions::default()).await.unwrap();
    let before = s.exists("/f").await.unwrap().unwrap();
    let ops = vec![
        create("/f/new", b""),
        Op::SetData { path: "/f".into(), data: Some(b"1".to_vec()), version: None },
        Op::SetData { path: "/f/missing".into(), data: Some(vec![]), version: None },
        create("/f/other", b""),
    ];
    assert_eq!(failing(s.multi(&ops).await), (2, Code::NoNode, "/f/missing".to_string()));
    assert_eq!(s.exists("/f/new").await.unwrap(), None);
    assert_eq!(s.get_data("/f").await.unwrap(), (Some(b"0".to_vec()), before));
    let check = vec![Op::Check { path: "/f".into(), version: 3 }, create("/f/x", b"")];
    assert_eq!(failing(s.multi(&check).await), (0, Code::BadVersion, "/f".to_string()));
    let exists = vec![create("/f/y", b""), create("/f/y", b"")];
    assert_eq!(failing(s.multi(&exists).await), (1, Code::NodeExists, "/f/y".to_string()));
    let not_empty = vec![create("/f/z", b""), Op::Delete { path: "/f".into(), version: None }];
    assert_eq!(failing(s.multi(&not_empty).await), (1, Code::NotEmpty, "/f".to_string()));
    // Nothing of all that happened; the parent's counters are untouched.
    let after = s.exists("/f").await.unwrap().unwrap();
    assert_eq!(after, before);
    // Sequential numbers are not used up by a failed multi.
    let seq = CreateOptions::new(CreateMode::PersistentSequential);
    let created = s.create("/f/s-", Some(b""), &seq).await.unwrap();
    assert_eq!(created.path, "/f/s-0000000000");
    close(s).await;
}

async fn multi_ops_see_the_earlier_ops<B: Backend>(b: B) {
    let s = b.session().await;
    let ops = vec![
        create("/chain", b""),
        create("/chain/a", b""),
        Op::Check { path: "/chain/a".into(), version: 0 },
        Op::SetData { path: "/chain/a".into(), data: Some(b"1".to_vec()), version: Some(0) },
        Op::SetData { path: "/chain/a".into(), data: Some(b"2".to_vec()), version: Some(1) },
        Op::Delete { path: "/chain/a".into(), version: Some(2) },
    ];
    s.multi(&ops).await.unwrap();
    let chain = s.exists("/chain").await.unwrap().unwrap();
    assert_eq!((chain.num_children, chain.cversion), (0, 2));
    close(s).await;
}

async fn multi_fires_watches_once_committed<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/w", Some(b""), &CreateOptions::default()).await.unwrap();
    let watcher = b.session().await;
    let (_, _, data_watch) = watcher.get_data_watch("/w").await.unwrap();
    let (_, _, child_watch) = watcher.get_children_watch("/w").await.unwrap();
    let ops = vec![
        Op::SetData { path: "/w".into(), data: Some(b"x".to_vec()), version: None },
        create("/w/c", b""),
    ];
    s.multi(&ops).await.unwrap();
    assert_eq!(data_watch.await.kind, EventKind::NodeDataChanged);
    assert_eq!(child_watch.await.kind, EventKind::NodeChildrenChanged);
    close(s).await;
    close(watcher).await;
}

async fn empty_multi_succeeds<B: Backend>(b: B) {
    let s = b.session().await;
    assert_eq!(s.multi(&[]).await.unwrap(), Vec::new());
    close(s).await;
}
