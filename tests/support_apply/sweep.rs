//! The resources discovery lists with the `patch` verb, and a valid object of each kind this
//! suite knows how to build (the kinds it cannot build are skipped, by name).

use serde_json::{json, Value};

use super::get;

/// The namespace of the sweep's namespaced objects.
const NAMESPACE: &str = "default";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

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
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The path of object `name`.
    pub fn object(&self, name: &str) -> String {
        let prefix = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
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
    /// this suite has no fixture for.
    pub fn fixture(&self, name: &str, owner: &str) -> Option<Value> {
        let mut metadata = json!({"name": name, "labels": {"owner": owner}});
        if self.namespaced {
            metadata["namespace"] = json!(NAMESPACE);
        }
        let mut object = json!({
            "apiVersion": self.api_version(),
            "kind": self.kind,
            "metadata": metadata,
        });
        let fields = match (self.group.as_str(), self.kind.as_str()) {
            ("fleet.k0rdent.io", kind) => fleet_fields(kind)?,
            (RBAC_GROUP, kind) => rbac_fields(kind)?,
            _ => return None,
        };
        for (key, value) in fields {
            object[key] = value;
        }
        Some(object)
    }
}

/// The top-level fields of a fleet kind's fixture.
fn fleet_fields(kind: &str) -> Option<Vec<(&'static str, Value)>> {
    let manifests = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sweep\n";
    let inline = json!({"inline": {"manifests": manifests}});
    let spec = match kind {
        "ClusterDeployment" => json!({
            "template": "sweep-1",
            "credential": "sweep",
            "config": {"region": "us-east-1"},
        }),
        "ClusterTemplate" => json!({
            "provider": "sim",
            "kubernetesVersion": "v1.33.1",
            "source": inline,
        }),
        "ServiceTemplate" => json!({"version": "1.0.0", "source": inline}),
        "Credential" => json!({
            "region": "us-east-1",
            "identityRef": {
                "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2",
                "kind": "AWSClusterStaticIdentity",
                "name": "sweep-identity",
            },
        }),
        "MultiClusterService" => json!({
            "clusterSelector": {"matchLabels": {"env": "sweep"}},
            "templateNamespace": NAMESPACE,
            "services": [{"name": "podinfo", "template": "podinfo-1", "namespace": "podinfo"}],
        }),
        "PriceList" => json!({
            "currency": "USD",
            "instanceTypes": [
                {"provider": "aws", "region": "us-east-1", "name": "t3.medium", "hourly": "0.0416"},
            ],
            "fallback": {
                "cpuCoreHour": "0.031611",
                "memoryGiBHour": "0.004237",
                "gpuHour": "0.35",
                "storageGiBMonth": "0.08",
            },
        }),
        _ => return None,
    };
    Some(vec![("spec", spec)])
}

/// The top-level fields of an rbac.authorization.k8s.io kind's fixture.
fn rbac_fields(kind: &str) -> Option<Vec<(&'static str, Value)>> {
    let rules = json!([{
        "apiGroups": ["fleet.k0rdent.io"],
        "resources": ["clusterdeployments"],
        "verbs": ["get"],
    }]);
    let binding = || {
        vec![
            (
                "roleRef",
                json!({"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "sweep-role"}),
            ),
            (
                "subjects",
                json!([{"kind": "User", "name": "sweep-user", "apiGroup": RBAC_GROUP}]),
            ),
        ]
    };
    match kind {
        "Role" | "ClusterRole" => Some(vec![("rules", rules)]),
        "RoleBinding" | "ClusterRoleBinding" => Some(binding()),
        _ => None,
    }
}

/// Every resource of `/api/<v>` and `/apis/<g>/<v>` whose verbs include `patch`.
pub async fn patchable_resources(client: &kube::Client) -> Vec<Patchable> {
    let mut group_versions: Vec<(String, String)> = Vec::new();
    let legacy = get(client, "/api").await;
    for version in legacy["versions"].as_array().expect("versions") {
        let version = version.as_str().expect("a version");
        group_versions.push((String::new(), version.to_owned()));
    }
    let groups = get(client, "/apis").await;
    for group in groups["groups"].as_array().expect("groups") {
        let name = group["name"].as_str().expect("a group name");
        for version in group["versions"].as_array().expect("versions") {
            let version = version["version"].as_str().expect("a version");
            group_versions.push((name.to_owned(), version.to_owned()));
        }
    }
    let mut found = Vec::new();
    for (group, version) in group_versions {
        let path = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let list = get(client, &path).await;
        for entry in list["resources"].as_array().expect("resources") {
            let name = entry["name"].as_str().expect("a resource name");
            let patch = entry["verbs"]
                .as_array()
                .expect("verbs")
                .iter()
                .any(|v| v == "patch");
            if name.contains('/') || !patch {
                continue;
            }
            found.push(Patchable {
                group: group.clone(),
                version: version.clone(),
                plural: name.to_owned(),
                kind: entry["kind"].as_str().expect("a kind").to_owned(),
                namespaced: entry["namespaced"].as_bool().expect("namespaced"),
            });
        }
    }
    found
}
