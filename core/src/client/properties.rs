//! Live properties views: a node's properties as a map, with property links followed, kept
//! current by a watch, with callbacks and compare-and-set updates.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::{oneshot, watch, Notify};

use super::callbacks::{Callback, CallbackError, Callbacks, Flow, ViewEvent};
use super::node_watch::{NodeWatch, Watched};
use super::{ClientError, Result, ZooKeeper};
use crate::path;
use crate::props;
use crate::store::{Code, Store};
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
    /// followed.
    pub linked: BTreeMap<String, Result<Value, ClientError>>,
}

impl PropertiesSnapshot {
    /// The value of `key`: a stored property, or else the value its property link `key =>`
    /// leads to (an error if that link is bad). `Ok(None)` when neither exists.
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

    /// The property names with ` =>` stripped, each once, in stored order.
    pub fn keys(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.properties
            .keys()
            .map(|k| k.strip_suffix(PROPERTY_LINK_SUFFIX).unwrap_or(k).to_string())
            .filter(|k| seen.insert(k.clone()))
            .collect()
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
    snapshot: watch::Sender<Arc<PropertiesSnapshot>>,
    callbacks: Callbacks<PropertiesSnapshot>,
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
    /// on every change of the node or of a node its property links lead to, and when the node
    /// is deleted the view follows a link that now leads elsewhere, or becomes deleted.
    /// Without `watch`, it is a snapshot that can still be updated but takes no callbacks.
    pub async fn properties(&self, path: &str, watch: bool) -> Result<Properties<S>> {
        let resolved = self.resolve(path).await?;
        let (data, stat) = self.store().get_data(&resolved).await?;
        let properties = props::decode(&data).properties;
        let mut links = LinkCache::default();
        let linked = follow_all(self, &resolved, &properties, &mut links, None).await;
        let first = PropertiesSnapshot {
            path: resolved.clone(),
            properties,
            version: stat.version,
            deleted: false,
            linked,
        };
        let (snapshot, _) = watch::channel(Arc::new(first));
        let (stop, stopped) = if watch {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let inner = Arc::new(Inner {
            zk: self.clone(),
            virtual_path: path.to_string(),
            watching: watch,
            snapshot,
            callbacks: Callbacks::default(),
            _stop: stop,
        });
        if let Some(stopped) = stopped {
            tokio::spawn(run(Arc::downgrade(&inner), self.clone(), path.to_string(), resolved, stopped));
        }
        Ok(Properties { inner })
    }
}

impl<S: Store + 'static> Properties<S> {
    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<PropertiesSnapshot> {
        self.inner.snapshot.borrow().clone()
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

    /// Every snapshot, now and as it changes: a stream for async code.
    pub fn subscribe(&self) -> watch::Receiver<Arc<PropertiesSnapshot>> {
        self.inner.snapshot.subscribe()
    }

    /// Registers a callback: it is called at once with the current state (if that fails, it
    /// is not registered and the error is returned), then on every change. It is removed when
    /// it returns [`Flow::Cancel`] or an error (which is logged).
    pub fn on_change(
        &self,
        callback: impl FnMut(&ViewEvent<PropertiesSnapshot>) -> Result<Flow, CallbackError> + Send + 'static,
    ) -> Result<(), CallbackError> {
        if !self.inner.watching {
            return Err(
                format!("{}: a view made without watch takes no callbacks", self.inner.virtual_path).into()
            );
        }
        let snapshot = self.snapshot();
        let first = if snapshot.deleted { ViewEvent::Deleted } else { ViewEvent::Changed(snapshot) };
        self.inner.callbacks.register(Box::new(callback) as Callback<_>, &first)
    }

    /// The number of callbacks registered (cancelled and failed ones are removed).
    pub fn callback_count(&self) -> usize {
        self.inner.callbacks.len()
    }

    /// Replaces all the properties.
    pub async fn set(&self, properties: Map<String, Value>) -> Result<()> {
        self.write(move |p| *p = properties.clone()).await
    }

    /// Merges `properties` into the node's.
    pub async fn update(&self, properties: Map<String, Value>) -> Result<()> {
        self.write(move |p| p.extend(properties.clone())).await
    }

    /// Removes the named properties.
    pub async fn remove(&self, keys: &[&str]) -> Result<()> {
        self.write(|p| {
            for k in keys {
                p.shift_remove(*k);
            }
        })
        .await
    }

    /// Read-modify-write on the resolved path, compare-and-set on the version read, retried on
    /// conflict. Property links in the new data are checked first: one that does not lead to
    /// a value refuses the write.
    async fn write(&self, mut change: impl FnMut(&mut Map<String, Value>)) -> Result<()> {
        let zk = &self.inner.zk;
        let path = self.path();
        loop {
            let (data, stat) = zk.store().get_data(&path).await?;
            let decoded = props::decode(&data);
            let mut properties = decoded.properties.clone();
            change(&mut properties);
            let linked = follow_all(zk, &path, &properties, &mut LinkCache::default(), None).await;
            if let Some(Err(e)) = linked.into_values().find(Result::is_err) {
                return Err(e);
            }
            match zk.set_data(&path, &decoded.encode_updated(&properties), Some(stat.version)).await {
                Err(ClientError::Store(e)) if e.is(Code::BadVersion) => continue,
                other => return other.map(|_| ()),
            }
        }
    }
}

/// The watched nodes that property links lead to, by resolved path. Without a `Notify` (no
/// watch), nodes are read once and cached for one computation.
#[derive(Default)]
struct LinkCache {
    watches: HashMap<String, NodeWatch>,
    read: HashMap<String, Option<Map<String, Value>>>,
    used: std::collections::HashSet<String>,
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
    for (key, value) in properties {
        let Some(name) = key.strip_suffix(PROPERTY_LINK_SUFFIX) else { continue };
        if properties.contains_key(name) {
            continue;
        }
        let target = value.as_str().unwrap_or_default().to_string();
        let mut seen = vec![format!("{node_path} {name}")];
        let result = Box::pin(follow(zk, node_path, name, &target, cache, notify, &mut seen)).await;
        linked.insert(name.to_string(), result);
    }
    linked
}

/// Follows the property link `key => target` held by the node at `holder`.
async fn follow<S: Store + 'static>(
    zk: &ZooKeeper<S>,
    holder: &str,
    key: &str,
    target: &str,
    cache: &mut LinkCache,
    notify: Option<&Arc<Notify>>,
    seen: &mut Vec<String>,
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
    let resolved = match zk.resolve(&joined).await {
        Ok(p) => p,
        Err(e @ ClientError::LinkLoop { .. }) => return Err(e),
        Err(e) => return Err(bad(e.to_string())),
    };
    // A loop is coming back to a property already asked for, not merely to a node: links
    // between properties of one node are fine.
    let step = format!("{resolved} {name}");
    if seen.contains(&step) {
        seen.push(step);
        return Err(ClientError::LinkLoop { chain: std::mem::take(seen) });
    }
    seen.push(step);
    let properties = linked_properties(zk, &resolved, cache, notify).await.map_err(|e| bad(e.to_string()))?;
    let Some(properties) = properties else {
        return Err(bad(format!("{resolved}: no such node")));
    };
    if let Some(v) = properties.get(name) {
        return Ok(v.clone());
    }
    // A chain: the target holds a property link of that name itself.
    let next_key = format!("{name}{PROPERTY_LINK_SUFFIX}");
    if let Some(next) = properties.get(&next_key).and_then(Value::as_str) {
        return Box::pin(follow(zk, &resolved, name, next, cache, notify, seen)).await;
    }
    Err(bad(format!("{resolved} has no property {name:?}")))
}

/// The properties of a node a link leads to: from its watch when watching (starting one if
/// needed), else read once.
async fn linked_properties<S: Store + 'static>(
    zk: &ZooKeeper<S>,
    path: &str,
    cache: &mut LinkCache,
    notify: Option<&Arc<Notify>>,
) -> Result<Option<Map<String, Value>>> {
    cache.used.insert(path.to_string());
    if let Some(watch) = cache.watches.get(path) {
        let state = watch.state.lock().clone();
        if state.loaded {
            return Ok(state.exists.then_some(state.properties));
        }
    }
    if let Some(notify) = notify {
        cache
            .watches
            .entry(path.to_string())
            .or_insert_with(|| NodeWatch::start(zk, path.to_string(), Watched::Data, notify.clone()));
    }
    if let Some(read) = cache.read.get(path) {
        return Ok(read.clone());
    }
    let read = match zk.store().get_data(path).await {
        Ok((data, _)) => Some(props::decode(&data).properties),
        Err(e) if e.is(Code::NoNode) => None,
        Err(e) => return Err(e.into()),
    };
    cache.read.insert(path.to_string(), read.clone());
    Ok(read)
}

/// The view's task: recomputes the snapshot whenever a watched node changes.
async fn run<S: Store + 'static>(
    inner: std::sync::Weak<Inner<S>>,
    zk: ZooKeeper<S>,
    virtual_path: String,
    resolved: String,
    mut stopped: oneshot::Receiver<()>,
) {
    let notify = Arc::new(Notify::new());
    let mut main = NodeWatch::start(&zk, resolved, Watched::Data, notify.clone());
    let mut cache = LinkCache::default();
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = notify.notified() => {}
        }
        let state = main.state.lock().clone();
        if !state.loaded {
            continue;
        }
        let Some(inner) = inner.upgrade() else { return };
        if !state.exists {
            // The node is gone: a link may now lead elsewhere.
            match zk.resolve(&virtual_path).await {
                Ok(path) if path != main.path => {
                    main = NodeWatch::start(&zk, path, Watched::Data, notify.clone());
                    continue;
                }
                Ok(_) => continue, // re-created meanwhile: its watch will report it
                Err(_) => {
                    let gone =
                        PropertiesSnapshot { path: main.path.clone(), deleted: true, ..Default::default() };
                    inner.snapshot.send_replace(Arc::new(gone));
                    inner.callbacks.dispatch(&virtual_path, &ViewEvent::Deleted);
                    return;
                }
            }
        }
        cache.used.clear();
        cache.read.clear();
        let linked = follow_all(&zk, &main.path, &state.properties, &mut cache, Some(&notify)).await;
        let used = std::mem::take(&mut cache.used);
        cache.watches.retain(|p, _| used.contains(p));
        let snapshot = PropertiesSnapshot {
            path: main.path.clone(),
            properties: state.properties,
            version: state.version,
            deleted: false,
            linked,
        };
        if **inner.snapshot.borrow() == snapshot {
            continue;
        }
        let snapshot = Arc::new(snapshot);
        inner.snapshot.send_replace(snapshot.clone());
        inner.callbacks.dispatch(&virtual_path, &ViewEvent::Changed(snapshot));
    }
}
