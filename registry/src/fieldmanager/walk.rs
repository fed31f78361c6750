//! Walks of one value along its type: the path element of a list item, validation of what
//! server-side apply needs (list keys), the set of fields a value sets, and removal of a set
//! of fields (structured-merge-diff `typed/helpers.go`, `validate.go`, `tofieldset.go`,
//! `remove.go`).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::path::PathElement;
use super::schemaconv::{Kind, List, ListType, Type};
use super::set::FieldSet;
use super::value;

/// The path element of an item of an associative list (`listItemToPathElement`).
pub(crate) fn item_element(list: &List<'_>, item: &Value) -> Result<PathElement, String> {
    let keys = match &list.relationship {
        ListType::Atomic => return Err("invalid indexing of non-associative list".to_owned()),
        ListType::Set => {
            return match item {
                Value::Object(_) => {
                    Err("associative list without keys has an element that's a map type".into())
                }
                Value::Array(_) => {
                    Err("not supported: associative list with lists as elements".into())
                }
                Value::Null => Err(
                    "associative list without keys has an element that's an explicit null".into(),
                ),
                scalar => Ok(PathElement::Value(scalar.clone())),
            }
        }
        ListType::Map(keys) => keys,
    };
    let object = match item {
        Value::Object(object) => object,
        Value::Null => {
            return Err("associative list with keys may not have a null element".into());
        }
        _ => return Err("associative list with keys may not have non-map elements".into()),
    };
    let item_map = list.item.atom().map;
    let mut fields = Vec::new();
    for key in keys {
        if let Some(value) = object.get(*key) {
            fields.push(((*key).to_owned(), value.clone()));
            continue;
        }
        let Some(item_map) = item_map else {
            return Err(format!(
                "couldn't find default value for {key}: associative list may not have non-map types"
            ));
        };
        if let Some(default) = item_map.field(key).default {
            fields.push(((*key).to_owned(), default.clone()));
        }
    }
    if fields.is_empty() {
        let quoted: Vec<String> = keys.iter().map(|k| value::go_quote(k)).collect();
        return Err(format!(
            "associative list with keys has an element that omits all key fields [{}] (and doesn't have default values for any key fields)",
            quoted.join(" ")
        ));
    }
    Ok(PathElement::key(fields))
}

/// What stops a value from being walked: list items without keys, duplicate keys (unless
/// allowed, as for stored objects), in upstream's `ValidationErrors` text.
pub(crate) fn validate(ty: Type<'_>, value: &Value, allow_duplicates: bool) -> Result<(), String> {
    let mut errors = Vec::new();
    validate_at(ty, value, allow_duplicates, "", &mut errors);
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(format!("errors:\n  {}", errors.join("\n  "))),
    }
}

fn validate_at(
    ty: Type<'_>,
    value: &Value,
    allow_duplicates: bool,
    at: &str,
    errors: &mut Vec<String>,
) {
    let atom = ty.atom();
    let error = |message: String| {
        if at.is_empty() {
            message
        } else {
            format!("{at}: {message}")
        }
    };
    match (atom.kind_of(Some(value)), value) {
        (Some(Kind::Map), Value::Object(map)) => {
            let Some(map_type) = atom.map else { return };
            for (key, child) in map {
                let at = format!("{at}.{key}");
                validate_at(map_type.field(key).ty, child, allow_duplicates, &at, errors);
            }
        }
        (Some(Kind::List), Value::Array(items)) => {
            let Some(list) = atom.list else { return };
            let mut seen = BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                let element = if list.relationship == ListType::Atomic {
                    PathElement::Index(i64::try_from(i).unwrap_or(i64::MAX))
                } else {
                    match item_element(&list, item) {
                        Ok(element) => element,
                        Err(e) => {
                            errors.push(error(format!("element {i}: {e}")));
                            return;
                        }
                    }
                };
                if list.relationship != ListType::Atomic
                    && !seen.insert(element.clone())
                    && !allow_duplicates
                {
                    errors.push(error(format!("duplicate entries for key {element}")));
                }
                let at = format!("{at}{element}");
                validate_at(list.item, item, allow_duplicates, &at, errors);
            }
        }
        _ => {}
    }
}

/// The fields `value` sets (`TypedValue.ToFieldSet`): every scalar and atomic, each item of
/// an associative list, each empty or null map value, each key of a map (as opposed to a
/// struct field). Items whose key repeats are owned as a whole, once.
pub(crate) fn to_field_set(ty: Type<'_>, value: &Value) -> FieldSet {
    let mut set = FieldSet::new();
    collect(ty, value, false, &mut Vec::new(), &mut set);
    set
}

/// [`to_field_set`] plus every struct field present, whatever its value: what is left of an
/// object, as opposed to what it sets.
pub(crate) fn present_fields(ty: Type<'_>, value: &Value) -> FieldSet {
    let mut set = FieldSet::new();
    collect(ty, value, true, &mut Vec::new(), &mut set);
    set
}

fn collect(
    ty: Type<'_>,
    value: &Value,
    every_field: bool,
    path: &mut Vec<PathElement>,
    set: &mut FieldSet,
) {
    let atom = ty.atom();
    match atom.kind_of(Some(value)) {
        Some(Kind::Scalar) | None => set.insert(path),
        Some(Kind::List) => {
            let Some(list) = atom.list else { return };
            if list.relationship == ListType::Atomic {
                set.insert(path);
                return;
            }
            let Some(items) = value.as_array() else {
                return;
            };
            let elements: Vec<Option<PathElement>> =
                items.iter().map(|i| item_element(&list, i).ok()).collect();
            let mut seen = BTreeSet::new();
            let mut duplicates = BTreeSet::new();
            for element in elements.iter().flatten() {
                if !seen.insert(element) && duplicates.insert(element) {
                    path.push(element.clone());
                    set.insert(path);
                    path.pop();
                }
            }
            for (item, element) in items.iter().zip(&elements) {
                let Some(element) = element else { continue };
                if duplicates.contains(element) {
                    continue;
                }
                path.push(element.clone());
                collect(list.item, item, every_field, path, set);
                set.insert(path);
                path.pop();
            }
        }
        Some(Kind::Map) => {
            let Some(map_type) = atom.map else { return };
            if map_type.atomic {
                set.insert(path);
                return;
            }
            let Some(map) = value.as_object() else { return };
            for (key, child) in map {
                let field = map_type.field(key);
                path.push(PathElement::Field(key.clone()));
                collect(field.ty, child, every_field, path, set);
                let empty = child.is_null() || child.as_object().is_some_and(Map::is_empty);
                if empty || !field.declared || every_field {
                    set.insert(path);
                }
                path.pop();
            }
        }
    }
}

/// What becomes of a map field emptied by a removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Emptied {
    /// `null`, as upstream leaves it; what later steps of pruning look at.
    Null,
    /// Dropped, as the object's conversion (or a custom resource's null pruning) drops
    /// upstream's `null`.
    Drop,
}

/// `value` less the fields in `remove` (`TypedValue.RemoveItems`): a member goes with all
/// below it, atomics go whole. `None` when nothing is left. An item emptied by the removal is
/// dropped (upstream leaves a `null` item, which has no path element).
pub(crate) fn remove_items(
    ty: Type<'_>,
    value: &Value,
    remove: &FieldSet,
    emptied: Emptied,
) -> Option<Value> {
    let atom = ty.atom();
    match atom.kind_of(Some(value)) {
        Some(Kind::Scalar) | None => Some(value.clone()),
        Some(Kind::List) => {
            let list = atom.list?;
            let items = value.as_array().filter(|items| !items.is_empty())?;
            if list.relationship == ListType::Atomic {
                return None;
            }
            let mut kept = Vec::with_capacity(items.len());
            for item in items {
                let Ok(element) = item_element(&list, item) else {
                    kept.push(item.clone());
                    continue;
                };
                if remove.has(std::slice::from_ref(&element)) {
                    continue;
                }
                match remove.with_prefix(&element) {
                    Some(below) => kept.extend(remove_items(list.item, item, below, emptied)),
                    None => kept.push(item.clone()),
                }
            }
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        Some(Kind::Map) => {
            let map_type = atom.map?;
            let map = value.as_object().filter(|map| !map.is_empty())?;
            if map_type.atomic {
                return None;
            }
            let mut kept = Map::new();
            for (key, child) in map {
                let element = PathElement::Field(key.clone());
                if remove.has_member(&element) {
                    continue;
                }
                let child = match remove.with_prefix(&element) {
                    Some(below) => remove_items(map_type.field(key).ty, child, below, emptied),
                    None => Some(child.clone()),
                };
                match (child, emptied) {
                    (Some(child), _) => {
                        kept.insert(key.clone(), child);
                    }
                    (None, Emptied::Null) => {
                        kept.insert(key.clone(), Value::Null);
                    }
                    (None, Emptied::Drop) => {}
                }
            }
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "replicas": {"type": "integer"},
                "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                             "properties": {"app": {"type": "string"}}},
                "args": {"type": "array", "items": {"type": "string"}},
                "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                "ports": {"type": "array", "x-kubernetes-list-type": "map",
                          "x-kubernetes-list-map-keys": ["port", "protocol"],
                          "items": {"type": "object", "properties": {
                              "port": {"type": "integer"},
                              "protocol": {"type": "string", "default": "TCP"},
                              "name": {"type": "string"}}}}
            }}
        }})
    }

    #[test]
    fn field_sets_follow_list_and_map_types() {
        let schema = schema();
        let object = json!({"metadata": {"name": "a", "labels": {"app": "x"}}, "spec": {
            "replicas": 1, "selector": {"app": "x"}, "args": ["a", "b"], "tags": ["t"],
            "ports": [{"port": 80, "name": "http"}], "extra": {"k": 1}
        }});
        let set = to_field_set(Type::root(Some(&schema)), &object);
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:metadata": {"f:name": {}, "f:labels": {"f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:selector": {}, "f:args": {},
                           "f:tags": {"v:\"t\"": {}},
                           "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:name": {}}},
                           "f:extra": {".": {}, "f:k": {}}}
            })
        );
    }

    #[test]
    fn without_schema_maps_are_granular_and_lists_atomic() {
        let object = json!({"spec": {"list": [{"name": "a"}], "map": {"a": 1}}});
        let set = to_field_set(Type::root(None), &object);
        assert_eq!(
            set.to_fields_v1(),
            json!({"f:spec": {".": {}, "f:list": {}, "f:map": {".": {}, "f:a": {}}}})
        );
    }

    #[test]
    fn list_items_without_keys_and_duplicates_are_reported_like_upstream() {
        let schema = schema();
        let ty = Type::root(Some(&schema));
        let duplicate = json!({"spec": {"tags": ["a", "a"]}});
        assert_eq!(
            validate(ty, &duplicate, false).unwrap_err(),
            r#".spec.tags: duplicate entries for key [="a"]"#
        );
        assert!(validate(ty, &duplicate, true).is_ok());
        let map_in_set = json!({"spec": {"tags": [{"a": 1}]}});
        assert_eq!(
            validate(ty, &map_in_set, false).unwrap_err(),
            ".spec.tags: element 0: associative list without keys has an element that's a map type"
        );
        let list_schema = json!({"type": "array", "x-kubernetes-list-type": "map",
                                 "x-kubernetes-list-map-keys": ["name", "port"],
                                 "items": {"type": "object"}});
        let list = Type::Schema(&list_schema).atom().list.unwrap();
        assert_eq!(
            item_element(&list, &json!({"other": 1})).unwrap_err(),
            r#"associative list with keys has an element that omits all key fields ["name" "port"] (and doesn't have default values for any key fields)"#
        );
        let defaulted = item_element(&list, &json!({"name": "a"})).unwrap();
        assert_eq!(defaulted.serialize(), r#"k:{"name":"a"}"#);
    }

    #[test]
    fn removal_drops_members_whole_and_keeps_the_rest() {
        let schema = schema();
        let ty = Type::root(Some(&schema));
        let object = json!({"spec": {"replicas": 1, "tags": ["a", "b"],
                                     "ports": [{"port": 80, "name": "x"}, {"port": 81}]}});
        let remove = FieldSet::from_fields_v1(&json!({"f:spec": {
            "f:tags": {"v:\"a\"": {}},
            "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {"f:name": {}},
                        "k:{\"port\":81,\"protocol\":\"TCP\"}": {}}
        }}))
        .unwrap();
        assert_eq!(
            remove_items(ty, &object, &remove, Emptied::Drop).unwrap(),
            json!({"spec": {"replicas": 1, "tags": ["b"], "ports": [{"port": 80}]}})
        );
    }
}
