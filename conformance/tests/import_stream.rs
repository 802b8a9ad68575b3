//! `import_tree` streaming on every backend: it plans and writes a group of top-level nodes at a
//! time (small groups here), so writing starts before the text is planned, and a failure part
//! way leaves exactly what the import module documents: the groups before it written, nothing
//! below a node whose create failed, nothing after it; bad text anywhere writes nothing.

use std::sync::atomic::{AtomicBool, Ordering};

use futures::FutureExt;
use tokio::sync::watch;

use zczk_conformance::{close, on_every_backend, Backend};
use zczk_core::import::{self, ApplyOptions, ImportError, ImportOptions, Progress};
use zczk_core::store::{
    Acl, Code, CreateMode, CreateOptions, Created, MultiError, OneshotWatch, Op, OpResult, PersistentWatch,
    Reply, RequestLimit, SessionState, Stat, Store, StoreError, WatchMode,
};

on_every_backend!(
    writing_starts_before_the_whole_text_is_planned,
    a_node_created_meanwhile_stops_the_import_at_its_group,
    an_ephemeral_parent_in_a_later_group_stops_the_import_there,
    a_bad_line_at_the_end_of_the_text_writes_nothing,
);

/// Top-level nodes of the test text.
const TOPS: usize = 10;

/// The text: `TOPS` top-level nodes `tNN`, each with children `c0`..`c2`, each with leaves
/// `l0`..`l2` (13 nodes a top-level node), every node with a property.
fn text() -> String {
    let mut text = String::new();
    for t in 0..TOPS {
        text.push_str(&format!("/t{t:02}\n  n = {t}\n"));
        for c in 0..3 {
            text.push_str(&format!("  /c{c}\n    n = {c}\n"));
            for l in 0..3 {
                text.push_str(&format!("    /l{l}\n      n = {l}\n"));
            }
        }
    }
    text
}

/// The paths of top-level node `t` of [`text`] under `root`, parents first.
fn paths_of_top(root: &str, t: usize) -> Vec<String> {
    let top = format!("{root}/t{t:02}");
    let mut paths = vec![top.clone()];
    for c in 0..3 {
        paths.push(format!("{top}/c{c}"));
        paths.extend((0..3).map(|l| format!("{top}/c{c}/l{l}")));
    }
    paths
}

/// Options that make each top-level node of [`text`] a group of its own.
fn one_top_a_group() -> ImportOptions {
    ImportOptions { apply: ApplyOptions { group: 13, ..ApplyOptions::default() }, ..ImportOptions::default() }
}

/// Asserts that every node of top-level node `t` exists (`written`) or none does.
async fn assert_top<S: Store>(s: &S, root: &str, t: usize, written: bool) {
    for path in paths_of_top(root, t) {
        let exists = s.exists(&path).await.unwrap().is_some();
        assert_eq!(exists, written, "{path}: expected {}", if written { "written" } else { "absent" });
    }
}

async fn writing_starts_before_the_whole_text_is_planned<B: Backend>(b: B) {
    let s = b.session().await;
    let mut seen = Vec::new();
    let mut record = |step: Progress| seen.push(step);
    let done = import::import_tree(&s, &text(), "/", &one_top_a_group(), Some(&mut record)).await.unwrap();
    assert_eq!(done.writes, TOPS * 13);
    let first_write = seen.iter().position(|step| matches!(step, Progress::Written { .. }));
    let last_read = seen.iter().rposition(|step| matches!(step, Progress::Read(_)));
    assert!(first_write < last_read, "a write was answered before the last node was read: {seen:?}");
    for t in 0..TOPS {
        assert_top(&s, "", t, true).await;
    }
    close(s).await;
}

async fn a_node_created_meanwhile_stops_the_import_at_its_group<B: Backend>(b: B) {
    // A top-level node, a node in the middle and a leaf, in different groups.
    for (run, (t, below)) in [(2, ""), (5, "/c1"), (8, "/c2/l2")].into_iter().enumerate() {
        let (s, other) = (b.session().await, b.session().await);
        let root = format!("/run{run}");
        s.create(&root, Some(b""), &CreateOptions::default()).await.unwrap();
        let target = format!("{root}/t{t:02}{below}");
        let racing = CreatesFirst { inner: s, other, target: target.clone(), fired: AtomicBool::new(false) };
        let err = import::import_tree(&racing, &text(), &root, &one_top_a_group(), None).await.unwrap_err();
        let ImportError::Conflict { failures, .. } = &err else { panic!("expected a conflict, got {err:?}") };
        assert_eq!(
            failures.iter().map(|e| (e.code, e.path.as_str())).collect::<Vec<_>>(),
            [(Code::NodeExists, target.as_str())]
        );
        let CreatesFirst { inner: s, other, .. } = racing;
        for earlier in 0..t {
            assert_top(&s, &root, earlier, true).await;
        }
        for later in t + 1..TOPS {
            assert_top(&s, &root, later, false).await;
        }
        let (data, _) = s.get_data(&target).await.unwrap();
        assert_eq!(data.as_deref(), Some(&b"theirs"[..]), "{target}: the other client's node is kept");
        let (children, _) = s.get_children(&target).await.unwrap();
        assert!(children.is_empty(), "nothing is created below {target}: {children:?}");
        close(other).await;
        close(s).await;
    }
}

async fn an_ephemeral_parent_in_a_later_group_stops_the_import_there<B: Backend>(b: B) {
    let (s, other) = (b.session().await, b.session().await);
    s.create("/e", Some(b""), &CreateOptions::default()).await.unwrap();
    other.create("/e/t05", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
    let err = import::import_tree(&s, &text(), "/e", &one_top_a_group(), None).await.unwrap_err();
    assert!(
        matches!(&err, ImportError::EphemeralParent { path } if path == "/e/t05/c0"),
        "expected an ephemeral parent error, got {err:?}"
    );
    for t in 0..5 {
        assert_top(&s, "/e", t, true).await;
    }
    for t in 6..TOPS {
        assert_top(&s, "/e", t, false).await;
    }
    close(other).await;
    close(s).await;
}

async fn a_bad_line_at_the_end_of_the_text_writes_nothing<B: Backend>(b: B) {
    let s = b.session().await;
    let text = format!("{}/last\n  n = (\n", text());
    let err = import::import_tree(&s, &text, "/", &one_top_a_group(), None).await.unwrap_err();
    let ImportError::Parse(error) = &err else { panic!("expected a parse error, got {err:?}") };
    assert_eq!(error.line, text.lines().count(), "{error}");
    let (children, _) = s.get_children("/").await.unwrap();
    assert!(children.iter().all(|name| name == "zookeeper"), "nothing written: {children:?}");
    close(s).await;
}

/// A store whose first write request creating `target` is preceded by `other` creating it
/// (with data `theirs`), as a client racing the import would.
struct CreatesFirst<S> {
    inner: S,
    other: S,
    target: String,
    fired: AtomicBool,
}

impl<S: Store> CreatesFirst<S> {
    /// Creates `target` through `other` if `paths` holds it and that was not done yet.
    async fn race(&self, mut paths: impl Iterator<Item = &str>) {
        if paths.any(|path| path == self.target) && !self.fired.swap(true, Ordering::SeqCst) {
            self.other.create(&self.target, Some(b"theirs"), &CreateOptions::default()).await.unwrap();
        }
    }
}

impl<S: Store> Store for CreatesFirst<S> {
    fn create<'a>(
        &'a self,
        path: &'a str,
        data: Option<&'a [u8]>,
        options: &'a CreateOptions,
    ) -> Reply<'a, Created> {
        async move {
            self.race([path].into_iter()).await;
            self.inner.create(path, data, options).await
        }
        .boxed()
    }

    fn multi<'a>(&'a self, ops: &'a [Op]) -> Reply<'a, Vec<OpResult>, MultiError> {
        async move {
            let created = ops.iter().filter_map(|op| match op {
                Op::Create { path, .. } => Some(path.as_str()),
                _ => None,
            });
            self.race(created).await;
            self.inner.multi(ops).await
        }
        .boxed()
    }

    fn delete<'a>(&'a self, path: &'a str, version: Option<i32>) -> Reply<'a, ()> {
        self.inner.delete(path, version)
    }

    fn exists<'a>(&'a self, path: &'a str) -> Reply<'a, Option<Stat>> {
        self.inner.exists(path)
    }

    fn exists_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Stat>, OneshotWatch)> {
        self.inner.exists_watch(path)
    }

    fn get_data<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Vec<u8>>, Stat)> {
        self.inner.get_data(path)
    }

    fn get_data_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Vec<u8>>, Stat, OneshotWatch)> {
        self.inner.get_data_watch(path)
    }

    fn set_data<'a>(
        &'a self,
        path: &'a str,
        data: Option<&'a [u8]>,
        version: Option<i32>,
    ) -> Reply<'a, Stat> {
        self.inner.set_data(path, data, version)
    }

    fn get_children<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<String>, Stat)> {
        self.inner.get_children(path)
    }

    fn get_children_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<String>, Stat, OneshotWatch)> {
        self.inner.get_children_watch(path)
    }

    fn get_acl<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<Acl>, Stat)> {
        self.inner.get_acl(path)
    }

    fn set_acl<'a>(&'a self, path: &'a str, acl: &'a [Acl], version: Option<i32>) -> Reply<'a, Stat> {
        self.inner.set_acl(path, acl, version)
    }

    fn multi_read<'a>(
        &'a self,
        ops: &'a [zczk_core::store::ReadOp],
    ) -> Reply<'a, Vec<Result<zczk_core::store::ReadResult, StoreError>>> {
        self.inner.multi_read(ops)
    }

    fn add_watch<'a>(&'a self, path: &'a str, mode: WatchMode) -> Reply<'a, PersistentWatch> {
        self.inner.add_watch(path, mode)
    }

    fn sync<'a>(&'a self, path: &'a str) -> Reply<'a, ()> {
        self.inner.sync(path)
    }

    fn add_auth<'a>(&'a self, scheme: &'a str, auth: &'a [u8]) -> Reply<'a, ()> {
        self.inner.add_auth(scheme, auth)
    }

    fn close(&self) -> Reply<'_, ()> {
        self.inner.close()
    }

    fn session_id(&self) -> i64 {
        self.inner.session_id()
    }

    fn session_state(&self) -> watch::Receiver<SessionState> {
        self.inner.session_state()
    }

    fn request_limit(&self) -> RequestLimit {
        self.inner.request_limit()
    }
}
