//! OpenAPI v3 schemas of `rbac.authorization.k8s.io/v1` (as kube-apiserver publishes them), with
//! the patch strategies strategic merge patch reads.

use serde_json::{json, Value};

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string", "default": ""}, "x-kubernetes-list-type": "atomic"})
}

/// `metadata` with the patch strategies of `ObjectMeta` (finalizers merge, ownerReferences by
/// uid).
pub fn object_meta() -> Value {
    json!({
        "type": "object",
        "properties": {
            "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-patch-strategy": "merge"},
            "ownerReferences": {"type": "array", "items": {"type": "object"},
                                "x-kubernetes-patch-merge-key": "uid", "x-kubernetes-patch-strategy": "merge"}
        }
    })
}

fn policy_rule() -> Value {
    json!({
        "description": "PolicyRule holds information that describes a policy rule, but does not contain information about who the rule applies to or which namespace the rule applies to.",
        "type": "object",
        "required": ["verbs"],
        "properties": {
            "apiGroups": strings(),
            "nonResourceURLs": strings(),
            "resourceNames": strings(),
            "resources": strings(),
            "verbs": strings(),
        }
    })
}

fn rules() -> Value {
    json!({"description": "Rules holds all the PolicyRules for this Role", "type": "array",
           "items": policy_rule(), "x-kubernetes-list-type": "atomic"})
}

fn label_selector() -> Value {
    json!({
        "type": "object",
        "properties": {
            "matchExpressions": {"type": "array", "x-kubernetes-list-type": "atomic", "items": {
                "type": "object", "required": ["key", "operator"],
                "properties": {"key": {"type": "string"}, "operator": {"type": "string"}, "values": strings()}
            }},
            "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}
        },
        "x-kubernetes-map-type": "atomic"
    })
}

fn kind_schema(description: &str, properties: Value) -> Value {
    let mut schema = json!({
        "description": description,
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": object_meta(),
        }
    });
    if let (Some(target), Some(extra)) =
        (schema["properties"].as_object_mut(), properties.as_object())
    {
        target.extend(extra.clone());
    }
    schema
}

pub fn role() -> Value {
    kind_schema(
        "Role is a namespaced, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding.",
        json!({"rules": rules()}),
    )
}

pub fn cluster_role() -> Value {
    kind_schema(
        "ClusterRole is a cluster level, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding or ClusterRoleBinding.",
        json!({
            "rules": rules(),
            "aggregationRule": {
                "description": "AggregationRule describes how to locate ClusterRoles to aggregate into the ClusterRole",
                "type": "object",
                "properties": {"clusterRoleSelectors": {"type": "array", "items": label_selector(), "x-kubernetes-list-type": "atomic"}}
            }
        }),
    )
}

fn binding(description: &str) -> Value {
    kind_schema(
        description,
        json!({
            "roleRef": {
                "description": "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.",
                "type": "object",
                "required": ["apiGroup", "kind", "name"],
                "properties": {"apiGroup": {"type": "string"}, "kind": {"type": "string"}, "name": {"type": "string"}},
                "x-kubernetes-map-type": "atomic"
            },
            "subjects": {
                "description": "Subjects holds references to the objects the role applies to.",
                "type": "array",
                "x-kubernetes-list-type": "atomic",
                "items": {
                    "type": "object",
                    "required": ["kind", "name"],
                    "properties": {"apiGroup": {"type": "string"}, "kind": {"type": "string"},
                                   "name": {"type": "string"}, "namespace": {"type": "string"}},
                    "x-kubernetes-map-type": "atomic"
                }
            }
        }),
    )
}

pub fn role_binding() -> Value {
    binding("RoleBinding references a role, but does not contain it. It can reference a Role in the same namespace or a ClusterRole in the global namespace.")
}

pub fn cluster_role_binding() -> Value {
    binding("ClusterRoleBinding references a ClusterRole, but not contain it. It can reference a ClusterRole in the global namespace, and adds who information via Subject.")
}
