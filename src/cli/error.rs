//! The errors a command reports: one line on stderr, exit status 1.

use std::path::PathBuf;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file (or stdin, shown as `-`) could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Tree text did not parse.
    #[error("{file}:{error}")]
    Parse {
        /// The file name as given (`-` for stdin).
        file: String,
        /// The first error.
        error: zczk_core::tree::ParseError,
    },
    /// A ZooKeeper operation failed.
    #[error(transparent)]
    Client(#[from] zczk_core::client::ClientError),
}
