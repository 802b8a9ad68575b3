//! Who may use the page: requests must name this server as their `Host` (so that a web site
//! cannot reach it through a DNS name of its own), and writes need `--write`, the run's token
//! and the page's own origin (so that no other site can make the browser write).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::Shared;
use crate::cli::CliError;

/// The header that carries the token of writes.
pub(super) const TOKEN_HEADER: &str = "x-zczk-token";

/// A new secret token: 32 random bytes as hex.
pub(super) fn new_token() -> Result<String, CliError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| CliError::Io {
        path: "random token".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Refuses a request whose `Host` is not this server's address, when it listens on loopback
/// (elsewhere, the names that lead to it are not known).
pub(super) async fn host(State(app): State<Shared>, request: Request, next: Next) -> Response {
    if app.listen.ip().is_loopback() && !host_is_ours(request.headers(), app.listen) {
        return ApiError::forbidden("the request's Host is not this server's address").into_response();
    }
    next.run(request).await
}

fn host_is_ours(headers: &HeaderMap, listen: std::net::SocketAddr) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else { return false };
    let port = listen.port();
    host == listen.to_string() || host == format!("localhost:{port}")
}

/// Refuses a write unless the page was started with `--write`, the request carries the run's
/// token, and it comes from the page's own origin.
pub(super) async fn writes(State(app): State<Shared>, request: Request, next: Next) -> Response {
    match check_write(&app, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

fn check_write(app: &super::App, headers: &HeaderMap) -> Result<(), ApiError> {
    if !app.write {
        return Err(ApiError::forbidden("zczk ui was started without --write: the page changes nothing"));
    }
    let text = |name: &str| header_text(headers, name);
    if let Some(origin) = text(header::ORIGIN.as_str()) {
        let same = text(header::HOST.as_str()).is_some_and(|host| origin == format!("http://{host}"));
        if !same {
            return Err(ApiError::forbidden("a write from another origin is refused"));
        }
    }
    if text("sec-fetch-site").is_some_and(|site| site != "same-origin") {
        return Err(ApiError::forbidden("a write from another site is refused"));
    }
    match text(TOKEN_HEADER) {
        Some(token) if constant_time_eq(token.as_bytes(), app.token.as_bytes()) => Ok(()),
        _ => Err(ApiError::forbidden("a write needs this run's token, which only the page has")),
    }
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Compares without stopping at the first difference, so timing tells nothing of the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
