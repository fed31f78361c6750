//! The collector's picture of the objects, as upstream's dependency graph keeps it
//! (`pkg/controller/garbagecollector/graph.go`): per UID, where the object is, its owner
//! references, its finalizers and whether it is being deleted — nothing of its spec or status,
//! nor even of its labels. [`Graph::plan`] turns it into the writes of one pass.

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::runtime::watcher::Event;
use serde_json::{json, Value};

/// The owner's finalizers (kube's `metav1.FinalizerOrphanDependents`, `…DeleteDependents`).
pub const ORPHAN: &str = "orphan";
pub const FOREGROUND: &str = "foregroundDeletion";

/// Where an object is: the index of its resource among those followed, its namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub resource: usize,
    pub namespace: Option<String>,
    pub name: String,
}

/// One object.
#[derive(Debug, Clone)]
struct Node {
    place: Place,
    resource_version: String,
    owners: Vec<OwnerReference>,
    finalizers: Vec<String>,
    deleting: bool,
}

impl Node {
    fn of(resource: usize, meta: &ObjectMeta) -> Option<(String, Node)> {
        let uid = meta.uid.clone()?;
        let node = Node {
            place: Place {
                resource,
                namespace: meta.namespace.clone(),
                name: meta.name.clone().unwrap_or_default(),
            },
            resource_version: meta.resource_version.clone().unwrap_or_default(),
            owners: meta.owner_references.clone().unwrap_or_default(),
            finalizers: meta.finalizers.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
        };
        Some((uid, node))
    }

    fn has_finalizer(&self, finalizer: &str) -> bool {
        self.finalizers.iter().any(|f| f == finalizer)
    }

    fn owned_by(&self, owner: &str) -> bool {
        self.owners.iter().any(|r| r.uid == owner)
    }

    /// Whether its reference to `owner` has `blockOwnerDeletion: true`.
    fn blocks(&self, owner: &str) -> bool {
        let block = |r: &OwnerReference| r.uid == owner && r.block_owner_deletion == Some(true);
        self.owners.iter().any(block)
    }

    /// A patch keeping the owner references `keep` accepts, locked on this version.
    fn keep_owners(&self, keep: impl Fn(&str) -> bool) -> Write {
        let kept: Vec<&OwnerReference> = self.owners.iter().filter(|r| keep(&r.uid)).collect();
        let kept = if kept.is_empty() {
            Value::Null
        } else {
            json!(kept)
        };
        self.patch(json!({ "ownerReferences": kept }))
    }

    fn remove_finalizer(&self, finalizer: &str) -> Write {
        let kept: Vec<&String> = self.finalizers.iter().filter(|f| *f != finalizer).collect();
        self.patch(json!({ "finalizers": kept }))
    }

    fn patch(&self, mut metadata: Value) -> Write {
        metadata["resourceVersion"] = json!(self.resource_version);
        Write::Patch {
            place: self.place.clone(),
            metadata,
        }
    }

    fn delete(&self, uid: &str, foreground: bool) -> Write {
        Write::Delete {
            place: self.place.clone(),
            uid: uid.to_owned(),
            foreground,
        }
    }
}

/// A write of a pass.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Delete the object (with its UID as precondition), in the foreground or background.
    Delete {
        place: Place,
        uid: String,
        foreground: bool,
    },
    /// Merge-patch its `metadata` (which carries the resourceVersion it was read at).
    Patch { place: Place, metadata: Value },
}

/// Every object of the followed resources, by UID.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    /// The UIDs a resource's relist has delivered so far.
    relisting: HashMap<usize, HashSet<String>>,
    /// The resources whose first list is complete.
    listed: HashSet<usize>,
}

impl Graph {
    /// Applies a watcher event of the resource at index `resource`.
    pub fn apply(&mut self, resource: usize, event: &Event<ObjectMeta>) {
        match event {
            Event::Init => {
                self.relisting.insert(resource, HashSet::new());
            }
            Event::InitApply(object) | Event::Apply(object) => {
                if let Some((uid, node)) = Node::of(resource, object) {
                    if let Some(seen) = self.relisting.get_mut(&resource) {
                        seen.insert(uid.clone());
                    }
                    self.nodes.insert(uid, node);
                }
            }
            Event::Delete(object) => {
                if let Some(uid) = &object.uid {
                    self.nodes.remove(uid);
                }
            }
            Event::InitDone => {
                // What the relist did not deliver is gone.
                let seen = self.relisting.remove(&resource).unwrap_or_default();
                self.nodes
                    .retain(|uid, node| node.place.resource != resource || seen.contains(uid));
                self.listed.insert(resource);
            }
        }
    }

    /// Whether the first list of each of `resources` resources is in.
    pub fn listed(&self, resources: usize) -> bool {
        (0..resources).all(|r| self.listed.contains(&r))
    }

    /// The writes of one pass, as kube-controller-manager's collector would make them now:
    /// owners being deleted with `orphan` lose their dependents' references and then the
    /// finalizer; with `foregroundDeletion` their dependents are deleted, and the finalizer
    /// goes once none that blocks them is left; dependents whose owners are all gone are
    /// deleted (background), references to owners that are gone dropped while one remains.
    pub fn plan(&self) -> Vec<Write> {
        let mut writes = Vec::new();
        for (owner_uid, owner) in self.nodes.iter().filter(|(_, n)| n.deleting) {
            let dependents: Vec<(&String, &Node)> = self
                .nodes
                .iter()
                .filter(|(_, n)| n.owned_by(owner_uid))
                .collect();
            if owner.has_finalizer(ORPHAN) {
                for (_, dependent) in &dependents {
                    writes.push(dependent.keep_owners(|uid| uid != owner_uid));
                }
                writes.push(owner.remove_finalizer(ORPHAN));
            } else if owner.has_finalizer(FOREGROUND) {
                for (uid, dependent) in dependents.iter().filter(|(_, d)| !d.deleting) {
                    writes.push(dependent.delete(uid, true));
                }
                if !dependents.iter().any(|(_, d)| d.blocks(owner_uid)) {
                    writes.push(owner.remove_finalizer(FOREGROUND));
                }
            }
        }
        for (uid, dependent) in &self.nodes {
            let gone = |owner: &str| !self.nodes.contains_key(owner);
            let owners = &dependent.owners;
            if owners.is_empty() || !owners.iter().any(|r| gone(&r.uid)) {
                continue;
            }
            if owners.iter().all(|r| gone(&r.uid)) {
                writes.push(dependent.delete(uid, false));
            } else {
                writes.push(dependent.keep_owners(|owner| !gone(owner)));
            }
        }
        writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn meta(name: &str, owners: &[(&str, bool)]) -> ObjectMeta {
        let owners = owners.iter().map(|(uid, block)| OwnerReference {
            api_version: "v1".into(),
            kind: "Thing".into(),
            name: format!("owner-of-{name}"),
            uid: (*uid).into(),
            block_owner_deletion: block.then_some(true),
            ..OwnerReference::default()
        });
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some("ns".into()),
            uid: Some(format!("uid-{name}")),
            resource_version: Some("7".into()),
            owner_references: Some(owners.collect()),
            ..ObjectMeta::default()
        }
    }

    fn deleting(name: &str, finalizer: &str) -> ObjectMeta {
        ObjectMeta {
            deletion_timestamp: Some(Time(Default::default())),
            finalizers: Some(vec![finalizer.into(), "example.com/other".into()]),
            ..meta(name, &[])
        }
    }

    fn graph(objects: Vec<ObjectMeta>) -> Graph {
        let mut graph = Graph::default();
        graph.apply(0, &Event::Init);
        for object in objects {
            graph.apply(0, &Event::InitApply(object));
        }
        graph.apply(0, &Event::InitDone);
        graph
    }

    fn place(name: &str) -> Place {
        Place {
            resource: 0,
            namespace: Some("ns".into()),
            name: name.into(),
        }
    }

    fn sorted(mut writes: Vec<Write>) -> Vec<Write> {
        writes.sort_by_key(|w| format!("{w:?}"));
        writes
    }

    #[test]
    fn dependents_of_owners_that_are_gone_are_deleted_or_lose_the_reference() {
        let graph = graph(vec![
            meta("a", &[]),
            meta("orphaned", &[("uid-gone", false)]),
            meta("half", &[("uid-a", false), ("uid-gone", false)]),
            meta("owned", &[("uid-a", false)]),
        ]);
        let writes = sorted(graph.plan());
        assert_eq!(writes.len(), 2, "{writes:?}");
        assert!(writes.contains(&Write::Delete {
            place: place("orphaned"),
            uid: "uid-orphaned".into(),
            foreground: false
        }));
        let Some(Write::Patch {
            place: at,
            metadata,
        }) = writes.iter().find(|w| matches!(w, Write::Patch { .. }))
        else {
            panic!("{writes:?}")
        };
        assert_eq!(*at, place("half"));
        assert_eq!(metadata["resourceVersion"], "7");
        assert_eq!(metadata["ownerReferences"][0]["uid"], "uid-a");
        assert_eq!(metadata["ownerReferences"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn orphan_drops_the_references_then_the_finalizer() {
        let graph = graph(vec![
            deleting("owner", ORPHAN),
            meta("kid", &[("uid-owner", true)]),
        ]);
        let writes = graph.plan();
        assert_eq!(writes.len(), 2, "{writes:?}");
        assert_eq!(
            writes[0],
            Write::Patch {
                place: place("kid"),
                metadata: json!({"ownerReferences": null, "resourceVersion": "7"})
            }
        );
        assert_eq!(
            writes[1],
            Write::Patch {
                place: place("owner"),
                metadata: json!({"finalizers": ["example.com/other"], "resourceVersion": "7"})
            }
        );
    }

    #[test]
    fn foreground_deletes_dependents_and_waits_for_those_that_block() {
        let blocked = graph(vec![
            deleting("owner", FOREGROUND),
            meta("blocking", &[("uid-owner", true)]),
            meta("free", &[("uid-owner", false)]),
        ]);
        let writes = sorted(blocked.plan());
        let deleted: Vec<&str> = writes
            .iter()
            .filter_map(|w| match w {
                Write::Delete {
                    place,
                    foreground: true,
                    ..
                } => Some(place.name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, ["blocking", "free"]);
        assert_eq!(
            writes.len(),
            2,
            "the finalizer stays while one blocks: {writes:?}"
        );

        let free = graph(vec![
            deleting("owner", FOREGROUND),
            meta("free", &[("uid-owner", false)]),
        ]);
        let writes = sorted(free.plan());
        assert_eq!(writes.len(), 2, "{writes:?}");
        assert!(writes.contains(&Write::Patch {
            place: place("owner"),
            metadata: json!({"finalizers": ["example.com/other"], "resourceVersion": "7"})
        }));
    }

    #[test]
    fn a_relist_forgets_what_it_did_not_deliver() {
        let mut graph = graph(vec![
            meta("owner", &[]),
            meta("kid", &[("uid-owner", false)]),
        ]);
        assert!(graph.plan().is_empty());
        assert!(graph.listed(1) && !graph.listed(2));
        graph.apply(0, &Event::Init);
        graph.apply(0, &Event::InitApply(meta("kid", &[("uid-owner", false)])));
        graph.apply(0, &Event::InitDone);
        assert_eq!(
            graph.plan(),
            [Write::Delete {
                place: place("kid"),
                uid: "uid-kid".into(),
                foreground: false
            }]
        );
        graph.apply(0, &Event::Delete(meta("kid", &[])));
        assert!(graph.plan().is_empty());
    }
}
