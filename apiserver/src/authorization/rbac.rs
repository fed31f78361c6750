//! The RBAC mode: evaluates the `rbac.authorization.k8s.io/v1` objects this server stores, from
//! an in-memory index ([`registry::rbac::authorizer::Policy`]) that one watch per kind keeps
//! current (kube-apiserver evaluates from its informers the same way).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use registry::list::ListRequest;
use registry::rbac::authorizer::{self as rbac, Policy, PolicyRule, RulesReview};
use registry::watch::{EventType, Start, WatchRequest};
use registry::{Catalog, GenericStore, Resource};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Attributes, Authorizer, Decision};
use crate::authentication::User;

/// The kinds the index holds.
const PLURALS: [&str; 4] = [
    "clusterroles",
    "clusterrolebindings",
    "roles",
    "rolebindings",
];
/// How long one storage watch runs before it is renewed.
const WATCH_SPAN: Duration = Duration::from_secs(30 * 60);
/// Pause before retrying after storage failed.
const RETRY: Duration = Duration::from_secs(1);

/// The RBAC authorizer; dropping it stops its watches.
#[derive(Debug)]
pub struct RbacAuthorizer {
    policy: Arc<RwLock<Policy>>,
    synced: watch::Receiver<usize>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for RbacAuthorizer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl RbacAuthorizer {
    /// Starts following the RBAC kinds registered in `catalog`.
    pub fn start(store: GenericStore, catalog: &Catalog) -> Arc<RbacAuthorizer> {
        let policy = Arc::new(RwLock::new(Policy::default()));
        let (synced_tx, synced) = watch::channel(0usize);
        let synced_tx = Arc::new(synced_tx);
        let tasks = PLURALS
            .iter()
            .filter_map(|plural| {
                catalog.find(registry::rbac::GROUP, registry::rbac::VERSION, plural)
            })
            .map(|resource| {
                let follower = Follower {
                    store: store.clone(),
                    resource,
                    policy: policy.clone(),
                    names: HashSet::new(),
                    synced: synced_tx.clone(),
                    reported: false,
                };
                tokio::spawn(follower.run())
            })
            .collect();
        Arc::new(RbacAuthorizer {
            policy,
            synced,
            tasks,
        })
    }

    /// Waits until every kind has been read once (requests before that would be denied for
    /// want of bindings).
    pub async fn wait_synced(&self) {
        let mut synced = self.synced.clone();
        let kinds = self.tasks.len();
        let _ = synced.wait_for(|n| *n >= kinds).await;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Policy> {
        self.policy.read().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Authorizer for RbacAuthorizer {
    async fn authorize(&self, a: &Attributes) -> Decision {
        match self.read().authorize(a) {
            rbac::Decision::Allow { reason } => Decision::allow(reason),
            rbac::Decision::NoOpinion { reason } => Decision::no_opinion(reason),
        }
    }

    fn rules_held(&self, user: &User, namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
        self.read().rules_held(user, namespace)
    }

    fn role_reference_rules(
        &self,
        kind: &str,
        name: &str,
        namespace: &str,
    ) -> Option<Result<Vec<PolicyRule>, String>> {
        Some(
            self.read()
                .role_reference_rules(kind, name, namespace)
                .map_err(|e| e.to_string()),
        )
    }

    fn rules_for(&self, user: &User, namespace: &str) -> RulesReview {
        self.read().rules_for(user, namespace)
    }
}

/// Keeps one kind of the index current.
struct Follower {
    store: GenericStore,
    resource: Arc<Resource>,
    policy: Arc<RwLock<Policy>>,
    /// The objects of this kind in the index: (namespace, name).
    names: HashSet<(Option<String>, String)>,
    synced: Arc<watch::Sender<usize>>,
    reported: bool,
}

impl Follower {
    async fn run(mut self) {
        loop {
            let revision = match self.relist().await {
                Ok(revision) => revision,
                Err(e) => {
                    tracing::warn!(resource = %self.resource.def.plural, error = %e, "listing RBAC objects failed; retrying");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            if !self.reported {
                self.reported = true;
                self.synced.send_modify(|n| *n += 1);
            }
            self.follow(revision).await;
            tokio::time::sleep(RETRY).await;
        }
    }

    /// Replaces this kind's objects in the index with what storage holds now.
    async fn relist(&mut self) -> Result<storage::Revision, registry::ApiError> {
        let list = self
            .store
            .list(&self.resource, &ListRequest::default())
            .await?;
        let fresh: HashSet<_> = list.items.iter().map(key_of).collect();
        let plural = self.resource.def.plural.clone();
        let gone: Vec<_> = self.names.difference(&fresh).cloned().collect();
        let mut policy = self.policy.write().unwrap_or_else(|p| p.into_inner());
        policy.batch(|policy| {
            for object in &list.items {
                policy.upsert(&plural, object);
            }
            for (namespace, name) in &gone {
                policy.remove(&plural, namespace.as_deref(), name);
            }
        });
        drop(policy);
        self.names = fresh;
        Ok(list.resource_version)
    }

    /// Applies changes after `revision` until the watch ends; returns to relist after a 410 or
    /// a failure, renews the watch when it simply ran its span.
    async fn follow(&mut self, mut revision: storage::Revision) {
        loop {
            let request = WatchRequest {
                namespace: None,
                labels: Default::default(),
                fields: Default::default(),
                start: Start::After(revision),
                allow_bookmarks: true,
                deadline: tokio::time::Instant::now() + WATCH_SPAN,
                bookmark_interval: Duration::from_secs(60),
            };
            let mut events = match self.store.watch(self.resource.clone(), request).await {
                Ok(events) => events,
                Err(_) => return,
            };
            while let Some(event) = events.recv().await {
                if let Some(rv) =
                    registry::meta::resource_version(&event.object).and_then(|rv| rv.parse().ok())
                {
                    revision = rv;
                }
                match event.kind {
                    EventType::Bookmark => continue,
                    EventType::Error => return,
                    _ => self.apply(&event),
                }
            }
        }
    }
}

impl Follower {
    /// Applies an ADDED, MODIFIED or DELETED event to the index.
    fn apply(&mut self, event: &registry::watch::ObjectEvent) {
        let key = key_of(&event.object);
        let mut policy = self.policy.write().unwrap_or_else(|p| p.into_inner());
        if event.kind == EventType::Deleted {
            policy.remove(&self.resource.def.plural, key.0.as_deref(), &key.1);
            self.names.remove(&key);
        } else {
            policy.upsert(&self.resource.def.plural, &event.object);
            self.names.insert(key);
        }
    }
}

fn key_of(object: &serde_json::Value) -> (Option<String>, String) {
    (
        registry::meta::namespace(object).map(str::to_owned),
        registry::meta::name(object).unwrap_or_default().to_owned(),
    )
}
