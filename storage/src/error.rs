//! The errors every store returns; the API server maps them to `metav1.Status` in one place.

use crate::store::{KeyValue, Revision};

/// A store operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key does not exist.
    #[error("key {key:?} not found")]
    NotFound {
        /// The key that was looked for.
        key: String,
    },

    /// A create found the key already there.
    #[error("key {key:?} already exists")]
    AlreadyExists {
        /// The key that exists.
        key: String,
    },

    /// A compare-and-swap found another revision than expected.
    #[error("key {key:?} was modified: expected revision {expected}, found {}", current.mod_revision)]
    Conflict {
        /// The key written.
        key: String,
        /// The revision the caller expected.
        expected: Revision,
        /// The key as it is now.
        current: Box<KeyValue>,
    },

    /// The requested revision is older than the retained history.
    #[error("required revision has been compacted (compacted revision {compacted_revision})")]
    Compacted {
        /// The oldest revision still readable.
        compacted_revision: Revision,
    },

    /// The requested revision is newer than the store.
    #[error("required revision {requested} is a future revision (current {current})")]
    FutureRevision {
        /// The revision asked for.
        requested: Revision,
        /// The store's revision when it answered.
        current: Revision,
    },

    /// A value exceeds [`crate::MAX_VALUE_BYTES`].
    #[error("value of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The value's size.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// The store cannot be reached or timed out; the operation may be retried. A write that
    /// fails this way may or may not have been applied.
    #[error("storage unavailable: {message}")]
    Unavailable {
        /// What went wrong.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// Anything else: corrupt data, an I/O error, a bug.
    #[error("storage error: {message}")]
    Other {
        /// What went wrong.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// The result of a store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An `Unavailable` error wrapping `source`.
    pub fn unavailable(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Unavailable {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An `Other` error wrapping `source`.
    pub fn other(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Other {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An `Other` error with only a message.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Error::Other {
            message: message.into(),
            source: None,
        }
    }

    /// Whether retrying the same operation may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }
}

/// Checks a value against [`crate::MAX_VALUE_BYTES`].
pub(crate) fn check_size(value: &[u8]) -> Result<()> {
    if value.len() > crate::MAX_VALUE_BYTES {
        return Err(Error::TooLarge {
            size: value.len(),
            limit: crate::MAX_VALUE_BYTES,
        });
    }
    Ok(())
}
