//! The errors a command reports: one line on stderr, exit status 1.

use std::path::PathBuf;

use zczk_core::message::short;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file (or stdin, shown as `-`) could not be read or written.
    #[error("{}: {source}", short(&.path.to_string_lossy()))]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Tree text did not parse: `FILE:LINE:COLUMN: message`.
    #[error("{}:{}:{}: {}", short(.file), error.line, error.column, error.kind)]
    Parse {
        /// The file name as given (`-` for stdin).
        file: String,
        /// The first error.
        error: zczk_core::tree::ParseError,
    },
    /// An argument is malformed in a way clap cannot see.
    #[error("{}", short(.0))]
    Usage(String),
    /// No session could be opened.
    #[error(transparent)]
    Connect(#[from] crate::connect::ConnectError),
    /// A ZooKeeper operation failed.
    #[error(transparent)]
    Client(#[from] zczk_core::client::ClientError),
    /// An import failed.
    #[error(transparent)]
    Import(#[from] zczk_core::import::ImportError),
    /// An export failed.
    #[error(transparent)]
    Export(#[from] zczk_core::export::ExportError),
    /// A recursive delete failed.
    #[error(transparent)]
    Delete(#[from] zczk_core::delete::DeleteError),
    /// A request was refused for lack of permission.
    #[error(transparent)]
    Denied(#[from] super::denied::Denied),
}

impl CliError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CliError {
        let path = path.into();
        move |source| CliError::Io { path, source }
    }
}
