//! Live properties views: a node's properties as a map, with property links followed (see
//! `property_links`), kept current by a watch (see `view`), with callbacks; and the one
//! compare-and-set update of a node's properties.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::Stream;
use serde_json::{Map, Value};
use tokio::sync::{oneshot, watch, Notify};

use super::callbacks::{Callback, CallbackError, Flow, ViewChannel, ViewEvent, ViewState};
use super::node_watch::{NodeState, Watched};
use super::property_links::{check_new_links, LinkCache};
use super::view::{self, ViewKind};
use super::{ClientError, Result, ZooKeeper};
use crate::props;
use crate::store::{Code, OpKind, Stat, Store, StoreError};
use crate::tree::PROPERTY_LINK_SUFFIX;

/// A node's properties at one moment, with its property links followed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PropertiesSnapshot {
    /// The real (resolved) path of the node.
    pub path: String,
    /// The properties as stored, raw keys included (`x ->`, `x =>`).
    pub properties: Map<String, Value>,
    /// The data version they were read at.
    pub version: i32,
    /// True when the node is gone (the view is then empty).
    pub deleted: bool,
    /// The value each property link (by name, without ` =>`) leads to, or why it can't be
    /// followed. Links whose name is also a stored property are not followed.
    pub linked: BTreeMap<String, Result<Value, ClientError>>,
    /// The data version of each node the property links led to, by path, as read. A change of
    /// a linked node is a new snapshot even when the values followed stay the same, so the
    /// callbacks hear of every change of the node or of a node a link points at.
    pub link_versions: BTreeMap<String, i32>,
}

impl ViewState for PropertiesSnapshot {
    fn is_deleted(&self) -> bool {
        self.deleted
    }
}

impl PropertiesSnapshot {
    /// The value of `key`: a stored property (raw keys such as `x ->` included), or else the
    /// value its property link `key =>` leads to (an error if that link is bad). `Ok(None)`
    /// when neither exists.
    pub fn get(&self, key: &str) -> Result<Option<Value>> {
        if let Some(v) = self.properties.get(key) {
            return Ok(Some(v.clone()));
        }
        match self.linked.get(key) {
            Some(Ok(v)) => Ok(Some(v.clone())),
            Some(Err(e)) => Err(e.clone()),
            None => Ok(None),
        }
    }

    /// True when [`PropertiesSnapshot::get`] finds `key` (a bad link counts: it is there).
    pub fn contains_key(&self, key: &str) -> bool {
        self.properties.contains_key(key) || self.linked.contains_key(key)
    }

    /// The property names with ` =>` stripped, each once (a name present both as `x` and as
    /// `x =>` is one key), in stored order.
    pub fn keys(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.properties
            .keys()
            .map(|k| k.strip_suffix(PROPERTY_LINK_SUFFIX).unwrap_or(k).to_string())
            .filter(|k| seen.insert(k.clone()))
            .collect()
    }

    /// The number of keys, as [`PropertiesSnapshot::keys`] counts them.
    pub fn len(&self) -> usize {
        self.keys().len()
    }

    /// True when there are no properties.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }

    /// Each key (as [`PropertiesSnapshot::keys`]) with its value (as
    /// [`PropertiesSnapshot::get`]).
    pub fn iter(&self) -> impl Iterator<Item = (String, Result<Value>)> + '_ {
        // Every key is a stored property or a followed link, so `get` finds each one.
        self.keys().into_iter().map(|k| {
            let value = self.get(&k).map(Option::unwrap_or_default);
            (k, value)
        })
    }

    /// The properties with each property link `k =>` replaced by `k` and the value it leads
    /// to (links that can't be followed are left out); node links stay as stored.
    pub fn followed(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, value) in &self.properties {
            match key.strip_suffix(PROPERTY_LINK_SUFFIX) {
                Some(name) if !self.properties.contains_key(name) => {
                    if let Some(Ok(v)) = self.linked.get(name) {
                        out.insert(name.to_string(), v.clone());
                    }
                }
                Some(_) => {}
                None => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        out
    }
}

struct Inner<S: Store + 'static> {
    zk: ZooKeeper<S>,
    /// The path as the user gave it (it may go through links).
    virtual_path: String,
    watching: bool,
    channel: Arc<ViewChannel<PropertiesSnapshot>>,
    /// Dropped with the last handle: stops the view's task and so its watches.
    _stop: Option<oneshot::Sender<()>>,
}

/// A node's properties, live (see [`ZooKeeper::properties`]). Cheap to clone; dropping the
/// last clone stops its watches.
pub struct Properties<S: Store + 'static> {
    inner: Arc<Inner<S>>,
}

impl<S: Store + 'static> Clone for Properties<S> {
    fn clone(&self) -> Self {
        Properties { inner: self.inner.clone() }
    }
}

impl<S: Store + 'static> ZooKeeper<S> {
    /// The properties of the node at `path` (resolved through links).
    ///
    /// With `watch`, the view stays current: callbacks ([`Properties::on_change`]) are called
    /// when the node changes (each new version) or the value a property link leads to changes;
    /// when the node is deleted the view follows a link that now leads elsewhere, or becomes
    /// deleted. Without `watch`, it is a snapshot that can still be updated but takes no
    /// callbacks.
    pub async fn properties(&self, path: &str, watch: bool) -> Result<Properties<S>> {
        let resolved = self.resolve(path).await?;
        let (data, stat) = self.ready_store().await?.get_data(&resolved).await?;
        let properties = props::decode(data.as_deref().unwrap_or_default()).properties;
        let first =
            snapshot_of(self, resolved.clone(), properties, stat.version, &mut LinkCache::default(), None)
                .await;
        let channel = ViewChannel::new(path.to_string(), first);
        let stop = watch.then(|| {
            let kind = PropertiesView { virtual_path: path.to_string(), links: LinkCache::default() };
            view::watch(self, path.to_string(), resolved, channel.clone(), kind)
        });
        let inner =
            Inner { zk: self.clone(), virtual_path: path.to_string(), watching: watch, channel, _stop: stop };
        Ok(Properties { inner: Arc::new(inner) })
    }
}

impl<S: Store + 'static> Properties<S> {
    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<PropertiesSnapshot> {
        self.inner.channel.current()
    }

    /// The real path of the node (it changes if a link now leads elsewhere).
    pub fn path(&self) -> String {
        self.snapshot().path.clone()
    }

    /// See [`PropertiesSnapshot::get`].
    pub fn get(&self, key: &str) -> Result<Option<Value>> {
        self.snapshot().get(key)
    }

    /// See [`PropertiesSnapshot::keys`].
    pub fn keys(&self) -> Vec<String> {
        self.snapshot().keys()
    }

    /// True when the node is gone for good.
    pub fn is_deleted(&self) -> bool {
        self.snapshot().deleted
    }

    /// Every snapshot, now and as it changes.
    pub fn subscribe(&self) -> watch::Receiver<Arc<PropertiesSnapshot>> {
        self.inner.channel.subscribe()
    }

    /// The snapshots as an async stream: the current one at once, then each change; it ends
    /// after the deleted snapshot, or when the view's last handle is dropped.
    pub fn stream(&self) -> impl Stream<Item = Arc<PropertiesSnapshot>> + Send + 'static {
        self.inner.channel.stream()
    }

    /// Registers a callback: it is called at once with the current state (if that fails, it
    /// is not registered and the error is returned), then on every change. It is removed when
    /// it returns [`Flow::Cancel`] or an error (which is logged). Callbacks run on a blocking
    /// thread, one at a time per view.
    ///
    /// A view made without `watch` refuses callbacks: it would never call them.
    pub fn on_change(
        &self,
        callback: impl FnMut(&ViewEvent<PropertiesSnapshot>) -> Result<Flow, CallbackError> + Send + 'static,
    ) -> Result<(), CallbackError> {
        if !self.inner.watching {
            let path = &self.inner.virtual_path;
            return Err(format!("{path}: a properties view made without watch takes no callbacks").into());
        }
        self.inner.channel.register(Box::new(callback) as Callback<_>)
    }

    /// The number of callbacks registered (cancelled and failed ones are removed).
    pub fn callback_count(&self) -> usize {
        self.inner.channel.len()
    }

    /// Replaces all the properties.
    pub async fn set(&self, properties: Map<String, Value>) -> Result<()> {
        self.write(move |p| *p = properties.clone()).await
    }

    /// Merges `properties` into the node's.
    pub async fn update(&self, properties: Map<String, Value>) -> Result<()> {
        self.write(move |p| p.extend(properties.clone())).await
    }

    /// Changes the properties with `change`, which gets the node's current properties and
    /// may be called again (on fresh ones) when another writer got in first: a read-modify-write
    /// that loses no concurrent update, such as incrementing a counter.
    pub async fn update_with(&self, change: impl FnMut(&mut Map<String, Value>)) -> Result<()> {
        self.write(change).await
    }

    /// Removes the named properties (raw names: `x =>` for a property link).
    pub async fn remove(&self, keys: &[&str]) -> Result<()> {
        self.write(|p| {
            for k in keys {
                p.shift_remove(*k);
            }
        })
        .await
    }

    /// Replaces all the properties if the node's data is still at `version` (a snapshot's
    /// version): a compare-and-set that is not retried, for an editor that must show a
    /// concurrent change rather than overwrite it. Fails with `BadVersion` and changes nothing
    /// when another writer got in first. New property links are checked as [`Self::set`] does.
    pub async fn set_if_version(&self, properties: Map<String, Value>, version: i32) -> Result<()> {
        let zk = &self.inner.zk;
        let path = self.path();
        let (data, stat) = zk.ready_store().await?.get_data(&path).await?;
        if stat.version != version {
            return Err(StoreError::new(Code::BadVersion, OpKind::SetData, &path).into());
        }
        let decoded = props::decode(data.as_deref().unwrap_or_default());
        check_new_links(zk, &path, &decoded.properties, &properties).await?;
        let data = decoded.encode_updated(&properties).map_err(ClientError::bad_properties(&path))?;
        let stat = zk.set_data(&path, &data, Some(version)).await?;
        if !self.inner.watching {
            let snapshot =
                snapshot_of(zk, path, properties, stat.version, &mut LinkCache::default(), None).await;
            self.inner.channel.publish(snapshot).await;
        }
        Ok(())
    }

    /// Read-modify-write on the resolved path, compare-and-set on the version read, retried on
    /// conflict (re-reading and re-applying `change`), so concurrent writers lose nothing.
    ///
    /// The property links that the change adds or alters are followed first, against the
    /// node's new properties: one that does not lead to a value refuses the write and nothing
    /// changes. Links already stored are not checked again, so that a link broken by someone
    /// else does not block every later update.
    async fn write(&self, change: impl FnMut(&mut Map<String, Value>)) -> Result<()> {
        let zk = &self.inner.zk;
        let path = self.path();
        let (properties, stat) = zk
            .update_properties(&path, change, |zk, path, old, new| {
                Box::pin(check_new_links(zk, path, old, new))
            })
            .await?;
        if !self.inner.watching {
            // No watch will bring the new state: this view is its only source.
            let snapshot =
                snapshot_of(zk, path, properties, stat.version, &mut LinkCache::default(), None).await;
            self.inner.channel.publish(snapshot).await;
        }
        Ok(())
    }
}

impl<S: Store + 'static> ZooKeeper<S> {
    /// Read-modify-write of the properties of the node at `path` (a real path): `change` gets
    /// the properties read; `check` gets the client, `path`, those properties and the changed
    /// ones, and may refuse the write.
    /// The write is a compare-and-set on the version read, retried (re-reading and re-applying
    /// `change`) when another writer got in between, so concurrent writers lose nothing.
    /// Returns the properties written and the node's new Stat.
    pub(crate) async fn update_properties(
        &self,
        path: &str,
        mut change: impl FnMut(&mut Map<String, Value>),
        mut check: impl for<'m> FnMut(
            &'m Self,
            &'m str,
            &'m Map<String, Value>,
            &'m Map<String, Value>,
        ) -> BoxFuture<'m, Result<()>>,
    ) -> Result<(Map<String, Value>, Stat)> {
        loop {
            let (data, stat) = self.ready_store().await?.get_data(path).await?;
            let decoded = props::decode(data.as_deref().unwrap_or_default());
            let mut properties = decoded.properties.clone();
            change(&mut properties);
            check(self, path, &decoded.properties, &properties).await?;
            let data = decoded.encode_updated(&properties).map_err(ClientError::bad_properties(path))?;
            match self.set_data(path, &data, Some(stat.version)).await {
                Err(ClientError::Store(e)) if e.is(Code::BadVersion) => continue,
                Err(e) => return Err(e),
                Ok(stat) => return Ok((properties, stat)),
            }
        }
    }
}

/// A snapshot of the node at `path` holding `properties`, with its property links followed.
async fn snapshot_of<S: Store + 'static>(
    zk: &ZooKeeper<S>,
    path: String,
    properties: Map<String, Value>,
    version: i32,
    cache: &mut LinkCache,
    notify: Option<&Arc<Notify>>,
) -> PropertiesSnapshot {
    let (linked, link_versions) = cache.follow_links_of(zk, &path, &properties, notify).await;
    PropertiesSnapshot { path, properties, version, deleted: false, linked, link_versions }
}

/// A watching properties view: its snapshots follow the property links, watching the nodes
/// they lead to.
struct PropertiesView {
    virtual_path: String,
    links: LinkCache,
}

impl<S: Store + 'static> ViewKind<S> for PropertiesView {
    type Snapshot = PropertiesSnapshot;
    const WATCHED: Watched = Watched::Data;

    async fn snapshot(
        &mut self,
        zk: &ZooKeeper<S>,
        path: String,
        state: NodeState,
        previous: Arc<PropertiesSnapshot>,
        notify: &Arc<Notify>,
    ) -> PropertiesSnapshot {
        let snapshot =
            snapshot_of(zk, path, state.properties, state.version, &mut self.links, Some(notify)).await;
        self.links.drop_unused();
        self.log_new_bad_links(&previous, &snapshot);
        snapshot
    }

    fn deleted(path: String) -> PropertiesSnapshot {
        PropertiesSnapshot { path, deleted: true, ..Default::default() }
    }
}

impl PropertiesView {
    /// Data with a bad property link is accepted from the server (someone else wrote it); say
    /// so once per link and cause.
    fn log_new_bad_links(&self, before: &PropertiesSnapshot, snapshot: &PropertiesSnapshot) {
        for (name, result) in &snapshot.linked {
            if let Err(e) = result {
                if before.linked.get(name) != Some(result) {
                    tracing::warn!(view = %self.virtual_path, property = %name, error = %e, "bad property link");
                }
            }
        }
    }
}
