//! What an OpenAPI v3 schema says of a value for server-side apply: scalar, list (atomic, set,
//! or map keyed by fields) or map (granular or atomic). This is kube-openapi's
//! `pkg/schemaconv/openapi.go` (`parseSchema`, `parseObject`, `parseList`, `smd.go`
//! `getListElementRelationship`/`getMapElementRelationship`) read lazily, node by node.
//!
//! Without a schema a value is "deduced" (structured-merge-diff `typed/parser.go`
//! `DeducedParseableType`): maps are granular, lists atomic. Fields a schema does not describe
//! are deduced too, where upstream reports "field not declared in schema". `$ref`s are not
//! followed (our schemas are inline); a single `allOf` is read through, with the extensions
//! next to it winning, as upstream reads `allOf: [{$ref}]`. The root's `metadata` is always
//! described by `ObjectMeta`, as kube-apiserver's type converter describes it for every kind.

use std::sync::OnceLock;

use serde_json::{json, Value};

const LIST_TYPE: &str = "x-kubernetes-list-type";
const LIST_MAP_KEYS: &str = "x-kubernetes-list-map-keys";
const MAP_TYPE: &str = "x-kubernetes-map-type";
const PATCH_STRATEGY: &str = "x-kubernetes-patch-strategy";
const PATCH_MERGE_KEY: &str = "x-kubernetes-patch-merge-key";

/// The type of a value, as far as server-side apply cares.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Type<'s> {
    /// An OpenAPI v3 schema node.
    Schema(&'s Value),
    /// The root of a kind with a schema: like `Schema`, with `metadata` as `ObjectMeta`.
    Root(&'s Value),
    /// No schema (`__untyped_deduced_`): maps granular with deduced values, lists atomic.
    Deduced,
    /// No schema, inside an atomic list (`__untyped_atomic_`): everything atomic.
    Atomic,
}

/// The forms a value of a type may take (upstream's `schema.Atom`).
#[derive(Debug, Clone)]
pub(crate) struct Atom<'s> {
    pub scalar: bool,
    pub list: Option<List<'s>>,
    pub map: Option<MapType<'s>>,
}

#[derive(Debug, Clone)]
pub(crate) struct List<'s> {
    pub relationship: ListType<'s>,
    pub item: Type<'s>,
}

/// `x-kubernetes-list-type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListType<'s> {
    Atomic,
    Set,
    /// Items are maps told apart by these key fields.
    Map(Vec<&'s str>),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct MapType<'s> {
    /// `x-kubernetes-map-type: atomic` (structs and maps alike).
    pub atomic: bool,
    /// Where its fields are described.
    fields: Type<'s>,
}

/// A field of a map.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'s> {
    pub ty: Type<'s>,
    /// Declared under `properties` (a struct field), as opposed to a map key.
    pub declared: bool,
    pub default: Option<&'s Value>,
}

/// Which of its forms an atom takes for a value (`deduceAtom`): one form when the value's JSON
/// type matches one, else all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Forms {
    scalar: bool,
    list: bool,
    map: bool,
}

/// The form a value is handled as (`handleAtom`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Scalar,
    List,
    Map,
}

impl Forms {
    /// Maps first, then scalars, then lists, as `handleAtom` tries them.
    pub(crate) fn kind(self) -> Option<Kind> {
        if self.map {
            Some(Kind::Map)
        } else if self.scalar {
            Some(Kind::Scalar)
        } else if self.list {
            Some(Kind::List)
        } else {
            None
        }
    }
}

impl<'s> Type<'s> {
    /// The type of a whole object described by `schema`.
    pub(crate) fn root(schema: Option<&'s Value>) -> Type<'s> {
        schema.map_or(Type::Deduced, Type::Root)
    }

    pub(crate) fn atom(self) -> Atom<'s> {
        match self {
            Type::Schema(schema) => schema_atom(schema, false),
            Type::Root(schema) => schema_atom(schema, true),
            Type::Deduced => untyped(false, Type::Deduced),
            Type::Atomic => untyped(true, Type::Atomic),
        }
    }
}

fn untyped(atomic: bool, fields: Type<'static>) -> Atom<'static> {
    Atom {
        scalar: true,
        list: Some(List {
            relationship: ListType::Atomic,
            item: Type::Atomic,
        }),
        map: Some(MapType { atomic, fields }),
    }
}

impl<'s> Atom<'s> {
    pub(crate) fn forms(&self, value: Option<&Value>) -> Forms {
        let all = Forms {
            scalar: self.scalar,
            list: self.list.is_some(),
            map: self.map.is_some(),
        };
        let only = |scalar, list, map| Forms { scalar, list, map };
        match value {
            None | Some(Value::Null) => all,
            Some(Value::Array(_)) if all.list => only(false, true, false),
            Some(Value::Object(_)) if all.map => only(false, false, true),
            Some(Value::Bool(_) | Value::Number(_) | Value::String(_)) if all.scalar => {
                only(true, false, false)
            }
            Some(_) => all,
        }
    }

    /// The kind a value is handled as.
    pub(crate) fn kind_of(&self, value: Option<&Value>) -> Option<Kind> {
        self.forms(value).kind()
    }
}

impl<'s> MapType<'s> {
    pub(crate) fn field(&self, name: &str) -> Field<'s> {
        let undeclared = |ty| Field {
            ty,
            declared: false,
            default: None,
        };
        let (schema, root) = match self.fields {
            Type::Schema(schema) => (schema, false),
            Type::Root(schema) => (schema, true),
            other => return undeclared(other),
        };
        if root && name == "metadata" {
            return Field {
                ty: Type::Schema(object_meta()),
                declared: true,
                default: None,
            };
        }
        if let Some(property) = schema.get("properties").and_then(|p| p.get(name)) {
            return Field {
                ty: Type::Schema(property),
                declared: true,
                default: resolve(property).get("default").or(property.get("default")),
            };
        }
        match schema.get("additionalProperties") {
            Some(additional) if additional.is_object() => undeclared(Type::Schema(additional)),
            _ => undeclared(Type::Deduced),
        }
    }
}

/// The schema behind `allOf: [schema]` when the node itself describes nothing.
fn resolve(schema: &Value) -> &Value {
    let described = ["type", "properties", "additionalProperties", "items"]
        .iter()
        .any(|k| schema.get(k).is_some());
    match schema.get("allOf").and_then(Value::as_array) {
        Some(all_of) if !described => all_of.first().unwrap_or(schema),
        _ => schema,
    }
}

fn schema_atom(outer: &Value, root: bool) -> Atom<'_> {
    let inner = resolve(outer);
    if inner.get("$ref").is_some() {
        return untyped(false, Type::Deduced);
    }
    let extension = |name: &str| outer.get(name).or_else(|| inner.get(name));
    let list = || List {
        relationship: list_type(&extension),
        item: match inner.get("items") {
            Some(items) if items.is_object() => Type::Schema(items),
            Some(_) => Type::Deduced,
            None => Type::Atomic,
        },
    };
    let map = || MapType {
        atomic: extension(MAP_TYPE).and_then(Value::as_str) == Some("atomic"),
        fields: if root {
            Type::Root(inner)
        } else {
            Type::Schema(inner)
        },
    };
    let scalar = Atom {
        scalar: true,
        list: None,
        map: None,
    };
    match inner.get("type").and_then(Value::as_str).unwrap_or("") {
        "object" => Atom {
            scalar: false,
            list: None,
            map: Some(map()),
        },
        "array" => Atom {
            scalar: false,
            list: Some(list()),
            map: None,
        },
        "" => Atom {
            scalar: true,
            list: Some(list()),
            map: Some(map()),
        },
        _ => scalar,
    }
}

/// `getListElementRelationship`: `x-kubernetes-list-type`, else a `merge` patch strategy
/// (a map keyed by the patch merge key, or a set), else atomic.
fn list_type<'s>(extension: &dyn Fn(&str) -> Option<&'s Value>) -> ListType<'s> {
    let text = |name: &str| extension(name).and_then(Value::as_str);
    match text(LIST_TYPE) {
        Some("set") => return ListType::Set,
        Some("map") => {
            let keys: Vec<&str> = extension(LIST_MAP_KEYS)
                .and_then(Value::as_array)
                .map(|keys| keys.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            return if keys.is_empty() {
                ListType::Set
            } else {
                ListType::Map(keys)
            };
        }
        Some(_) => return ListType::Atomic,
        None => {}
    }
    match text(PATCH_STRATEGY) {
        Some("merge" | "merge,retainKeys") => match text(PATCH_MERGE_KEY) {
            Some(key) => ListType::Map(vec![key]),
            None => ListType::Set,
        },
        _ => ListType::Atomic,
    }
}

/// `metav1.ObjectMeta` as kube-apiserver's OpenAPI v3 describes it, less descriptions.
pub(crate) fn object_meta() -> &'static Value {
    static OBJECT_META: OnceLock<Value> = OnceLock::new();
    OBJECT_META.get_or_init(|| {
        let string = json!({"type": "string"});
        let strings = json!({"type": "object", "additionalProperties": {"type": "string", "default": ""}});
        json!({
            "type": "object",
            "properties": {
                "annotations": strings,
                "creationTimestamp": string,
                "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
                "deletionTimestamp": string,
                "finalizers": {"type": "array", "items": {"type": "string", "default": ""},
                               "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"},
                "generateName": string,
                "generation": {"type": "integer", "format": "int64"},
                "labels": strings,
                "managedFields": {"type": "array", "items": {"type": "object"}},
                "name": string,
                "namespace": string,
                "ownerReferences": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["apiVersion", "kind", "name", "uid"],
                        "properties": {
                            "apiVersion": string, "kind": string, "name": string, "uid": string,
                            "blockOwnerDeletion": {"type": "boolean"}, "controller": {"type": "boolean"}
                        },
                        "x-kubernetes-map-type": "atomic"
                    },
                    "x-kubernetes-list-map-keys": ["uid"],
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-patch-merge-key": "uid",
                    "x-kubernetes-patch-strategy": "merge"
                },
                "resourceVersion": string,
                "selfLink": string,
                "uid": string
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_atomic_unless_the_schema_says_otherwise() {
        let schema = json!({"type": "object", "properties": {
            "plain": {"type": "array", "items": {"type": "string"}},
            "set": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            "map": {"type": "array", "items": {"type": "object"}, "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name", "port"]},
            "merged": {"type": "array", "items": {"type": "object"},
                       "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "uid"}
        }});
        let map = Type::root(Some(&schema)).atom().map.unwrap();
        let relationship = |name| map.field(name).ty.atom().list.unwrap().relationship;
        assert_eq!(relationship("plain"), ListType::Atomic);
        assert_eq!(relationship("set"), ListType::Set);
        assert_eq!(relationship("map"), ListType::Map(vec!["name", "port"]));
        assert_eq!(relationship("merged"), ListType::Map(vec!["uid"]));
    }

    #[test]
    fn root_metadata_is_object_meta_and_unknown_fields_are_deduced() {
        let schema = json!({"type": "object", "properties": {"metadata": {"type": "object"}}});
        let map = Type::root(Some(&schema)).atom().map.unwrap();
        let meta = map.field("metadata").ty.atom().map.unwrap();
        let finalizers = meta.field("finalizers").ty.atom().list.unwrap();
        assert_eq!(finalizers.relationship, ListType::Set);
        assert!(matches!(map.field("other").ty, Type::Deduced));
        assert!(!map.field("other").declared);
    }

    #[test]
    fn map_type_atomic_is_read_next_to_all_of() {
        let schema = json!({"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}],
                            "x-kubernetes-map-type": "atomic"});
        let atom = Type::Schema(&schema).atom();
        assert!(atom.map.unwrap().atomic);
        assert!(
            Type::Schema(&schema)
                .atom()
                .map
                .unwrap()
                .field("a")
                .declared
        );
    }
}
