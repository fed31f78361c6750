//! Discovery as the discovery-driven sweeps read it (`discovery_sweep`, `front_proxy`,
//! `server_side_apply`): the group-versions `/api` and `/apis` list, the resources and
//! subresources of each group-version's `APIResourceList`, and a valid new object of each
//! kind they list ([`fixture`]; [`fleet`] for the fleet kinds).

// Each suite includes this module and uses only part of it.
#![allow(dead_code)]

pub mod fleet;

use serde_json::{json, Value};

use crate::support::GROUP;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The path of a group-version's `APIResourceList`, and the prefix of its resources' paths:
/// `/api/<version>` for the core group (""), `/apis/<group>/<version>` otherwise.
pub fn prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

/// The collection path of `plural` in a group-version: in `namespace` for namespaced kinds,
/// cluster-wide otherwise.
pub fn collection(group: &str, version: &str, plural: &str, namespace: Option<&str>) -> String {
    let prefix = prefix(group, version);
    match namespace {
        Some(namespace) => format!("{prefix}/namespaces/{namespace}/{plural}"),
        None => format!("{prefix}/{plural}"),
    }
}

/// The `apiVersion` of a group-version's objects: `<version>` or `<group>/<version>`.
pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

/// A resource or a subresource as an `APIResourceList` lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub group: String,
    pub version: String,
    /// `resource`, or `resource/subresource`.
    pub name: String,
    pub kind: String,
    pub namespaced: bool,
    /// In the order listed.
    pub verbs: Vec<String>,
}

impl Listed {
    /// The resource, and the subresource when this is one.
    pub fn split(&self) -> (&str, Option<&str>) {
        match self.name.split_once('/') {
            Some((resource, subresource)) => (resource, Some(subresource)),
            None => (&self.name, None),
        }
    }

    pub fn advertises(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}

/// Every (group, version) of the documents `/api` (`APIVersions`, group "") and `/apis`
/// (`APIGroupList`), in their order.
pub fn group_versions(api: &Value, apis: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for version in api["versions"].as_array().expect("versions") {
        let version = version.as_str().expect("a version");
        found.push((String::new(), version.to_owned()));
    }
    for group in apis["groups"].as_array().expect("groups") {
        let name = group["name"].as_str().expect("a group name");
        for version in group["versions"].as_array().expect("versions") {
            let version = version["version"].as_str().expect("a version");
            found.push((name.to_owned(), version.to_owned()));
        }
    }
    found
}

/// The entries of `list`, the `APIResourceList` of `group` and `version`.
pub fn listed(group: &str, version: &str, list: &Value) -> Vec<Listed> {
    let text = |entry: &Value, key: &str| {
        let value = entry[key].as_str();
        value
            .unwrap_or_else(|| panic!("a {key}: {entry}"))
            .to_owned()
    };
    let entries = list["resources"].as_array().expect("resources");
    entries
        .iter()
        .map(|entry| Listed {
            group: group.to_owned(),
            version: version.to_owned(),
            name: text(entry, "name"),
            kind: text(entry, "kind"),
            namespaced: entry["namespaced"].as_bool().expect("namespaced"),
            verbs: entry["verbs"]
                .as_array()
                .expect("verbs")
                .iter()
                .map(|v| v.as_str().expect("a verb").to_owned())
                .collect(),
        })
        .collect()
}

/// Every resource and subresource of `/api`, `/apis` and their group-versions, each
/// document read with `fetch`.
pub async fn walk(fetch: impl AsyncFn(&str) -> Value) -> Vec<Listed> {
    let api = fetch("/api").await;
    let apis = fetch("/apis").await;
    let mut found = Vec::new();
    for (group, version) in group_versions(&api, &apis) {
        let list = fetch(&prefix(&group, &version)).await;
        found.extend(listed(&group, &version, &list));
    }
    found
}

/// A valid new object of `kind` in `namespace` ("" for none) with `metadata` (name, labels):
/// fleet kinds with [`fleet::spec`], RBAC roles and bindings, and the reviews (create-only,
/// nameless, asking about `namespace` or `default`). `None` for a kind without a fixture.
pub fn fixture(
    group: &str,
    version: &str,
    kind: &str,
    namespace: &str,
    mut metadata: Value,
) -> Option<Value> {
    if !namespace.is_empty() {
        metadata["namespace"] = json!(namespace);
    }
    let mut object = json!({
        "apiVersion": api_version(group, version),
        "kind": kind,
        "metadata": metadata,
    });
    let fields = match kind {
        _ if group == GROUP => json!({"spec": fleet::spec(kind)}),
        "Role" | "ClusterRole" => json!({"rules": [{
            "apiGroups": [GROUP],
            "resources": ["clusterdeployments"],
            "verbs": ["get"],
        }]}),
        "RoleBinding" | "ClusterRoleBinding" => json!({
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "fleet:view"},
            "subjects": [{"apiGroup": RBAC_GROUP, "kind": "User", "name": "sweep-user"}],
        }),
        _ => review(kind, namespace)?,
    };
    for (field, value) in fields.as_object().into_iter().flatten() {
        object[field] = value.clone();
    }
    Some(object)
}

/// The metadata (no name) and spec of a review of `kind` in `namespace`.
fn review(kind: &str, namespace: &str) -> Option<Value> {
    let asked = if namespace.is_empty() {
        "default"
    } else {
        namespace
    };
    let attributes = json!({
        "namespace": asked, "verb": "get", "group": GROUP, "resource": "clusterdeployments",
    });
    let spec = match kind {
        "SelfSubjectAccessReview" => json!({"resourceAttributes": attributes}),
        "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            json!({"user": "sweep-user", "resourceAttributes": attributes})
        }
        "SelfSubjectRulesReview" => json!({"namespace": asked}),
        "TokenReview" => json!({"token": "not-a-token"}),
        "SelfSubjectReview" => Value::Null,
        _ => return None,
    };
    let mut fields = json!({"metadata": {}});
    if !namespace.is_empty() {
        fields["metadata"]["namespace"] = json!(namespace);
    }
    if !spec.is_null() {
        fields["spec"] = spec;
    }
    Some(fields)
}
