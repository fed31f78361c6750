//! An applied configuration merged into the live object (structured-merge-diff
//! `typed/merge.go` with `ruleKeepRHS`): granular maps merge key by key, associative lists item
//! by item, and everything else — scalars, atomics, lists or maps empty on both sides — is
//! taken from the configuration.
//!
//! Order of an associative list, as upstream: items of the configuration keep its order; live
//! items it does not mention keep their place relative to the live items around them; a live
//! item the configuration moves goes where the configuration puts it. So `[a b c]` merged
//! with `[c a]` gives `[b c a]`, and with `[d]` gives `[a b c d]`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::{Map, Value};

use super::path::PathElement;
use super::schemaconv::{Kind, List, ListType, Type};
use super::walk::item_element;

/// What an item repeated in the live list merges as: nothing of its own.
static NULL: Value = Value::Null;

/// `live` with `config` merged in; both of type `ty`.
pub(crate) fn merge(ty: Type<'_>, live: &Value, config: &Value) -> Value {
    merge_at(ty, Some(live), Some(config)).unwrap_or_else(|| Value::Object(Map::new()))
}

fn keep_rhs(lhs: Option<&Value>, rhs: Option<&Value>) -> Option<Value> {
    rhs.or(lhs).cloned()
}

fn merge_at(ty: Type<'_>, lhs: Option<&Value>, rhs: Option<&Value>) -> Option<Value> {
    let atom = ty.atom();
    // Where the forms differ upstream walks both but keeps what the right-hand side gives.
    let kind = match rhs {
        Some(_) => atom.kind_of(rhs),
        None => atom.kind_of(lhs),
    };
    match kind {
        Some(Kind::List) => {
            let list = atom.list?;
            let (l, r) = (lhs.and_then(Value::as_array), rhs.and_then(Value::as_array));
            let empty = l.is_none_or(|l| l.is_empty()) && r.is_none_or(|r| r.is_empty());
            if list.relationship == ListType::Atomic || empty {
                return keep_rhs(lhs, rhs);
            }
            merge_list(
                &list,
                l.map_or(&[], Vec::as_slice),
                r.map_or(&[], Vec::as_slice),
            )
        }
        Some(Kind::Map) => {
            let map_type = atom.map?;
            let (l, r) = (
                lhs.and_then(Value::as_object),
                rhs.and_then(Value::as_object),
            );
            let empty = l.is_none_or(|l| l.is_empty()) && r.is_none_or(|r| r.is_empty());
            if map_type.atomic || empty {
                return keep_rhs(lhs, rhs);
            }
            let mut out = Map::new();
            let keys: BTreeSet<&String> = l.into_iter().chain(r).flat_map(|m| m.keys()).collect();
            for key in keys {
                let (lv, rv) = (l.and_then(|m| m.get(key)), r.and_then(|m| m.get(key)));
                if let Some(merged) = merge_at(map_type.field(key).ty, lv, rv) {
                    out.insert(key.clone(), merged);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Some(Kind::Scalar) | None => keep_rhs(lhs, rhs),
    }
}

/// Items with their path elements, and each element's item (`&NULL` when it repeats).
type Indexed<'v> = (
    Vec<(PathElement, &'v Value)>,
    BTreeMap<PathElement, &'v Value>,
);

fn index<'v>(list: &List<'_>, items: &'v [Value]) -> Indexed<'v> {
    let mut elements = Vec::with_capacity(items.len());
    let mut observed = BTreeMap::new();
    for item in items {
        let Ok(element) = item_element(list, item) else {
            continue;
        };
        if observed.insert(element.clone(), item).is_some() {
            observed.insert(element.clone(), &NULL);
        }
        elements.push((element, item));
    }
    (elements, observed)
}

/// `visitListItems` of the merging walker.
fn merge_list(list: &List<'_>, lhs: &[Value], rhs: &[Value]) -> Option<Value> {
    let (right, right_items) = index(list, rhs);
    let (left, left_items) = index(list, lhs);
    let mut shared: VecDeque<&PathElement> = right
        .iter()
        .map(|(e, _)| e)
        .filter(|e| left_items.contains_key(e))
        .collect();
    let mut next_shared = shared.pop_front();
    let mut merged_right: BTreeSet<&PathElement> = BTreeSet::new();
    let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
    let both = |element: &PathElement| {
        merge_at(
            list.item,
            left_items.get(element).copied(),
            right_items.get(element).copied(),
        )
    };
    let (mut li, mut ri) = (0, 0);
    while li < left.len() || ri < right.len() {
        if li < left.len() && ri < right.len() {
            let element = &left[li].0;
            if *element == right[ri].0 {
                merged_right.insert(element);
                out.extend(both(element));
                li += 1;
                ri += 1;
                next_shared = shared.pop_front();
                continue;
            }
            // A shared item, but not the one to place now: the right side will place it.
            if right_items.contains_key(element) && next_shared.is_some_and(|n| n != element) {
                li += 1;
                continue;
            }
        }
        if li < left.len() {
            let (element, item) = &left[li];
            if !right_items.contains_key(element) {
                out.extend(merge_at(list.item, Some(item), None));
                li += 1;
                continue;
            } else if merged_right.contains(element) {
                li += 1;
            }
        }
        if ri < right.len() {
            let element = &right[ri].0;
            merged_right.insert(element);
            out.extend(both(element));
            ri += 1;
            if next_shared.is_some_and(|n| n == element) {
                next_shared = shared.pop_front();
            }
        }
    }
    (!out.is_empty()).then_some(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "setStr": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            "atomicList": {"type": "array", "items": {"type": "string"}},
            "list": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["key", "id"],
                     "items": {"type": "object", "properties": {
                         "key": {"type": "string"}, "id": {"type": "integer"},
                         "bv": {"type": "boolean"}, "nv": {"type": "integer"}}}}
        }})
    }

    /// Triplets of structured-merge-diff `typed/merge_test.go`.
    #[test]
    fn merges_like_upstream() {
        let schema = schema();
        let ty = Type::root(Some(&schema));
        let cases = [
            (
                r#"{"setStr":["a","b","c"]}"#,
                r#"{"setStr":["a","b"]}"#,
                r#"{"setStr":["a","b","c"]}"#,
            ),
            (
                r#"{"setStr":["a","b"]}"#,
                r#"{"setStr":["b","a"]}"#,
                r#"{"setStr":["b","a"]}"#,
            ),
            (
                r#"{"setStr":["a","b","c"]}"#,
                r#"{"setStr":[]}"#,
                r#"{"setStr":["a","b","c"]}"#,
            ),
            (
                r#"{"setStr":["a","b","c","g","f"]}"#,
                r#"{"setStr":["c","d","e","f"]}"#,
                r#"{"setStr":["a","b","c","g","d","e","f"]}"#,
            ),
            (
                r#"{"setStr":["c","d","e","f"]}"#,
                r#"{"setStr":["a","c","e"]}"#,
                r#"{"setStr":["a","c","d","e","f"]}"#,
            ),
            (
                r#"{"setStr":["a","b","c","d"]}"#,
                r#"{"setStr":["d","e","f","a"]}"#,
                r#"{"setStr":["b","c","d","e","f","a"]}"#,
            ),
            (
                r#"{"setStr":["c","d","e","f","g","h","i","j"]}"#,
                r#"{"setStr":["2","h","3","e","4","k","l"]}"#,
                r#"{"setStr":["c","d","f","g","2","h","i","j","3","e","4","k","l"]}"#,
            ),
            (
                r#"{"setStr":["a","b","c","d","e","f","g","h","i","j"]}"#,
                r#"{"setStr":["1","b","2","h","3","e","4","k","l"]}"#,
                r#"{"setStr":["a","1","b","c","d","f","g","2","h","i","j","3","e","4","k","l"]}"#,
            ),
            (
                r#"{"setStr":["a","b","b"]}"#,
                r#"{"setStr":["b"]}"#,
                r#"{"setStr":["a","b"]}"#,
            ),
            (
                r#"{"setStr":["a","b","c","d","e","c"]}"#,
                r#"{"setStr":["1","b","2","e","d"]}"#,
                r#"{"setStr":["a","1","b","c","2","e","c","d"]}"#,
            ),
            (
                r#"{"setStr":["a","a","b","b"]}"#,
                r#"{"setStr":["b","c","d"]}"#,
                r#"{"setStr":["a","a","b","c","d"]}"#,
            ),
            (
                r#"{"atomicList":["a","b","c"]}"#,
                r#"{"atomicList":[]}"#,
                r#"{"atomicList":[]}"#,
            ),
            (
                r#"{"list":[{"key":"a","id":1},{"key":"b","id":2},{"key":"c","id":3}]}"#,
                r#"{"list":[{"key":"c","id":3},{"key":"a","id":1}]}"#,
                r#"{"list":[{"key":"b","id":2},{"key":"c","id":3},{"key":"a","id":1}]}"#,
            ),
            (
                r#"{"list":[{"key":"a","id":1,"bv":true},{"key":"b","id":2},{"key":"a","id":1,"bv":false,"nv":2}]}"#,
                r#"{"list":[{"key":"a","id":1,"nv":3},{"key":"c","id":3},{"key":"b","id":2}]}"#,
                r#"{"list":[{"key":"a","id":1,"nv":3},{"key":"c","id":3},{"key":"b","id":2}]}"#,
            ),
            (
                r#"{"list":[{"key":"a","id":1,"nv":1},{"key":"a","id":1,"nv":2}]}"#,
                "{}",
                r#"{"list":[{"key":"a","id":1,"nv":1},{"key":"a","id":1,"nv":2}]}"#,
            ),
        ];
        for (lhs, rhs, out) in cases {
            let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap();
            assert_eq!(
                merge(ty, &parse(lhs), &parse(rhs)),
                parse(out),
                "{lhs} + {rhs}"
            );
        }
    }

    #[test]
    fn map_list_items_merge_field_by_field() {
        let schema = schema();
        let merged = merge(
            Type::root(Some(&schema)),
            &json!({"list": [{"key": "a", "id": 1, "bv": true, "nv": 1}]}),
            &json!({"list": [{"key": "a", "id": 1, "nv": 2}]}),
        );
        assert_eq!(
            merged,
            json!({"list": [{"key": "a", "id": 1, "bv": true, "nv": 2}]})
        );
    }
}
