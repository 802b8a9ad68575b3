//! ACLs: stored, enforced (world, digest, auth schemes), versioned, on both backends.

use zczk_conformance::{close, on_every_backend, Backend};
use zczk_core::store::{Acl, Code, CreateOptions, Perms, Store, StoreError};
use zczk_emulator::acl::{digest_acl, digest_id};

fn code<T: std::fmt::Debug>(result: Result<T, StoreError>) -> Code {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.code,
    }
}

fn with_acl(acl: Vec<Acl>) -> CreateOptions {
    CreateOptions::default().with_acl(acl)
}

on_every_backend!(
    default_acl_is_open_and_get_acl_reports_it,
    digest_acl_is_enforced_until_the_session_authenticates,
    world_read_only_refuses_writes_creates_and_deletes,
    auth_scheme_expands_to_the_sessions_digest,
    invalid_acls_are_refused,
    set_acl_checks_and_bumps_aversion,
    get_acl_hides_digests_from_sessions_without_admin,
    get_acl_needs_read_or_admin,
);

async fn default_acl_is_open_and_get_acl_reports_it<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/o", Some(b""), &CreateOptions::default()).await.unwrap();
    let (acl, stat) = s.get_acl("/o").await.unwrap();
    assert_eq!(acl, Acl::open());
    assert_eq!(stat.aversion, 0);
    close(s).await;
}

async fn digest_acl_is_enforced_until_the_session_authenticates<B: Backend>(b: B) {
    let owner = b.session().await;
    owner.create("/secret", Some(b"s"), &with_acl(vec![digest_acl(Perms::ALL, "u", "p")])).await.unwrap();
    let s = b.session().await;
    assert_eq!(code(s.get_data("/secret").await), Code::NoAuth);
    assert_eq!(code(s.set_data("/secret", Some(b"x"), None).await), Code::NoAuth);
    assert_eq!(code(s.get_children("/secret").await), Code::NoAuth);
    assert_eq!(code(s.create("/secret/c", Some(b""), &CreateOptions::default()).await), Code::NoAuth);
    // exists needs no permission.
    assert!(s.exists("/secret").await.unwrap().is_some());
    // The wrong password gives nothing.
    s.add_auth("digest", b"u:wrong").await.unwrap();
    assert_eq!(code(s.get_data("/secret").await), Code::NoAuth);
    s.add_auth("digest", b"u:p").await.unwrap();
    assert_eq!(s.get_data("/secret").await.unwrap().0.as_deref(), Some(&b"s"[..]));
    s.set_data("/secret", Some(b"t"), None).await.unwrap();
    s.create("/secret/c", Some(b""), &CreateOptions::default()).await.unwrap();
    // Deleting a child needs DELETE on the parent, which the session now has.
    s.delete("/secret/c", None).await.unwrap();
    // Deleting the node itself is governed by its parent's (open) ACL.
    owner.delete("/secret", None).await.unwrap();
    close(s).await;
    close(owner).await;
}

async fn world_read_only_refuses_writes_creates_and_deletes<B: Backend>(b: B) {
    let s = b.session().await;
    s.create("/ro", Some(b"r"), &CreateOptions::default()).await.unwrap();
    s.create("/ro/kid", Some(b""), &CreateOptions::default()).await.unwrap();
    s.set_acl("/ro", &Acl::read_only(), None).await.unwrap();
    assert_eq!(s.get_data("/ro").await.unwrap().0.as_deref(), Some(&b"r"[..]));
    assert_eq!(s.get_children("/ro").await.unwrap().0, vec!["kid".to_string()]);
    assert_eq!(code(s.set_data("/ro", Some(b"x"), None).await), Code::NoAuth);
    assert_eq!(code(s.create("/ro/new", Some(b""), &CreateOptions::default()).await), Code::NoAuth);
    assert_eq!(code(s.delete("/ro/kid", None).await), Code::NoAuth);
    // The parent's ACL is checked before the node is looked for.
    assert_eq!(code(s.delete("/ro/none", None).await), Code::NoAuth);
    assert_eq!(code(s.create("/ro/none/x", Some(b""), &CreateOptions::default()).await), Code::NoNode);
    assert_eq!(code(s.set_acl("/ro", &Acl::open(), None).await), Code::NoAuth);
    // The child's own ACL is open: it can still be written.
    s.set_data("/ro/kid", Some(b"w"), None).await.unwrap();
    close(s).await;
}

async fn auth_scheme_expands_to_the_sessions_digest<B: Backend>(b: B) {
    let s = b.session().await;
    s.add_auth("digest", b"alice:pw").await.unwrap();
    s.create("/mine", Some(b"m"), &with_acl(Acl::creator_all())).await.unwrap();
    let (acl, _) = s.get_acl("/mine").await.unwrap();
    assert_eq!(acl, vec![Acl::new(Perms::ALL, "digest", digest_id("alice:pw"))]);
    let stranger = b.session().await;
    assert_eq!(code(stranger.get_data("/mine").await), Code::NoAuth);
    // Another session with the same identity is allowed.
    let again = b.session().await;
    again.add_auth("digest", b"alice:pw").await.unwrap();
    assert_eq!(again.get_data("/mine").await.unwrap().0.as_deref(), Some(&b"m"[..]));
    close(s).await;
    close(stranger).await;
    close(again).await;
}

async fn invalid_acls_are_refused<B: Backend>(b: B) {
    let s = b.session().await;
    // `auth` with no authenticated identity.
    assert_eq!(code(s.create("/a1", Some(b""), &with_acl(Acl::creator_all())).await), Code::InvalidAcl);
    // Empty, unknown scheme, malformed digest id, world with another id.
    assert_eq!(code(s.create("/a2", Some(b""), &with_acl(vec![])).await), Code::InvalidAcl);
    assert_eq!(
        code(s.create("/a3", Some(b""), &with_acl(vec![Acl::new(Perms::ALL, "nope", "x")])).await),
        Code::InvalidAcl
    );
    assert_eq!(
        code(s.create("/a4", Some(b""), &with_acl(vec![Acl::new(Perms::ALL, "digest", "nocolon")])).await),
        Code::InvalidAcl
    );
    assert_eq!(
        code(s.create("/a5", Some(b""), &with_acl(vec![Acl::new(Perms::ALL, "world", "someone")])).await),
        Code::InvalidAcl
    );
    for path in ["/a1", "/a2", "/a3", "/a4", "/a5"] {
        assert_eq!(s.exists(path).await.unwrap(), None, "{path}");
    }
    // An ip entry is valid.
    s.create("/a6", Some(b""), &with_acl(vec![Acl::new(Perms::ALL, "ip", "127.0.0.1")])).await.unwrap();
    assert_eq!(s.get_data("/a6").await.unwrap().0.as_deref(), Some(&b""[..]));
    close(s).await;
}

async fn set_acl_checks_and_bumps_aversion<B: Backend>(b: B) {
    let s = b.session().await;
    let created = s.create("/av", Some(b""), &CreateOptions::default()).await.unwrap().stat;
    let acl = vec![Acl::new(Perms::READ | Perms::WRITE | Perms::ADMIN, "world", "anyone")];
    let stat = s.set_acl("/av", &acl, Some(0)).await.unwrap();
    assert_eq!(stat.aversion, 1);
    // An ACL change is no data change.
    assert_eq!((stat.version, stat.mzxid), (0, created.mzxid));
    assert_eq!(code(s.set_acl("/av", &Acl::open(), Some(0)).await), Code::BadVersion);
    assert_eq!(s.get_acl("/av").await.unwrap(), (acl, stat));
    assert_eq!(s.set_acl("/av", &Acl::open(), None).await.unwrap().aversion, 2);
    assert_eq!(code(s.set_acl("/none", &Acl::open(), None).await), Code::NoNode);
    assert_eq!(code(s.set_acl("/av", &[], None).await), Code::InvalidAcl);
    close(s).await;
}

async fn get_acl_hides_digests_from_sessions_without_admin<B: Backend>(b: B) {
    let s = b.session().await;
    let acl = vec![digest_acl(Perms::ALL, "u", "p"), Acl::new(Perms::READ, "world", "anyone")];
    s.create("/h", Some(b""), &with_acl(acl.clone())).await.unwrap();
    let (seen, _) = s.get_acl("/h").await.unwrap();
    assert_eq!(seen, vec![Acl::new(Perms::ALL, "digest", "u:x"), Acl::new(Perms::READ, "world", "anyone")]);
    s.add_auth("digest", b"u:p").await.unwrap();
    assert_eq!(s.get_acl("/h").await.unwrap().0, acl);
    close(s).await;
}

async fn get_acl_needs_read_or_admin<B: Backend>(b: B) {
    let s = b.session().await;
    let write_only = vec![Acl::new(Perms::WRITE, "world", "anyone")];
    s.create("/wo", Some(b""), &with_acl(write_only)).await.unwrap();
    assert_eq!(code(s.get_acl("/wo").await), Code::NoAuth);
    // exists still works, and the write is allowed.
    assert!(s.exists("/wo").await.unwrap().is_some());
    s.set_data("/wo", Some(b"w"), None).await.unwrap();
    let admin_only = vec![Acl::new(Perms::ADMIN, "world", "anyone"), digest_acl(Perms::READ, "u", "p")];
    s.create("/ao", Some(b""), &with_acl(admin_only.clone())).await.unwrap();
    // ADMIN sees the ACL whole, hashes included.
    assert_eq!(s.get_acl("/ao").await.unwrap().0, admin_only);
    close(s).await;
}
