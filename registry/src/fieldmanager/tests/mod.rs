//! Tests of the field manager through its public functions, with a Deployment-like kind.

mod apply;
mod props;
mod update;

use serde_json::{json, Value};

use super::{ManagedFields, ManagedOperation, Operation};

pub(super) const API_VERSION: &str = "apps/v1";
pub(super) const T0: &str = "2024-01-01T00:00:00Z";
pub(super) const T1: &str = "2024-01-01T00:01:00Z";
pub(super) const T2: &str = "2024-01-01T00:02:00Z";

/// A Deployment-like schema: scalars, an atomic map, an atomic list, a set, a map-list
/// (keyed by `name`) holding a map-list with two keys, one defaulted; and a status.
pub(super) fn schema() -> Value {
    let string = json!({"type": "string"});
    json!({
        "type": "object",
        "properties": {
            "apiVersion": string, "kind": string, "metadata": {"type": "object"},
            "spec": {"type": "object", "properties": {
                "replicas": {"type": "integer"},
                "paused": {"type": "boolean"},
                "selector": {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {
                    "matchLabels": {"type": "object", "additionalProperties": string}}},
                "args": {"type": "array", "items": string},
                "tags": {"type": "array", "items": string, "x-kubernetes-list-type": "set"},
                "containers": {"type": "array", "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {
                        "name": string, "image": string,
                        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
                            "items": {"type": "object", "properties": {
                                "containerPort": {"type": "integer"},
                                "protocol": {"type": "string", "default": "TCP"}}}}}}}
            }},
            "status": {"type": "object", "properties": {"ready": {"type": "integer"}}}
        }
    })
}

pub(super) fn op_at(manager: &str, time: &str) -> Operation {
    Operation {
        manager: manager.to_owned(),
        api_version: API_VERSION.to_owned(),
        time: time.to_owned(),
        subresource: None,
    }
}

pub(super) fn op(manager: &str) -> Operation {
    op_at(manager, T0)
}

/// A Deployment `web` in `default` with this spec.
pub(super) fn deployment(spec: Value) -> Value {
    json!({"apiVersion": API_VERSION, "kind": "Deployment",
           "metadata": {"name": "web", "namespace": "default"}, "spec": spec})
}

/// The `fieldsV1` of `manager`'s entry for `operation`, `null` when it has none.
pub(super) fn fields_of(object: &Value, manager: &str, operation: ManagedOperation) -> Value {
    ManagedFields::from_object(object)
        .unwrap()
        .entry(manager, operation)
        .map_or(Value::Null, |e| e.fields.to_fields_v1())
}

/// The object without `metadata.managedFields`.
pub(super) fn content(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    object
}
