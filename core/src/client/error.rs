//! The high-level client's error type.

use crate::message::{few, short};
use crate::path::PathError;
use crate::store::{Code, StoreError};

/// Why a client operation failed. Every variant names the path (or address) it concerns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// A request to ZooKeeper failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A (virtual) path leads to no node: neither a node nor a link of that name exists.
    #[error("{}: no such node", short(.path))]
    NoNode {
        /// The path as the caller gave it.
        path: String,
    },
    /// Following links came back to a path already followed.
    #[error("link loop: {}", few(&.chain.iter().map(|p| short(p)).collect::<Vec<_>>(), " -> "))]
    LinkLoop {
        /// The paths followed, the repeated one last.
        chain: Vec<String>,
    },
    /// A path is malformed.
    #[error(transparent)]
    Path(#[from] PathError),
    /// Properties that node data cannot hold so that they read back as they are; nothing
    /// was written.
    #[error("{path}: {source}")]
    BadProperties {
        /// The node.
        path: String,
        /// What is wrong with the properties.
        source: crate::props::EncodeError,
    },
    /// A property link cannot be followed.
    #[error("bad property link {:?} in {}: {reason}", short(.link), short(.path))]
    BadPropertyLink {
        /// The node holding the link.
        path: String,
        /// The link as stored (`name => target`).
        link: String,
        /// Why it cannot be followed.
        reason: String,
    },
    /// An address given to `register` is malformed.
    #[error("bad address {:?}: {reason}", short(.addr))]
    BadAddress {
        /// The address as given.
        addr: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A name given to `register` is not a valid node name; nothing was registered.
    #[error("can't register {:?}: {reason}", short(.name))]
    BadName {
        /// The name.
        name: String,
        /// What ZooKeeper would refuse in it.
        reason: &'static str,
    },
    /// No session could be opened.
    #[error("can't connect to ZooKeeper at {}: {reason}", short(.address))]
    FailedConnect {
        /// The connection string.
        address: String,
        /// What went wrong.
        reason: String,
    },
    /// The client was closed.
    #[error("the ZooKeeper client is closed")]
    Closed,
    /// A service has no provider to pick.
    #[error("{path}: no providers")]
    NoProvider {
        /// The providers node.
        path: String,
    },
}

impl ClientError {
    /// A [`ClientError::BadProperties`] for the node at `path`.
    pub(crate) fn bad_properties(path: &str) -> impl FnOnce(crate::props::EncodeError) -> ClientError {
        let path = path.to_string();
        move |source| ClientError::BadProperties { path, source }
    }

    /// The ZooKeeper code behind this error, if it came from the server.
    pub fn code(&self) -> Option<Code> {
        match self {
            ClientError::Store(e) => Some(e.code),
            ClientError::NoNode { .. } => Some(Code::NoNode),
            _ => None,
        }
    }
}

/// The result of client operations.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
