//! The store contract every backend implements: etcd's revisions, compare-and-swap and watch.

use std::fmt;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

use crate::error::Result;

/// A revision of the whole store. Revisions are global and strictly increasing: every
/// successful write (create, update, delete) makes a new one. An empty store is at revision 1,
/// so the first write is revision 2 — exactly as in etcd.
pub type Revision = i64;

/// The largest value a store accepts, in bytes: 1.5 MiB, etcd's default request limit and
/// the object size kube-apiserver admits.
pub const MAX_VALUE_BYTES: usize = 1536 * 1024;

/// One key with its current value and the revisions that describe its life.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The full key, e.g. `/registry/fleet.k0rdent.io/clusterdeployments/team-a/prod`.
    pub key: String,
    /// The stored bytes, opaque to the store.
    pub value: Bytes,
    /// The revision at which the key was last created (it changes when a key is deleted and
    /// created again).
    pub create_revision: Revision,
    /// The revision of the last write to the key: a Kubernetes object's `resourceVersion`.
    pub mod_revision: Revision,
}

impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyValue")
            .field("key", &self.key)
            .field("value_len", &self.value.len())
            .field("create_revision", &self.create_revision)
            .field("mod_revision", &self.mod_revision)
            .finish()
    }
}

/// How to read a prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Read as of this revision; `None` reads the current state. A compacted revision fails
    /// with `Compacted`, a revision beyond the current one with `FutureRevision`.
    pub revision: Option<Revision>,
    /// Return only keys strictly greater than this one (the continuation of a paged list).
    pub start_after: Option<String>,
    /// Return at most this many items; `None` or `Some(0)` means no limit.
    pub limit: Option<usize>,
    /// Do not count the keys after the page: `ListResult::remaining` is then 1 when keys
    /// remain (a store may still count them exactly when that costs nothing, as etcd does).
    /// For reading a long prefix page by page, where counting after every page would read
    /// the rest of the prefix each time.
    pub skip_count: bool,
}

impl ListOptions {
    /// Reads everything as of `revision`.
    pub fn at(revision: Revision) -> Self {
        ListOptions {
            revision: Some(revision),
            ..Default::default()
        }
    }
}

/// One page of a prefix, read at a single revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListResult {
    /// The items in key order.
    pub items: Vec<KeyValue>,
    /// The revision the read was made at: pass it back as `ListOptions::revision` to read the
    /// following pages consistently.
    pub revision: Revision,
    /// How many keys of the prefix (after `start_after`) this page did not return (with
    /// `ListOptions::skip_count`, at least 1 when some remain, not necessarily how many).
    pub remaining: u64,
}

impl ListResult {
    /// Whether keys remain after this page.
    pub fn more(&self) -> bool {
        self.remaining > 0
    }
}

/// The outcome of a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// The revision of the deletion.
    pub revision: Revision,
    /// The value the key held when it was deleted.
    pub prev: KeyValue,
}

/// One change seen by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// A key was created or updated. `kv.mod_revision` is the revision of the write.
    Put {
        /// The key as written.
        kv: KeyValue,
        /// The value before the write; `None` when the key was created.
        prev: Option<KeyValue>,
    },
    /// A key was deleted.
    Delete {
        /// The key.
        key: String,
        /// The revision of the deletion.
        revision: Revision,
        /// The last value before the deletion.
        prev: KeyValue,
    },
    /// Every event up to and including `revision` has been delivered on this watch; nothing
    /// under its prefix changed since the last event. Used for watch bookmarks.
    Progress {
        /// The store revision the watch has caught up with.
        revision: Revision,
    },
}

impl WatchEvent {
    /// The revision this event carries.
    pub fn revision(&self) -> Revision {
        match self {
            WatchEvent::Put { kv, .. } => kv.mod_revision,
            WatchEvent::Delete { revision, .. } => *revision,
            WatchEvent::Progress { revision } => *revision,
        }
    }
}

/// A stream of watch events. It ends after yielding an error (for example `Compacted` when
/// the watcher fell behind the retained history); dropping it cancels the watch.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchEvent>> + Send>>;

/// A versioned key-value store with etcd's semantics.
///
/// Keys are strings; a *prefix* names a directory of keys and always ends in `/` (one is
/// appended when missing), so that `/a/b` never sees `/a/bc/x`. Values are opaque bytes of at
/// most [`MAX_VALUE_BYTES`] (`TooLarge` otherwise). Every successful write creates exactly one
/// new global revision, which becomes the key's `mod_revision`.
///
/// Implementations must be safe to share between tasks; all methods may be called
/// concurrently. Read methods may be retried by the implementation; writes never are, so a
/// write that fails with `Unavailable` may or may not have been applied.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// Reads one key at the current revision. `NotFound` when it does not exist.
    async fn get(&self, key: &str) -> Result<KeyValue>;

    /// Reads the keys under `prefix` in key order at one revision (see [`ListOptions`]).
    async fn list(&self, prefix: &str, options: ListOptions) -> Result<ListResult>;

    /// Counts the keys under `prefix` at the current revision.
    async fn count(&self, prefix: &str) -> Result<u64>;

    /// The store's current revision.
    async fn current_revision(&self) -> Result<Revision>;

    /// Creates `key`; `AlreadyExists` when it exists. Returns the new revision.
    async fn create(&self, key: &str, value: Bytes) -> Result<Revision>;

    /// Replaces the value of `key` if its `mod_revision` is `expected`. `NotFound` when the key
    /// does not exist; `Conflict` (carrying the current value) when the revision differs.
    /// Returns the new revision.
    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision>;

    /// Deletes `key`, if `expected` is given only when its `mod_revision` matches (`Conflict`
    /// otherwise, carrying the current value). `NotFound` when the key does not exist.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<Deleted>;

    /// Streams every change under `prefix` with a revision greater than `after`, in revision
    /// order, each with the previous value, plus `Progress` notifications while idle.
    /// `after = current_revision()` watches from now. When `after + 1` is older than the
    /// compacted revision, the stream yields `Compacted` (at once, or on first poll).
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream>;

    /// Discards history older than `revision`: reads at a revision below it and watches
    /// starting below it fail with `Compacted` from now on. `revision` itself stays readable.
    /// `Compacted` when `revision` is not newer than the last compaction; `FutureRevision`
    /// when it is beyond the current revision.
    async fn compact(&self, revision: Revision) -> Result<()>;
}

/// Turns a prefix into its directory form: exactly one trailing `/`.
pub fn directory(prefix: &str) -> String {
    if prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_appends_one_slash() {
        assert_eq!(directory("/a/b"), "/a/b/");
        assert_eq!(directory("/a/b/"), "/a/b/");
    }
}
