//! Following property links (`name => path [property]`): the value a link leads to, through
//! node links and chains of property links, with loops told apart; and, for a watching view,
//! a watch on every node the links go through.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::Notify;

use super::node_watch::{NodeWatch, Watched};
use super::{ClientError, Result, ZooKeeper};
use crate::message::short;
use crate::path;
use crate::props;
use crate::store::{Code, Store};
use crate::tree::PROPERTY_LINK_SUFFIX;

/// Refuses `new` properties of the node at `path` when a property link that differs from
/// `old` does not lead to a value.
pub(super) async fn check_new_links<S: Store + 'static>(
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

/// The nodes that property links lead to, by resolved path: their properties as known for the
/// computation under way and, when the view watches, a watch on each that pokes the view.
#[derive(Default)]
pub(super) struct LinkCache {
    watches: HashMap<String, NodeWatch>,
    known: HashMap<String, Option<Map<String, Value>>>,
    used: HashSet<String>,
    /// The data versions of the linked nodes read by this computation (not the view's own).
    versions: BTreeMap<String, i32>,
}

impl LinkCache {
    /// Follows every property link of the node at `path`, which holds `properties`, as a new
    /// computation (nodes read before are read again, or taken from their watches): the value
    /// each link leads to (or why it can't be followed) by link name, and the data version of
    /// each linked node read, by path. With `notify`, every node the links go through is
    /// watched and pokes it.
    pub(super) async fn follow_links_of<S: Store + 'static>(
        &mut self,
        zk: &ZooKeeper<S>,
        path: &str,
        properties: &Map<String, Value>,
        notify: Option<&Arc<Notify>>,
    ) -> (BTreeMap<String, Result<Value, ClientError>>, BTreeMap<String, i32>) {
        self.known.clear();
        self.used.clear();
        self.versions.clear();
        self.known.insert(path.to_string(), Some(properties.clone()));
        let linked = follow_all(zk, path, properties, self, notify).await;
        (linked, std::mem::take(&mut self.versions))
    }

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
    pub(super) fn drop_unused(&mut self) {
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
    let read = match zk.ready_store().await?.get_data(path).await {
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
