//! Which fields differ between two versions of an object (structured-merge-diff
//! `typed/compare.go`): leaves (scalars, atomics, lists and maps empty on both sides) compare
//! by value; a granular map or list that appears or disappears counts itself too.

use std::collections::BTreeMap;

use serde_json::Value;

use super::path::PathElement;
use super::schemaconv::{Atom, Kind, List, ListType, Type};
use super::set::FieldSet;
use super::value;
use super::walk::item_element;

/// The fields removed, modified and added from one version to the next; no path is in two.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Comparison {
    pub removed: FieldSet,
    pub modified: FieldSet,
    pub added: FieldSet,
}

/// Compares `old` with `new`, both of type `ty`.
pub(crate) fn compare(ty: Type<'_>, old: &Value, new: &Value) -> Comparison {
    let mut walker = Walker::default();
    walker.compare(ty, Some(old), Some(new));
    walker.out
}

#[derive(Default)]
struct Walker {
    path: Vec<PathElement>,
    out: Comparison,
}

impl Walker {
    fn compare(&mut self, ty: Type<'_>, lhs: Option<&Value>, rhs: Option<&Value>) {
        let atom = ty.atom();
        let (left, right) = (atom.forms(lhs), atom.forms(rhs));
        let leaf = if rhs.is_none() {
            self.handle(&atom, left.kind(), lhs, rhs)
        } else if lhs.is_none() || left == right {
            self.handle(&atom, right.kind(), lhs, rhs)
        } else {
            // The value changed form: walk it as each, only the new one decides leafness.
            self.handle(&atom, left.kind(), lhs, rhs);
            self.handle(&atom, right.kind(), lhs, rhs)
        };
        if !leaf {
            if lhs.is_none() {
                self.out.added.insert(&self.path);
            } else if rhs.is_none() {
                self.out.removed.insert(&self.path);
            }
        }
    }

    /// Compares as `kind`; whether it was a leaf.
    fn handle(
        &mut self,
        atom: &Atom<'_>,
        kind: Option<Kind>,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
    ) -> bool {
        match kind {
            Some(Kind::Scalar) => {
                self.leaf(lhs, rhs);
                true
            }
            Some(Kind::List) => {
                let Some(list) = &atom.list else { return false };
                let (l, r) = (lhs.and_then(Value::as_array), rhs.and_then(Value::as_array));
                let empty = l.is_none_or(|l| l.is_empty()) && r.is_none_or(|r| r.is_empty());
                if list.relationship == ListType::Atomic || empty {
                    self.leaf(lhs, rhs);
                    return true;
                }
                self.list_items(
                    list,
                    l.map_or(&[], Vec::as_slice),
                    r.map_or(&[], Vec::as_slice),
                );
                false
            }
            Some(Kind::Map) => {
                let Some(map_type) = atom.map else {
                    return false;
                };
                let (l, r) = (
                    lhs.and_then(Value::as_object),
                    rhs.and_then(Value::as_object),
                );
                let empty = l.is_none_or(|l| l.is_empty()) && r.is_none_or(|r| r.is_empty());
                if map_type.atomic || empty {
                    self.leaf(lhs, rhs);
                    return true;
                }
                let mut keys: Vec<&String> =
                    l.into_iter().chain(r).flat_map(|m| m.keys()).collect();
                keys.sort();
                keys.dedup();
                for key in keys {
                    self.path.push(PathElement::Field(key.clone()));
                    let (lv, rv) = (l.and_then(|m| m.get(key)), r.and_then(|m| m.get(key)));
                    self.compare(map_type.field(key).ty, lv, rv);
                    self.path.pop();
                }
                false
            }
            None => false,
        }
    }

    fn leaf(&mut self, lhs: Option<&Value>, rhs: Option<&Value>) {
        match (lhs, rhs) {
            (None, _) => self.out.added.insert(&self.path),
            (_, None) => self.out.removed.insert(&self.path),
            (Some(l), Some(r)) if !value::equals(l, r) => self.out.modified.insert(&self.path),
            _ => {}
        }
    }

    /// Items are matched by path element; items whose key repeats compare as a whole.
    fn list_items(&mut self, list: &List<'_>, lhs: &[Value], rhs: &[Value]) {
        let mut order: Vec<PathElement> = Vec::new();
        let mut left: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
        let mut right: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
        for item in lhs {
            let Ok(element) = item_element(list, item) else {
                continue;
            };
            let values = left.entry(element.clone()).or_default();
            if values.is_empty() {
                order.push(element);
            }
            values.push(item);
        }
        for item in rhs {
            let Ok(element) = item_element(list, item) else {
                continue;
            };
            let values = right.entry(element.clone()).or_default();
            if values.is_empty() && !left.contains_key(&element) {
                order.push(element);
            }
            values.push(item);
        }
        let none = Vec::new();
        for element in order {
            let l = left.get(&element).unwrap_or(&none);
            let r = right.get(&element).unwrap_or(&none);
            self.path.push(element);
            match (l.len(), r.len()) {
                (0..=1, 0..=1) => self.compare(list.item, l.first().copied(), r.first().copied()),
                (2.., 2..) => {
                    let same =
                        l.len() == r.len() && l.iter().zip(r).all(|(a, b)| value::equals(a, b));
                    if !same {
                        self.out.modified.insert(&self.path);
                    }
                }
                (2.., _) => {
                    if let Some(r) = r.first() {
                        self.compare(list.item, None, Some(r));
                    }
                    self.out.removed.insert(&self.path);
                }
                (_, _) => {
                    if let Some(l) = l.first() {
                        self.compare(list.item, Some(l), None);
                    }
                    self.out.added.insert(&self.path);
                }
            }
            self.path.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(set: &FieldSet) -> Value {
        set.to_fields_v1()
    }

    #[test]
    fn new_maps_count_themselves_and_struct_fields_do_not_when_present_before() {
        let old = json!({"spec": {"replicas": 1}});
        let new = json!({"spec": {"replicas": 2}, "metadata": {"labels": {"app": "x"}}});
        let c = compare(Type::root(None), &old, &new);
        assert_eq!(fields(&c.modified), json!({"f:spec": {"f:replicas": {}}}));
        assert_eq!(
            fields(&c.added),
            json!({"f:metadata": {".": {}, "f:labels": {".": {}, "f:app": {}}}})
        );
        assert!(c.removed.is_empty());
    }

    #[test]
    fn set_items_are_compared_by_value() {
        let schema = json!({"type": "object", "properties": {"tags": {
            "type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}}});
        let c = compare(
            Type::root(Some(&schema)),
            &json!({"tags": ["a", "b"]}),
            &json!({"tags": ["b", "c"]}),
        );
        assert_eq!(fields(&c.added), json!({"f:tags": {"v:\"c\"": {}}}));
        assert_eq!(fields(&c.removed), json!({"f:tags": {"v:\"a\"": {}}}));
        assert!(c.modified.is_empty());
    }

    #[test]
    fn numbers_equal_by_value_are_unchanged() {
        let c = compare(Type::root(None), &json!({"a": 1}), &json!({"a": 1.0}));
        assert_eq!(c, Comparison::default());
    }
}
