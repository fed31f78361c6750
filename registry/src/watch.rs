//! Watch with Kubernetes' semantics over a storage watch (k8s.io/apiserver
//! `pkg/storage/etcd3/watcher.go`): synthetic ADDED events when starting from "now", events
//! after a revision otherwise, DELETED carrying the last state at the deletion revision,
//! selectors turning enter/leave into ADDED/DELETED, BOOKMARKs from storage progress (and one
//! before closing), and a 410 ERROR when the revision is compacted.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use storage::{Revision, WatchEvent};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::generic::GenericStore;
use crate::list::{field_value, ListRequest};
use crate::meta;
use crate::resource::Resource;
use crate::selector::{labels_of, FieldSelector, LabelSelector};
use crate::status::{ApiError, Result};

/// The type of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
    Bookmark,
    Error,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
            EventType::Bookmark => "BOOKMARK",
            EventType::Error => "ERROR",
        }
    }
}

/// One event of a watch stream: an object, a bookmark, or a `Status` (for ERROR).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectEvent {
    pub kind: EventType,
    pub object: Value,
}

impl ObjectEvent {
    /// `{"type": ..., "object": ...}`.
    pub fn to_json(&self) -> Value {
        json!({"type": self.kind.as_str(), "object": self.object})
    }
}

/// A watch request, validated.
#[derive(Debug)]
pub struct WatchRequest {
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// Events after this revision; `None` (unset or "0") starts with the current objects as
    /// ADDED events.
    pub after: Option<Revision>,
    pub allow_bookmarks: bool,
    /// When the stream ends (with a bookmark when allowed).
    pub deadline: Instant,
    /// How often at most a bookmark is sent while idle.
    pub bookmark_interval: Duration,
}

/// The stream of a watch: ends at the deadline, after an ERROR, or when storage ends it.
pub type EventStream = mpsc::Receiver<ObjectEvent>;

/// Events buffered between the watch task and the client.
const BUFFER: usize = 100;

impl GenericStore {
    /// Starts a watch. The returned channel closes when the watch ends; dropping it stops the
    /// watch.
    pub async fn watch(&self, res: Arc<Resource>, request: WatchRequest) -> Result<EventStream> {
        let gr = res.def.group_resource();
        let (initial, after) = match request.after {
            Some(after) => (Vec::new(), after),
            None => {
                let list = self
                    .list(
                        &res,
                        &ListRequest {
                            namespace: request.namespace.clone(),
                            labels: request.labels.clone(),
                            fields: request.fields.clone(),
                            ..Default::default()
                        },
                    )
                    .await?;
                (list.items, list.resource_version)
            }
        };
        let prefix = self.prefix(&res, request.namespace.as_deref());
        let events = self
            .storage()
            .watch(&prefix, after)
            .await
            .map_err(|e| ApiError::from_storage(e, &gr, ""))?;
        let (tx, rx) = mpsc::channel(BUFFER);
        let watcher = Watcher {
            store: self.clone(),
            res,
            request,
            tx,
            revision: after,
        };
        tokio::spawn(watcher.run(initial, events));
        Ok(rx)
    }
}

struct Watcher {
    store: GenericStore,
    res: Arc<Resource>,
    request: WatchRequest,
    tx: mpsc::Sender<ObjectEvent>,
    /// The revision everything has been delivered up to.
    revision: Revision,
}

/// Why the watch loop stopped.
enum Stop {
    /// The client went away, or an ERROR was sent.
    Done,
}

impl Watcher {
    async fn run(mut self, initial: Vec<Value>, events: storage::WatchStream) {
        let _ = self.forward(initial, events).await;
    }

    async fn forward(
        &mut self,
        initial: Vec<Value>,
        mut events: storage::WatchStream,
    ) -> Result<(), Stop> {
        for object in initial {
            self.send(EventType::Added, object).await?;
        }
        let mut last_bookmark = Instant::now();
        loop {
            let next = tokio::select! {
                next = events.next() => next,
                () = tokio::time::sleep_until(self.request.deadline) => {
                    if self.request.allow_bookmarks {
                        self.send(EventType::Bookmark, self.bookmark()).await?;
                    }
                    return Err(Stop::Done);
                }
                () = self.tx.closed() => return Err(Stop::Done),
            };
            match next {
                None => return Err(Stop::Done),
                Some(Err(e)) => return self.fail(e).await,
                Some(Ok(WatchEvent::Progress { revision })) => {
                    self.revision = self.revision.max(revision);
                    let due = last_bookmark.elapsed() >= self.request.bookmark_interval;
                    if self.request.allow_bookmarks && due {
                        last_bookmark = Instant::now();
                        self.send(EventType::Bookmark, self.bookmark()).await?;
                    }
                }
                Some(Ok(event)) => {
                    self.revision = event.revision();
                    if let Some((kind, object)) = self.convert(event)? {
                        self.send(kind, object).await?;
                    }
                }
            }
        }
    }

    /// The Kubernetes event for a storage event, after selectors; `None` when filtered out.
    fn convert(&self, event: WatchEvent) -> Result<Option<(EventType, Value)>, Stop> {
        let decode = |kv: &storage::KeyValue| self.store.decode(kv).map_err(|_| Stop::Done);
        Ok(match event {
            WatchEvent::Put { kv, prev } => {
                let current = decode(&kv)?;
                let passes_now = self.passes(&current);
                match prev {
                    None => passes_now.then_some((EventType::Added, current)),
                    Some(prev) => {
                        let mut old = decode(&prev)?;
                        match (passes_now, self.passes(&old)) {
                            (true, true) => Some((EventType::Modified, current)),
                            (true, false) => Some((EventType::Added, current)),
                            (false, true) => {
                                set_revision(&mut old, kv.mod_revision);
                                Some((EventType::Deleted, old))
                            }
                            (false, false) => None,
                        }
                    }
                }
            }
            WatchEvent::Delete { revision, prev, .. } => {
                let mut old = decode(&prev)?;
                self.passes(&old).then(|| {
                    set_revision(&mut old, revision);
                    (EventType::Deleted, old)
                })
            }
            WatchEvent::Progress { .. } => None,
        })
    }

    fn passes(&self, obj: &Value) -> bool {
        self.request.labels.matches(&labels_of(obj))
            && self
                .request
                .fields
                .matches(&|f| field_value(&self.res, obj, f))
    }

    fn bookmark(&self) -> Value {
        json!({
            "kind": self.res.def.kind,
            "apiVersion": self.res.def.api_version(),
            "metadata": {"resourceVersion": self.revision.to_string()},
        })
    }

    /// Ends the stream with an ERROR event.
    async fn fail(&mut self, error: storage::Error) -> Result<(), Stop> {
        let status = match error {
            storage::Error::Compacted { compacted_revision } => ApiError::expired(format!(
                "too old resource version: {} ({compacted_revision})",
                self.revision
            )),
            other => ApiError::from_storage(other, &self.res.def.group_resource(), ""),
        };
        let object = serde_json::to_value(status.status()).unwrap_or(Value::Null);
        self.send(EventType::Error, object).await?;
        Err(Stop::Done)
    }

    async fn send(&mut self, kind: EventType, object: Value) -> Result<(), Stop> {
        self.tx
            .send(ObjectEvent { kind, object })
            .await
            .map_err(|_| Stop::Done)
    }
}

fn set_revision(obj: &mut Value, revision: Revision) {
    meta::set(
        obj,
        "resourceVersion",
        Some(Value::String(revision.to_string())),
    );
}
