//! Waiting for SIGINT or SIGTERM, for the commands that run until stopped.

use super::CliError;

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM; the handlers are installed now, so
/// a signal that comes while the server starts is not lost.
pub fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, CliError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(CliError::io("signal handler"))?;
        let mut int = signal(SignalKind::interrupt()).map_err(CliError::io("signal handler"))?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
