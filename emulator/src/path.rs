//! Path rules of the ZooKeeper server: what `PathUtils.validatePath` accepts, and the
//! parent/name split the server uses.

/// Why a path is rejected, in the server's words. `None` means the path is valid.
///
/// The rules, as ZooKeeper 3.8 applies them to the UTF-16 form of the path:
/// not empty; starts with `/`; `/` alone is the root; otherwise no trailing `/`, no empty
/// segment, no `.` or `..` segment, no NUL, and none of the characters U+0001..U+001F,
/// U+007F..U+009F, U+D800..U+F8FF (surrogates, so every character outside the Basic
/// Multilingual Plane, and the private use area) or U+FFF0..U+FFFF.
pub fn invalid_reason(path: &str) -> Option<&'static str> {
    let bytes = path.as_bytes();
    if bytes.is_empty() {
        return Some("path length must be > 0");
    }
    if bytes[0] != b'/' {
        return Some("path must start with / character");
    }
    if bytes.len() == 1 {
        return None;
    }
    if bytes[bytes.len() - 1] == b'/' {
        return Some("path must not end with / character");
    }
    // Segment-level rules first, then characters: the server reports the first problem by
    // position, but every caller only needs to know that the path is bad and roughly why.
    for segment in path[1..].split('/') {
        match segment {
            "" => return Some("empty node name specified"),
            "." | ".." => return Some("relative paths not allowed"),
            _ => {}
        }
    }
    for c in path.chars() {
        let u = c as u32;
        if u == 0 {
            return Some("null character not allowed");
        }
        let bad = (0x01..=0x1f).contains(&u)
            || (0x7f..=0x9f).contains(&u)
            || (0xd800..=0xf8ff).contains(&u)
            || (0xfff0..=0xffff).contains(&u)
            // Java sees a character beyond U+FFFF as two surrogates, which are rejected.
            || u > 0xffff;
        if bad {
            return Some("invalid character");
        }
    }
    None
}

/// The parent of a valid path (`/` for `/a`); the root's parent is the root itself, as the
/// server's root alias `""` makes it.
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last segment of a valid path (`""` for the root).
pub fn name(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

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
    fn accepts_what_the_server_accepts() {
        for ok in ["/", "/a", "/a/b", "/a/...", "/a/.b", "/a/b.", "/10.0.0.1:8080", "/é", "/a b"] {
            assert_eq!(invalid_reason(ok), None, "{ok}");
        }
    }

    #[test]
    fn rejects_what_the_server_rejects() {
        for bad in [
            "",
            "a",
            "a/b",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/.",
            "/a/../b",
            "/a\0b",
            "/a\u{1}",
            "/a\u{7f}",
            "/a\u{9f}",
            "/a\u{e000}",
            "/a\u{fff0}",
            "/a\u{1F600}",
        ] {
            assert!(invalid_reason(bad).is_some(), "{bad:?}");
        }
    }

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
