//! `import_tree` on both backends (spec section 4): what is created and updated, the dry-run
//! lines, trim, ephemeral extras, writing only what differs, versioned writes that detect a
//! concurrent writer, ACLs, and atomic imports.

use std::collections::BTreeMap;

use zczk_conformance::{close, on_every_backend, Backend};
use zczk_core::export::{self, ExportOptions};
use zczk_core::import::{self, ApplyOptions, Extras, ImportError, ImportOptions};
use zczk_core::snapshot::{self, SnapshotOptions};
use zczk_core::store::{Acl, Code, CreateMode, CreateOptions, Perms, Stat, Store};
use zczk_core::tree;

on_every_backend!(
    import_creates_nodes_with_properties_and_links,
    dry_run_reports_each_kind_of_change_and_writes_nothing,
    dry_run_reports_every_node_below_a_new_node,
    import_replaces_data_and_reports_nothing_on_success,
    trim_unset_reports_extras_and_leaves_them,
    trim_false_is_silent,
    trim_deletes_extras_and_keeps_ephemeral_descendants,
    ephemeral_extras_are_never_reported_or_deleted,
    children_of_the_import_point_are_never_trimmed,
    import_into_a_subtree_leaves_siblings_alone,
    second_identical_import_writes_nothing,
    only_the_nodes_that_differ_are_written,
    concurrent_writer_between_plan_and_apply_is_detected,
    parse_error_changes_nothing,
    bad_node_name_changes_nothing,
    import_into_a_missing_node_fails_before_writing,
    new_nodes_get_the_acl_and_existing_acls_are_changed,
    atomic_import_is_one_transaction,
    atomic_import_too_large_is_refused_before_writing,
    export_import_export_round_trips,
);

/// Every node of the subtree at `path` with its Stat (by path), read with pipelined requests.
async fn stats<S: Store>(s: &S, path: &str) -> BTreeMap<String, Stat> {
    let snap = snapshot::read(s, path, &SnapshotOptions::default(), None).await.expect("reading the tree");
    snap.nodes.into_iter().map(|(path, node)| (path, node.stat)).collect()
}

/// The node's data as text.
async fn data<S: Store>(s: &S, path: &str) -> String {
    let (data, _) = s.get_data(path).await.unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8(data.unwrap_or_default()).expect("UTF-8 data")
}

async fn import<S: Store>(s: &S, text: &str, path: &str, options: &ImportOptions) -> import::Imported {
    import::import_tree(s, text, path, options, None).await.unwrap_or_else(|e| panic!("import: {e}"))
}

fn dry_run() -> ImportOptions {
    ImportOptions { dry_run: true, ..ImportOptions::default() }
}

fn extras(extras: Extras) -> ImportOptions {
    ImportOptions { extras, ..ImportOptions::default() }
}

const SYSTEM: &str = "\
/lb : ipvs
  /pools
    /cms
      address = '1.2.3.4:80'
      providers -> /cms/providers
/cms : z4m cms
  threads = 4
  /providers
";

async fn import_creates_nodes_with_properties_and_links<B: Backend>(b: B) {
    let s = b.session().await;
    let done = import(&s, SYSTEM, "/", &ImportOptions::default()).await;
    assert!(done.lines.is_empty(), "{:?}", done.lines);
    assert_eq!(data(&s, "/lb").await, r#"{"type":"ipvs"}"#);
    assert_eq!(
        data(&s, "/lb/pools/cms").await,
        r#"{"address":"1.2.3.4:80","providers ->":"/cms/providers"}"#
    );
    assert_eq!(data(&s, "/cms").await, r#"{"type":"z4m cms","threads":4}"#);
    assert_eq!(data(&s, "/cms/providers").await, "{}");
    let (acl, _) = s.get_acl("/cms/providers").await.unwrap();
    assert_eq!(acl, Acl::open());
    close(s).await;
}

async fn dry_run_reports_each_kind_of_change_and_writes_nothing<B: Backend>(b: B) {
    let s = b.session().await;
    let before_text = "\
/test
  a = 1
  b = 2
  ae -> /x
  ad -> /y
  /c1
    /c12
  /c2
";
    import(&s, before_text, "/", &ImportOptions::default()).await;
    let before = stats(&s, "/").await;
    let after_text = "\
/test
  a = 2
  ae -> /z
  /c1
    /c12
      a = 1
      b -> /b
      /c123
";
    let done = import(&s, after_text, "/", &dry_run()).await;
    assert_eq!(
        done.lines,
        [
            "/test a change from 1 to 2",
            "/test remove link ad -> /y",
            "/test ae link change from /x to /z",
            "/test remove property b = 2",
            "extra path not trimmed: /test/c2",
            "/test/c1/c12 add property a = 1",
            "/test/c1/c12 add link b -> /b",
            "add /test/c1/c12/c123",
        ]
    );
    assert_eq!(done.applied, None);
    assert_eq!(stats(&s, "/").await, before, "a dry run changes nothing");

    // With trim, the extra is reported as recursive delete words it, and still kept.
    let options = ImportOptions { dry_run: true, extras: Extras::Trim, ..ImportOptions::default() };
    let done = import(&s, after_text, "/", &options).await;
    assert!(done.lines.contains(&"would delete /test/c2.".to_string()), "{:?}", done.lines);
    assert_eq!(stats(&s, "/").await, before, "a dry run with trim changes nothing");
    close(s).await;
}

async fn dry_run_reports_every_node_below_a_new_node<B: Backend>(b: B) {
    let s = b.session().await;
    let done = import(&s, "/x\n  color = 'red'\n  /y\n    /z\n  /w\n", "/", &dry_run()).await;
    assert_eq!(done.lines, ["add /x", "add /x/w", "add /x/y", "add /x/y/z"]);
    assert_eq!(s.exists("/x").await.unwrap(), None);
    close(s).await;
}

async fn import_replaces_data_and_reports_nothing_on_success<B: Backend>(b: B) {
    let s = b.session().await;
    import(&s, "/n\n  a = 1\n  b = 'x'\n", "/", &ImportOptions::default()).await;
    let done = import(&s, "/n\n  a = 2\n  c = [1, 'a']\n", "/", &ImportOptions::default()).await;
    assert!(done.lines.is_empty(), "a real import reports no property change: {:?}", done.lines);
    assert_eq!(data(&s, "/n").await, r#"{"a":2,"c":[1,"a"]}"#, "missing properties are removed");
    let (_, stat) = s.get_data("/n").await.unwrap();
    assert_eq!(stat.version, 1, "one versioned update");
    close(s).await;
}

/// `/s` with `/s/keep` (in the text), a persistent extra `/s/old` with a child, and an
/// ephemeral extra `/s/e` owned by `owner`.
async fn with_extras<S: Store>(s: &S, owner: &S) {
    import(s, "/s\n  /keep\n  /old\n    /x\n", "/", &ImportOptions::default()).await;
    owner.create("/s/e", Some(b""), &CreateOptions::new(CreateMode::Ephemeral)).await.unwrap();
}

async fn trim_unset_reports_extras_and_leaves_them<B: Backend>(b: B) {
    let (s, owner) = (b.session().await, b.session().await);
    with_extras(&s, &owner).await;
    let done = import(&s, "/s\n  /keep\n", "/", &extras(Extras::Report)).await;
    assert_eq!(done.lines, ["extra path not trimmed: /s/old"]);
    assert!(s.exists("/s/old/x").await.unwrap().is_some());
    close(owner).await;
    close(s).await;
}

async fn trim_false_is_silent<B: Backend>(b: B) {
    let (s, owner) = (b.session().await, b.session().await);
    with_extras(&s, &owner).await;
    let done = import(&s, "/s\n  /keep\n", "/", &extras(Extras::Ignore)).await;
    assert!(done.lines.is_empty(), "{:?}", done.lines);
    assert!(s.exists("/s/old/x").await.unwrap().is_some());
    close(owner).await;
    close(s).await;
}

async fn trim_deletes_extras_and_keeps_ephemeral_descendants<B: Backend>(b: B) {
    let (s, owner) = (b.session().await, b.session().await);
    import(&s, "/svc\n  /providers\n  /old\n    /a\n", "/", &ImportOptions::default()).await;
    owner
        .create("/svc/providers/10.0.0.1:80", Some(b""), &CreateOptions::new(CreateMode::Ephemeral))
        .await
        .unwrap();

    // The dry run says what trim would do, in recursive delete's words, and does nothing.
    let options = ImportOptions { dry_run: true, extras: Extras::Trim, ..ImportOptions::default() };
    let done = import(&s, "/svc\n", "/", &options).await;
    assert_eq!(
        done.lines,
        [
            "would delete /svc/old/a.",
            "would delete /svc/old.",
            "wouldn't delete /svc/providers/10.0.0.1:80 because it's ephemeral.",
            "/svc/providers not deleted due to ephemeral descendent.",
        ]
    );
    assert!(s.exists("/svc/old/a").await.unwrap().is_some());

    let done = import(&s, "/svc\n", "/", &extras(Extras::Trim)).await;
    assert_eq!(
        done.lines,
        [
            "Not deleting /svc/providers/10.0.0.1:80 because it's ephemeral.",
            "/svc/providers not deleted due to ephemeral descendent.",
        ]
    );
    assert_eq!(s.exists("/svc/old").await.unwrap(), None);
    assert!(s.exists("/svc/providers/10.0.0.1:80").await.unwrap().is_some());
    let (children, _) = s.get_children("/svc").await.unwrap();
    assert_eq!(children, ["providers"]);
    close(owner).await;
    close(s).await;
}

async fn ephemeral_extras_are_never_reported_or_deleted<B: Backend>(b: B) {
    let (s, owner) = (b.session().await, b.session().await);
    with_extras(&s, &owner).await;
    for mode in [Extras::Report, Extras::Ignore, Extras::Trim] {
        let done = import(&s, "/s\n  /keep\n  /old\n    /x\n", "/", &extras(mode)).await;
        assert!(done.lines.is_empty(), "trim {mode:?}: {:?}", done.lines);
        assert_eq!(done.writes, 0, "trim {mode:?}");
        let stat = s.exists("/s/e").await.unwrap().expect("the ephemeral is kept");
        assert_eq!(stat.ephemeral_owner, owner.session_id());
    }
    close(owner).await;
    close(s).await;
}

async fn children_of_the_import_point_are_never_trimmed<B: Backend>(b: B) {
    let s = b.session().await;
    import(&s, "/a\n/b\n  /x\n", "/", &ImportOptions::default()).await;
    for mode in [Extras::Report, Extras::Trim] {
        let done = import(&s, "/a\n", "/", &extras(mode)).await;
        assert!(done.lines.is_empty(), "trim {mode:?}: {:?}", done.lines);
    }
    assert!(s.exists("/b/x").await.unwrap().is_some());
    close(s).await;
}

async fn import_into_a_subtree_leaves_siblings_alone<B: Backend>(b: B) {
    let s = b.session().await;
    import(
        &s,
        "/app\n  /mine\n    v = 1\n  /theirs\n    v = 1\n/other\n  v = 1\n",
        "/",
        &ImportOptions::default(),
    )
    .await;
    let before = stats(&s, "/").await;
    let done = import(&s, "/mine\n  v = 2\n  /new\n", "/app", &extras(Extras::Trim)).await;
    assert!(done.lines.is_empty(), "{:?}", done.lines);
    assert_eq!(data(&s, "/app/mine").await, r#"{"v":2}"#);
    assert!(s.exists("/app/mine/new").await.unwrap().is_some());
    let after = stats(&s, "/").await;
    for path in ["/app/theirs", "/other"] {
        assert_eq!(after.get(path), before.get(path), "{path} untouched");
    }
    // A trailing slash names the same import point.
    let again = import(&s, "/mine\n  v = 2\n  /new\n", "/app/", &ImportOptions::default()).await;
    assert_eq!(again.writes, 0);
    close(s).await;
}

async fn second_identical_import_writes_nothing<B: Backend>(b: B) {
    let s = b.session().await;
    import(&s, SYSTEM, "/", &ImportOptions::default()).await;
    let before = stats(&s, "/").await;
    // (Zxids are server-wide and other tests write in parallel, so the check is per node.)
    let done = import(&s, SYSTEM, "/", &ImportOptions::default()).await;
    assert_eq!(done.writes, 0, "{done:?}");
    assert_eq!(done.applied.map(|a| a.requests), Some(0), "no write request");
    assert_eq!(stats(&s, "/").await, before, "every node keeps its Stat: version, mzxid, pzxid, ...");
    close(s).await;
}

async fn only_the_nodes_that_differ_are_written<B: Backend>(b: B) {
    let s = b.session().await;
    import(&s, SYSTEM, "/", &ImportOptions::default()).await;
    let before = stats(&s, "/").await;
    let changed = SYSTEM.replace("threads = 4", "threads = 5");
    let done = import(&s, &changed, "/", &ImportOptions::default()).await;
    assert_eq!(done.applied.map(|a| (a.creates, a.updates, a.deletes, a.acl_changes)), Some((0, 1, 0, 0)));
    let after = stats(&s, "/").await;
    for (path, stat) in &before {
        if path == "/cms" {
            assert_eq!(after[path].version, stat.version + 1);
        } else {
            assert_eq!(after.get(path), Some(stat), "{path} untouched");
        }
    }
    close(s).await;
}

async fn concurrent_writer_between_plan_and_apply_is_detected<B: Backend>(b: B) {
    let (s, other) = (b.session().await, b.session().await);
    import(&s, "/a\n  v = 1\n  /x\n  /y\n/z\n  v = 1\n", "/", &ImportOptions::default()).await;
    // The new text changes /a, leaves /z alone, and trims /a/y.
    let tree = tree::parse("/a\n  v = 2\n  /x\n/z\n  v = 1\n").unwrap();
    let options = extras(Extras::Trim);
    let snap = import::read(&s, &tree, "/", &options, None).await.unwrap();
    let plan = import::plan(&tree, "/", &snap, &options).unwrap();
    assert_eq!(plan.updates.len(), 1);
    assert_eq!(plan.deletes.len(), 1);

    // Another client changes /a after the plan read it.
    other.set_data("/a", Some(br#"{"v":"theirs"}"#), None).await.unwrap();
    let err = import::apply(&s, &plan, &ApplyOptions::default(), None).await.unwrap_err();
    match &err {
        ImportError::Conflict { failures, .. } => {
            assert_eq!(failures.len(), 1);
            assert_eq!((failures[0].code, failures[0].path.as_str()), (Code::BadVersion, "/a"));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(err.to_string().contains("/a"), "the error names the node: {err}");
    assert_eq!(data(&s, "/a").await, r#"{"v":"theirs"}"#, "the other client's write is kept");
    assert!(s.exists("/a/y").await.unwrap().is_some(), "nothing after the conflict was written");

    // Re-running re-plans against what is there now.
    let done = import(&s, "/a\n  v = 2\n  /x\n/z\n  v = 1\n", "/", &options).await;
    assert_eq!(done.applied.map(|a| (a.updates, a.deletes)), Some((1, 1)));
    assert_eq!(data(&s, "/a").await, r#"{"v":2}"#);
    close(other).await;
    close(s).await;
}

async fn parse_error_changes_nothing<B: Backend>(b: B) {
    let s = b.session().await;
    import(&s, "/a\n  v = 1\n", "/", &ImportOptions::default()).await;
    let before = stats(&s, "/").await;
    let err = import::import_tree(&s, "/a\n  v = 2\n/b\n  w = 1+2\n", "/", &ImportOptions::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ImportError::Parse(_)), "{err:?}");
    assert_eq!(stats(&s, "/").await, before);
    close(s).await;
}

async fn bad_node_name_changes_nothing<B: Backend>(b: B) {
    let s = b.session().await;
    let before = stats(&s, "/").await;
    // Refused while parsing, with the line and column.
    for (text, line, column) in [("/a\n  /..\n", 2, 4), ("/a\n/zookeeper\n", 2, 2), ("/a\n  /b\u{1}\n", 2, 5)]
    {
        let err = import::import_tree(&s, text, "/", &ImportOptions::default(), None).await.unwrap_err();
        let ImportError::Parse(error) = &err else { panic!("{text:?}: {err:?}") };
        assert_eq!((error.line, error.column), (line, column), "{text:?}: {err}");
        assert_eq!(stats(&s, "/").await, before);
    }
    close(s).await;
}

async fn import_into_a_missing_node_fails_before_writing<B: Backend>(b: B) {
    let s = b.session().await;
    let err = import::import_tree(&s, "/a\n", "/nope", &ImportOptions::default(), None).await.unwrap_err();
    assert_eq!(err, ImportError::NoImportPoint { path: "/nope".into() });
    assert_eq!(s.exists("/nope").await.unwrap(), None);
    close(s).await;
}

async fn new_nodes_get_the_acl_and_existing_acls_are_changed<B: Backend>(b: B) {
    let s = b.session().await;
    import(&s, "/a\n", "/", &ImportOptions::default()).await;
    // No ADMIN: the import can still create below the nodes it makes.
    let acl = vec![Acl::new(Perms::READ | Perms::WRITE | Perms::CREATE | Perms::DELETE, "world", "anyone")];
    let options = ImportOptions { acl: Some(acl.clone()), ..ImportOptions::default() };
    let done = import(&s, "/a\n  /b\n    /c\n", "/", &options).await;
    assert_eq!(done.applied.map(|a| (a.creates, a.acl_changes)), Some((2, 1)));
    for path in ["/a", "/a/b", "/a/b/c"] {
        let (got, _) = s.get_acl(path).await.unwrap();
        assert_eq!(got, acl, "{path}");
    }
    let (_, stat) = s.get_acl("/a").await.unwrap();
    assert_eq!(stat.aversion, 1);
    // Importing again with the same ACL changes nothing.
    let again = import(&s, "/a\n  /b\n    /c\n", "/", &options).await;
    assert_eq!(again.writes, 0);
    close(s).await;
}

async fn atomic_import_is_one_transaction<B: Backend>(b: B) {
    let s = b.session().await;
    import(&s, "/keep\n  v = 1\n", "/", &ImportOptions::default()).await;
    let options = ImportOptions {
        apply: ApplyOptions { atomic: true, ..ApplyOptions::default() },
        ..ImportOptions::default()
    };
    let done = import(&s, "/keep\n  v = 2\n/new\n  /a\n  /b\n", "/", &options).await;
    assert_eq!(done.applied.map(|a| (a.creates, a.updates, a.requests)), Some((3, 1, 1)));
    let all = stats(&s, "/").await;
    let zxid = all["/new"].czxid;
    for path in ["/new/a", "/new/b"] {
        assert_eq!(all[path].czxid, zxid, "{path} created in the same transaction");
    }
    assert_eq!(all["/keep"].mzxid, zxid, "updated in the same transaction");
    close(s).await;
}

async fn atomic_import_too_large_is_refused_before_writing<B: Backend>(b: B) {
    let s = b.session().await;
    let big = "x".repeat(300_000);
    let text: String = (0..4).map(|i| format!("/n{i}\n  v = '{big}'\n")).collect();
    let options = ImportOptions {
        apply: ApplyOptions { atomic: true, ..ApplyOptions::default() },
        ..ImportOptions::default()
    };
    let err = import::import_tree(&s, &text, "/", &options, None).await.unwrap_err();
    assert!(matches!(err, ImportError::TooLargeForMulti { size, limit } if size > limit), "{err:?}");
    assert_eq!(s.exists("/n0").await.unwrap(), None);
    // Without atomic, the same text imports (each node is under the node size limit).
    let done = import(&s, &text, "/", &ImportOptions::default()).await;
    assert_eq!(done.applied.map(|a| a.creates), Some(4));
    close(s).await;
}

async fn export_import_export_round_trips<B: Backend>(b: B) {
    let s = b.session().await;
    let text = "\
/services
  region = 'eu'
  /cms : z4m cms
    threads = 4
    ratio = 0.5
    on = True
    none = None
    tags = ['a', 1]
    opts = {'k': 'v'}
    db -> /databases/main
    port => /services/web port
    /providers
  /web
    port = 8080
/databases
  /main
";
    import(&s, text, "/", &ImportOptions::default()).await;
    let first = export::export_tree(&s, "/", &ExportOptions::default()).await.unwrap();
    assert_eq!(first, tree::print(&tree::parse(text).unwrap()), "export prints what was imported");
    // Into a fresh subtree, then out again under the same names.
    s.create("/copy", Some(b""), &CreateOptions::default()).await.unwrap();
    import(&s, &first, "/copy", &ImportOptions::default()).await;
    for top in ["services", "databases"] {
        let original = export::export_tree(&s, &format!("/{top}"), &ExportOptions::default()).await.unwrap();
        let copy = export::export_tree(&s, &format!("/copy/{top}"), &ExportOptions::default()).await.unwrap();
        assert_eq!(copy, original, "{top}");
    }
    // And back over the original: nothing to do.
    let again = import(&s, &first, "/", &ImportOptions::default()).await;
    assert_eq!(again.writes, 0, "{again:?}");
    close(s).await;
}
