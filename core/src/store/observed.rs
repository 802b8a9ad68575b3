//! A store that shows each request to an [`Observer`] before passing it on, for tests and
//! benchmarks that count or measure what a component sends (and may tell a different request
//! limit than the server's).

use tokio::sync::watch;

use super::{
    Acl, CreateOptions, Created, MultiError, OneshotWatch, Op, OpKind, OpResult, PersistentWatch, ReadOp,
    ReadResult, Reply, RequestLimit, SessionState, Stat, Store, StoreError, WatchMode,
};

/// A request as an [`Observer`] sees it, before it is sent.
#[derive(Debug, Clone, Copy)]
pub enum Seen<'a> {
    /// A read of one path: exists, getData, getChildren, getACL, addWatch, sync.
    Read(OpKind, &'a str),
    /// A write of one path: create, delete, setData, setACL.
    Write(OpKind, &'a str),
    /// A `multi`, with its ops.
    Multi(&'a [Op]),
    /// A `multiRead`, with its reads.
    MultiRead(&'a [ReadOp]),
}

/// What an [`Observed`] store tells of the requests it passes on.
pub trait Observer: Send + Sync {
    /// Called with each request before it is sent.
    fn request(&self, request: Seen<'_>);

    /// The request limit the observed store tells, given its inner store's (the same by
    /// default).
    fn request_limit(&self, inner: RequestLimit) -> RequestLimit {
        inner
    }
}

/// A borrowed store whose requests an [`Observer`] sees; everything else is the inner store's.
pub struct Observed<'s, S, O> {
    inner: &'s S,
    observer: O,
}

impl<'s, S: Store, O: Observer> Observed<'s, S, O> {
    /// Wraps `inner`, telling `observer` of its requests.
    pub fn new(inner: &'s S, observer: O) -> Self {
        Observed { inner, observer }
    }

    /// The observer, for what it has counted or noted.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    fn read(&self, op: OpKind, path: &str) {
        self.observer.request(Seen::Read(op, path));
    }

    fn write(&self, op: OpKind, path: &str) {
        self.observer.request(Seen::Write(op, path));
    }
}

impl<S: Store, O: Observer> Store for Observed<'_, S, O> {
    fn create<'a>(
        &'a self,
        path: &'a str,
        data: Option<&'a [u8]>,
        options: &'a CreateOptions,
    ) -> Reply<'a, Created> {
        self.write(OpKind::Create, path);
        self.inner.create(path, data, options)
    }
    fn delete<'a>(&'a self, path: &'a str, version: Option<i32>) -> Reply<'a, ()> {
        self.write(OpKind::Delete, path);
        self.inner.delete(path, version)
    }
    fn exists<'a>(&'a self, path: &'a str) -> Reply<'a, Option<Stat>> {
        self.read(OpKind::Exists, path);
        self.inner.exists(path)
    }
    fn exists_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Stat>, OneshotWatch)> {
        self.read(OpKind::Exists, path);
        self.inner.exists_watch(path)
    }
    fn get_data<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Vec<u8>>, Stat)> {
        self.read(OpKind::GetData, path);
        self.inner.get_data(path)
    }
    fn get_data_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Option<Vec<u8>>, Stat, OneshotWatch)> {
        self.read(OpKind::GetData, path);
        self.inner.get_data_watch(path)
    }
    fn set_data<'a>(
        &'a self,
        path: &'a str,
        data: Option<&'a [u8]>,
        version: Option<i32>,
    ) -> Reply<'a, Stat> {
        self.write(OpKind::SetData, path);
        self.inner.set_data(path, data, version)
    }
    fn get_children<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<String>, Stat)> {
        self.read(OpKind::GetChildren, path);
        self.inner.get_children(path)
    }
    fn get_children_watch<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<String>, Stat, OneshotWatch)> {
        self.read(OpKind::GetChildren, path);
        self.inner.get_children_watch(path)
    }
    fn get_acl<'a>(&'a self, path: &'a str) -> Reply<'a, (Vec<Acl>, Stat)> {
        self.read(OpKind::GetAcl, path);
        self.inner.get_acl(path)
    }
    fn set_acl<'a>(&'a self, path: &'a str, acl: &'a [Acl], version: Option<i32>) -> Reply<'a, Stat> {
        self.write(OpKind::SetAcl, path);
        self.inner.set_acl(path, acl, version)
    }
    fn multi<'a>(&'a self, ops: &'a [Op]) -> Reply<'a, Vec<OpResult>, MultiError> {
        self.observer.request(Seen::Multi(ops));
        self.inner.multi(ops)
    }
    fn multi_read<'a>(&'a self, ops: &'a [ReadOp]) -> Reply<'a, Vec<Result<ReadResult, StoreError>>> {
        self.observer.request(Seen::MultiRead(ops));
        self.inner.multi_read(ops)
    }
    fn add_watch<'a>(&'a self, path: &'a str, mode: WatchMode) -> Reply<'a, PersistentWatch> {
        self.read(OpKind::Watch, path);
        self.inner.add_watch(path, mode)
    }
    fn sync<'a>(&'a self, path: &'a str) -> Reply<'a, ()> {
        self.read(OpKind::Sync, path);
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
        self.observer.request_limit(self.inner.request_limit())
    }
}
