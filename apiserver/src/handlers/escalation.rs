//! No privilege escalation through RBAC writes: a Role or ClusterRole is written only by a
//! user who holds every permission it grants or may `escalate` it; a binding only by one who
//! holds the referenced role's permissions or may `bind` it; `system:masters` always
//! (kube-apiserver `pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/
//! policybased/storage.go`, `pkg/registry/rbac/escalation_check.go`).

use registry::rbac::escalation;
use registry::{ApiError, GroupResource, ResourceDefinition};
use serde_json::Value;

use crate::authentication::{User, MASTERS};
use crate::authorization::{Attributes, Authorizer};

/// Checks a write of `new` (replacing `old`) to an RBAC kind by `user`; other kinds pass.
pub(crate) async fn check(
    authorizer: &dyn Authorizer,
    user: &User,
    def: &ResourceDefinition,
    namespace: Option<&str>,
    new: &Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    if def.group != registry::rbac::GROUP || user.in_group(MASTERS) {
        return Ok(());
    }
    let namespace = def.scoped(namespace).unwrap_or_default();
    let name = registry::meta::name(new).unwrap_or_default();
    let resource = def.group_resource();
    // Writes that only touch what the garbage collector touches are no grant
    // (`IsOnlyMutatingGCFields`); every other update is checked, labels included (a label can
    // feed an aggregating role).
    if old.is_some_and(|old| only_gc_fields_differ(old, new)) {
        return Ok(());
    }
    match def.plural.as_str() {
        "roles" | "clusterroles" => {
            if may(authorizer, user, "escalate", &def.plural, name, namespace).await {
                return Ok(());
            }
            let aggregates = [Some(new), old]
                .into_iter()
                .flatten()
                .any(|o| o.get("aggregationRule").is_some_and(|a| !a.is_null()));
            if aggregates {
                return Err(ApiError::forbidden(
                    &resource,
                    name,
                    "must have cluster-admin privileges to use the aggregationRule",
                ));
            }
            confirm(
                authorizer,
                user,
                &resource,
                name,
                namespace,
                &escalation::rules_of(new),
            )
        }
        "rolebindings" | "clusterrolebindings" => {
            let kind = new["roleRef"]["kind"].as_str().unwrap_or_default();
            let role = new["roleRef"]["name"].as_str().unwrap_or_default();
            let plural = if kind == "Role" {
                "roles"
            } else {
                "clusterroles"
            };
            if may(authorizer, user, "bind", plural, role, namespace).await {
                return Ok(());
            }
            let rules = match authorizer.role_reference_rules(kind, role, namespace) {
                Some(Ok(rules)) => rules,
                Some(Err(e)) => return Err(ApiError::forbidden(&resource, name, &e)),
                // No mode keeps roles: nothing can be shown to be held.
                None => Vec::new(),
            };
            confirm(authorizer, user, &resource, name, namespace, &rules)
        }
        _ => Ok(()),
    }
}

/// Whether `new` differs from `old` only in `metadata.ownerReferences` and
/// `metadata.finalizers` (and what the server sets on every write).
fn only_gc_fields_differ(old: &Value, new: &Value) -> bool {
    let strip = |object: &Value| {
        let mut object = object.clone();
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in [
                "ownerReferences",
                "finalizers",
                "resourceVersion",
                "managedFields",
                "generation",
            ] {
                metadata.remove(field);
            }
        }
        object
    };
    strip(old) == strip(new)
}

/// Whether `user` may `verb` the role `name` (`escalate` or `bind`).
async fn may(
    authorizer: &dyn Authorizer,
    user: &User,
    verb: &str,
    plural: &str,
    name: &str,
    namespace: &str,
) -> bool {
    let attributes = Attributes {
        user: user.clone(),
        verb: verb.into(),
        resource_request: true,
        namespace: namespace.into(),
        api_group: registry::rbac::GROUP.into(),
        api_version: registry::rbac::VERSION.into(),
        resource: plural.into(),
        name: name.into(),
        ..Attributes::default()
    };
    authorizer.authorize(&attributes).await.allowed()
}

/// `ConfirmNoEscalation`: 403 unless `user` holds every rule of `wanted` in `namespace`.
fn confirm(
    authorizer: &dyn Authorizer,
    user: &User,
    resource: &GroupResource,
    name: &str,
    namespace: &str,
    wanted: &[registry::rbac::authorizer::PolicyRule],
) -> Result<(), ApiError> {
    let (held, errors) = authorizer.rules_held(user, namespace);
    match escalation::escalation(&user.name, &user.groups, &held, wanted, &errors) {
        None => Ok(()),
        Some(message) => Err(ApiError::forbidden(resource, name, &message)),
    }
}
