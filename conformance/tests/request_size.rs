//! The request size limit (`jute.maxbuffer`): every backend takes a request exactly at the
//! limit and loses the connection on one byte more, whatever the op, and import, export and
//! recursive delete size their batches so that trees near the limit go through whole.

use std::sync::atomic::{AtomicBool, Ordering};
use zczk_conformance::{close, on_every_backend, Backend};
use zczk_core::delete::{self, DeleteOptions};
use zczk_core::export::{self, ExportOptions};
use zczk_core::import::{self, ImportError, ImportOptions};
use zczk_core::tree::ParseErrorKind;

use zczk_core::store::{
    Code, CreateOptions, MultiError, Observed, Observer, Op, ReadOp, ReadResult, RequestLimit, Seen, Store,
};

on_every_backend!(
    writes_at_the_limit_pass_and_one_byte_more_loses_the_connection,
    a_multi_at_the_limit_passes_and_one_byte_more_loses_the_connection,
    a_multi_read_at_the_limit_passes_and_one_byte_more_loses_the_connection,
    siblings_with_600000_character_names_import_export_and_delete,
    data_at_the_limit_imports_and_one_byte_more_is_refused_naming_the_node,
    a_node_near_the_limit_and_large_siblings_import_export_and_delete,
    a_read_or_write_too_long_for_a_batch_goes_alone,
);

/// A name of `len` characters, all `c`.
fn name(c: char, len: usize) -> String {
    c.to_string().repeat(len)
}

/// Closes a session that may have lost its connection (it may be reconnecting).
async fn close_after_loss<S: Store>(s: S) {
    let _ = s.close().await;
}

async fn writes_at_the_limit_pass_and_one_byte_more_loses_the_connection<B: Backend>(b: B) {
    let s = b.session().await;
    let limit = s.request_limit();
    let open = CreateOptions::default();

    let room = limit.max - limit.create("/c", b"", &open);
    s.create("/c", Some(&vec![b'c'; room]), &open).await.expect("a create at the limit");
    let lost = b.session().await;
    let error = lost.create("/d", Some(&vec![b'd'; room + 1]), &open).await.unwrap_err();
    assert_eq!(error.code, Code::ConnectionLoss, "{error}");
    close_after_loss(lost).await;
    assert_eq!(s.exists("/d").await.unwrap(), None);

    let room = limit.max - limit.set_data("/c", b"");
    s.set_data("/c", Some(&vec![b'e'; room]), None).await.expect("a setData at the limit");
    let lost = b.session().await;
    let error = lost.set_data("/c", Some(&vec![b'f'; room + 1]), None).await.unwrap_err();
    assert_eq!(error.code, Code::ConnectionLoss, "{error}");
    close_after_loss(lost).await;
    assert_eq!(s.get_data("/c").await.unwrap().0, Some(vec![b'e'; room]));
    close(s).await;
}

async fn a_multi_at_the_limit_passes_and_one_byte_more_loses_the_connection<B: Backend>(b: B) {
    let s = b.session().await;
    let limit = s.request_limit();
    let ops = |data: usize| {
        vec![
            Op::Create {
                path: "/m1".into(),
                data: Some(vec![b'm'; data]),
                options: CreateOptions::default(),
            },
            Op::Create { path: "/m2".into(), data: Some(Vec::new()), options: CreateOptions::default() },
        ]
    };
    let room = limit.max - limit.multi(&ops(0));
    let lost = b.session().await;
    match lost.multi(&ops(room + 1)).await {
        Err(MultiError::Request(error)) => assert_eq!(error.code, Code::ConnectionLoss, "{error}"),
        other => panic!("{other:?}"),
    }
    close_after_loss(lost).await;
    assert_eq!(s.exists("/m2").await.unwrap(), None);
    s.multi(&ops(room)).await.expect("a multi at the limit");
    assert_eq!(s.get_data("/m1").await.unwrap().0.unwrap_or_default().len(), room);
    close(s).await;
}

async fn a_multi_read_at_the_limit_passes_and_one_byte_more_loses_the_connection<B: Backend>(b: B) {
    let s = b.session().await;
    let limit = s.request_limit();
    s.create("/r", Some(b"here"), &CreateOptions::default()).await.unwrap();
    // A read of /r and one of a missing node whose long name fills the request.
    let ops = |len: usize| [ReadOp::GetData("/r".into()), ReadOp::GetData(format!("/{}", name('n', len)))];
    // (Counted from a one-character name: under a chroot, `/` alone is sent as the chroot.)
    let len = limit.max - limit.multi_read(&ops(1)) + 1;
    let results = s.multi_read(&ops(len)).await.expect("a multi-read at the limit");
    assert!(
        matches!(&results[0], Ok(ReadResult::Data(Some(data), _)) if data == b"here"),
        "{:?}",
        results[0]
    );
    assert!(matches!(&results[1], Err(e) if e.code == Code::NoNode));
    let lost = b.session().await;
    let error = lost.multi_read(&ops(len + 1)).await.unwrap_err();
    assert_eq!(error.code, Code::ConnectionLoss, "{error}");
    close_after_loss(lost).await;
    close(s).await;
}

async fn siblings_with_600000_character_names_import_export_and_delete<B: Backend>(b: B) {
    let s = b.session().await;
    let (a, z) = (name('a', 600_000), name('z', 600_000));
    let text = format!("/t\n  /{a}\n    x = 1\n  /{z}\n");
    import::import_tree(&s, &text, "/", &ImportOptions::default(), None).await.expect("import");
    let exported = export::export_tree(&s, "/t", &ExportOptions::default()).await.expect("export");
    assert!(exported == text, "the export differs from the text imported");
    // Importing again plans against what exists (so reads both nodes) and writes nothing.
    let again =
        import::import_tree(&s, &text, "/", &ImportOptions::default(), None).await.expect("re-import");
    assert_eq!(again.writes, 0);
    let report = delete::delete_recursive(&s, "/t", &DeleteOptions::default()).await.expect("delete");
    assert_eq!(report.deleted, 3);
    assert_eq!(s.exists("/t").await.unwrap(), None);
    close(s).await;
}

/// Tree text giving `/path`'s last segment a property `x` whose node data is `len` bytes.
fn node_with_data(path: &str, len: usize) -> String {
    let name = path.rsplit('/').next().unwrap_or_default();
    // The data is `{"x":"..."}`: 8 bytes around the value.
    format!("/{name}\n  x = '{}'\n", "v".repeat(len - 8))
}

async fn data_at_the_limit_imports_and_one_byte_more_is_refused_naming_the_node<B: Backend>(b: B) {
    let s = b.session().await;
    let limit = s.request_limit();
    let import = |text: String| {
        let s = &s;
        async move { import::import_tree(s, &text, "/", &ImportOptions::default(), None).await }
    };

    // A new node: the limit of a create with the open ACL.
    let room = limit.max - limit.create("/n", b"", &CreateOptions::default());
    import(node_with_data("/n", room)).await.expect("a node at the create limit");
    assert_eq!(s.get_data("/n").await.unwrap().0.unwrap_or_default().len(), room);
    // One byte more is refused before anything is written: /a, first in the plan, is not created.
    let text = format!("/a\n{}", node_with_data("/o", room + 1));
    match import(text).await {
        Err(ImportError::DataTooLarge { path, size, limit }) => {
            assert_eq!((path.as_str(), size, limit), ("/o", room + 1, room));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.exists("/a").await.unwrap(), None);
    assert_eq!(s.exists("/o").await.unwrap(), None);

    // An existing node: the limit of a setData, which carries no ACL.
    let room = limit.max - limit.set_data("/n", b"");
    match import(node_with_data("/n", room + 1)).await {
        Err(ImportError::DataTooLarge { path, size, .. }) => {
            assert_eq!((path.as_str(), size), ("/n", room + 1))
        }
        // Without a chroot this is the default limit, which the text's own check applies first,
        // at the node's line.
        Err(ImportError::Parse(e)) if s.request_limit() == RequestLimit::default() => {
            assert_eq!((e.line, e.kind), (1, ParseErrorKind::DataTooLarge { size: room + 1, limit: room }))
        }
        other => panic!("{other:?}"),
    }
    import(node_with_data("/n", room)).await.expect("an update at the setData limit");
    assert_eq!(s.get_data("/n").await.unwrap().0.unwrap_or_default().len(), room);
    close(s).await;
}

async fn a_node_near_the_limit_and_large_siblings_import_export_and_delete<B: Backend>(b: B) {
    let s = b.session().await;
    let limit = s.request_limit();
    let big = limit.max - limit.create("/p/big", b"", &CreateOptions::default());
    let mut text = format!("/p\n{}", indent(&node_with_data("/p/big", big)));
    for sibling in ["/p/s1", "/p/s2", "/p/s3"] {
        text += &indent(&node_with_data(sibling, 400_000));
    }
    import::import_tree(&s, &text, "/", &ImportOptions::default(), None).await.expect("import");
    // One read request can carry all four nodes; the reply (2.2 MB) is not limited.
    let exported = export::export_tree(&s, "/p", &ExportOptions::default()).await.expect("export");
    assert!(exported == text, "the export differs from the text imported");
    let again =
        import::import_tree(&s, &text, "/", &ImportOptions::default(), None).await.expect("re-import");
    assert_eq!(again.writes, 0);
    let report = delete::delete_recursive(&s, "/p", &DeleteOptions::default()).await.expect("delete");
    assert_eq!(report.deleted, 5);
    close(s).await;
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

async fn a_read_or_write_too_long_for_a_batch_goes_alone<B: Backend>(b: B) {
    let s = b.session().await;
    let limit = s.request_limit();
    let text = format!("/d\n  /{}\n", name('l', 1000));
    let long = format!("/d/{}", name('l', 1000));
    // Creating the long node (whose data is `{}`) fits this limit; a multi holding that create
    // does not.
    let narrowed = Narrowed::to(&s, limit.create(&long, b"{}", &CreateOptions::default()));
    import::import_tree(&narrowed, &text, "/", &ImportOptions::default(), None).await.expect("import");
    assert!(s.exists(&long).await.unwrap().is_some());
    assert!(narrowed.observer().batches_fit(), "a multi was longer than the limit");
    // Reading it fits this limit; a multiRead holding that read does not.
    let narrowed = Narrowed::to(&s, limit.read(&long));
    let exported = export::export_tree(&narrowed, "/d", &ExportOptions::default()).await.expect("export");
    assert_eq!(exported, text);
    delete::delete_recursive(&narrowed, "/d", &DeleteOptions::default()).await.expect("delete");
    assert_eq!(s.exists("/d").await.unwrap(), None);
    assert!(narrowed.observer().batches_fit(), "a multi or multiRead was longer than the limit");
    close(s).await;
}

/// An observer that makes a session tell a smaller request limit than its server takes (as a
/// client does when the server's `jute.maxbuffer` is larger than the default), and notes
/// whether any `multi` or `multiRead` sent is longer than that limit.
struct Narrowed {
    limit: RequestLimit,
    too_long: AtomicBool,
}

impl Narrowed {
    fn to<S: Store>(store: &S, max: usize) -> Observed<'_, S, Narrowed> {
        let limit = RequestLimit { max, ..store.request_limit() };
        Observed::new(store, Narrowed { limit, too_long: AtomicBool::new(false) })
    }

    fn batches_fit(&self) -> bool {
        !self.too_long.load(Ordering::Relaxed)
    }
}

impl Observer for Narrowed {
    fn request(&self, request: Seen<'_>) {
        let limit = self.limit;
        let len = match request {
            Seen::Multi(ops) => limit.multi(ops),
            Seen::MultiRead(ops) => limit.multi_read(ops),
            Seen::Read(..) | Seen::Write(..) => return,
        };
        if !limit.fits(len) {
            self.too_long.store(true, Ordering::Relaxed);
        }
    }

    fn request_limit(&self, _inner: RequestLimit) -> RequestLimit {
        self.limit
    }
}
