//! `zczk ui`: the system as a web page, served over HTTP by axum: the tree, node details, live
//! updates, the service graph and import plans; writes only with `--write`.

mod api;
mod error;
mod guard;
mod live;
mod page;
mod write;

use std::future::IntoFuture;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use zczk_core::connection::Access;

use super::signals::shutdown_signal;
use super::zk::{with_client, ZkArgs};
use super::CliError;
use crate::connect::Client;

/// Serve a web page showing the tree, live, with the service graph and import plans.
///
/// Prints the page's address (`http://HOST:PORT/`, one line) once it listens, then serves until
/// SIGINT or SIGTERM. The page shows a collapsible tree (loaded a level at a time), each node's
/// properties with node links and property links followed, Stat on demand, the service graph
/// (as `zczk graph --format svg` draws it) and the dry-run report of tree text pasted into it.
/// What it shows follows the server: changes are pushed to the page as they happen.
///
/// Without --write the page changes nothing (a `file:` store is opened read-only). With it,
/// the page can apply an import and edit a node's properties (compare-and-set: a concurrent
/// change is shown, not overwritten); each write must carry a token made for this run, which
/// only the page knows, and come from the page's own origin. It listens on loopback unless
/// told otherwise; credentials (--auth) are never sent to the page.
///
/// Example: `zczk ui --zk 127.0.0.1:2181 --write`, then open the printed address.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The address to listen on (port 0 picks a free one). Beyond loopback, anyone who can
    /// reach it can read the tree, and with --write change it.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8181")]
    pub listen: SocketAddr,
    /// Let the page write: apply imports and edit properties.
    #[arg(long)]
    pub write: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub zk: ZkArgs,
}

/// What every request handler shares.
pub(super) struct App {
    client: Client,
    /// Whether the page may write (`--write`).
    write: bool,
    /// The secret every write must carry; made for this run.
    token: String,
    /// The address listened on, to check the `Host` of requests.
    listen: SocketAddr,
    /// The connection string, shown on the page (it holds no credentials: those are --auth).
    connection: String,
}

type Shared = Arc<App>;

/// The largest request body: tree text to import (axum's default is 2 MB).
const MAX_BODY: usize = 64 << 20;

/// Runs `zczk ui`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let access = if args.write { Access::ReadWrite } else { Access::Read };
    let (connection, listen, write) = (args.zk.zk.clone(), args.listen, args.write);
    with_client(&args.zk, access, |client| async move {
        // Before the address is printed: whoever reads it may send SIGTERM at once.
        let signal = shutdown_signal()?;
        let listener =
            tokio::net::TcpListener::bind(listen).await.map_err(CliError::io(listen.to_string()))?;
        let listen = listener.local_addr().map_err(CliError::io(listen.to_string()))?;
        if !listen.ip().is_loopback() {
            tracing::warn!("listening on {listen}: other machines can reach the page");
        }
        let app = Arc::new(App { client, write, token: guard::new_token()?, listen, connection });
        let mut out = std::io::stdout().lock();
        writeln!(out, "http://{listen}/").and_then(|()| out.flush()).map_err(CliError::io("<stdout>"))?;
        drop(out);
        tokio::select! {
            served = axum::serve(listener, router(app)).into_future() => {
                served.map_err(CliError::io(listen.to_string()))?;
            }
            () = signal => {}
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Every route of the page and its API.
fn router(app: Shared) -> Router {
    let writes = Router::new()
        .route("/api/import/apply", post(write::apply_import))
        .route("/api/properties", post(write::set_properties))
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), guard::writes));
    Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/style.css", get(page::style))
        .route("/api/info", get(api::info))
        .route("/api/node", get(api::node))
        .route("/api/children", get(api::children))
        .route("/api/stat", get(api::stat))
        .route("/api/graph", get(api::graph))
        .route("/api/events", get(live::events))
        .route("/api/import/preview", post(api::preview_import))
        .merge(writes)
        // Tree text pasted or loaded into the page can be large.
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(app.clone(), guard::host))
        .with_state(app)
}
