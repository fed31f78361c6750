//! Fixtures shared by the storage test targets: a fresh store of either backend, and helpers
//! to read watch streams.

#![allow(dead_code)] // Each test target uses a different part of this module.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use storage::testing::EtcdServer;
use storage::{
    EmbeddedOptions, EmbeddedStore, EtcdOptions, EtcdStore, Revision, Store, WatchEvent,
    WatchStream,
};

/// The backends the suite runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Etcd,
}

/// A fresh, empty store and what keeps it alive.
pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub backend: Backend,
    dir: tempfile::TempDir,
    etcd: Option<EtcdServer>,
}

/// The embedded store's settings in tests: quick progress notifications, and a tiny live
/// buffer so that the catch-up-from-disk path runs all the time.
pub fn embedded_options() -> EmbeddedOptions {
    EmbeddedOptions {
        progress_interval: Duration::from_millis(300),
        event_buffer: 16,
        ..EmbeddedOptions::default()
    }
}

impl Fixture {
    /// A fresh store, or `None` when etcd is wanted but not installed outside CI.
    pub async fn new(backend: Backend) -> Option<Fixture> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Embedded => {
                let store = EmbeddedStore::open(dir.path(), embedded_options()).unwrap();
                Some(Fixture {
                    store: Arc::new(store),
                    backend,
                    dir,
                    etcd: None,
                })
            }
            Backend::Etcd => {
                let etcd = EtcdServer::start()?;
                let store = connect_etcd(&etcd).await;
                Some(Fixture {
                    store: Arc::new(store),
                    backend,
                    dir,
                    etcd: Some(etcd),
                })
            }
        }
    }

    /// Stops the store and starts it again on the same data: the embedded store is closed and
    /// reopened, etcd's process is killed and restarted (the client is kept and reconnects).
    pub async fn restart(&mut self) {
        match self.backend {
            Backend::Embedded => {
                // Replace the store first so the old database is closed before reopening.
                self.store = Arc::new(Placeholder);
                tokio::time::sleep(Duration::from_millis(50)).await;
                let store = EmbeddedStore::open(self.dir.path(), embedded_options()).unwrap();
                self.store = Arc::new(store);
            }
            Backend::Etcd => {
                let etcd = self.etcd.as_mut().unwrap();
                tokio::task::block_in_place(|| etcd.restart());
            }
        }
    }

    pub fn etcd(&mut self) -> Option<&mut EtcdServer> {
        self.etcd.as_mut()
    }
}

pub async fn connect_etcd(etcd: &EtcdServer) -> EtcdStore {
    let mut options = EtcdOptions::new([etcd.client_url()]);
    options.request_timeout = Duration::from_secs(5);
    EtcdStore::connect(options).await.unwrap()
}

/// Stands in for a closed store while the embedded one is reopened.
#[derive(Debug)]
struct Placeholder;

#[async_trait::async_trait]
impl Store for Placeholder {
    async fn get(&self, _: &str) -> storage::Result<storage::KeyValue> {
        unreachable!("the store is being reopened")
    }
    async fn list(&self, _: &str, _: storage::ListOptions) -> storage::Result<storage::ListResult> {
        unreachable!("the store is being reopened")
    }
    async fn count(&self, _: &str) -> storage::Result<u64> {
        unreachable!("the store is being reopened")
    }
    async fn current_revision(&self) -> storage::Result<Revision> {
        unreachable!("the store is being reopened")
    }
    async fn create(&self, _: &str, _: Bytes) -> storage::Result<Revision> {
        unreachable!("the store is being reopened")
    }
    async fn update(&self, _: &str, _: Bytes, _: Revision) -> storage::Result<Revision> {
        unreachable!("the store is being reopened")
    }
    async fn delete(&self, _: &str, _: Option<Revision>) -> storage::Result<storage::Deleted> {
        unreachable!("the store is being reopened")
    }
    async fn watch(&self, _: &str, _: Revision) -> storage::Result<WatchStream> {
        unreachable!("the store is being reopened")
    }
    async fn compact(&self, _: Revision) -> storage::Result<()> {
        unreachable!("the store is being reopened")
    }
}

/// `s` as a value.
pub fn val(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// The next item of a watch that is not a progress notification, within 10 s.
pub async fn next_change(stream: &mut WatchStream) -> storage::Result<WatchEvent> {
    loop {
        let item = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("a watch event within 10 s")
            .expect("the watch stream is still open");
        match item {
            Ok(WatchEvent::Progress { .. }) => continue,
            other => return other,
        }
    }
}

/// Reads changes until one with revision `until` arrived; returns them all.
pub async fn changes_until(stream: &mut WatchStream, until: Revision) -> Vec<WatchEvent> {
    let mut events = Vec::new();
    loop {
        let event = next_change(stream)
            .await
            .expect("a watch event, not an error");
        let revision = event.revision();
        events.push(event);
        if revision >= until {
            return events;
        }
    }
}

/// Fails when the stream yields another change within `wait`.
pub async fn assert_quiet(stream: &mut WatchStream, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return,
            Ok(Some(Ok(WatchEvent::Progress { .. }))) => continue,
            Ok(other) => panic!("expected no change, got {other:?}"),
        }
    }
}
