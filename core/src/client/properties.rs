//! Live properties views: a node's properties as a map, with property links followed, kept
//! current by a watch, with callbacks and compare-and-set updates.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use futures::Stream;
use serde_json::{Map, Value};
use tokio::sync::{oneshot, watch, Notify};

use super::callbacks::{Callback, CallbackError, Flow, ViewChannel, ViewEvent, ViewState};
use super::node_watch::{NodeWatch, Watched};
use super::resolve::Relocation;
use super::{ClientError, Result, ZooKeeper};
use crate::message::short;
use crate::path;
use crate::props;
use crate::store::{Code, OpKind, Store, StoreError};
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
        let (data, stat) = self.session().await?.get_data(&resolved).await?;
        let properties = props::decode(data.as_deref().unwrap_or_default()).properties;
        let first =
            snapshot_of(self, resolved.clone(), properties, stat.version, &mut LinkCache::default(), None)
                .await;
        let channel = ViewChannel::new(path.to_string(), first);
        let stop = watch.then(|| {
            let (stop, stopped) = oneshot::channel();
            let task =
                ViewTask { zk: self.clone(), virtual_path: path.to_string(), channel: channel.clone() };
            tokio::spawn(task.run(resolved, stopped));
            stop
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
        let (data, stat) = zk.session().await?.get_data(&path).await?;
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
    async fn write(&self, mut change: impl FnMut(&mut Map<String, Value>)) -> Result<()> {
        let zk = &self.inner.zk;
        let path = self.path();
        loop {
            let (data, stat) = zk.session().await?.get_data(&path).await?;
            let decoded = props::decode(data.as_deref().unwrap_or_default());
            let mut properties = decoded.properties.clone();
            change(&mut properties);
            check_new_links(zk, &path, &decoded.properties, &properties).await?;
            let data = decoded.encode_updated(&properties).map_err(ClientError::bad_properties(&path))?;
            match zk.set_data(&path, &data, Some(stat.version)).await {
                Err(ClientError::Store(e)) if e.is(Code::BadVersion) => continue,
                Err(e) => return Err(e),
                Ok(stat) => {
                    if !self.inner.watching {
                        // No watch will bring the new state: this view is its only source.
                        let snapshot =
                            snapshot_of(zk, path, properties, stat.version, &mut LinkCache::default(), None)
                                .await;
                        self.inner.channel.publish(snapshot).await;
                    }
                    return Ok(());
                }
            }
        }
    }
}

/// Refuses `new` properties of the node at `path` when a property link that differs from
/// `old` does not lead to a value.
async fn check_new_links<S: Store + 'static>(
    zk: &ZooKeeper<S>,
    path: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Result<()> {
    let mut cache = LinkCache::default();
    // Links between properties of this node must see what is about to be written.
    cache.known.insert(path.to_string(), Some(new.clone()));
    for (key, target) in new {
        let Some(name) = key.strip_suffix(PROPERTY_LINK_SUFFIX) else { continue };
        if old.get(key) == Some(target) {
            continue;
        }
        follow_link(zk, path, name, target, &mut cache, None).await?;
    }
    Ok(())
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
    cache.known.clear();
    cache.used.clear();
    cache.versions.clear();
    cache.known.insert(path.clone(), Some(properties.clone()));
    let linked = follow_all(zk, &path, &properties, cache, notify).await;
    let link_versions = std::mem::take(&mut cache.versions);
    PropertiesSnapshot { path, properties, version, deleted: false, linked, link_versions }
}

/// The nodes that property links lead to, by resolved path: their properties as known for the
/// computation under way and, when the view watches, a watch on each that pokes the view.
#[derive(Default)]
struct LinkCache {
    watches: HashMap<String, NodeWatch>,
    known: HashMap<String, Option<Map<String, Value>>>,
    used: HashSet<String>,
    /// The data versions of the linked nodes read by this computation (not the view's own).
    versions: BTreeMap<String, i32>,
}

impl LinkCache {
    /// Watches `path` for this view (when it watches) and marks it used by this computation.
    /// The view's own node is known from the start and watched by the view itself.
    fn watch<S: Store + 'static>(&mut self, zk: &ZooKeeper<S>, path: String, notify: Option<&Arc<Notify>>) {
        let own_node = self.known.contains_key(&path) && !self.watches.contains_key(&path);
        if let Some(notify) = notify.filter(|_| !own_node) {
            self.watches
                .entry(path.clone())
                .or_insert_with(|| NodeWatch::start(zk, path.clone(), Watched::Data, notify.clone()));
        }
        self.used.insert(path);
    }

    /// Stops watching the nodes the last computation did not use.
    fn drop_unused(&mut self) {
        let used = std::mem::take(&mut self.used);
        self.watches.retain(|p, _| used.contains(p));
    }
}

/// Follows every property link of a node whose name is not also a stored property.
async fn follow_all<S: Store + 'static>(
    zk: &ZooKeeper<S>,
    node_path: &str,
    properties: &Map<String, Value>,
    cache: &mut LinkCache,
    notify: Option<&Arc<Notify>>,
) -> BTreeMap<String, Result<Value, ClientError>> {
    let mut linked = BTreeMap::new();
    for (key, target) in properties {
        let Some(name) = key.strip_suffix(PROPERTY_LINK_SUFFIX) else { continue };
        if !properties.contains_key(name) {
            let result = follow_link(zk, node_path, name, target, cache, notify).await;
            linked.insert(name.to_string(), result);
        }
    }
    linked
}

/// Follows the property link `name => target` of the node at `holder`, through chains.
async fn follow_link<S: Store + 'static>(
    zk: &ZooKeeper<S>,
    holder: &str,
    name: &str,
    target: &Value,
    cache: &mut LinkCache,
    notify: Option<&Arc<Notify>>,
) -> Result<Value> {
    let mut chain = vec![format!("{holder} {name}")];
    let target = target.as_str().unwrap_or_default();
    Box::pin(follow(zk, holder, name, target, cache, notify, &mut chain)).await
}

/// Follows one step of a property link: `key => target` held by the node at `holder`;
/// `chain` holds the `path name` pairs asked for so far, to tell a loop.
async fn follow<S: Store + 'static>(
    zk: &ZooKeeper<S>,
    holder: &str,
    key: &str,
    target: &str,
    cache: &mut LinkCache,
    notify: Option<&Arc<Notify>>,
    chain: &mut Vec<String>,
) -> Result<Value> {
    let bad = |reason: String| ClientError::BadPropertyLink {
        path: holder.to_string(),
        link: format!("{key}{PROPERTY_LINK_SUFFIX} {target}"),
        reason,
    };
    let parts: Vec<&str> = target.split_whitespace().collect();
    if parts.is_empty() || parts.len() > 2 {
        return Err(bad("expected a path and at most one property name".into()));
    }
    let name = parts.get(1).copied().unwrap_or(key);
    let joined = path::join(holder, parts[0]).map_err(|e| bad(e.to_string()))?;
    let mut link_holders = Vec::new();
    let resolved = zk.resolve_noting(&joined, &mut link_holders).await;
    // Re-pointing a node link on the way changes where this link leads: watch those nodes.
    for link_holder in link_holders {
        cache.watch(zk, link_holder, notify);
    }
    let resolved = match resolved {
        Ok(p) => p,
        Err(e @ ClientError::LinkLoop { .. }) => return Err(e),
        Err(e) => return Err(bad(e.to_string())),
    };
    // A loop is coming back to a property already asked for, not merely to a node: links
    // between properties of one node are fine.
    let step = format!("{resolved} {name}");
    let looped = chain.contains(&step);
    chain.push(step);
    if looped {
        return Err(ClientError::LinkLoop { chain: std::mem::take(chain) });
    }
    let properties = linked_properties(zk, &resolved, cache, notify).await.map_err(|e| bad(e.to_string()))?;
    let Some(properties) = properties else {
        return Err(bad(format!("{}: no such node", short(&resolved))));
    };
    if let Some(v) = properties.get(name) {
        return Ok(v.clone());
    }
    // A chain: the target holds a property link of that name itself.
    if let Some(next) = properties.get(&format!("{name}{PROPERTY_LINK_SUFFIX}")) {
        let next = next.as_str().unwrap_or_default();
        return Box::pin(follow(zk, &resolved, name, next, cache, notify, chain)).await;
    }
    Err(bad(format!("{} has no property {:?}", short(&resolved), short(name))))
}

/// The properties of a node a link leads to (`None` when it does not exist): as already known
/// in this computation, else from its watch when watching (starting one if needed), else read.
async fn linked_properties<S: Store + 'static>(
    zk: &ZooKeeper<S>,
    path: &str,
    cache: &mut LinkCache,
    notify: Option<&Arc<Notify>>,
) -> Result<Option<Map<String, Value>>> {
    if let Some(known) = cache.known.get(path) {
        cache.used.insert(path.to_string());
        return Ok(known.clone());
    }
    cache.watch(zk, path.to_string(), notify);
    if let Some(watch) = cache.watches.get(path) {
        let state = watch.state.lock().clone();
        if state.loaded && state.error.is_none() {
            if state.exists {
                cache.versions.insert(path.to_string(), state.version);
            }
            let properties = state.exists.then_some(state.properties);
            cache.known.insert(path.to_string(), properties.clone());
            return Ok(properties);
        }
    }
    let read = match zk.session().await?.get_data(path).await {
        Ok((data, stat)) => {
            cache.versions.insert(path.to_string(), stat.version);
            Some(props::decode(data.as_deref().unwrap_or_default()).properties)
        }
        Err(e) if e.is(Code::NoNode) => None,
        Err(e) => return Err(e.into()),
    };
    cache.known.insert(path.to_string(), read.clone());
    Ok(read)
}

/// The task of a watching view.
struct ViewTask<S: Store + 'static> {
    zk: ZooKeeper<S>,
    virtual_path: String,
    channel: Arc<ViewChannel<PropertiesSnapshot>>,
}

impl<S: Store + 'static> ViewTask<S> {
    /// Recomputes the snapshot whenever the node or a node its links lead to changes, until
    /// the view is dropped or its node is gone for good.
    async fn run(self, resolved: String, mut stopped: oneshot::Receiver<()>) {
        let notify = Arc::new(Notify::new());
        let mut main = NodeWatch::start(&self.zk, resolved, Watched::Data, notify.clone());
        let mut links = LinkCache::default();
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                _ = notify.notified() => {}
            }
            let state = main.state.lock().clone();
            if !state.loaded {
                continue;
            }
            if !state.exists {
                match self.zk.relocate(&self.virtual_path, &main.path, &notify).await {
                    Relocation::Moved(path) => {
                        main = NodeWatch::start(&self.zk, path, Watched::Data, notify.clone())
                    }
                    Relocation::Same | Relocation::Unknown => {}
                    Relocation::Gone => {
                        let gone = PropertiesSnapshot {
                            path: main.path.clone(),
                            deleted: true,
                            ..Default::default()
                        };
                        self.channel.publish(gone).await;
                        return;
                    }
                }
                continue;
            }
            let snapshot = snapshot_of(
                &self.zk,
                main.path.clone(),
                state.properties,
                state.version,
                &mut links,
                Some(&notify),
            )
            .await;
            links.drop_unused();
            self.log_new_bad_links(&snapshot);
            self.channel.publish(snapshot).await;
        }
    }

    /// Data with a bad property link is accepted from the server (someone else wrote it); say
    /// so once per link and cause.
    fn log_new_bad_links(&self, snapshot: &PropertiesSnapshot) {
        let before = self.channel.current();
        for (name, result) in &snapshot.linked {
            if let Err(e) = result {
                if before.linked.get(name) != Some(result) {
                    tracing::warn!(view = %self.virtual_path, property = %name, error = %e, "bad property link");
                }
            }
        }
    }
}
