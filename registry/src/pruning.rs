//! Unknown fields against a resource's OpenAPI v3 schema: found, reported for
//! `fieldValidation`, and pruned from what is stored — as kube-apiserver does for custom
//! resources (k8s.io/apiextensions-apiserver `pkg/apiserver/schema/pruning`).

use serde_json::{Map, Value};

/// What to do with unknown or duplicate fields (`fieldValidation`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FieldValidation {
    /// Drop them silently.
    Ignore,
    /// Drop them and warn (the default).
    #[default]
    Warn,
    /// Refuse the request.
    Strict,
}

impl FieldValidation {
    /// Reads the `fieldValidation` query parameter; `None` for an unsupported value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "Ignore" => Some(FieldValidation::Ignore),
            "Warn" => Some(FieldValidation::Warn),
            "Strict" => Some(FieldValidation::Strict),
            _ => None,
        }
    }
}

/// The fields of `metadata` (`metav1.ObjectMeta`).
const OBJECT_META_FIELDS: &[&str] = &[
    "annotations",
    "creationTimestamp",
    "deletionGracePeriodSeconds",
    "deletionTimestamp",
    "finalizers",
    "generateName",
    "generation",
    "labels",
    "managedFields",
    "name",
    "namespace",
    "ownerReferences",
    "resourceVersion",
    "selfLink",
    "uid",
];

/// Removes the fields of `obj` that `schema` does not declare and returns their paths
/// (`spec.foo`, `spec.items[0].bar`), in key order. `apiVersion`, `kind` and the fields of
/// `metadata` are always known. Without a schema nothing is unknown.
pub fn prune(obj: &mut Value, schema: Option<&Value>) -> Vec<String> {
    let mut unknown = Vec::new();
    let Some(schema) = schema else {
        return unknown;
    };
    let Some(map) = obj.as_object_mut() else {
        return unknown;
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    map.retain(|key, value| match key.as_str() {
        "apiVersion" | "kind" => true,
        "metadata" => {
            prune_metadata(value, &mut unknown);
            true
        }
        _ => match properties.and_then(|p| p.get(key)) {
            Some(field_schema) => {
                walk(value, field_schema, key, &mut unknown);
                true
            }
            None if preserves_unknown(schema) => true,
            None => {
                unknown.push(key.clone());
                false
            }
        },
    });
    unknown
}

fn prune_metadata(value: &mut Value, unknown: &mut Vec<String>) {
    if let Some(meta) = value.as_object_mut() {
        meta.retain(|key, _| {
            let known = OBJECT_META_FIELDS.contains(&key.as_str());
            if !known {
                unknown.push(format!("metadata.{key}"));
            }
            known
        });
    }
}

fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn walk(value: &mut Value, schema: &Value, path: &str, unknown: &mut Vec<String>) {
    match value {
        Value::Object(map) => walk_object(map, schema, path, unknown),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item, item_schema, &format!("{path}[{i}]"), unknown);
                }
            }
        }
        _ => {}
    }
}

fn walk_object(
    map: &mut Map<String, Value>,
    schema: &Value,
    path: &str,
    unknown: &mut Vec<String>,
) {
    if preserves_unknown(schema) && schema.get("properties").is_none() {
        return;
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    map.retain(|key, value| {
        let child = format!("{path}.{key}");
        match (properties.and_then(|p| p.get(key)), additional) {
            (Some(field_schema), _) => {
                walk(value, field_schema, &child, unknown);
                true
            }
            (None, Some(Value::Bool(true))) => true,
            (None, Some(map_schema)) if map_schema.is_object() => {
                walk(value, map_schema, &child, unknown);
                true
            }
            (None, _) if preserves_unknown(schema) => true,
            (None, _) if properties.is_none() && additional.is_none() => true,
            (None, _) => {
                unknown.push(child);
                false
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "template": {"type": "string"},
                        "services": {"type": "array", "items": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}}
                        }},
                        "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}}
                    }
                }
            }
        })
    }

    #[test]
    fn unknown_fields_are_reported_with_their_paths_and_dropped() {
        let mut obj = json!({
            "apiVersion": "g/v1", "kind": "K",
            "metadata": {"name": "a", "nmae": "typo"},
            "spec": {
                "template": "t", "tempalte": "typo",
                "services": [{"name": "s", "extra": 1}],
                "config": {"anything": {"goes": true}},
                "labels": {"a": "b"}
            },
            "stray": 1
        });
        let unknown = prune(&mut obj, Some(&schema()));
        assert_eq!(
            unknown,
            [
                "metadata.nmae",
                "spec.services[0].extra",
                "spec.tempalte",
                "stray"
            ]
        );
        assert_eq!(
            obj,
            json!({
                "apiVersion": "g/v1", "kind": "K", "metadata": {"name": "a"},
                "spec": {"template": "t", "services": [{"name": "s"}],
                         "config": {"anything": {"goes": true}}, "labels": {"a": "b"}}
            })
        );
    }

    #[test]
    fn schemaless_kinds_keep_everything() {
        let mut obj = json!({"spec": {"x": 1}, "other": 2});
        assert!(prune(&mut obj, None).is_empty());
        assert_eq!(obj, json!({"spec": {"x": 1}, "other": 2}));
    }
}
