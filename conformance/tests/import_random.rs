//! Random trees on both backends: importing a tree `t` into an empty store and exporting gives
//! `print(parse(t))`, and importing `t1` then `t2` with trim gives exactly `t2`, ACLs included
//! (nodes without `acl` lines get the open ACL when created, and keep theirs otherwise). The
//! trees come from a small seeded generator, so a failure names a seed that reproduces it.

use std::fmt::Write as _;

use zczk_conformance::{close, on_every_backend, Backend};
use zczk_core::delete::{self, DeleteOptions};
use zczk_core::export::{self, ExportOptions};
use zczk_core::import::{self, Extras, ImportOptions};
use zczk_core::store::{Acl, CreateOptions, Store};
use zczk_core::tree::{self, Node};
use zczk_emulator::acl::digest_id;

on_every_backend!(random_trees_export_as_imported, random_trees_trim_import_gives_the_new_tree);

/// How many random trees each test imports.
const CASES: u64 = 12;

/// A xorshift generator: enough randomness for tree shapes, reproducible from a seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A property value in the tree format.
fn value(rng: &mut Rng) -> String {
    match rng.below(7) {
        0 => format!("{}", rng.below(2000) as i64 - 1000),
        1 => format!("'{}'", rng.pick(&["red", "a b", "x-1", "", "/path/to", "10.0.0.1:80"])),
        2 => rng.pick(&["True", "False", "None"]).to_string(),
        3 => format!("[{}, '{}']", rng.below(10), rng.pick(&["a", "b"])),
        4 => format!("{{'k': {}}}", rng.below(10)),
        5 => format!("{}.5", rng.below(100)),
        _ => format!("\"{}\"", rng.pick(&["q", "it's", "tab\\tsep"])),
    }
}

/// Writes a random node named `name` at `depth` (and its subtree) as tree text.
fn node(rng: &mut Rng, out: &mut String, name: &str, depth: usize) {
    let indent = "  ".repeat(depth);
    let kind =
        if rng.below(4) == 0 { format!(" : {}", rng.pick(&["svc", "db", "ipvs"])) } else { String::new() };
    let _ = writeln!(out, "{indent}/{name}{kind}");
    let mut props: Vec<&str> = vec!["a", "b", "color", "port", "threads"];
    for _ in 0..rng.below(4) {
        let p = props.swap_remove(rng.below(props.len() as u64) as usize);
        let _ = writeln!(out, "{indent}  {p} = {}", value(rng));
    }
    if rng.below(3) == 0 {
        let _ = writeln!(out, "{indent}  {} -> /{}", rng.pick(&["db", "lb"]), rng.pick(&["x", "y/z"]));
    }
    if rng.below(5) == 0 {
        let _ = writeln!(out, "{indent}  {} => /{} port", rng.pick(&["p", "q"]), rng.pick(&["x", "y"]));
    }
    // The session is `u` (see `session`): it keeps every permission, so it can go on importing.
    if rng.below(3) == 0 {
        let _ = writeln!(out, "{indent}  acl digest:{}:cdrwa", digest_id("u:p"));
        if rng.below(2) == 0 {
            let _ = writeln!(out, "{indent}  acl world:anyone:{}", rng.pick(&["r", "rw", "cdrwa", "a"]));
        }
    }
    if depth < 3 {
        let mut names: Vec<&str> = vec!["n1", "n2", "providers", "10.0.0.1:8080", "z"];
        for _ in 0..rng.below(4) {
            let child = names.swap_remove(rng.below(names.len() as u64) as usize);
            node(rng, out, child, depth + 1);
        }
    }
}

/// A random tree text with one to three top-level nodes.
fn random_text(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::new();
    let mut names: Vec<&str> = vec!["app", "lb", "db"];
    for _ in 0..=rng.below(3) {
        let top = names.swap_remove(rng.below(names.len() as u64) as usize);
        node(&mut rng, &mut out, top, 0);
    }
    out
}

/// A session authenticated as the digest user `u` that the random ACLs grant everything.
async fn session<B: Backend>(b: &B) -> B::Store {
    let s = b.session().await;
    s.add_auth("digest", b"u:p").await.unwrap();
    s
}

/// Imports `text` at `/r` (made empty first) and returns the export of `/r`'s children, with
/// their ACLs.
async fn import_then_export<S: Store>(s: &S, text: &str, options: &ImportOptions, seed: u64) -> String {
    import::import_tree(s, text, "/r", options, None)
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: import: {e}\n{text}"));
    let options = ExportOptions { name: Some("r".into()), acl: true, ..ExportOptions::default() };
    let tree =
        export::export_tree(s, "/r", &options).await.unwrap_or_else(|e| panic!("seed {seed}: export: {e}"));
    // Drop the `/r` line, its ACL and one level of indentation: what is left is the imported
    // text's form.
    let below = tree.lines().skip(1).skip_while(|l| l.starts_with("  acl "));
    below.map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l))).collect()
}

/// `node` and its subtree with the open ACL wherever none is given, as import creates them.
fn with_open_acls(mut node: Node) -> Node {
    if node.acl.is_empty() {
        node.acl = Acl::open();
    }
    node.children = node.children.into_iter().map(|(name, child)| (name, with_open_acls(child))).collect();
    node
}

/// Forgets the ACLs of `got` where `wanted` gives none (those nodes keep whatever they had).
fn keep_given_acls(got: &mut Node, wanted: &Node) {
    if wanted.acl.is_empty() {
        got.acl.clear();
    }
    for (name, child) in &mut got.children {
        if let Some(wanted) = wanted.children.get(name) {
            keep_given_acls(child, wanted);
        }
    }
}

async fn fresh_root<S: Store>(s: &S) {
    if s.exists("/r").await.unwrap().is_some() {
        delete::delete_recursive(s, "/r", &DeleteOptions::default()).await.unwrap();
    }
    s.create("/r", Some(b""), &CreateOptions::default()).await.unwrap();
}

async fn random_trees_export_as_imported<B: Backend>(b: B) {
    let s = session(&b).await;
    for seed in 0..CASES {
        let text = random_text(seed);
        let parsed = tree::parse(&text).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"));
        let canonical = tree::print(&with_open_acls(parsed));
        fresh_root(&s).await;
        let exported = import_then_export(&s, &text, &ImportOptions::default(), seed).await;
        assert_eq!(exported, canonical, "seed {seed}: text\n{text}");
    }
    close(s).await;
}

async fn random_trees_trim_import_gives_the_new_tree<B: Backend>(b: B) {
    let s = session(&b).await;
    let trim = ImportOptions { extras: Extras::Trim, ..ImportOptions::default() };
    for seed in 0..CASES {
        let (first, second) = (random_text(1000 + seed), random_text(2000 + seed));
        fresh_root(&s).await;
        import::import_tree(&s, &first, "/r", &ImportOptions::default(), None).await.unwrap();
        let exported = import_then_export(&s, &second, &trim, seed).await;
        // Top-level nodes of the first text that the second lacks stay: the import point's
        // children are never trimmed. Everything the second text names is exactly as it says.
        let second_tree = tree::parse(&second).unwrap();
        let mut got = tree::parse(&exported).unwrap();
        got.children.retain(|name, _| second_tree.children.contains_key(name));
        keep_given_acls(&mut got, &second_tree);
        assert_eq!(
            tree::print(&got),
            tree::print(&second_tree),
            "seed {seed}:\nfirst\n{first}\nsecond\n{second}"
        );
    }
    close(s).await;
}
