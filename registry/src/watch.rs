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

use crate::errors::{ApiError, Result};
use crate::generic::GenericStore;
use crate::list::{field_value, ListRequest};
use crate::meta;
use crate::resource::Resource;
use crate::selector::{labels_of, FieldSelector, LabelSelector};

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

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// ADDED for every current object (at least at `min_revision`), then changes. With
    /// `end_bookmark`, a BOOKMARK annotated `k8s.io/initial-events-end` separates the two
    /// (watch-list, `sendInitialEvents=true`).
    WithInitialEvents {
        min_revision: Option<Revision>,
        end_bookmark: bool,
    },
    /// Only changes after this revision.
    After(Revision),
    /// Only changes from now on.
    Now,
}

/// The annotation of the bookmark that ends the initial events of a watch-list.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// A watch request, validated.
#[derive(Debug)]
pub struct WatchRequest {
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub start: Start,
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
        let (initial, after, end_bookmark) = match request.start {
            Start::After(after) => (Vec::new(), after, false),
            Start::Now => {
                let now = self
                    .storage()
                    .current_revision()
                    .await
                    .map_err(|e| ApiError::from_storage(e, &gr, ""))?;
                (Vec::new(), now, false)
            }
            Start::WithInitialEvents {
                min_revision,
                end_bookmark,
            } => {
                let read_at = min_revision.map(crate::list::ReadAt::NotOlderThan);
                let list = self
                    .list(
                        &res,
                        &ListRequest {
                            namespace: request.namespace.clone(),
                            labels: request.labels.clone(),
                            fields: request.fields.clone(),
                            read_at,
                            ..Default::default()
                        },
                    )
                    .await?;
                (list.items, list.resource_version, end_bookmark)
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
        tokio::spawn(watcher.run(initial, end_bookmark, events));
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
    async fn run(mut self, initial: Vec<Value>, end_bookmark: bool, events: storage::WatchStream) {
        let _ = self.forward(initial, end_bookmark, events).await;
    }

    async fn forward(
        &mut self,
        initial: Vec<Value>,
        end_bookmark: bool,
        mut events: storage::WatchStream,
    ) -> Result<(), Stop> {
        for object in initial {
            self.send(EventType::Added, object).await?;
        }
        if end_bookmark {
            let mut bookmark = self.bookmark();
            bookmark["metadata"]["annotations"] = json!({INITIAL_EVENTS_END: "true"});
            self.send(EventType::Bookmark, bookmark).await?;
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
