//! Periodic compaction keeping a window of history, like kube-apiserver's
//! `storage/etcd3/compact.go`: every interval, compact to the revision seen one interval
//! before, so between one and two intervals of history stay readable.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::error::Error;
use crate::store::{Revision, Store};

/// The default history window: five minutes, as in kube-apiserver.
pub const DEFAULT_HISTORY_WINDOW: Duration = Duration::from_secs(300);

/// A running compactor; dropping it stops it.
#[derive(Debug)]
pub struct Compactor {
    task: JoinHandle<()>,
}

impl Drop for Compactor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Compactor {
    /// Starts compacting `store` every `window`.
    pub fn start(store: Arc<dyn Store>, window: Duration) -> Self {
        Compactor {
            task: tokio::spawn(run(store, window)),
        }
    }
}

async fn run(store: Arc<dyn Store>, window: Duration) {
    let mut seen: Option<Revision> = None;
    let mut ticks = tokio::time::interval(window);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        if let Some(revision) = seen {
            match store.compact(revision).await {
                Ok(()) => tracing::debug!(revision, "compacted storage history"),
                // Another server (or an earlier run) compacted this far already.
                Err(Error::Compacted { .. }) => {}
                Err(e) => tracing::warn!(error = %e, revision, "compaction failed"),
            }
        }
        match store.current_revision().await {
            Ok(revision) => seen = Some(revision),
            Err(e) => tracing::warn!(error = %e, "reading the revision for compaction failed"),
        }
    }
}
