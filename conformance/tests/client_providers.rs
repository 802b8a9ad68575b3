//! Choosing a provider (Curator's `ServiceProvider`) over a live list of providers, on every
//! backend.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::client_support::{client, eventually, put, put_ephemeral};
use serde_json::json;
use zczk_conformance::{on_every_backend, Backend};
use zczk_core::client::{ClientError, Strategy, DEFAULT_DOWN_FOR};
use zczk_core::store::Store;

on_every_backend!(
    no_provider_is_none_and_a_clear_error,
    round_robin_takes_each_in_turn_and_follows_the_list,
    random_picks_every_provider_sometimes,
    sticky_keeps_its_choice_while_it_lives,
    marked_down_providers_are_skipped_then_return,
    when_all_are_down_one_is_still_picked,
);

/// `/svc/providers` with the ephemeral providers `h:1`, `h:2`, `h:3`.
async fn service<S: Store + ?Sized>(store: &S) {
    put(store, "/svc", json!({})).await;
    put(store, "/svc/providers", json!({})).await;
    for name in ["h:2", "h:3", "h:1"] {
        put_ephemeral(store, &format!("/svc/providers/{name}"), json!({})).await;
    }
}

async fn no_provider_is_none_and_a_clear_error<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    put(&*zk.store(), "/svc", json!({})).await;
    put(&*zk.store(), "/svc/providers", json!({})).await;
    let providers = zk.providers("/svc/providers", Strategy::Random, DEFAULT_DOWN_FOR).await.unwrap();
    assert_eq!(providers.pick(), None);
    let error = providers.require().unwrap_err();
    assert_eq!(error, ClientError::NoProvider { path: "/svc/providers".into() });
    assert_eq!(error.to_string(), "/svc/providers: no providers");
    assert!(matches!(
        zk.providers("/nowhere/providers", Strategy::Random, DEFAULT_DOWN_FOR).await,
        Err(ClientError::NoNode { .. })
    ));
}

async fn round_robin_takes_each_in_turn_and_follows_the_list<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    service(&*zk.store()).await;
    let providers = zk.providers("/svc/providers", Strategy::RoundRobin, DEFAULT_DOWN_FOR).await.unwrap();
    let picks: Vec<String> = (0..4).filter_map(|_| providers.pick()).collect();
    assert_eq!(picks, ["h:1", "h:2", "h:3", "h:1"]);
    // A provider that registers later is picked once the view has it.
    put_ephemeral(&*zk.store(), "/svc/providers/h:4", json!({})).await;
    eventually("the new provider", || providers.names().len() == 4).await;
    let picks: BTreeSet<String> = (0..4).filter_map(|_| providers.pick()).collect();
    assert_eq!(picks.len(), 4, "each of the four in turn: {picks:?}");
}

async fn random_picks_every_provider_sometimes<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    service(&*zk.store()).await;
    let providers = zk.providers("/svc/providers", Strategy::Random, DEFAULT_DOWN_FOR).await.unwrap();
    let picks: BTreeSet<String> = (0..200).filter_map(|_| providers.pick()).collect();
    assert_eq!(picks.into_iter().collect::<Vec<_>>(), ["h:1", "h:2", "h:3"]);
}

async fn sticky_keeps_its_choice_while_it_lives<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    service(&*zk.store()).await;
    let providers = zk.providers("/svc/providers", Strategy::Sticky, DEFAULT_DOWN_FOR).await.unwrap();
    let first = providers.pick().unwrap();
    assert!((0..20).all(|_| providers.pick().as_ref() == Some(&first)), "always {first}");
    // Its registration vanishes: another is chosen, and kept.
    zk.store().delete(&format!("/svc/providers/{first}"), None).await.unwrap();
    eventually("a new choice", || providers.pick().is_some_and(|p| p != first)).await;
    let second = providers.pick().unwrap();
    assert!((0..20).all(|_| providers.pick().as_ref() == Some(&second)), "always {second}");
    // Marked down, it is dropped too.
    providers.mark_down(&second);
    let third = providers.pick().unwrap();
    assert!(third != first && third != second, "{third}");
}

async fn marked_down_providers_are_skipped_then_return<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    service(&*zk.store()).await;
    let down_for = Duration::from_millis(300);
    let providers = zk.providers("/svc/providers", Strategy::RoundRobin, down_for).await.unwrap();
    providers.mark_down("h:2");
    let picks: Vec<String> = (0..4).filter_map(|_| providers.pick()).collect();
    assert!(!picks.contains(&"h:2".to_string()), "h:2 is down: {picks:?}");
    assert!(picks.contains(&"h:1".to_string()) && picks.contains(&"h:3".to_string()));
    // After its down time it is picked again.
    eventually("h:2 back in the choice", || providers.pick().as_deref() == Some("h:2")).await;
}

async fn when_all_are_down_one_is_still_picked<B: Backend>(backend: B) {
    let zk = client(&backend).await;
    service(&*zk.store()).await;
    let providers = zk.providers("/svc/providers", Strategy::Random, DEFAULT_DOWN_FOR).await.unwrap();
    for name in ["h:1", "h:2", "h:3"] {
        providers.mark_down(name);
    }
    let picked = providers.pick().expect("a provider that may have recovered beats none");
    assert!(["h:1", "h:2", "h:3"].contains(&picked.as_str()));
}
