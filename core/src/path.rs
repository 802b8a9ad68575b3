//! ZooKeeper paths: validation as the server does it, `.`/`..` normalization for virtual
//! paths, and joining relative link targets.

/// Why a path is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path {:?}: {reason}", crate::message::short(.path))]
pub struct PathError {
    /// The path as given.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

fn err(path: &str, reason: &'static str) -> PathError {
    PathError { path: path.to_string(), reason }
}

/// True for the characters ZooKeeper refuses in a path (Java `PathUtils.validatePath`).
///
/// Java strings are UTF-16, so every character outside the Basic Multilingual Plane is a
/// surrogate pair there, which the server refuses; hence the last range.
fn is_refused_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{e000}'..='\u{f8ff}'
        | '\u{fff0}'..='\u{ffff}'
        | '\u{10000}'..)
}

/// Checks a path as the ZooKeeper server does: absolute, no empty segment, no trailing `/`
/// (except the root), no `.` or `..` segment, no control or refused characters.
pub fn validate(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(err(path, "path is empty"));
    }
    if !path.starts_with('/') {
        return Err(err(path, "path must start with /"));
    }
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(err(path, "path must not end with /"));
    }
    match path[1..].split('/').find_map(name_problem) {
        Some((_, reason)) => Err(err(path, reason)),
        None => Ok(()),
    }
}

/// Checks one node name (a path segment).
pub fn validate_name(name: &str) -> Result<(), PathError> {
    match name_problem(name) {
        Some((_, reason)) => Err(err(name, reason)),
        None => Ok(()),
    }
}

/// What ZooKeeper refuses in the node name `name`: the byte offset of the problem (the
/// refused character, else 0) and why.
pub(crate) fn name_problem(name: &str) -> Option<(usize, &'static str)> {
    match name {
        "" => return Some((0, "empty node name")),
        "." | ".." => return Some((0, "relative paths (. and ..) are not allowed")),
        _ => {}
    }
    let (offset, c) = name.char_indices().find(|&(_, c)| c == '/' || is_refused_char(c))?;
    let reason = match c {
        '/' => "a node name cannot contain /",
        '\0' => "null character not allowed",
        _ => "invalid character",
    };
    Some((offset, reason))
}

/// Normalizes `.` and `..` segments of an absolute path (`/a/b/../c` is `/a/c`). Empty segments
/// (`//`) and a trailing `/` are dropped. Going above `/` is an error.
pub fn normalize(path: &str) -> Result<String, PathError> {
    if !path.starts_with('/') {
        return Err(err(path, "path must start with /"));
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(err(path, "path goes above /"));
                }
            }
            s => segments.push(s),
        }
    }
    Ok(join_segments(&segments))
}

fn join_segments(segments: &[&str]) -> String {
    if segments.is_empty() {
        return "/".to_string();
    }
    let mut out = String::with_capacity(segments.iter().map(|s| s.len() + 1).sum());
    for s in segments {
        out.push('/');
        out.push_str(s);
    }
    out
}

/// Resolves `target` against the node `base`: an absolute target stands alone, a relative one
/// is taken from `base` (so `..` is `base`'s parent); the result is normalized.
pub fn join(base: &str, target: &str) -> Result<String, PathError> {
    if target.starts_with('/') {
        normalize(target)
    } else if base == "/" {
        normalize(&format!("/{target}"))
    } else {
        normalize(&format!("{base}/{target}"))
    }
}

/// `child`'s path under `parent`.
pub fn child(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The parent path and the last name of a normalized path; `None` for `/`.
pub fn split(path: &str) -> Option<(&str, &str)> {
    if path == "/" {
        return None;
    }
    let i = path.rfind('/')?;
    let parent = if i == 0 { "/" } else { &path[..i] };
    Some((parent, &path[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_accepts_root_and_plain_paths() {
        assert!(validate("/").is_ok());
        assert!(validate("/a/b-c/10.0.0.1:8080").is_ok());
        assert!(validate("/a/.b/..c").is_ok());
        for ok in ["/a/...", "/a/b.", "/é", "/a b", "/a\u{a0}", "/a\u{f900}", "/a\u{ffef}"] {
            assert!(validate(ok).is_ok(), "{ok:?} should be accepted");
        }
    }

    #[test]
    fn validate_refuses_what_the_server_refuses() {
        for bad in [
            "",
            "a",
            "/a/",
            "//a",
            "/a//b",
            "/a/./b",
            "/a/../b",
            "/.",
            "/a\0b",
            "/a\u{1}",
            "/\u{e000}",
            "/😀",
            "//",
            "/..",
            "/a/.",
            "/a\u{7f}",
            "/a\u{9f}",
            "/a\u{f8ff}",
            "/a\u{fff0}",
            "/a\u{ffff}",
        ] {
            assert!(validate(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn normalize_resolves_dots() {
        assert_eq!(normalize("/a/b/../c").unwrap(), "/a/c");
        assert_eq!(normalize("/a/./b/").unwrap(), "/a/b");
        assert_eq!(normalize("/a/..").unwrap(), "/");
        assert_eq!(normalize("/").unwrap(), "/");
        assert!(normalize("/..").is_err());
        assert!(normalize("/a/../..").is_err());
        assert!(normalize("a/b").is_err());
    }

    #[test]
    fn join_takes_relative_targets_from_the_base() {
        assert_eq!(join("/a/b", "../c").unwrap(), "/a/c");
        assert_eq!(join("/a/b", "c").unwrap(), "/a/b/c");
        assert_eq!(join("/a/b", "/x").unwrap(), "/x");
        assert_eq!(join("/", "x").unwrap(), "/x");
        assert_eq!(join("/a", ".").unwrap(), "/a");
        assert!(join("/", "..").is_err());
    }

    #[test]
    fn split_and_child_are_inverse() {
        assert_eq!(split("/a/b"), Some(("/a", "b")));
        assert_eq!(split("/a"), Some(("/", "a")));
        assert_eq!(split("/"), None);
        assert_eq!(child("/", "a"), "/a");
        assert_eq!(child("/a", "b"), "/a/b");
    }

    #[test]
    fn name_problem_points_at_the_refused_character() {
        assert_eq!(name_problem("ab"), None);
        assert_eq!(name_problem("a/b"), Some((1, "a node name cannot contain /")));
        assert_eq!(name_problem("é\u{1}"), Some((2, "invalid character")));
        assert_eq!(name_problem("x\0"), Some((1, "null character not allowed")));
        assert_eq!(name_problem(".."), Some((0, "relative paths (. and ..) are not allowed")));
    }

    #[test]
    fn validate_name_refuses_slash_and_dots() {
        assert!(validate_name("a").is_ok());
        assert!(validate_name("a/b").is_err());
        assert!(validate_name("..").is_err());
        assert!(validate_name("").is_err());
    }
}
