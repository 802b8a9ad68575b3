//! `register` and `unregister` (spec section 8) through the high-level client, on every backend.

use std::net::IpAddr;

use crate::client_support::{client, json, map, put};
use serde_json::{json, Value};
use zczk_conformance::{on_every_backend, Backend};
use zczk_core::client::{Address, ClientError, RegisterOptions};
use zczk_core::store::{Acl, Code, Perms, Store};

on_every_backend!(
    register_makes_an_ephemeral_node_with_properties_and_pid,
    a_pid_given_by_the_caller_wins,
    register_resolves_the_service_path,
    ipv6_hosts_are_written_in_brackets,
    any_node_name_is_registered_and_restored_after_expiry,
    an_invalid_name_is_refused_naming_it_and_nothing_is_registered,
    a_blank_host_registers_the_machines_addresses,
    subscribers_add_properties_before_the_node_is_made,
    a_duplicate_registration_is_node_exists,
    register_takes_an_acl,
    unregister_removes_the_node,
    concurrent_registrations_and_unregistrations,
);

async fn register_makes_an_ephemeral_node_with_properties_and_pid<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/svc", json!({})).await;
    let created = zk.register("/svc", "10.0.0.1:8080", map(json!({"weight": 3}))).await.unwrap();
    assert_eq!(created, ["/svc/10.0.0.1:8080"]);
    let stat = store.exists("/svc/10.0.0.1:8080").await.unwrap().expect("the node");
    assert_eq!(stat.ephemeral_owner, store.session_id());
    assert_eq!(json(&*store, "/svc/10.0.0.1:8080").await, json!({"weight": 3, "pid": std::process::id()}));
    assert!(zk.is_ephemeral("/svc/10.0.0.1:8080").await.unwrap());
    let (acl, _) = store.get_acl("/svc/10.0.0.1:8080").await.unwrap();
    assert_eq!(acl, Acl::read_only(), "world-readable by default");
    assert_eq!(zk.registrations(), ["/svc/10.0.0.1:8080"]);
}

async fn a_pid_given_by_the_caller_wins<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/svc", json!({})).await;
    zk.register("/svc", "h:1", map(json!({"pid": 42}))).await.unwrap();
    assert_eq!(json(&*store, "/svc/h:1").await, json!({"pid": 42}));
}

async fn register_resolves_the_service_path<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/real", json!({})).await;
    put(&*store, "/alias", json!({"svc ->": "/real"})).await;
    assert_eq!(zk.register("/alias/svc", "h:1", Default::default()).await.unwrap(), ["/real/h:1"]);
    assert!(store.exists("/real/h:1").await.unwrap().is_some());
    let missing = zk.register("/nope", "h:1", Default::default()).await;
    assert!(matches!(missing, Err(ClientError::NoNode { path }) if path == "/nope"));
}

async fn ipv6_hosts_are_written_in_brackets<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/svc", json!({})).await;
    assert_eq!(zk.register("/svc", "[::1]:80", Default::default()).await.unwrap(), ["/svc/[::1]:80"]);
    let pair = zk.register_with("/svc", ("fe80::2", 81), RegisterOptions::default()).await.unwrap();
    assert_eq!(pair, ["/svc/[fe80::2]:81"]);
    let unbracketed = zk.register("/svc", "::1:80", Default::default()).await;
    assert!(matches!(unbracketed, Err(ClientError::BadAddress { .. })), "{unbracketed:?}");
    let (mut children, _) = store.get_children("/svc").await.unwrap();
    children.sort();
    assert_eq!(children, ["[::1]:80", "[fe80::2]:81"], "a refused address creates nothing");
}

async fn any_node_name_is_registered_and_restored_after_expiry<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let other = backend.session().await;
    put(&other, "/svc", json!({})).await;
    let seen = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let record = seen.clone();
    zk.on_registering(move |event| record.lock().push(event.addr.clone()));
    assert_eq!(zk.register("/svc", "worker-1", map(json!({"w": 1}))).await.unwrap(), ["/svc/worker-1"]);
    // A colon without a port after it is a name too.
    assert_eq!(zk.register("/svc", "blue:green", Default::default()).await.unwrap(), ["/svc/blue:green"]);
    assert_eq!(*seen.lock(), ["worker-1", "blue:green"]);
    let stat = other.exists("/svc/worker-1").await.unwrap().expect("the node");
    assert_eq!(stat.ephemeral_owner, zk.store().session_id());
    assert_eq!(json(&other, "/svc/worker-1").await, json!({"w": 1, "pid": std::process::id()}));

    backend.expire(&*zk.store()).await;
    crate::client_support::new_session(&zk, 1).await;
    let stat = other.exists("/svc/worker-1").await.unwrap().expect("the restored node");
    assert_eq!(stat.ephemeral_owner, zk.store().session_id());
    assert_eq!(json(&other, "/svc/worker-1").await, json!({"w": 1, "pid": std::process::id()}));
    zk.unregister("/svc", "worker-1").await.unwrap();
    assert_eq!(other.get_children("/svc").await.unwrap().0, ["blue:green"]);
}

async fn an_invalid_name_is_refused_naming_it_and_nothing_is_registered<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/svc", json!({})).await;
    for (name, reason) in
        [("a/b", "a node name cannot contain /"), ("..", "relative paths (. and ..) are not allowed")]
    {
        let refused = zk.register("/svc", name, Default::default()).await;
        let Err(e @ ClientError::BadName { .. }) = refused else { panic!("{name:?}: {refused:?}") };
        assert_eq!(e.to_string(), format!("can't register {name:?}: {reason}"));
    }
    // A port a client cannot connect to: mistyped, or asked for before the server bound one.
    for unreachable in ["h:70000", "h:0"] {
        let refused = zk.register("/svc", unreachable, Default::default()).await;
        assert!(matches!(refused, Err(ClientError::BadAddress { .. })), "{unreachable:?}: {refused:?}");
    }
    let pair = zk.register_with("/svc", ("h", 0), Default::default()).await;
    assert!(matches!(pair, Err(ClientError::BadAddress { .. })), "{pair:?}");
    assert!(store.get_children("/svc").await.unwrap().0.is_empty());
    assert!(zk.registrations().is_empty());
}

async fn a_blank_host_registers_the_machines_addresses<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/svc", json!({})).await;
    let created = zk.register("/svc", ":8080", Default::default()).await.unwrap();
    assert!(!created.is_empty());
    let hosts: Vec<&str> =
        created.iter().map(|p| p.strip_prefix("/svc/").unwrap().strip_suffix(":8080").unwrap()).collect();
    let ips: Vec<IpAddr> = hosts.iter().map(|h| h.parse().expect("an IPv4 address")).collect();
    assert!(ips.iter().all(IpAddr::is_ipv4));
    // Loopback addresses only when the machine has no other.
    let any_other = ips.iter().any(|ip| !ip.is_loopback());
    assert!(!any_other || ips.iter().all(|ip| !ip.is_loopback()), "{ips:?}");
    for path in &created {
        assert!(zk.is_ephemeral(path).await.unwrap());
    }
    let (children, _) = store.get_children("/svc").await.unwrap();
    assert_eq!(children.len(), created.len());
}

async fn subscribers_add_properties_before_the_node_is_made<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/real", json!({})).await;
    put(&*store, "/alias", json!({"svc ->": "/real"})).await;
    let seen = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let record = seen.clone();
    zk.on_registering(move |event| {
        record.lock().push((event.addr.clone(), event.path.clone()));
        event.properties.insert("added".into(), Value::from("by subscriber"));
    });
    zk.register("/alias/svc", "h:7", map(json!({"a": 1}))).await.unwrap();
    assert_eq!(*seen.lock(), [("h:7".to_string(), "/real".to_string())]);
    let stored = json(&*store, "/real/h:7").await;
    assert_eq!(stored["added"], "by subscriber");
    assert_eq!(stored["a"], 1);
    assert_eq!(stored["pid"], std::process::id());
}

async fn a_duplicate_registration_is_node_exists<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/svc", json!({})).await;
    zk.register("/svc", "h:1", map(json!({"first": true}))).await.unwrap();
    let again = zk.register("/svc", "h:1", map(json!({"second": true}))).await;
    assert_eq!(again.as_ref().err().and_then(ClientError::code), Some(Code::NodeExists), "{again:?}");
    assert_eq!(json(&*store, "/svc/h:1").await["first"], true, "the first registration is untouched");
}

async fn register_takes_an_acl<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/svc", json!({})).await;
    let acl = vec![Acl::new(Perms::READ | Perms::WRITE, "world", "anyone")];
    let options = RegisterOptions { acl: acl.clone(), properties: Default::default() };
    zk.register_with("/svc", Address::parse("h:1").unwrap(), options).await.unwrap();
    assert_eq!(store.get_acl("/svc/h:1").await.unwrap().0, acl);
}

async fn unregister_removes_the_node<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/svc", json!({})).await;
    zk.register("/svc", "h:1", Default::default()).await.unwrap();
    zk.register("/svc", "h:2", Default::default()).await.unwrap();
    zk.unregister("/svc", "h:1").await.unwrap();
    assert_eq!(store.get_children("/svc").await.unwrap().0, ["h:2"]);
    assert_eq!(zk.registrations(), ["/svc/h:2"]);
    zk.unregister("/svc", "h:1").await.unwrap();
}

async fn concurrent_registrations_and_unregistrations<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    let store = zk.store();
    put(&*store, "/svc", json!({})).await;
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let zk = zk.clone();
            tokio::spawn(async move {
                for round in 0..10 {
                    let addr = format!("h{t}:{}", 8000 + round);
                    zk.register("/svc", &addr, map(json!({"task": t}))).await.unwrap();
                    if round % 2 == 0 {
                        zk.unregister("/svc", &addr).await.unwrap();
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let (mut children, _) = store.get_children("/svc").await.unwrap();
    children.sort();
    let mut expected: Vec<String> = (0..8)
        .flat_map(|t| (0..10).filter(|r| r % 2 == 1).map(move |r| format!("h{t}:{}", 8000 + r)))
        .collect();
    expected.sort();
    assert_eq!(children, expected);
    let mut wanted: Vec<String> = expected.iter().map(|n| format!("/svc/{n}")).collect();
    wanted.sort();
    assert_eq!(zk.registrations(), wanted);
}

/// On the emulator: a registration whose session expires between the create and its reply
/// (so the restore could not know it) is made again on the new session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_made_as_the_session_expires_is_made_again() {
    let backend = zczk_conformance::EmulatorBackend::new();
    let zk = client(&backend).await;
    let other = backend.session().await;
    put(&other, "/svc", json!({})).await;
    let old = zk.store();
    // Two replies held back: resolving /svc, then the create.
    old.faults().delay_next(2, std::time::Duration::from_millis(800));
    let registering = {
        let zk = zk.clone();
        tokio::spawn(async move { zk.register("/svc", "h:1", Default::default()).await })
    };
    crate::client_support::eventually("the create to be applied", || {
        futures::executor::block_on(other.exists("/svc/h:1")).unwrap().is_some()
    })
    .await;
    backend.expire(&old).await;
    crate::client_support::new_session(&zk, 1).await;
    let result = registering.await.unwrap();
    let stat = other.exists("/svc/h:1").await.unwrap();
    assert!(
        stat.is_some_and(|s| s.ephemeral_owner == zk.store().session_id()),
        "register gave {result:?}, and the node is not on the new session"
    );
}
