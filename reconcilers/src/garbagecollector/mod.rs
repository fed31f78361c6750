//! The garbage collector over `ownerReferences`, for servers without kube-controller-manager
//! (standalone mode; an aggregated server's kinds are covered by the host's collector, which
//! discovers them), following kube-controller-manager's (kubernetes `pkg/controller/garbagecollector`):
//! - an owner being deleted with the `orphan` finalizer: its dependents lose their references
//!   to it, then the finalizer goes;
//! - an owner being deleted with the `foregroundDeletion` finalizer: its dependents are
//!   deleted, and when none that blocks it (`blockOwnerDeletion`) is left the finalizer goes
//!   (and with it the owner);
//! - a dependent whose owners are all gone is deleted (background cascading); references to
//!   owners that are gone are removed while another owner remains.
//!
//! It discovers every resource that can be listed, watched, patched and deleted, follows each
//! with a metadata-only watcher (PartialObjectMetadata, as upstream's metadata informers) into
//! one [`graph`] of what it needs of every object (UID, place, owners, finalizers, deletion),
//! and after changes (debounced) and every minute plans a pass over the graph and writes it.
//! Deletes carry the dependent's UID as a precondition; metadata changes are merge patches
//! locked on the resourceVersion the graph holds, so a pass never acts on an object that
//! changed under it.

mod graph;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions, PropagationPolicy};
use kube::core::{ApiResource, DynamicObject, PartialObjectMeta};
use kube::discovery::{verbs, Discovery, Scope};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::Api;
use serde_json::{json, Value};
use tokio::sync::Notify;

use self::graph::{Graph, Place, Write};
use crate::runtime::{Metrics, Runtime};

/// How long the collector waits for more changes before a pass.
const DEBOUNCE: Duration = Duration::from_millis(100);
/// How often a pass runs without changes (and resources are discovered again).
const RESYNC: Duration = Duration::from_secs(60);

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Discovering the resources failed.
    #[error("discovering the resources")]
    Discovery(#[source] kube::Error),
    /// The watches did not all deliver their first list within a minute.
    #[error("the first lists of the resources did not arrive")]
    NotReady,
    /// A write failed otherwise than with the object gone or changed.
    #[error("{action} {kind} {name:?}")]
    Write {
        action: &'static str,
        kind: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Installs the collector.
pub fn install(runtime: &mut Runtime) {
    runtime.task("garbage-collector", run);
}

/// One resource the collector follows: what it is, and whether it is namespaced.
type Followed = (ApiResource, bool);

/// Follows every collectable resource and collects after changes, until the set of resources
/// changes or a watch cannot start (the runtime starts it again).
async fn run(client: kube::Client, metrics: Arc<Metrics>) {
    let resources = match discover(&client).await {
        Ok(resources) => resources,
        Err(e) => return warn(&e),
    };
    let graph = Arc::new(Mutex::new(Graph::default()));
    let changed = Arc::new(Notify::new());
    let mut followers = Vec::new();
    for (index, (resource, _)) in resources.iter().enumerate() {
        // Metadata-only requests (PartialObjectMetadata), as `Api<PartialObjectMeta<_>>` asks.
        let api = Api::<PartialObjectMeta<DynamicObject>>::all_with(client.clone(), resource);
        let (graph, notify) = (graph.clone(), changed.clone());
        let events = watcher(api, watcher::Config::default())
            .default_backoff()
            .for_each(move |event| {
                if let Ok(event) = event {
                    lock(&graph).apply(index, &metadata(event));
                    notify.notify_one();
                }
                std::future::ready(())
            });
        followers.push(AbortOnDrop(tokio::spawn(events)));
    }
    let deadline = tokio::time::Instant::now() + RESYNC;
    while !lock(&graph).listed(resources.len()) {
        if tokio::time::timeout_at(deadline, changed.notified())
            .await
            .is_err()
        {
            return warn(&Error::NotReady);
        }
    }
    let collector = Collector {
        client,
        followed: resources,
    };
    loop {
        let writes = lock(&graph).plan();
        let pass = collector.write(writes).await;
        metrics.reconciled(pass.is_ok());
        if let Err(e) = pass {
            warn(&e);
        }
        tokio::select! {
            () = changed.notified() => tokio::time::sleep(DEBOUNCE).await,
            () = tokio::time::sleep(RESYNC) => {
                let now = discover(&collector.client).await;
                if now.map_or(true, |now| now != collector.followed) {
                    return;
                }
            }
        }
    }
}

fn lock(graph: &Mutex<Graph>) -> std::sync::MutexGuard<'_, Graph> {
    graph.lock().unwrap_or_else(|p| p.into_inner())
}

/// The metadata of a watcher event's object.
fn metadata(event: Event<PartialObjectMeta<DynamicObject>>) -> Event<ObjectMeta> {
    match event {
        Event::Init => Event::Init,
        Event::InitApply(object) => Event::InitApply(object.metadata),
        Event::InitDone => Event::InitDone,
        Event::Apply(object) => Event::Apply(object.metadata),
        Event::Delete(object) => Event::Delete(object.metadata),
    }
}

fn warn(error: &Error) {
    let error: &(dyn std::error::Error + 'static) = error;
    tracing::warn!(error, "garbage collection");
}

/// Every resource (one version per group) that can be listed, watched, patched and deleted.
async fn discover(client: &kube::Client) -> Result<Vec<Followed>> {
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .map_err(Error::Discovery)?;
    let wanted = [verbs::LIST, verbs::WATCH, verbs::PATCH, verbs::DELETE];
    let mut resources: Vec<Followed> = discovery
        .groups()
        .flat_map(|group| group.recommended_resources())
        .filter(|(_, caps)| wanted.iter().all(|verb| caps.supports_operation(verb)))
        .map(|(resource, caps)| (resource, caps.scope == Scope::Namespaced))
        .collect();
    resources.sort_by(|(a, _), (b, _)| (&a.group, &a.plural).cmp(&(&b.group, &b.plural)));
    Ok(resources)
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Carries out the writes of a pass.
struct Collector {
    client: kube::Client,
    followed: Vec<Followed>,
}

impl Collector {
    /// Every write of a pass, in order; the first failure is reported once all were tried.
    async fn write(&self, writes: Vec<Write>) -> Result<()> {
        let mut first_failure = Ok(());
        for write in writes {
            let result = match write {
                Write::Delete {
                    place,
                    uid,
                    foreground,
                } => self.delete(&place, uid, foreground).await,
                Write::Patch { place, metadata } => self.patch(&place, metadata).await,
            };
            if first_failure.is_ok() {
                first_failure = result;
            }
        }
        first_failure
    }

    fn api(&self, place: &Place) -> (&Followed, Api<DynamicObject>) {
        let followed = &self.followed[place.resource];
        let (resource, namespaced) = followed;
        let api = match (&place.namespace, *namespaced) {
            (Some(namespace), true) => {
                Api::namespaced_with(self.client.clone(), namespace, resource)
            }
            _ => Api::all_with(self.client.clone(), resource),
        };
        (followed, api)
    }

    async fn delete(&self, place: &Place, uid: String, foreground: bool) -> Result<()> {
        let propagation = if foreground {
            PropagationPolicy::Foreground
        } else {
            PropagationPolicy::Background
        };
        let params = DeleteParams {
            propagation_policy: Some(propagation),
            preconditions: Some(Preconditions {
                uid: Some(uid),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        let (followed, api) = self.api(place);
        let kind = &followed.0.kind;
        tracing::info!(%kind, name = %place.name, "garbage collecting");
        let deleted = api.delete(&place.name, &params).await;
        settled(followed, place, "deleting", deleted.map(|_| ()))
    }

    /// Merge-patches `metadata` (which carries the resourceVersion the pass read).
    async fn patch(&self, place: &Place, metadata: Value) -> Result<()> {
        let (followed, api) = self.api(place);
        let patch = Patch::Merge(json!({ "metadata": metadata }));
        let written = api
            .patch(&place.name, &PatchParams::default(), &patch)
            .await;
        settled(followed, place, "patching", written.map(|_| ()))
    }
}

/// A write whose object is gone (404) or changed (409) needs nothing more: the next pass sees
/// the new state.
fn settled(
    followed: &Followed,
    place: &Place,
    action: &'static str,
    result: kube::Result<()>,
) -> Result<()> {
    match result {
        Err(kube::Error::Api(status)) if matches!(status.code, 404 | 409) => Ok(()),
        Err(source) => Err(Error::Write {
            action,
            kind: followed.0.kind.clone(),
            name: place.name.clone(),
            source: Box::new(source),
        }),
        Ok(()) => Ok(()),
    }
}
