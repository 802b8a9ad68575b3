//! Virtual paths: `resolve` follows `name ->` node links; `ln` makes them.

use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::Notify;

use super::backoff::Backoff;
use super::{ClientError, Result, ZooKeeper};
use crate::path;
use crate::props;
use crate::store::{Code, Store};
use crate::tree::LINK_SUFFIX;

/// Where a live view's path leads after its node was deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Relocation {
    /// To another node (a link now leads there): follow it.
    Moved(String),
    /// To the same node, created again meanwhile: its watch will report it.
    Same,
    /// Nowhere: the view is deleted.
    Gone,
    /// Unknown for now; the view is poked again later.
    Unknown,
}

impl<S: Store + 'static> ZooKeeper<S> {
    /// The real path that the virtual `path` stands for.
    ///
    /// `.` and `..` are normalized first. A path that exists is its own answer (a real node
    /// shadows a link of the same name). Otherwise its parent is resolved, and the parent's
    /// `name ->` property is followed (a relative target is taken from the node holding the
    /// link). Following a link twice is [`ClientError::LinkLoop`]; a path that leads nowhere is
    /// [`ClientError::NoNode`] naming `path` as given.
    pub async fn resolve(&self, path: &str) -> Result<String> {
        self.resolve_noting(path, &mut Vec::new()).await
    }

    /// As [`ZooKeeper::resolve`], and adds to `holders` the nodes whose links were read (even
    /// when resolving fails): a live view watches them, as a change there can change the
    /// answer.
    pub(crate) async fn resolve_noting(&self, path: &str, holders: &mut Vec<String>) -> Result<String> {
        let normalized = path::normalize(path)?;
        let store = self.ready_store().await?;
        let mut walk = Resolution { store: &*store, active: Vec::new(), holders };
        match walk.resolve(normalized).await {
            Err(ClientError::NoNode { .. }) => Err(ClientError::NoNode { path: path.to_string() }),
            Err(ClientError::Store(e)) if e.is(Code::NoNode) => {
                Err(ClientError::NoNode { path: path.to_string() })
            }
            other => other,
        }
    }

    /// Makes `source` a link to `target`: sets the property `name -> target` on the parent of
    /// `source` (resolved through links), where `name` is the last segment of `source`; when
    /// `source` ends with `/`, it names the parent itself and the link takes the last segment
    /// of `target` as its name. Otherwise a `target` ending with `/` gets the name appended, as
    /// upstream does: `ln("/databases/", "/fooservice/main")` links `main -> /databases/main`.
    ///
    /// The target is not checked (a link may be made before its target exists). The parent's
    /// properties are updated with a versioned write, retried on conflict.
    pub async fn ln(&self, target: &str, source: &str) -> Result<()> {
        let (parent, name) = link_place(target, source)?;
        let parent = self.resolve(&parent).await?;
        let key = format!("{name}{LINK_SUFFIX}");
        // With `source` ending in `/` the name came from `target`: it is there already.
        let target = match target.ends_with('/') && !source.ends_with('/') {
            true => format!("{target}{name}"),
            false => target.to_string(),
        };
        let change = |props: &mut Map<String, Value>| {
            props.insert(key.clone(), Value::String(target.clone()));
        };
        self.update_properties(&parent, change, |_, _, _, _| Box::pin(async { Ok(()) })).await?;
        Ok(())
    }

    /// Where a live view goes when its node at `current` is gone: `virtual_path` is resolved
    /// again, as a link may now lead to another node. When that cannot be known now (the
    /// connection is down), `retry` is poked after the next of the view's `backoff` delays so
    /// that the view asks again.
    pub(crate) async fn relocate(
        &self,
        virtual_path: &str,
        current: &str,
        retry: &Arc<Notify>,
        backoff: &mut Backoff,
    ) -> Relocation {
        let answer = self.resolve(virtual_path).await;
        if answer.is_ok() {
            backoff.reset();
        }
        match answer {
            Ok(path) if path != current => Relocation::Moved(path),
            Ok(_) => Relocation::Same,
            Err(ClientError::NoNode { .. } | ClientError::LinkLoop { .. } | ClientError::Path(_)) => {
                Relocation::Gone
            }
            Err(e) => {
                tracing::warn!(path = virtual_path, error = %e, "can't tell where a deleted node's view leads now");
                let retry = retry.clone();
                let delay = backoff.delay();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    retry.notify_one();
                });
                Relocation::Unknown
            }
        }
    }
}

/// The node that gets the link (a virtual path) and the link's name, for `ln(target, source)`.
fn link_place(target: &str, source: &str) -> Result<(String, String)> {
    let (parent, name) = match source.strip_suffix('/') {
        // `ln /a/b /c/` links `/c/b -> /a/b`: the name comes from the target.
        Some(dir) => {
            let name = target.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
            (if dir.is_empty() { "/".to_string() } else { path::normalize(dir)? }, name.to_string())
        }
        None => {
            let normalized = path::normalize(source)?;
            let (parent, name) = path::split(&normalized).ok_or_else(|| path::PathError {
                path: source.to_string(),
                reason: "cannot link the root",
            })?;
            (parent.to_string(), name.to_string())
        }
    };
    if name.is_empty() || name == "." || name == ".." {
        let reason = "the link would have no name";
        return Err(path::PathError { path: format!("{target} {source}"), reason }.into());
    }
    path::validate_name(&name)?;
    Ok((parent, name))
}

/// One resolution under way.
struct Resolution<'a, S: Store + ?Sized> {
    store: &'a S,
    /// The links being followed by the resolutions still in progress: this one and the ones
    /// waiting for it (resolving a path needs its parent resolved first, which may follow links
    /// of its own). Meeting one of them again means the resolution depends on itself: a loop.
    /// A link followed by a resolution that has finished may be followed again (two parts of
    /// one path may go through the same link), so a finished resolution takes its links off.
    active: Vec<String>,
    /// The nodes whose links were read.
    holders: &'a mut Vec<String>,
}

impl<S: Store + ?Sized> Resolution<'_, S> {
    /// Resolves a normalized path.
    async fn resolve(&mut self, path: String) -> Result<String> {
        let mark = self.active.len();
        let resolved = self.follow_links(path).await?;
        self.active.truncate(mark);
        Ok(resolved)
    }

    /// Follows node links from `path` until a node that exists.
    async fn follow_links(&mut self, mut path: String) -> Result<String> {
        loop {
            if self.store.exists(&path).await?.is_some() {
                return Ok(path);
            }
            let Some((parent, name)) = path::split(&path) else {
                return Err(ClientError::NoNode { path });
            };
            let name = name.to_string();
            let holder = Box::pin(self.resolve(parent.to_string())).await?;
            // The link's identity: the real node holding it, and its name.
            let link = path::child(&holder, &name);
            if link != path && self.store.exists(&link).await?.is_some() {
                return Ok(link);
            }
            self.holders.push(holder.clone());
            let Some(target) = link_target(self.store, &holder, &name).await? else {
                return Err(ClientError::NoNode { path });
            };
            if let Some(first) = self.active.iter().position(|l| *l == link) {
                let mut chain = self.active.split_off(first);
                chain.push(link);
                return Err(ClientError::LinkLoop { chain });
            }
            self.active.push(link);
            path = path::join(&holder, &target)?;
        }
    }
}

/// The target of the link `name ->` held by the node `holder`, if it has one.
async fn link_target<S: Store + ?Sized>(store: &S, holder: &str, name: &str) -> Result<Option<String>> {
    let data = match store.get_data(holder).await {
        Ok((data, _)) => data,
        Err(e) if e.is(Code::NoNode) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut properties = props::decode(data.as_deref().unwrap_or_default()).properties;
    match properties.remove(&format!("{name}{LINK_SUFFIX}")) {
        Some(Value::String(target)) if !target.trim().is_empty() => Ok(Some(target.trim().to_string())),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_names_the_link_after_the_source() {
        assert_eq!(link_place("/a/b", "/c/d").unwrap(), ("/c".to_string(), "d".to_string()));
        assert_eq!(link_place("/a/b", "/d").unwrap(), ("/".to_string(), "d".to_string()));
    }

    #[test]
    fn ln_with_a_trailing_slash_names_the_link_after_the_target() {
        assert_eq!(link_place("/a/b", "/c/").unwrap(), ("/c".to_string(), "b".to_string()));
        assert_eq!(link_place("/a/b/", "/").unwrap(), ("/".to_string(), "b".to_string()));
        assert_eq!(link_place("../x", "/c/./").unwrap(), ("/c".to_string(), "x".to_string()));
    }

    #[test]
    fn ln_refuses_links_without_a_name_and_takes_root_dirs() {
        assert!(link_place("/", "/c/").is_err());
        assert_eq!(link_place("/a", "/").unwrap(), ("/".to_string(), "a".to_string()));
        assert!(link_place("..", "/c/").is_err());
    }
}
