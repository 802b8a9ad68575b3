//! Virtual paths: `resolve` follows `name ->` node links; `ln` makes them.

use serde_json::Value;

use super::{ClientError, Result, ZooKeeper};
use crate::path;
use crate::props;
use crate::store::{Code, Store};
use crate::tree::LINK_SUFFIX;

impl<S: Store + 'static> ZooKeeper<S> {
    /// The real path that the virtual `path` stands for.
    ///
    /// `.` and `..` are normalized first. A path that exists is its own answer (a real node
    /// shadows a link of the same name). Otherwise its parent is resolved, and the parent's
    /// `name ->` property is followed (a relative target is taken from the node holding the
    /// link). Following a link twice is [`ClientError::LinkLoop`]; a path that leads nowhere is
    /// [`ClientError::NoNode`] naming `path` as given.
    pub async fn resolve(&self, path: &str) -> Result<String> {
        let normalized = path::normalize(path)?;
        let store = self.store();
        let mut seen = Vec::new();
        match resolve_in(&*store, normalized, &mut seen).await {
            Err(ClientError::NoNode { .. }) => Err(ClientError::NoNode { path: path.to_string() }),
            other => other,
        }
    }

    /// Makes `source` a link to `target`: sets the property `name -> target` on the parent of
    /// `source`, where `name` is the last segment of `source`; when `source` ends with `/`, it
    /// names the parent and the link takes the last segment of `target` as its name.
    ///
    /// The parent's properties are updated with a versioned write, retried on conflict.
    pub async fn ln(&self, target: &str, source: &str) -> Result<()> {
        let (parent, name) = if let Some(dir) = source.strip_suffix('/') {
            let name = target.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
            (if dir.is_empty() { "/".to_string() } else { path::normalize(dir)? }, name.to_string())
        } else {
            let normalized = path::normalize(source)?;
            let (parent, name) = path::split(&normalized).ok_or_else(|| path::PathError {
                path: source.to_string(),
                reason: "cannot link the root",
            })?;
            (parent.to_string(), name.to_string())
        };
        if name.is_empty() {
            return Err(
                path::PathError { path: target.to_string(), reason: "the link would have no name" }.into()
            );
        }
        let key = format!("{name}{LINK_SUFFIX}");
        self.update_properties(&parent, |props| {
            props.insert(key.clone(), Value::String(target.to_string()));
        })
        .await
    }

    /// Read-modify-write of a node's properties with compare-and-set on the version read,
    /// retried when another writer got in between.
    pub(crate) async fn update_properties(
        &self,
        path: &str,
        mut change: impl FnMut(&mut serde_json::Map<String, Value>),
    ) -> Result<()> {
        loop {
            let (data, stat) = self.store().get_data(path).await?;
            let decoded = props::decode(&data);
            let mut properties = decoded.properties.clone();
            change(&mut properties);
            let new = decoded.encode_updated(&properties);
            match self.set_data(path, &new, Some(stat.version)).await {
                Err(ClientError::Store(e)) if e.is(Code::BadVersion) => continue,
                other => return other.map(|_| ()),
            }
        }
    }
}

/// Resolves a normalized path; `seen` is the chain of link sources followed so far.
async fn resolve_in<S: Store + ?Sized>(store: &S, path: String, seen: &mut Vec<String>) -> Result<String> {
    // Iterative over links, recursive over parents: the parent of a link target may itself
    // need links.
    let mut path = path;
    loop {
        if store.exists(&path).await?.is_some() {
            return Ok(path);
        }
        if seen.contains(&path) {
            seen.push(path);
            return Err(ClientError::LinkLoop { chain: std::mem::take(seen) });
        }
        let Some((parent, name)) = path::split(&path) else {
            return Err(ClientError::NoNode { path });
        };
        let (parent, name) = (parent.to_string(), name.to_string());
        let base = Box::pin(resolve_in(store, parent, seen)).await?;
        let candidate = path::child(&base, &name);
        if candidate != path && store.exists(&candidate).await?.is_some() {
            return Ok(candidate);
        }
        let data = match store.get_data(&base).await {
            Ok((data, _)) => data,
            Err(e) if e.is(Code::NoNode) => return Err(ClientError::NoNode { path }),
            Err(e) => return Err(e.into()),
        };
        let properties = props::decode(&data).properties;
        let Some(Value::String(target)) = properties.get(&format!("{name}{LINK_SUFFIX}")) else {
            return Err(ClientError::NoNode { path });
        };
        if target.is_empty() {
            return Err(ClientError::NoNode { path });
        }
        seen.push(path);
        path = path::join(&base, target)?;
    }
}
