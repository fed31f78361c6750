//! The bootstrap policy, created at start-up when missing: the ClusterRoles kubectl relies on
//! (kube-apiserver's `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`) bound to
//! every user, and the tenant roles over fleet.k0rdent.io. Objects annotated
//! `rbac.authorization.kubernetes.io/autoupdate: "true"` are brought back to this definition
//! (as kube-apiserver reconciles its defaults); set it to "false" to keep local changes.

use serde_json::{json, Value};

use crate::catalog::Catalog;
use crate::errors::{ApiError, Result};
use crate::generic::{GenericStore, WriteOptions};

const AUTOUPDATE: &str = "rbac.authorization.kubernetes.io/autoupdate";
const FLEET: &str = "fleet.k0rdent.io";

/// The fleet kinds tenants write (credentials and price lists are read-only for `fleet:edit`:
/// a tenant must not point its clusters at somebody else's cloud identity).
const TENANT_WRITABLE: &[&str] = &[
    "clusterdeployments",
    "clustertemplates",
    "servicetemplates",
    "multiclusterservices",
];
/// Fleet kinds only `fleet:admin` writes.
const ADMIN_WRITABLE: &[&str] = &["credentials", "pricelists"];
/// Computed views (read-only for everyone).
const VIEWS: &[&str] = &["fleetclusters", "fleetservices", "fleetcosts"];
/// What every authenticated user may read cluster-wide (`fleet:public-info-viewer`): prices
/// are not secrets. (The views join it when they are served, filtering their rows by the
/// caller's namespaces.)
const PUBLIC: &[&str] = &["pricelists"];

pub use crate::authorizer::CONTROLLER_MANAGER;

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];

fn bootstrap_metadata(name: &str, labels: Value) -> Value {
    let mut labels = labels;
    labels["kubernetes.io/bootstrapping"] = json!("rbac-defaults");
    json!({
        "name": name,
        "labels": labels,
        "annotations": {AUTOUPDATE: "true"},
    })
}

fn cluster_role(name: &str, labels: Value, rules: Value) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": bootstrap_metadata(name, labels),
        "rules": rules,
    })
}

fn binding(name: &str, groups: &[&str]) -> Value {
    let subjects: Vec<Value> = groups
        .iter()
        .map(|g| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}))
        .collect();
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": bootstrap_metadata(name, json!({})),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": subjects,
    })
}

fn with_status(resources: &[&str]) -> Vec<String> {
    resources
        .iter()
        .flat_map(|r| [r.to_string(), format!("{r}/status")])
        .collect()
}

/// The ClusterRoles, in creation order.
pub fn cluster_roles() -> Vec<Value> {
    let all_fleet: Vec<&str> = TENANT_WRITABLE
        .iter()
        .chain(ADMIN_WRITABLE)
        .chain(VIEWS)
        .copied()
        .collect();
    let view_rules = json!([
        {"apiGroups": [FLEET], "resources": with_status(&all_fleet), "verbs": READ},
    ]);
    let edit_rules = json!([
        {"apiGroups": [FLEET], "resources": with_status(&all_fleet), "verbs": READ},
        {"apiGroups": [FLEET], "resources": TENANT_WRITABLE, "verbs": WRITE},
    ]);
    let admin_rules = json!([
        {"apiGroups": [FLEET], "resources": with_status(&all_fleet), "verbs": READ},
        {"apiGroups": [FLEET], "resources": TENANT_WRITABLE.iter().chain(ADMIN_WRITABLE).collect::<Vec<_>>(), "verbs": WRITE},
    ]);
    let aggregate =
        |to: &str| json!({format!("rbac.authorization.k8s.io/aggregate-to-{to}"): "true"});
    vec![
        cluster_role(
            "system:discovery",
            json!({}),
            json!([{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"], "verbs": ["get"]}]),
        ),
        cluster_role(
            "system:basic-user",
            json!({}),
            json!([
                {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
                {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
            ]),
        ),
        cluster_role(
            "system:public-info-viewer",
            json!({}),
            json!([{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"], "verbs": ["get"]}]),
        ),
        cluster_role(
            "fleet:public-info-viewer",
            json!({}),
            json!([{"apiGroups": [FLEET], "resources": PUBLIC, "verbs": READ}]),
        ),
        cluster_role("fleet:view", aggregate("view"), view_rules),
        cluster_role("fleet:edit", aggregate("edit"), edit_rules),
        cluster_role("fleet:admin", aggregate("admin"), admin_rules),
        // What the garbage collector and the ClusterRole aggregation controller do, as
        // upstream's `garbage-collector-controller` and `clusterrole-aggregation-controller`
        // roles grant it.
        cluster_role(
            CONTROLLER_MANAGER,
            json!({}),
            json!([
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch", "patch", "update", "delete"]},
                {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["escalate"]},
            ]),
        ),
    ]
}

/// The ClusterRoleBindings of the system roles.
pub fn cluster_role_bindings() -> Vec<Value> {
    vec![
        binding("system:discovery", &["system:authenticated"]),
        binding("system:basic-user", &["system:authenticated"]),
        binding(
            "system:public-info-viewer",
            &["system:authenticated", "system:unauthenticated"],
        ),
        binding("fleet:public-info-viewer", &["system:authenticated"]),
        user_binding(CONTROLLER_MANAGER, CONTROLLER_MANAGER),
    ]
}

/// A ClusterRoleBinding of the ClusterRole `name` to one user.
fn user_binding(name: &str, user: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": bootstrap_metadata(name, json!({})),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    })
}

/// Creates what is missing; brings auto-updated objects back to their definition.
pub async fn ensure(store: &GenericStore, catalog: &Catalog) -> Result<()> {
    let wanted = [
        ("clusterroles", cluster_roles()),
        ("clusterrolebindings", cluster_role_bindings()),
    ];
    for (plural, objects) in wanted {
        let resource = catalog
            .find(super::GROUP, super::VERSION, plural)
            .ok_or_else(|| ApiError::internal(format!("{plural} are not registered")))?;
        for object in objects {
            let name = object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let current = match store.get(&resource, None, &name).await {
                Ok(current) => current,
                Err(e) if e.code() == 404 => {
                    match store
                        .create(&resource, None, object, &WriteOptions::default())
                        .await
                    {
                        Ok(_) => {
                            tracing::info!(resource = plural, name, "created bootstrap policy")
                        }
                        Err(e) if e.code() == 409 => {} // Another replica was first.
                        Err(e) => return Err(e),
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            if current["metadata"]["annotations"][AUTOUPDATE] != json!("true") {
                continue;
            }
            let mut updated = current.clone();
            for field in ["rules", "roleRef", "subjects", "aggregationRule"] {
                match object.get(field) {
                    Some(value) => updated[field] = value.clone(),
                    None => {
                        if let Some(map) = updated.as_object_mut() {
                            map.remove(field);
                        }
                    }
                }
            }
            for (key, value) in object["metadata"]["labels"]
                .as_object()
                .into_iter()
                .flatten()
            {
                updated["metadata"]["labels"][key] = value.clone();
            }
            if updated != current {
                store
                    .update(
                        &resource,
                        None,
                        &name,
                        updated,
                        crate::generic::Subresource::Main,
                        &WriteOptions::default(),
                    )
                    .await?;
                tracing::info!(resource = plural, name, "updated bootstrap policy");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_roles_aggregate_into_the_host_clusters_roles() {
        let roles = cluster_roles();
        let names: Vec<&str> = roles
            .iter()
            .map(|r| r["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "system:discovery",
                "system:basic-user",
                "system:public-info-viewer",
                "fleet:public-info-viewer",
                "fleet:view",
                "fleet:edit",
                "fleet:admin",
                "system:fleet-controller-manager"
            ]
        );
        let edit = &roles[5];
        assert_eq!(
            edit["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"],
            "true"
        );
        let writable = edit["rules"][1]["resources"].as_array().unwrap();
        assert!(!writable.contains(&json!("credentials")));
        assert!(!writable.contains(&json!("pricelists")));
        let admin_writable = roles[6]["rules"][1]["resources"].as_array().unwrap();
        assert!(admin_writable.contains(&json!("credentials")));
    }

    #[test]
    fn every_authenticated_user_reads_prices() {
        let public = &cluster_roles()[3];
        assert_eq!(public["metadata"]["name"], "fleet:public-info-viewer");
        assert_eq!(
            public["rules"],
            json!([{"apiGroups": [FLEET], "resources": ["pricelists"], "verbs": ["get", "list", "watch"]}])
        );
        let bindings = cluster_role_bindings();
        let binding = bindings
            .iter()
            .find(|b| b["metadata"]["name"] == "fleet:public-info-viewer")
            .unwrap();
        assert_eq!(binding["roleRef"]["name"], "fleet:public-info-viewer");
        assert_eq!(
            binding["subjects"],
            json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}])
        );
    }
}
