//! Live updates: Server-Sent Events telling the page which of the nodes it shows changed,
//! driven by the client's live views.

use std::convert::Infallible;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt};
use serde_json::json;

use super::error::ApiError;
use super::Shared;

/// The most nodes one page may follow at once.
const MOST: usize = 2000;

/// What the page follows.
#[derive(serde::Deserialize)]
pub(super) struct Follow {
    /// A JSON array of the paths whose children the page shows (the expanded nodes).
    #[serde(default)]
    children: Option<String>,
    /// The node whose details the page shows.
    #[serde(default)]
    node: Option<String>,
}

/// A stream of events: `children` with `{"path": P}` when the children of an expanded node P
/// change, `node` when the shown node's properties (or a node its property links lead to)
/// change, each with `"deleted": true` once the node is gone. Each view's first event is its
/// state when the stream starts, so a change made while the page was connecting is not missed.
pub(super) async fn events(
    State(app): State<Shared>,
    Query(follow): Query<Follow>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let paths: Vec<String> = match &follow.children {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("children: not a JSON array of paths: {e}")))?,
        None => Vec::new(),
    };
    if paths.len() > MOST {
        return Err(ApiError::bad_request(format!("at most {MOST} nodes can be followed at once")));
    }
    let mut streams: Vec<BoxStream<'static, Event>> = Vec::new();
    for path in paths {
        match app.client.children(&path).await {
            Ok(view) => {
                let events = view.stream().map(move |snapshot| {
                    // The stream holds the view: dropping it (when the page goes) stops its watch.
                    let _ = &view;
                    event("children", json!({"path": path, "deleted": snapshot.deleted}))
                });
                streams.push(events.boxed());
            }
            // Gone before the page could follow it: say so at once.
            Err(_) => streams.push(stream::once(async move { gone("children", &path) }).boxed()),
        }
    }
    if let Some(path) = follow.node {
        match app.client.properties(&path, true).await {
            Ok(view) => {
                let events = view.stream().map(move |snapshot| {
                    let _ = &view;
                    event("node", json!({"path": path, "deleted": snapshot.deleted}))
                });
                streams.push(events.boxed());
            }
            Err(_) => streams.push(stream::once(async move { gone("node", &path) }).boxed()),
        }
    }
    // Open until the page goes, even when it follows nothing yet.
    streams.push(stream::pending().boxed());
    let all = stream::select_all(streams).map(Ok);
    Ok(Sse::new(all).keep_alive(KeepAlive::default()))
}

fn event(kind: &str, data: serde_json::Value) -> Event {
    Event::default().event(kind).data(data.to_string())
}

fn gone(kind: &str, path: &str) -> Event {
    event(kind, json!({"path": path, "deleted": true}))
}
