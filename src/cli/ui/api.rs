//! The read-only API: the tree a level at a time, a node's details and Stat, the service
//! graph, and an import's plan (a dry run).

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::Json;
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};
use zczk_core::graph::{ServiceGraph, PROVIDERS};
use zczk_core::import::{self, ImportOptions};
use zczk_core::store::{Stat, Store};
use zczk_core::tree::{LINK_SUFFIX, PROPERTY_LINK_SUFFIX};

use super::error::ApiError;
use super::Shared;
use crate::cli::graph::{read_tree, svg_of};
use crate::connect::Client;

/// The most children listed in one answer; the page asks for the next ones when shown.
const PAGE: usize = 1000;

/// Reads of children's data in flight at once.
const IN_FLIGHT: usize = 64;

/// A request about one node.
#[derive(serde::Deserialize)]
pub(super) struct At {
    path: String,
    /// For `/api/children`: the first child to list, in name order.
    #[serde(default)]
    offset: usize,
}

/// What the page needs to know of the server.
pub(super) async fn info(State(app): State<Shared>) -> Json<Value> {
    Json(json!({ "connection": app.connection, "write": app.write }))
}

/// A node: its properties (each property link followed, each node link resolved), its type,
/// children count, data version and ephemeral owner.
pub(super) async fn node(State(app): State<Shared>, Query(at): Query<At>) -> Result<Json<Value>, ApiError> {
    Ok(Json(node_details(&app.client, &at.path).await?))
}

/// The details of the node at `path` (resolved through links), as [`node`] answers them.
pub(super) async fn node_details(client: &Client, path: &str) -> Result<Value, ApiError> {
    let view = client.properties(path, false).await?;
    let snapshot = view.snapshot();
    let real = snapshot.path.as_str();
    let stat = client.store().exists(real).await.map_err(zczk_core::client::ClientError::from)?;
    let mut entries = Vec::new();
    let sorted: BTreeMap<&String, &Value> = snapshot.properties.iter().collect();
    for (key, value) in sorted {
        let entry = if let Some(name) = key.strip_suffix(LINK_SUFFIX) {
            let link = format!("{}/{name}", real.trim_end_matches('/'));
            match client.resolve(&link).await {
                Ok(target) => json!({"name": name, "kind": "node link", "value": value, "resolved": target}),
                Err(e) => json!({"name": name, "kind": "node link", "value": value, "error": e.to_string()}),
            }
        } else if let Some(name) = key.strip_suffix(PROPERTY_LINK_SUFFIX) {
            match snapshot.linked.get(name) {
                Some(Ok(followed)) => {
                    json!({"name": name, "kind": "property link", "value": followed, "target": value})
                }
                Some(Err(e)) => {
                    json!({"name": name, "kind": "property link", "target": value, "error": e.to_string()})
                }
                // A stored property of the same name wins over the link (see `properties`).
                None => json!({"name": name, "kind": "property link", "target": value, "shadowed": true}),
            }
        } else {
            json!({"name": key, "kind": "property", "value": value})
        };
        entries.push(entry);
    }
    let stat = stat.unwrap_or_default();
    Ok(json!({
        "path": real,
        "type": snapshot.properties.get("type").and_then(Value::as_str),
        "properties": snapshot.properties,
        "entries": entries,
        "version": snapshot.version,
        "children": stat.num_children,
        "ephemeral_owner": owner(&stat),
    }))
}

fn owner(stat: &Stat) -> Value {
    if stat.is_ephemeral() {
        json!(format!("0x{:x}", stat.ephemeral_owner))
    } else {
        Value::Null
    }
}

/// A page of a node's children in name order, each with its type, children count and
/// ephemeral owner: one level of the tree, so that a large tree opens at once.
pub(super) async fn children(
    State(app): State<Shared>,
    Query(at): Query<At>,
) -> Result<Json<Value>, ApiError> {
    let store = app.client.store();
    let (mut names, _) = store.get_children(&at.path).await.map_err(zczk_core::client::ClientError::from)?;
    names.sort();
    let total = names.len();
    let base = at.path.trim_end_matches('/').to_string();
    let page: Vec<String> = names.into_iter().skip(at.offset).take(PAGE).collect();
    let store = &store;
    let children: Vec<Value> = futures::stream::iter(page)
        .map(|name| {
            let path = format!("{base}/{name}");
            async move {
                match store.get_data(&path).await {
                    Ok((data, stat)) => {
                        let properties =
                            zczk_core::props::decode(data.as_deref().unwrap_or_default()).properties;
                        Ok(Some(json!({
                            "name": name,
                            "path": path,
                            "type": properties.get("type").and_then(Value::as_str),
                            "children": stat.num_children,
                            "ephemeral_owner": owner(&stat),
                        })))
                    }
                    // Deleted since the list was read: left out (an event will follow).
                    Err(e) if e.is(zczk_core::store::Code::NoNode) => Ok(None),
                    Err(e) => Err(zczk_core::client::ClientError::from(e)),
                }
            }
        })
        .buffered(IN_FLIGHT)
        .try_filter_map(|child| async move { Ok(child) })
        .try_collect()
        .await?;
    Ok(Json(json!({ "path": at.path, "total": total, "offset": at.offset, "children": children })))
}

/// A node's Stat, field for field.
pub(super) async fn stat(State(app): State<Shared>, Query(at): Query<At>) -> Result<Json<Value>, ApiError> {
    let real = app.client.resolve(&at.path).await?;
    let stat = app.client.store().exists(&real).await.map_err(zczk_core::client::ClientError::from)?;
    let Some(s) = stat else {
        return Err(zczk_core::client::ClientError::NoNode { path: at.path }.into());
    };
    Ok(Json(json!({
        "path": real,
        "czxid": s.czxid, "mzxid": s.mzxid, "pzxid": s.pzxid,
        "ctime": s.ctime, "mtime": s.mtime,
        "version": s.version, "cversion": s.cversion, "aversion": s.aversion,
        "ephemeralOwner": owner(&s), "dataLength": s.data_length, "numChildren": s.num_children,
    })))
}

/// The service graph of the live tree, drawn as `zczk graph --format svg` draws it, with the
/// number of providers registered for each service.
pub(super) async fn graph(State(app): State<Shared>) -> Result<Json<Value>, ApiError> {
    let tree = read_tree(&app.client).await?;
    let graph = ServiceGraph::of(&tree);
    let store = app.client.store();
    let mut services = serde_json::Map::new();
    for service in &graph.services {
        let providers = format!("{}/{PROVIDERS}", service.trim_end_matches('/'));
        let count = match store.get_children(&providers).await {
            Ok((names, _)) => names.len(),
            Err(e) if e.is(zczk_core::store::Code::NoNode) => 0,
            Err(e) => return Err(zczk_core::client::ClientError::from(e).into()),
        };
        services.insert(service.clone(), json!(count));
    }
    Ok(Json(json!({ "svg": svg_of(&graph), "providers": services })))
}

/// An import: tree text and where to import it.
#[derive(serde::Deserialize)]
pub(super) struct ImportRequest {
    pub(super) text: String,
    #[serde(default = "root")]
    pub(super) path: String,
}

fn root() -> String {
    "/".to_string()
}

/// The plan of an import, as `zczk import --dry-run` reports it; nothing is written.
pub(super) async fn preview_import(
    State(app): State<Shared>,
    Json(request): Json<ImportRequest>,
) -> Result<Json<Value>, ApiError> {
    let lines = run_import(&app.client, &request, true).await?;
    Ok(Json(json!({ "lines": lines })))
}

/// Imports `request` (a dry run or not) as `zczk import` does (extras reported, not trimmed),
/// and gives the report's lines. The text is parsed completely first: a parse error (with its
/// line and column) changes nothing.
pub(super) async fn run_import(
    client: &Client,
    request: &ImportRequest,
    dry_run: bool,
) -> Result<Vec<String>, ApiError> {
    let tree = zczk_core::tree::parse_for_import(&request.text, &request.path).map_err(|mut errors| {
        let error = errors.swap_remove(0);
        ApiError::bad_request(format!("line {}, column {}: {}", error.line, error.column, error.kind))
    })?;
    let options = ImportOptions { dry_run, ..ImportOptions::default() };
    let imported = import::import_parsed(&*client.store(), &tree, &request.path, &options, None).await?;
    Ok(imported.lines)
}
