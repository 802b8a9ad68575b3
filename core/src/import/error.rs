//! Why an import failed.

use crate::path::PathError;
use crate::store::{summarize, MultiError, StoreError};
use crate::tree::ParseError;

use crate::message::short;

/// Why an import failed. Every variant but `Conflict`, `Write` and `Multi` is raised before
/// anything is written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The text is not valid tree text.
    #[error("parse error at {0}")]
    Parse(#[from] ParseError),
    /// The import path is not a valid path.
    #[error(transparent)]
    Path(#[from] PathError),
    /// A node of the text has a name ZooKeeper refuses.
    #[error("invalid node name for {}: {source}", short(.path))]
    InvalidName {
        /// The node's path as it would be.
        path: String,
        /// Why the name is refused.
        source: PathError,
    },
    /// A node's data is larger than ZooKeeper accepts: its write would be longer than the
    /// server's request limit (`jute.maxbuffer`, which counts the path and the rest of the
    /// request too).
    #[error("{}: data is {size} bytes, more than the {limit} bytes ZooKeeper takes for this node", short(.path))]
    DataTooLarge {
        /// The node.
        path: String,
        /// Its encoded data size.
        size: usize,
        /// The most data a write of this node can carry.
        limit: usize,
    },
    /// A node's properties cannot be stored so that they read back as they are.
    #[error("{path}: {source}")]
    BadProperties {
        /// The node.
        path: String,
        /// What is wrong with its properties.
        source: crate::props::EncodeError,
    },
    /// The node to import into does not exist.
    #[error("cannot import into {}: no such node", short(.path))]
    NoImportPoint {
        /// The import path.
        path: String,
    },
    /// The text would write into `/zookeeper`, ZooKeeper's own subtree.
    #[error("{}: ZooKeeper's own subtree is not imported into", short(.path))]
    Reserved {
        /// The node.
        path: String,
    },
    /// The text puts a node below an existing ephemeral node, which cannot have children.
    #[error("cannot create {}: its parent is an ephemeral node", short(.path))]
    EphemeralParent {
        /// The node that cannot be created.
        path: String,
    },
    /// Reading what exists failed.
    #[error("reading the tree failed: {0}")]
    Read(StoreError),
    /// Another client changed nodes between reading and writing; the import stopped.
    #[error(
        "import stopped: the tree changed since it was read ({}); {written} write(s) done, {not_sent} not written; \
         run the import again to re-plan",
        summarize(.failures)
    )]
    Conflict {
        /// The writes that found a changed node (each names its node), in plan order.
        failures: Vec<StoreError>,
        /// Writes that were applied (including writes already in flight when the first
        /// conflict was seen, and an import's earlier groups).
        written: usize,
        /// Writes planned but not applied (never sent, or in a `multi` request that failed);
        /// an import does not plan the groups after the failed one.
        not_sent: usize,
    },
    /// A write failed for another reason (permissions, connection, ...); the import stopped.
    #[error("import stopped: {}; {written} write(s) done, {not_sent} not written", summarize(.failures))]
    Write {
        /// The failed writes, in plan order.
        failures: Vec<StoreError>,
        /// Writes that were applied (an import's earlier groups included).
        written: usize,
        /// Writes planned but not applied (never sent, or in a `multi` request that failed).
        not_sent: usize,
    },
    /// An atomic import does not fit in one `multi` request; nothing was written.
    #[error(
        "atomic import needs a {size}-byte multi request, more than ZooKeeper's {limit}-byte limit; \
         nothing was written (import without atomic)"
    )]
    TooLargeForMulti {
        /// The request's encoded length.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The atomic `multi` failed as a whole (connection loss, ...): it may or may not have been
    /// applied.
    #[error("atomic import failed: {0}")]
    Multi(MultiError),
}

impl ImportError {
    /// The error of a write failure in a group after `earlier` writes of the same import
    /// were applied: they count as written.
    pub(super) fn after(self, earlier: usize) -> ImportError {
        match self {
            ImportError::Conflict { failures, written, not_sent } => {
                ImportError::Conflict { failures, written: written + earlier, not_sent }
            }
            ImportError::Write { failures, written, not_sent } => {
                ImportError::Write { failures, written: written + earlier, not_sent }
            }
            other => other,
        }
    }
}
