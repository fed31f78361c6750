//! Schemas of the OpenAPI documents: each resource's kind and list, and the shared
//! `meta/v1` types they refer to.

use registry::Resource;
use serde_json::{json, Map, Value};

/// v2 puts schemas under `#/definitions/`, v3 under `#/components/schemas/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    V2,
    V3,
}

impl Style {
    pub fn reference(self, name: &str) -> Value {
        let prefix = match self {
            Style::V2 => "#/definitions/",
            Style::V3 => "#/components/schemas/",
        };
        json!({"$ref": format!("{prefix}{name}")})
    }
}

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";

pub fn meta_name(kind: &str) -> String {
    format!("{META}.{kind}")
}

/// The schema name of a kind: the group's domain reversed (`io.k0rdent.fleet.v1alpha1.X`),
/// as kube-apiserver names custom resources; `io.k8s.api.core.v1.X` for the core group.
pub fn kind_name(r: &Resource, kind: &str) -> String {
    let group = if r.def.group.is_empty() {
        "io.k8s.api.core".to_owned()
    } else {
        r.def.group.split('.').rev().collect::<Vec<_>>().join(".")
    };
    format!("{group}.{}.{kind}", r.def.version)
}

fn gvk(r: &Resource, kind: &str) -> Value {
    json!([{"group": r.def.group, "version": r.def.version, "kind": kind}])
}

/// The kind's schema (its `metadata` pointing at ObjectMeta) and its list's schema.
pub fn resource_schemas(r: &Resource, style: Style) -> Map<String, Value> {
    let mut kind =
        r.def.schema.clone().unwrap_or_else(
            || json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        );
    if let Some(properties) = kind.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert("apiVersion".into(), api_version_property());
        properties.insert("kind".into(), kind_property());
        properties.insert(
            "metadata".into(),
            json!({
                "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
                "allOf": [style.reference(&meta_name("ObjectMeta"))],
            }),
        );
    }
    kind["x-kubernetes-group-version-kind"] = gvk(r, &r.def.kind);
    let list_kind = r.def.list_kind();
    let list = json!({
        "description": format!("{list_kind} is a list of {}", r.def.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": api_version_property(),
            "kind": kind_property(),
            "items": {"type": "array", "items": style.reference(&kind_name(r, &r.def.kind))},
            "metadata": style.reference(&meta_name("ListMeta")),
        },
        "x-kubernetes-group-version-kind": gvk(r, &list_kind),
    });
    let mut out = Map::new();
    out.insert(kind_name(r, &r.def.kind), kind);
    out.insert(kind_name(r, &list_kind), list);
    out
}

fn api_version_property() -> Value {
    json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."})
}

fn kind_property() -> Value {
    json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."})
}

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn string_map(description: &str) -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}, "description": description})
}

fn time(description: &str) -> Value {
    json!({"type": "string", "format": "date-time", "description": description})
}

fn int64(description: &str) -> Value {
    json!({"type": "integer", "format": "int64", "description": description})
}

/// The `meta/v1` schemas every document refers to.
pub fn meta_schemas(style: Style) -> Map<String, Value> {
    let r = |name: &str| style.reference(&meta_name(name));
    let mut out = Map::new();
    out.insert(meta_name("ObjectMeta"), json!({
        "description": "ObjectMeta is metadata that all persisted resources must have.",
        "type": "object",
        "properties": {
            "annotations": string_map("Annotations: unstructured key-value data stored with the object."),
            "creationTimestamp": time("When this object was created (set by the server)."),
            "deletionGracePeriodSeconds": int64("Seconds allowed for graceful termination before removal."),
            "deletionTimestamp": time("When this object will be deleted (set by the server)."),
            "finalizers": {"type": "array", "items": {"type": "string", "default": ""}, "x-kubernetes-list-type": "set",
                           "description": "Must be empty before the object is deleted from the registry."},
            "generateName": string("A prefix for a server-generated name, used when name is empty."),
            "generation": int64("A sequence number of the desired state (set by the server)."),
            "labels": string_map("Map of string keys and values to organise and select objects."),
            "managedFields": {"type": "array", "items": r("ManagedFieldsEntry"),
                              "description": "Which manager set which fields (server-side apply)."},
            "name": string("Name must be unique within a namespace."),
            "namespace": string("The namespace the object is in; empty for cluster-scoped objects."),
            "ownerReferences": {"type": "array", "items": r("OwnerReference"),
                                "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["uid"],
                                "x-kubernetes-patch-merge-key": "uid", "x-kubernetes-patch-strategy": "merge",
                                "description": "Objects this object depends on."},
            "resourceVersion": string("An opaque value that changes on every write (set by the server)."),
            "selfLink": string("Deprecated: always empty."),
            "uid": string("The unique identity of this object in time and space (set by the server)."),
        },
    }));
    out.insert(meta_name("ListMeta"), json!({
        "description": "ListMeta describes metadata that synthetic resources must have.",
        "type": "object",
        "properties": {
            "continue": string("Set when more items remain: pass it back to read the next page."),
            "remainingItemCount": int64("How many items remain after this page, when known."),
            "resourceVersion": string("The revision the list was read at."),
            "selfLink": string("Deprecated: always empty."),
        },
    }));
    out.insert(meta_name("OwnerReference"), json!({
        "description": "OwnerReference identifies an owning object.",
        "type": "object",
        "required": ["apiVersion", "kind", "name", "uid"],
        "properties": {
            "apiVersion": string("API version of the referent."),
            "blockOwnerDeletion": {"type": "boolean", "description": "Whether the owner waits for this object on foreground deletion."},
            "controller": {"type": "boolean", "description": "Whether the owner is the managing controller."},
            "kind": string("Kind of the referent."),
            "name": string("Name of the referent."),
            "uid": string("UID of the referent."),
        },
        "x-kubernetes-map-type": "atomic",
    }));
    out.insert(
        meta_name("ManagedFieldsEntry"),
        json!({
            "description": "ManagedFieldsEntry records the fields one manager owns.",
            "type": "object",
            "properties": {
                "apiVersion": string("The version of the fields' schema."),
                "fieldsType": string("The format of fieldsV1: always FieldsV1."),
                "fieldsV1": r("FieldsV1"),
                "manager": string("Who manages these fields."),
                "operation": string("Apply or Update."),
                "subresource": string("The subresource written, if any."),
                "time": time("When the fields were last changed."),
            },
        }),
    );
    out.insert(
        meta_name("FieldsV1"),
        json!({
            "description": "FieldsV1 is the set of fields, in the f:/k:/v:/i: encoding.",
            "type": "object",
        }),
    );
    out.insert(meta_name("Patch"), json!({
        "description": "Patch is provided to give a concrete name and type to the patch request body.",
        "type": "object",
    }));
    out.insert(
        meta_name("Preconditions"),
        json!({
            "description": "Must be fulfilled before a deletion is carried out.",
            "type": "object",
            "properties": {
                "resourceVersion": string("The object's expected resourceVersion."),
                "uid": string("The object's expected uid."),
            },
        }),
    );
    out.insert(
        meta_name("DeleteOptions"),
        json!({
            "description": "DeleteOptions may be provided when deleting an API object.",
            "type": "object",
            "properties": {
                "apiVersion": api_version_property(),
                "kind": kind_property(),
                "preconditions": r("Preconditions"),
            },
        }),
    );
    out.insert(meta_name("StatusCause"), json!({
        "type": "object",
        "properties": {"field": string("The field at fault."), "message": string("What is wrong."), "reason": string("A machine-readable reason.")},
    }));
    out.insert(meta_name("StatusDetails"), json!({
        "type": "object",
        "properties": {
            "causes": {"type": "array", "items": r("StatusCause")},
            "group": string("The group of the resource."),
            "kind": string("The kind (or resource) of the object."),
            "name": string("The object's name."),
            "retryAfterSeconds": {"type": "integer", "format": "int32", "description": "When to retry."},
            "uid": string("The object's uid."),
        },
    }));
    out.insert(meta_name("Status"), json!({
        "description": "Status is a return value for calls that don't return other objects.",
        "type": "object",
        "properties": {
            "apiVersion": api_version_property(),
            "code": {"type": "integer", "format": "int32", "description": "The HTTP status code."},
            "details": r("StatusDetails"),
            "kind": kind_property(),
            "message": string("A human-readable description."),
            "metadata": r("ListMeta"),
            "reason": string("A machine-readable reason."),
            "status": string("Success or Failure."),
        },
        "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Status"}],
    }));
    out
}
