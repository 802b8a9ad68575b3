//! The page itself: HTML, CSS and JavaScript built into the binary (nothing is fetched from
//! elsewhere at run time).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::Shared;

const HTML: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

/// Only this server's own scripts and styles, and no framing by other sites (a framed page
/// could be clicked into writing).
const POLICY: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The page, with the run's write token when it may write (a page of another site cannot read
/// it: browsers keep other origins' responses from it).
pub(super) async fn index(State(app): State<Shared>) -> impl IntoResponse {
    let token = if app.write { app.token.as_str() } else { "" };
    let html = HTML.replace("{{TOKEN}}", token);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        html,
    )
}

/// The page's script.
pub(super) async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT)
}

/// The page's style sheet.
pub(super) async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}
