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
//! with a metadata-only watcher (PartialObjectMetadata, as upstream's metadata informers: the
//! collector keeps no spec or status) into a reflector store, and makes a pass over the stores
//! after changes (debounced) and every minute. Deletes carry the dependent's UID as a
//! precondition; metadata changes are merge patches locked on the resourceVersion the pass
//! read, so a pass never acts on an object that changed under it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions, PropagationPolicy};
use kube::core::{ApiResource, DynamicObject, PartialObjectMeta};
use kube::discovery::{verbs, Discovery, Scope};
use kube::runtime::reflector::{self, store::Writer, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Api;
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::runtime::{Metrics, Runtime};

/// How long the collector waits for more changes before a pass.
const DEBOUNCE: Duration = Duration::from_millis(100);
/// How often a pass runs without changes (and resources are discovered again).
const RESYNC: Duration = Duration::from_secs(60);
/// The owner's finalizers (kube's `metav1.FinalizerOrphanDependents`, `…DeleteDependents`).
const ORPHAN: &str = "orphan";
const FOREGROUND: &str = "foregroundDeletion";

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Discovering the resources failed.
    #[error("discovering the resources")]
    Discovery(#[source] kube::Error),
    /// A resource's watch never delivered its first list.
    #[error("the first list of {0}")]
    NotReady(String),
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

/// One resource the collector follows.
#[derive(Clone)]
struct Followed {
    resource: ApiResource,
    namespaced: bool,
    objects: Store<PartialObjectMeta<DynamicObject>>,
}

/// Follows every collectable resource and collects after changes, until the set of resources
/// changes or a watch cannot start (the runtime starts it again).
async fn run(client: kube::Client, metrics: Arc<Metrics>) {
    let resources = match discover(&client).await {
        Ok(resources) => resources,
        Err(e) => return warn(&e),
    };
    let changed = Arc::new(Notify::new());
    let mut followers = Vec::new();
    let mut followed = Vec::new();
    for (resource, namespaced) in resources.iter().cloned() {
        // Metadata-only requests (PartialObjectMetadata), as `Api<PartialObjectMeta<_>>` asks.
        let api = Api::<PartialObjectMeta<DynamicObject>>::all_with(client.clone(), &resource);
        let writer = Writer::new(resource.clone());
        let objects = writer.as_reader();
        let notify = changed.clone();
        // Managed fields are dropped before the store, as kube-controller-manager's informers
        // drop them: the collector reads owners, finalizers and UIDs only.
        let metadata = watcher(api, watcher::Config::default())
            .default_backoff()
            .modify(|object| object.metadata.managed_fields = None);
        let events = reflector::reflector(writer, metadata).for_each(move |event| {
            if event.is_ok() {
                notify.notify_one();
            }
            std::future::ready(())
        });
        followers.push(AbortOnDrop(tokio::spawn(events)));
        followed.push(Followed {
            resource,
            namespaced,
            objects,
        });
    }
    for f in &followed {
        if f.objects.wait_until_ready().await.is_err() {
            return warn(&Error::NotReady(f.resource.plural.clone()));
        }
    }
    let collector = Collector { client, followed };
    loop {
        let pass = collector.pass().await;
        metrics.reconciled(pass.is_ok());
        if let Err(e) = pass {
            warn(&e);
        }
        tokio::select! {
            () = changed.notified() => tokio::time::sleep(DEBOUNCE).await,
            () = tokio::time::sleep(RESYNC) => {
                let now = discover(&collector.client).await;
                if now.map_or(true, |now| now != resources) {
                    return;
                }
            }
        }
    }
}

fn warn(error: &Error) {
    let error: &(dyn std::error::Error + 'static) = error;
    tracing::warn!(error, "garbage collection");
}

/// Every resource (one version per group) that can be listed, watched, patched and deleted.
async fn discover(client: &kube::Client) -> Result<Vec<(ApiResource, bool)>> {
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .map_err(Error::Discovery)?;
    let wanted = [verbs::LIST, verbs::WATCH, verbs::PATCH, verbs::DELETE];
    let mut resources: Vec<(ApiResource, bool)> = discovery
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

struct Collector {
    client: kube::Client,
    followed: Vec<Followed>,
}

/// One object with the resource it belongs to.
struct Item<'a> {
    followed: &'a Followed,
    object: Arc<PartialObjectMeta<DynamicObject>>,
}

impl Item<'_> {
    fn uid(&self) -> &str {
        self.object.metadata.uid.as_deref().unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.object.metadata.name.as_deref().unwrap_or_default()
    }

    fn deleting(&self) -> bool {
        self.object.metadata.deletion_timestamp.is_some()
    }

    fn has_finalizer(&self, finalizer: &str) -> bool {
        let finalizers = self.object.metadata.finalizers.iter().flatten();
        finalizers.into_iter().any(|f| f == finalizer)
    }

    fn owner_uids(&self) -> impl Iterator<Item = &str> {
        let owners = self.object.metadata.owner_references.iter().flatten();
        owners.map(|r| r.uid.as_str())
    }

    /// Whether this object's reference to `owner` has `blockOwnerDeletion: true`.
    fn blocks(&self, owner: &str) -> bool {
        let owners = self.object.metadata.owner_references.iter().flatten();
        owners
            .into_iter()
            .any(|r| r.uid == owner && r.block_owner_deletion == Some(true))
    }

    fn api(&self, client: &kube::Client) -> Api<DynamicObject> {
        let resource = &self.followed.resource;
        match (&self.object.metadata.namespace, self.followed.namespaced) {
            (Some(namespace), true) => Api::namespaced_with(client.clone(), namespace, resource),
            _ => Api::all_with(client.clone(), resource),
        }
    }
}

impl Collector {
    /// One pass over every object the stores hold.
    async fn pass(&self) -> Result<()> {
        let items: Vec<Item<'_>> = self
            .followed
            .iter()
            .flat_map(|followed| {
                let objects = followed.objects.state();
                objects
                    .into_iter()
                    .map(move |object| Item { followed, object })
            })
            .collect();
        let by_uid: HashMap<&str, &Item<'_>> = items.iter().map(|i| (i.uid(), i)).collect();
        for owner in items.iter().filter(|i| i.deleting()) {
            let dependents: Vec<&Item<'_>> = items
                .iter()
                .filter(|d| d.owner_uids().any(|u| u == owner.uid()))
                .collect();
            if owner.has_finalizer(ORPHAN) {
                self.orphan(owner, &dependents).await?;
            } else if owner.has_finalizer(FOREGROUND) {
                self.delete_dependents(owner, &dependents).await?;
            }
        }
        for dependent in &items {
            let owners: Vec<&str> = dependent.owner_uids().collect();
            let gone: Vec<&str> = owners
                .iter()
                .copied()
                .filter(|u| !by_uid.contains_key(u))
                .collect();
            if owners.is_empty() || gone.is_empty() {
                continue;
            }
            if gone.len() == owners.len() {
                self.delete(dependent, PropagationPolicy::Background)
                    .await?;
            } else {
                self.drop_owner_references(dependent, |uid| gone.contains(&uid))
                    .await?;
            }
        }
        Ok(())
    }

    async fn orphan(&self, owner: &Item<'_>, dependents: &[&Item<'_>]) -> Result<()> {
        for dependent in dependents {
            self.drop_owner_references(dependent, |uid| uid == owner.uid())
                .await?;
        }
        self.remove_finalizer(owner, ORPHAN).await
    }

    /// Foreground: every dependent is deleted; the owner's finalizer goes once no dependent
    /// that blocks it (`blockOwnerDeletion: true`) is left.
    async fn delete_dependents(&self, owner: &Item<'_>, dependents: &[&Item<'_>]) -> Result<()> {
        for dependent in dependents.iter().filter(|d| !d.deleting()) {
            self.delete(dependent, PropagationPolicy::Foreground)
                .await?;
        }
        if !dependents.iter().any(|d| d.blocks(owner.uid())) {
            return self.remove_finalizer(owner, FOREGROUND).await;
        }
        Ok(())
    }

    async fn delete(&self, item: &Item<'_>, propagation: PropagationPolicy) -> Result<()> {
        let params = DeleteParams {
            propagation_policy: Some(propagation),
            preconditions: Some(Preconditions {
                uid: Some(item.uid().to_owned()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        let kind = &item.followed.resource.kind;
        tracing::info!(%kind, name = item.name(), "garbage collecting");
        let deleted = item.api(&self.client).delete(item.name(), &params).await;
        settled(item, "deleting", deleted.map(|_| ()))
    }

    async fn remove_finalizer(&self, item: &Item<'_>, finalizer: &str) -> Result<()> {
        let finalizers = item.object.metadata.finalizers.iter().flatten();
        let kept: Vec<&String> = finalizers.into_iter().filter(|f| *f != finalizer).collect();
        self.patch_metadata(item, json!({ "finalizers": kept }))
            .await
    }

    async fn drop_owner_references(
        &self,
        item: &Item<'_>,
        drop: impl Fn(&str) -> bool,
    ) -> Result<()> {
        let references = item.object.metadata.owner_references.iter().flatten();
        let kept: Vec<_> = references.into_iter().filter(|r| !drop(&r.uid)).collect();
        let kept = if kept.is_empty() {
            Value::Null
        } else {
            json!(kept)
        };
        self.patch_metadata(item, json!({ "ownerReferences": kept }))
            .await
    }

    /// Merge-patches `metadata`, locked on the resourceVersion the pass read.
    async fn patch_metadata(&self, item: &Item<'_>, mut metadata: Value) -> Result<()> {
        metadata["resourceVersion"] = json!(item.object.metadata.resource_version);
        let patch = Patch::Merge(json!({ "metadata": metadata }));
        let api = item.api(&self.client);
        let written = api
            .patch(item.name(), &PatchParams::default(), &patch)
            .await;
        settled(item, "patching", written.map(|_| ()))
    }
}

/// A write whose object is gone (404) or changed (409) needs nothing more: the next pass sees
/// the new state.
fn settled(item: &Item<'_>, action: &'static str, result: kube::Result<()>) -> Result<()> {
    match result {
        Err(kube::Error::Api(status)) if matches!(status.code, 404 | 409) => Ok(()),
        Err(source) => Err(Error::Write {
            action,
            kind: item.followed.resource.kind.clone(),
            name: item.name().to_owned(),
            source: Box::new(source),
        }),
        Ok(()) => Ok(()),
    }
}
