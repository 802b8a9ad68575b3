//! The writes the page may make with `--write` (the guard checks each request first): apply an
//! import, and set a node's properties with compare-and-set.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};

use super::api::{node_details, run_import, ImportRequest};
use super::error::ApiError;
use super::Shared;

/// Applies an import (as `zczk import`: only what differs is written, each update conditional
/// on the version the plan read) and gives its report.
pub(super) async fn apply_import(
    State(app): State<Shared>,
    Json(request): Json<ImportRequest>,
) -> Result<Json<Value>, ApiError> {
    let lines = run_import(&app.client, &request, false).await?;
    Ok(Json(json!({ "lines": lines })))
}

/// New properties for a node, replacing all of its own, as edited from the data `version`.
#[derive(serde::Deserialize)]
pub(super) struct Edit {
    path: String,
    version: i32,
    properties: Map<String, Value>,
}

/// Sets a node's properties if nobody changed it since the page read it. When someone did,
/// nothing is written and the answer (409) holds the node as it is now, for the page to show.
pub(super) async fn set_properties(
    State(app): State<Shared>,
    Json(edit): Json<Edit>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let view = app.client.properties(&edit.path, false).await?;
    match view.set_if_version(edit.properties, edit.version).await {
        Ok(()) => Ok((StatusCode::OK, Json(node_details(&app.client, &edit.path).await?))),
        Err(e) if e.code() == Some(zczk_core::store::Code::BadVersion) => {
            let now = node_details(&app.client, &edit.path).await?;
            let error = format!("{}: changed by someone else meanwhile; nothing was written", view.path());
            Ok((StatusCode::CONFLICT, Json(json!({ "error": error, "current": now }))))
        }
        Err(e) => Err(e.into()),
    }
}
