//! The server's view of paths: its parent/name split and its special nodes. Which paths are
//! valid, and how a child joins its parent, are core's rules ([`zczk_core::path`]).

use zczk_core::path::split;

/// The parent of a valid path (`/` for `/a`); the root's parent is the root itself, as the
/// server's root alias `""` makes it.
pub fn parent(path: &str) -> &str {
    split(path).map_or("/", |(parent, _)| parent)
}

/// The last segment of a valid path (`""` for the root).
pub fn name(path: &str) -> &str {
    split(path).map_or("", |(_, name)| name)
}

/// The node that holds an ensemble's membership (ZooKeeper's dynamic configuration).
pub const CONFIG: &str = "/zookeeper/config";

/// The nodes that the server refuses to delete (its "special paths").
pub fn is_special(path: &str) -> bool {
    matches!(path, "/" | "/zookeeper" | "/zookeeper/quota" | "/zookeeper/config")
}

/// The path and every ancestor up to the root, nearest first (`/a/b`, `/a`, `/`).
pub fn self_and_ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let current = next?;
        next = if current == "/" { None } else { Some(parent(current)) };
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_and_name() {
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/"), "/");
        assert_eq!(name("/a/b"), "b");
        assert_eq!(name("/"), "");
        assert_eq!(self_and_ancestors("/a/b").collect::<Vec<_>>(), ["/a/b", "/a", "/"]);
        assert_eq!(self_and_ancestors("/").collect::<Vec<_>>(), ["/"]);
    }
}
