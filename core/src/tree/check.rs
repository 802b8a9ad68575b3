//! What ZooKeeper accepts of a tree's nodes: their names, their data, their ACL entries, and
//! where they go.
//!
//! One rule each, used by the parser (which reports the line and column) and by import (for
//! trees built in code), so that `validate` refuses exactly what `import` refuses.

use super::Node;
use crate::path;
use crate::props::{self, EncodeError};
use crate::store::{Acl, RequestLimit};

/// Why a node whose path alone fills a request is refused: the server drops the connection of
/// any request longer than its limit.
const PATH_TOO_LONG: &str = "its path is longer than a ZooKeeper request can carry";

/// Why ZooKeeper would refuse a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The name is not one ZooKeeper accepts.
    Name {
        /// Byte offset of the problem in the name.
        offset: usize,
        /// Why.
        reason: &'static str,
    },
    /// The node would be in `/zookeeper`, ZooKeeper's own subtree.
    Reserved,
    /// The properties cannot be stored so that they read back as they are.
    Properties(EncodeError),
    /// The encoded data is larger than ZooKeeper accepts.
    DataTooLarge {
        /// The encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

/// Checks a node's name (wherever it goes).
pub(crate) fn name(name: &str) -> Result<(), Refusal> {
    match path::name_problem(name) {
        Some((offset, reason)) => Err(Refusal::Name { offset, reason }),
        None => Ok(()),
    }
}

/// Checks where a node goes: nothing is imported into `/zookeeper`.
pub(crate) fn place(path: &str) -> Result<(), Refusal> {
    if path == "/zookeeper" || path.starts_with("/zookeeper/") {
        return Err(Refusal::Reserved);
    }
    Ok(())
}

/// The node's data as written, its size not checked.
pub(crate) fn encode(node: &Node) -> Result<Vec<u8>, Refusal> {
    // Most nodes have no links: their properties are their data's, with no copy to make.
    if node.links.is_empty() && node.property_links.is_empty() {
        props::encode(&node.properties)
    } else {
        props::encode(&node.to_properties())
    }
    .map_err(Refusal::Properties)
}

/// Checks what node data can hold, without building the data: the data of the node at `path`
/// must fit a setData request on a server whose `jute.maxbuffer` is `max_request` (the path
/// counts, as the server limits whole requests).
pub(crate) fn data_size(node: &Node, path: &str, max_request: usize) -> Result<(), Refusal> {
    let size = if node.links.is_empty() && node.property_links.is_empty() {
        props::encoded_len(&node.properties)
    } else {
        props::encoded_len(&node.to_properties())
    }
    .map_err(Refusal::Properties)?;
    fits(size, path, max_request)
}

/// Checks that `size` bytes of data for the node at `path` fit a setData request.
fn fits(size: usize, path: &str, max_request: usize) -> Result<(), Refusal> {
    let request = RequestLimit { max: max_request, chroot: 0 };
    if !request.fits(request.set_data(path, &[])) {
        return Err(Refusal::Name { offset: 0, reason: PATH_TOO_LONG });
    }
    let limit = request.data_room(path);
    if size > limit {
        return Err(Refusal::DataTooLarge { size, limit });
    }
    Ok(())
}

/// Checks an ACL entry as every ZooKeeper server does, whatever authentication providers it
/// has: `world`'s only id is `anyone`, and a `digest` id is `USER:HASH`. (Which other schemes a
/// server knows depends on its configuration; it refuses an unknown one when it is written.)
pub(crate) fn acl_entry(acl: &Acl) -> Result<(), &'static str> {
    match acl.scheme.as_str() {
        "world" if acl.id != "anyone" => Err("the `world` scheme has one id, `anyone`"),
        "digest" if !matches!(acl.id.split_once(':'), Some((_, hash)) if !hash.is_empty() && !hash.contains(':')) => {
            Err("a `digest` id is USER:HASH (the base64 SHA-1 hash of USER:PASSWORD)")
        }
        _ => Ok(()),
    }
}
