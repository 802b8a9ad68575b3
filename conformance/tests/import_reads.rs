//! `Store::multi_read`, which import, export and recursive delete read trees with: one result
//! per op, in order, each failing on its own, the same on both backends (ZooKeeper's
//! `multiRead` on the real server, separate requests on the emulator).

use zczk_conformance::{close, on_every_backend, Backend};
use zczk_core::store::{Code, CreateOptions, ReadOp, ReadResult, Store};

on_every_backend!(
    multi_read_answers_each_op_in_order,
    multi_read_fails_each_op_on_its_own,
    empty_multi_read_is_empty
);

async fn multi_read_answers_each_op_in_order<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/a", Some(br#"{"x":1}"#), &CreateOptions::default()).await.unwrap();
    for child in ["/a/c", "/a/b"] {
        s.create(child, Some(b""), &CreateOptions::default()).await.unwrap();
    }
    let ops =
        [ReadOp::GetChildren("/a".into()), ReadOp::GetData("/a".into()), ReadOp::GetData("/a/b".into())];
    let results = s.multi_read(&ops).await.unwrap();
    assert_eq!(results.len(), 3);
    match &results[0] {
        Ok(ReadResult::Children(names)) => {
            let mut names = names.clone();
            names.sort();
            assert_eq!(names, ["b", "c"]);
        }
        other => panic!("{other:?}"),
    }
    let (_, stat) = s.get_data("/a").await.unwrap();
    assert_eq!(results[1], Ok(ReadResult::Data(Some(br#"{"x":1}"#.to_vec()), stat)));
    assert!(
        matches!(&results[2], Ok(ReadResult::Data(Some(data), stat)) if data.is_empty() && stat.num_children == 0)
    );
    close(s).await;
}

async fn multi_read_fails_each_op_on_its_own<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/a", Some(b""), &CreateOptions::default()).await.unwrap();
    let ops = [
        ReadOp::GetData("/missing".into()),
        ReadOp::GetData("/a".into()),
        ReadOp::GetChildren("/missing/x".into()),
    ];
    let results = s.multi_read(&ops).await.unwrap();
    let failed = |i: usize| results[i].as_ref().err().map(|e| (e.code, e.path.clone()));
    assert_eq!(failed(0), Some((Code::NoNode, "/missing".to_string())));
    assert!(matches!(results[1], Ok(ReadResult::Data(..))), "{:?}", results[1]);
    assert_eq!(failed(2), Some((Code::NoNode, "/missing/x".to_string())));
    close(s).await;
}

async fn empty_multi_read_is_empty<B: Backend>(b: B) {
    let s = b.session().await;
    assert_eq!(s.multi_read(&[]).await.unwrap(), []);
    close(s).await;
}
