//! The resources discovery lists with the `patch` verb, and a valid object of each kind
//! `support_discovery` knows how to build (the kinds it cannot build are skipped, by name).

use serde_json::{json, Value};

use super::get;
use crate::support_discovery::{self as discovery, Listed};

/// The namespace of the sweep's namespaced objects.
const NAMESPACE: &str = "default";

/// A resource (not a subresource) of an `APIResourceList`.
#[derive(Debug, Clone)]
pub struct Patchable {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub kind: String,
    pub namespaced: bool,
}

impl Patchable {
    fn namespace(&self) -> &'static str {
        if self.namespaced {
            NAMESPACE
        } else {
            ""
        }
    }

    /// The path of object `name`.
    pub fn object(&self, name: &str) -> String {
        let prefix = discovery::prefix(&self.group, &self.version);
        if self.namespaced {
            format!("{prefix}/namespaces/{NAMESPACE}/{}/{name}", self.plural)
        } else {
            format!("{prefix}/{}/{name}", self.plural)
        }
    }

    /// `plural.group`, as messages name it.
    pub fn resource(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }

    /// A valid object `name` of this kind with label `owner: <owner>`, or `None` for a kind
    /// without a fixture.
    pub fn fixture(&self, name: &str, owner: &str) -> Option<Value> {
        let metadata = json!({"name": name, "labels": {"owner": owner}});
        let (group, version) = (&self.group, &self.version);
        discovery::fixture(group, version, &self.kind, self.namespace(), metadata)
    }
}

/// Every resource of `/api/<v>` and `/apis/<g>/<v>` whose verbs include `patch`.
pub async fn patchable_resources(client: &kube::Client) -> Vec<Patchable> {
    let listed = discovery::walk(async |path: &str| get(client, path).await).await;
    listed
        .into_iter()
        .filter(|l| l.split().1.is_none() && l.advertises("patch"))
        .map(|l: Listed| Patchable {
            group: l.group,
            version: l.version,
            plural: l.name,
            kind: l.kind,
            namespaced: l.namespaced,
        })
        .collect()
}
