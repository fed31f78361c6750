//! A garbage collector over `ownerReferences`, for servers without kube-controller-manager
//! (standalone mode), following kube-controller-manager's garbage collector:
//! - an owner being deleted with the `orphan` finalizer: its dependents lose their references
//!   to it, then the finalizer goes;
//! - an owner being deleted with the `foregroundDeletion` finalizer: its dependents are
//!   deleted, and when none that blocks it (`blockOwnerDeletion`) is left the finalizer goes
//!   (and with it the owner);
//! - a dependent whose owners are all gone is deleted (background cascading); references to
//!   owners that are gone are removed while another owner remains.
//!
//! A pass reads every object of every resource; passes run after changes (debounced) and
//! every minute.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::catalog::Catalog;
use crate::delete::{self, DeleteOptions, Propagation, FOREGROUND, ORPHAN};
use crate::errors::Result;
use crate::generic::{GenericStore, Subresource, WriteOptions};
use crate::list::ListRequest;
use crate::meta;
use crate::resource::Resource;

/// How long the collector waits for more changes before a pass.
const DEBOUNCE: Duration = Duration::from_millis(100);
/// How often a pass runs without changes.
const RESYNC: Duration = Duration::from_secs(60);

/// A running garbage collector; dropping it stops it.
#[derive(Debug)]
pub struct GarbageCollector {
    task: JoinHandle<()>,
}

impl Drop for GarbageCollector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GarbageCollector {
    /// Starts collecting garbage among the resources of `catalog`.
    pub fn start(store: GenericStore, catalog: Arc<Catalog>) -> Self {
        GarbageCollector {
            task: tokio::spawn(run(Collector { store, catalog })),
        }
    }
}

struct Collector {
    store: GenericStore,
    catalog: Arc<Catalog>,
}

/// One object with the resource it belongs to.
struct Item {
    res: Arc<Resource>,
    obj: Value,
}

impl Item {
    fn uid(&self) -> &str {
        meta::get(&self.obj, "uid").unwrap_or_default()
    }

    fn name(&self) -> &str {
        meta::name(&self.obj).unwrap_or_default()
    }

    fn namespace(&self) -> Option<&str> {
        meta::namespace(&self.obj)
    }

    /// Whether this object's reference to `owner` has `blockOwnerDeletion: true`.
    fn blocks(&self, owner: &str) -> bool {
        self.obj["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|refs| {
                refs.iter().any(|r| {
                    r["uid"].as_str() == Some(owner) && r["blockOwnerDeletion"] == Value::Bool(true)
                })
            })
    }

    fn owner_uids(&self) -> Vec<String> {
        self.obj["metadata"]["ownerReferences"]
            .as_array()
            .map(|refs| {
                refs.iter()
                    .filter_map(|r| r["uid"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

async fn run(collector: Collector) {
    let root = collector.store.root_prefix();
    loop {
        let start = match collector.store.storage().current_revision().await {
            Ok(revision) => revision,
            Err(e) => {
                tracing::warn!(error = %e, "garbage collector cannot read storage");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        collector.pass_logged().await;
        let mut changes = match collector.store.storage().watch(&root, start).await {
            Ok(changes) => changes,
            Err(e) => {
                tracing::warn!(error = %e, "garbage collector cannot watch storage");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        loop {
            match tokio::time::timeout(RESYNC, changes.next()).await {
                Ok(Some(Ok(storage::WatchEvent::Progress { .. }))) => continue,
                Ok(Some(Ok(_))) | Err(_) => {
                    tokio::time::sleep(DEBOUNCE).await;
                    collector.pass_logged().await;
                }
                // The watch broke or fell behind: start over from the current state.
                Ok(Some(Err(_))) | Ok(None) => break,
            }
        }
    }
}

impl Collector {
    async fn pass_logged(&self) {
        if let Err(e) = self.pass().await {
            tracing::warn!(error = %e, "garbage collection pass failed");
        }
    }

    /// One pass over every object.
    async fn pass(&self) -> Result<()> {
        let mut items = Vec::new();
        for res in self.catalog.all() {
            let list = self.store.list(&res, &ListRequest::default()).await?;
            items.extend(list.items.into_iter().map(|obj| Item {
                res: res.clone(),
                obj,
            }));
        }
        let by_uid: HashMap<&str, &Item> = items.iter().map(|i| (i.uid(), i)).collect();
        for owner in items.iter().filter(|i| delete::is_deleting(&i.obj)) {
            let finalizers = delete::finalizers(&owner.obj);
            let dependents: Vec<&Item> = items
                .iter()
                .filter(|d| d.owner_uids().iter().any(|u| u == owner.uid()))
                .collect();
            if finalizers.iter().any(|f| f == ORPHAN) {
                self.orphan(owner, &dependents).await?;
            } else if finalizers.iter().any(|f| f == FOREGROUND) {
                self.delete_dependents(owner, &dependents).await?;
            }
        }
        for dependent in &items {
            let owners = dependent.owner_uids();
            let gone: Vec<&String> = owners
                .iter()
                .filter(|u| !by_uid.contains_key(u.as_str()))
                .collect();
            if owners.is_empty() || gone.is_empty() {
                continue;
            }
            if gone.len() == owners.len() {
                self.delete(dependent, Propagation::Background).await?;
            } else {
                self.drop_owner_references(dependent, |uid| gone.iter().any(|g| *g == uid))
                    .await?;
            }
        }
        Ok(())
    }

    async fn orphan(&self, owner: &Item, dependents: &[&Item]) -> Result<()> {
        for dependent in dependents {
            self.drop_owner_references(dependent, |uid| uid == owner.uid())
                .await?;
        }
        self.remove_finalizer(owner, ORPHAN).await
    }

    /// Foreground: every dependent is deleted; the owner's finalizer goes once no dependent
    /// that blocks it (`blockOwnerDeletion: true`) is left.
    async fn delete_dependents(&self, owner: &Item, dependents: &[&Item]) -> Result<()> {
        for dependent in dependents.iter().filter(|d| !delete::is_deleting(&d.obj)) {
            self.delete(dependent, Propagation::Foreground).await?;
        }
        if !dependents.iter().any(|d| d.blocks(owner.uid())) {
            return self.remove_finalizer(owner, FOREGROUND).await;
        }
        Ok(())
    }

    async fn delete(&self, item: &Item, propagation: Propagation) -> Result<()> {
        let options = DeleteOptions {
            propagation: Some(propagation),
            ..Default::default()
        };
        tracing::info!(kind = %item.res.def.kind, name = item.name(), "garbage collecting");
        ignore_gone(
            self.store
                .delete(&item.res, item.namespace(), item.name(), &options)
                .await
                .map(|_| ()),
        )
    }

    async fn remove_finalizer(&self, item: &Item, finalizer: &str) -> Result<()> {
        let mut obj = item.obj.clone();
        let kept: Vec<Value> = delete::finalizers(&obj)
            .into_iter()
            .filter(|f| f != finalizer)
            .map(Value::String)
            .collect();
        meta::set(&mut obj, "finalizers", Some(Value::Array(kept)));
        self.update(item, obj).await
    }

    async fn drop_owner_references(&self, item: &Item, drop: impl Fn(&str) -> bool) -> Result<()> {
        let mut obj = item.obj.clone();
        let kept: Vec<Value> = obj["metadata"]["ownerReferences"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| !drop(r["uid"].as_str().unwrap_or_default()))
            .collect();
        let value = (!kept.is_empty()).then_some(Value::Array(kept));
        meta::set(&mut obj, "ownerReferences", value);
        self.update(item, obj).await
    }

    async fn update(&self, item: &Item, obj: Value) -> Result<()> {
        let options = WriteOptions::default();
        // A conflict means the object changed: the next pass sees the new state.
        let written = self
            .store
            .update(
                &item.res,
                item.namespace(),
                item.name(),
                obj,
                Subresource::Main,
                &options,
            )
            .await;
        match written {
            Err(e) if e.reason() == "Conflict" => Ok(()),
            other => ignore_gone(other.map(|_| ())),
        }
    }
}

/// An object that is already gone needs nothing more.
fn ignore_gone(result: Result<()>) -> Result<()> {
    match result {
        Err(e) if e.code() == 404 => Ok(()),
        other => other,
    }
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector").finish()
    }
}
