//! Versioned key-value stores with etcd's semantics, and the envelope around stored values.
//!
//! Everything fleet-apiserver serves lives behind the [`Store`] trait. Its contract is etcd's:
//! one global, monotonic revision; compare-and-swap writes on a key's `mod_revision`; reads
//! at any revision still in history; watches from any such revision that carry previous
//! values; compaction making older revisions answer `Compacted`.
//!
//! # Layout
//! - [`store`]: the trait and its types — the contract, written on the trait.
//! - [`error`]: the typed errors every backend returns.
//! - [`etcd`]: the etcd backend (production).
//! - [`embedded`]: the embedded backend on redb (`fleet-apiserver up`, tests, laptops).
//! - [`envelope`]: the versioned envelope around stored objects (encoding, encryption).
//! - [`encryption`]: which resources are encrypted with which keys (kube-apiserver's
//!   `EncryptionConfiguration`).
//! - [`compactor`]: periodic compaction keeping a window of history.
//! - `testing` (feature `testing`): a real etcd process for tests and benchmarks.

pub mod compactor;
pub mod embedded;
pub mod encryption;
pub mod envelope;
pub mod error;
pub mod etcd;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use compactor::{Compactor, DEFAULT_HISTORY_WINDOW};
pub use embedded::{EmbeddedOptions, EmbeddedStore};
pub use encryption::{Codecs, ConfigError};
pub use envelope::{Codec, Provider};
pub use error::{Error, Result};
pub use etcd::{EtcdOptions, EtcdStore, EtcdTls};
pub use store::{
    Deleted, KeyValue, ListOptions, ListResult, Revision, Store, WatchEvent, WatchStream,
    MAX_VALUE_BYTES,
};
