//! Sets of field paths and their `fieldsV1` encoding (structured-merge-diff `fieldpath/set.go`,
//! `serialize.go`).
//!
//! A set holds paths; a path and its prefixes are members independently. `fieldsV1` nests one
//! object per path element: `"f:x": {}` makes `.x` a member, `"f:x": {"f:y": {}}` only `.x.y`,
//! and `"f:x": {".": {}, "f:y": {}}` both.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use super::path::{Path, PathElement, PathElementError};
use super::schemaconv::Type;
use super::value;

/// A set of field paths, as recorded in a `managedFields` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// Paths of length one.
    members: BTreeSet<PathElement>,
    /// Longer paths, by their first element; never empty.
    children: BTreeMap<PathElement, FieldSet>,
}

/// Why a `fieldsV1` value is not a field set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldsV1Error {
    /// A node of the trie is not a JSON object.
    #[error("expected an object at {at:?}, got {found}")]
    NotAnObject { at: String, found: String },
    /// A key is not a path element.
    #[error("parsing key as path element: {0}")]
    Key(#[source] PathElementError),
}

impl FieldSet {
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    /// A set of these paths.
    pub fn from_paths<'p>(paths: impl IntoIterator<Item = &'p Path>) -> FieldSet {
        let mut set = FieldSet::new();
        for path in paths {
            set.insert(path.elements());
        }
        set
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    /// The number of paths.
    pub fn len(&self) -> usize {
        self.members.len() + self.children.values().map(FieldSet::len).sum::<usize>()
    }

    /// Adds a path; the empty path is ignored.
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    /// The paths below `element`, without it.
    pub fn with_prefix(&self, element: &PathElement) -> Option<&FieldSet> {
        self.children.get(element)
    }

    pub(crate) fn has_member(&self, element: &PathElement) -> bool {
        self.members.contains(element)
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut children = self.children.clone();
        for (pe, theirs) in &other.children {
            let merged = match children.get(pe) {
                Some(ours) => ours.union(theirs),
                None => theirs.clone(),
            };
            children.insert(pe.clone(), merged);
        }
        FieldSet {
            members: self.members.union(&other.members).cloned().collect(),
            children,
        }
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let children = self
            .children
            .iter()
            .filter_map(|(pe, ours)| {
                let theirs = other.children.get(pe)?;
                let both = ours.intersection(theirs);
                (!both.is_empty()).then(|| (pe.clone(), both))
            })
            .collect();
        FieldSet {
            members: self.members.intersection(&other.members).cloned().collect(),
            children,
        }
    }

    /// The paths of `self` that are not in `other` (a member of `other` does not remove the
    /// paths below it; see [`FieldSet::recursive_difference`]).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let children = self
            .children
            .iter()
            .filter_map(|(pe, ours)| match other.children.get(pe) {
                Some(theirs) => {
                    let rest = ours.difference(theirs);
                    (!rest.is_empty()).then(|| (pe.clone(), rest))
                }
                None => Some((pe.clone(), ours.clone())),
            })
            .collect();
        FieldSet {
            members: self.members.difference(&other.members).cloned().collect(),
            children,
        }
    }

    /// The paths of `self` that neither are in `other` nor have a prefix in it.
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let children = self
            .children
            .iter()
            .filter(|(pe, _)| !other.members.contains(pe))
            .filter_map(|(pe, ours)| match other.children.get(pe) {
                Some(theirs) => {
                    let rest = ours.recursive_difference(theirs);
                    (!rest.is_empty()).then(|| (pe.clone(), rest))
                }
                None => Some((pe.clone(), ours.clone())),
            })
            .collect();
        FieldSet {
            members: self.members.difference(&other.members).cloned().collect(),
            children,
        }
    }

    /// Only the paths starting with `element` (upstream's prefix matcher filter).
    pub(crate) fn only_prefix(&self, element: &PathElement) -> FieldSet {
        let mut set = FieldSet::new();
        if self.members.contains(element) {
            set.members.insert(element.clone());
        }
        if let Some(child) = self.children.get(element) {
            set.children.insert(element.clone(), child.clone());
        }
        set
    }

    /// Every path, in upstream's iteration order: this level's members, then each child's
    /// paths, by element order.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Path>) {
        for member in &self.members {
            let mut path = prefix.clone();
            path.push(member.clone());
            out.push(Path(path));
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// Adds, as members, the children that are fields the schema declares, at every level
    /// (`EnsureNamedFieldsAreMembers`), so that removing them removes the whole field.
    pub(crate) fn ensure_named_fields_are_members(&self, ty: Option<Type<'_>>) -> FieldSet {
        let atom = ty.map(Type::atom);
        let map = atom.as_ref().and_then(|a| a.map);
        let list = atom.as_ref().and_then(|a| a.list.clone());
        let mut members = self.members.clone();
        let mut children = BTreeMap::new();
        for (pe, child) in &self.children {
            let child_type = match (pe, map, &list) {
                (PathElement::Field(name), Some(map), _) => {
                    let field = map.field(name);
                    if field.declared {
                        members.insert(pe.clone());
                    }
                    Some(field.ty)
                }
                (PathElement::Key(_), _, Some(list)) => Some(list.item),
                _ => None,
            };
            children.insert(
                pe.clone(),
                child.ensure_named_fields_are_members(child_type),
            );
        }
        FieldSet { members, children }
    }

    /// Parses a `fieldsV1` value (`Set.FromJSON`). Keys of an unknown type are dropped, as
    /// upstream drops them.
    pub fn from_fields_v1(fields: &Value) -> Result<FieldSet, FieldsV1Error> {
        if !fields.is_object() {
            return Err(not_an_object("", fields));
        }
        let (children, _) = read(fields, "")?;
        Ok(children.unwrap_or_default())
    }

    /// The `fieldsV1` value of this set. Its keys come out sorted as strings; see
    /// [`FieldSet::to_fields_v1_string`] for upstream's exact bytes.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        let mut map = Map::new();
        if include_self && !self.is_empty() {
            map.insert(".".to_owned(), Value::Object(Map::new()));
        }
        for pe in self.elements() {
            let node = match self.children.get(pe) {
                Some(child) => child.emit(self.members.contains(pe)),
                None => Map::new(),
            };
            map.insert(pe.serialize(), Value::Object(node));
        }
        map
    }

    /// The `fieldsV1` JSON exactly as upstream writes it (`Set.ToJSON`): `"."` first, then
    /// elements in path-element order (fields, keys, values, indexes).
    pub fn to_fields_v1_string(&self) -> String {
        let mut out = String::new();
        self.write_json(false, &mut out);
        out
    }

    fn write_json(&self, include_self: bool, out: &mut String) {
        out.push('{');
        let mut first = true;
        let mut separate = |out: &mut String| {
            if !std::mem::take(&mut first) {
                out.push(',');
            }
        };
        if include_self && !self.is_empty() {
            separate(out);
            out.push_str(r#"".":{}"#);
        }
        for pe in self.elements() {
            separate(out);
            out.push_str(&value::go_json_string(&pe.serialize()));
            out.push(':');
            match self.children.get(pe) {
                Some(child) => child.write_json(self.members.contains(pe), out),
                None => out.push_str("{}"),
            }
        }
        out.push('}');
    }

    /// Members and children's elements, each once, in order.
    fn elements(&self) -> impl Iterator<Item = &PathElement> {
        let mut all: Vec<&PathElement> = self.members.iter().chain(self.children.keys()).collect();
        all.sort();
        all.dedup();
        all.into_iter()
    }
}

impl fmt::Display for FieldSet {
    /// One path a line, like upstream's `Set.String`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths: Vec<String> = self.paths().iter().map(Path::to_string).collect();
        f.write_str(&paths.join("\n"))
    }
}

fn not_an_object(at: &str, found: &Value) -> FieldsV1Error {
    let found = match found {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "null",
        Value::Object(_) => "object",
    };
    FieldsV1Error::NotAnObject {
        at: at.to_owned(),
        found: found.to_owned(),
    }
}

/// One node of the trie (`readIterV1`): the set below it, and whether the node itself is a
/// member — it is when marked `"."` or when nothing lies below it.
fn read(node: &Value, at: &str) -> Result<(Option<FieldSet>, bool), FieldsV1Error> {
    let map = match node {
        Value::Object(map) => map,
        Value::Null => return Ok((None, true)),
        other => return Err(not_an_object(at, other)),
    };
    let mut children: Option<FieldSet> = None;
    let mut is_member = false;
    for (key, value) in map {
        if key == "." {
            is_member = true;
            continue;
        }
        let Some(pe) = PathElement::parse(key).map_err(FieldsV1Error::Key)? else {
            continue;
        };
        let (grandchildren, child_is_member) = read(value, key)?;
        if child_is_member {
            children
                .get_or_insert_with(FieldSet::new)
                .members
                .insert(pe.clone());
        }
        if let Some(grandchildren) = grandchildren {
            children
                .get_or_insert_with(FieldSet::new)
                .children
                .insert(pe, grandchildren);
        }
    }
    if children.is_none() {
        is_member = true;
    }
    Ok((children, is_member))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn set(fields: Value) -> FieldSet {
        FieldSet::from_fields_v1(&fields).unwrap()
    }

    #[test]
    fn kube_apiserver_fields_round_trip() {
        let fields =
            json!({"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:replicas":{}}});
        let parsed = set(fields.clone());
        assert_eq!(parsed.to_fields_v1(), fields);
        let paths: Vec<String> = parsed.paths().iter().map(Path::to_string).collect();
        assert_eq!(
            paths,
            [".metadata.labels", ".metadata.labels.app", ".spec.replicas"]
        );
    }

    #[test]
    fn upstream_bytes_put_fields_before_keys_values_and_indexes() {
        let text = r#"{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{},"f:name":{}}},"f:tags":{"v:3":{},"v:3.1415":{},"v:false":{}},"f:x":{"i:5":{"f:i":{}}}}}"#;
        let parsed = set(serde_json::from_str(text).unwrap());
        assert_eq!(parsed.to_fields_v1_string(), text);
    }

    /// From k8s.io/apimachinery `managedfields_test.go` (`TestRoundTripManagedFields`).
    #[test]
    fn upstream_round_trip_examples_parse_and_serialize_unchanged() {
        let fields = json!({
            "f:apiVersion": {}, "f:kind": {},
            "f:metadata": {"f:labels": {"f:app": {}}, "f:name": {}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {"f:matchLabels": {"f:app": {}}},
                "f:template": {
                    "f:medatada": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"i:0": {"f:containerPort": {}}}}}}
                }
            }
        });
        assert_eq!(set(fields.clone()).to_fields_v1(), fields);
        let versions = json!({"f:spec": {"f:versions": {"k:{\"name\":\"v1\"}": {
            "f:name": {}, "f:served": {}, "f:storage": {}}},
            "f:names": {"f:shortNames": {"i:0": {}}}}});
        assert_eq!(set(versions.clone()).to_fields_v1(), versions);
        let values = json!({"v:3": {"f:alsoPi": {}}, "v:3.1415": {"f:pi": {}}, "v:false": {"f:notTrue": {}}});
        let parsed = set(values.clone());
        assert_eq!(parsed.to_fields_v1(), values);
        assert_eq!(
            parsed.to_fields_v1_string(),
            r#"{"v:3":{"f:alsoPi":{}},"v:3.1415":{"f:pi":{}},"v:false":{"f:notTrue":{}}}"#
        );
    }

    #[test]
    fn unknown_element_types_are_dropped_and_null_is_a_member() {
        let parsed = set(json!({"f:a": null, "x:b": {}, "f:c": {"y:d": {}}}));
        assert_eq!(parsed.to_fields_v1(), json!({"f:a": {}, "f:c": {}}));
    }

    #[test]
    fn malformed_fields_are_errors() {
        assert!(FieldSet::from_fields_v1(&json!([])).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"f:a": 1})).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"fa": {}})).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"k:{": {}})).is_err());
    }

    #[test]
    fn set_algebra_follows_upstream() {
        let a = set(json!({"f:a": {}, "f:b": {"f:c": {}, "f:d": {}}}));
        let b = set(json!({"f:b": {".": {}, "f:c": {}}}));
        assert_eq!(
            a.union(&b).to_fields_v1(),
            json!({"f:a": {}, "f:b": {".": {}, "f:c": {}, "f:d": {}}})
        );
        assert_eq!(
            a.intersection(&b).to_fields_v1(),
            json!({"f:b": {"f:c": {}}})
        );
        assert_eq!(
            a.difference(&b).to_fields_v1(),
            json!({"f:a": {}, "f:b": {"f:d": {}}})
        );
        assert_eq!(
            a.recursive_difference(&b).to_fields_v1(),
            json!({"f:a": {}})
        );
        assert_eq!(a.len(), 3);
        assert!(a.has(&Path::fields(&["b", "d"]).0));
        assert!(!a.has(&Path::fields(&["b"]).0));
        assert!(a.difference(&a).is_empty());
    }
}
