//! Strategic merge patch (`application/strategic-merge-patch+json`) applied as kube-apiserver
//! applies it to built-in kinds: k8s.io/apimachinery `pkg/util/strategicpatch/patch.go`
//! (`StrategicMergeMapPatch`: `mergeMap`, `mergeSlice`, `mergePatchIntoOriginal`), with each
//! field's merge key and strategy read from the kind's OpenAPI v3 schema as `meta.go`
//! (`PatchMetaFromOpenAPIV3`) reads `x-kubernetes-patch-merge-key` / `x-kubernetes-patch-strategy`.
//!
//! Maps merge recursively and `null` deletes a key. A list whose strategy is `merge` merges by
//! its merge key (lists of objects) or as a set (lists of primitives); any other list is
//! replaced. Directives: `$patch` (`replace`, `delete`, and `merge` — the default — in a map;
//! `replace` and `delete` elements in a merged list), `$retainKeys`,
//! `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.
//!
//! Order of a merged list, as upstream: patched elements follow the patch (or its
//! `$setElementOrder`); the others keep their order and stay before the first patched element
//! they preceded, so an element only the patch knows lands where the patch puts it — before the
//! untouched ones when it comes first. Clients that care (kubectl) send `$setElementOrder`.
//!
//! Where upstream leaves a patch value as sent because Go decoding cleans it up later (a new
//! key, a new list element, a replaced list or map), the value is here patched onto nothing:
//! its `null`s are dropped and its directives honoured. Fields the schema does not describe get
//! JSON merge patch semantics instead of upstream's "unable to find api field" error.

use serde_json::{Map, Value};

#[cfg(test)]
mod tests;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const RETAIN_KEYS_FORMAT: &str = "retainKeys";
const SET_ELEMENT_ORDER_FORMAT: &str = "setElementOrder list";
const PRIMITIVE_LIST_FORMAT: &str = "primitive list";
const STRATEGY_EXTENSION: &str = "x-kubernetes-patch-strategy";
const MERGE_KEY_EXTENSION: &str = "x-kubernetes-patch-merge-key";

type Object = Map<String, Value>;

/// Why a strategic merge patch could not be applied; messages are upstream's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategicError {
    /// The original or the patch is not a JSON object (`ErrBadJSONDoc`).
    #[error("invalid JSON document")]
    InvalidDocument,
    /// A `$patch` other than `replace`, `delete` or `merge` (`ErrBadPatchType`).
    #[error("unknown patch type: {directive} in map: {map}")]
    UnknownPatchType { directive: String, map: String },
    /// `{"$patch": "merge"}` as an element of a list, which upstream reserves.
    #[error("merging lists cannot yet be specified in the patch")]
    MergeInList,
    /// A list element without the list's merge key (`ErrNoMergeKey`).
    #[error("map: {map} does not contain declared merge key: {key}")]
    MissingMergeKey { map: String, key: String },
    /// A merged list of objects whose schema declares no merge key.
    #[error("cannot merge lists without merge key for {0}")]
    NoMergeKey(String),
    /// A merged list whose elements are not all of one JSON type.
    #[error("list element types are not identical: {0}")]
    MixedList(String),
    /// A merged list of lists (`ErrNoListOfLists`).
    #[error("lists of lists are not supported")]
    ListOfLists,
    /// A malformed directive (`ErrBadPatchFormatFor...`): a `$retainKeys` that is not a list or
    /// leaves out a field the patch sets, a `$setElementOrder/<list>` or
    /// `$deleteFromPrimitiveList/<list>` that is not a list (of primitives) or names none.
    #[error("invalid patch format of {0}")]
    BadDirective(&'static str),
    /// The patch list orders its elements unlike its `$setElementOrder` list.
    #[error("The order in patch list:\n{list}\n doesn't match $setElementOrder list:\n{order}\n")]
    OrderMismatch { list: String, order: String },
    /// The schema's `x-kubernetes-patch-strategy` names two strategies besides `retainKeys`.
    #[error("unexpected patch strategy: {0}")]
    InvalidStrategy(String),
}

pub type Result<T, E = StrategicError> = std::result::Result<T, E>;

/// Applies a strategic merge patch to `original` using `schema` (the kind's OpenAPI v3 schema
/// with `$ref`s inlined: object fields under `properties`, maps under `additionalProperties`,
/// list elements under `items`). Without merge information a list is replaced and a map
/// merged (JSON merge patch, `null` deleting).
pub fn apply(original: &Value, patch: &Value, schema: Option<&Value>) -> Result<Value> {
    match (original, patch) {
        (Value::Object(original), Value::Object(patch)) => {
            merge_map(original.clone(), patch.clone(), schema).map(Value::Object)
        }
        _ => Err(StrategicError::InvalidDocument),
    }
}

/// A `$patch` directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

impl Directive {
    fn of(map: &Object) -> Result<Option<Directive>> {
        let Some(value) = map.get(DIRECTIVE) else {
            return Ok(None);
        };
        match value.as_str() {
            Some("merge") => Ok(Some(Directive::Merge)),
            Some("replace") => Ok(Some(Directive::Replace)),
            Some("delete") => Ok(Some(Directive::Delete)),
            _ => Err(StrategicError::UnknownPatchType {
                directive: go(value),
                map: go_map(map),
            }),
        }
    }
}

/// A field's `x-kubernetes-patch-strategy`, less `retainKeys`: applying honours `$retainKeys`
/// wherever it appears, the strategy only tells clients when to send it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Strategy {
    #[default]
    Default,
    Merge,
    Replace,
}

impl Strategy {
    fn of(schema: &Value) -> Result<Strategy> {
        let Some(value) = schema.get(STRATEGY_EXTENSION) else {
            return Ok(Strategy::Default);
        };
        let text = value
            .as_str()
            .ok_or_else(|| StrategicError::InvalidStrategy(value.to_string()))?;
        let mut others = text
            .split(',')
            .map(str::trim)
            .filter(|s| *s != "retainKeys");
        match (others.next(), others.next()) {
            (Some("merge"), None) => Ok(Strategy::Merge),
            (Some("replace"), None) => Ok(Strategy::Replace),
            (_, None) => Ok(Strategy::Default),
            _ => Err(StrategicError::InvalidStrategy(format!(
                "[{}]",
                text.replace(',', " ")
            ))),
        }
    }
}

/// What the schema says of one field of an object.
#[derive(Debug, Clone, Copy, Default)]
struct Field<'s> {
    /// The field's own schema; `None` where the schema does not describe it.
    schema: Option<&'s Value>,
    strategy: Strategy,
    merge_key: Option<&'s str>,
}

impl<'s> Field<'s> {
    /// Field `key` of an object described by `object`: a property, else `additionalProperties`.
    fn of(object: Option<&'s Value>, key: &str) -> Result<Field<'s>> {
        let schema = object.map(resolve).and_then(|object| {
            object
                .get("properties")
                .and_then(|properties| properties.get(key))
                .or_else(|| object.get("additionalProperties").filter(|s| s.is_object()))
        });
        let Some(schema) = schema else {
            return Ok(Field::default());
        };
        Ok(Field {
            schema: Some(schema),
            strategy: Strategy::of(schema)?,
            merge_key: schema.get(MERGE_KEY_EXTENSION).and_then(Value::as_str),
        })
    }

    /// An element of this list field: no patch metadata of its own.
    fn element(&self) -> Field<'s> {
        let schema = self.schema.map(resolve).and_then(|s| s.get("items"));
        Field {
            schema,
            ..Field::default()
        }
    }

    /// How elements of this list field are told apart.
    fn identity(&self) -> Identity<'s> {
        self.merge_key.map_or(Identity::Whole, Identity::Key)
    }
}

/// The schema behind `allOf: [schema]`, which is how OpenAPI v3 puts extensions next to a
/// `$ref` (upstream `resolve`).
fn resolve(schema: &Value) -> &Value {
    let described = ["properties", "additionalProperties", "items"]
        .iter()
        .any(|k| schema.get(k).is_some());
    match schema.get("allOf").and_then(Value::as_array) {
        Some(all_of) if !described => all_of.first().unwrap_or(schema),
        _ => schema,
    }
}

/// How the elements of a list are told apart: by merge key, or (primitives) by value.
#[derive(Debug, Clone, Copy)]
enum Identity<'k> {
    Key(&'k str),
    Whole,
}

impl Identity<'_> {
    fn of(self, element: &Value) -> Option<&Value> {
        match self {
            Identity::Key(key) => element.get(key),
            Identity::Whole => Some(element),
        }
    }

    /// The identity of every element; each must carry the merge key.
    fn all(self, list: &[Value]) -> Result<Vec<Value>> {
        match self {
            Identity::Key(key) => list.iter().map(|e| key_of(e, key).cloned()).collect(),
            Identity::Whole => Ok(list.to_vec()),
        }
    }
}

fn key_of<'v>(element: &'v Value, key: &str) -> Result<&'v Value> {
    element
        .get(key)
        .ok_or_else(|| StrategicError::MissingMergeKey {
            map: go(element),
            key: key.to_owned(),
        })
}

/// Merges `patch` into `original`, an object described by `schema` (upstream `mergeMap`).
fn merge_map(mut original: Object, mut patch: Object, schema: Option<&Value>) -> Result<Object> {
    match Directive::of(&patch)? {
        Some(Directive::Delete) => return Ok(Object::new()),
        Some(Directive::Replace) => original.clear(),
        Some(Directive::Merge) | None => {}
    }
    patch.remove(DIRECTIVE);
    if let Some(keys) = patch.remove(RETAIN_KEYS) {
        retain_keys(&mut original, &patch, &keys)?;
    }
    set_element_orders(&mut original, &mut patch, schema)?;
    let mut deletions = Vec::new();
    for (key, value) in patch {
        if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            deletions.push((key, value));
        } else {
            merge_field(&mut original, key, value, schema)?;
        }
    }
    for (directive, values) in deletions {
        delete_from_list(&mut original, &directive, values)?;
    }
    Ok(original)
}

/// Merges the patch value of field `key` into `original`.
fn merge_field(
    original: &mut Object,
    key: String,
    patch: Value,
    object: Option<&Value>,
) -> Result<()> {
    if patch.is_null() {
        original.remove(&key);
        return Ok(());
    }
    let field = Field::of(object, &key)?;
    let merged = match (original.get_mut(&key).map(Value::take), patch) {
        (Some(Value::Object(current)), Value::Object(patch)) => {
            let current = match field.strategy {
                Strategy::Replace => Object::new(),
                _ => current,
            };
            Some(Value::Object(merge_map(current, patch, field.schema)?))
        }
        (Some(Value::Array(current)), Value::Array(patch)) => {
            Some(Value::Array(merge_list(current, patch, &field, &key)?))
        }
        (_, patch) => create(patch, &field, &key)?,
    };
    match merged {
        Some(value) => original.insert(key, value),
        None => original.remove(&key),
    };
    Ok(())
}

/// A patch value with nothing under it (a new key, a new element, a changed type): patched
/// onto nothing, so its `null`s go and its directives apply. `None` when it deletes itself.
fn create(patch: Value, field: &Field, name: &str) -> Result<Option<Value>> {
    match patch {
        Value::Object(patch) => match Directive::of(&patch)? {
            Some(Directive::Delete) => Ok(None),
            _ => merge_map(Object::new(), patch, field.schema).map(|m| Some(Value::Object(m))),
        },
        Value::Array(patch) => {
            merge_list(Vec::new(), patch, field, name).map(|l| Some(Value::Array(l)))
        }
        scalar => Ok(Some(scalar)),
    }
}

/// Merges list `name` (upstream `mergeSliceHandler` and `mergeSlice`).
fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    field: &Field,
    name: &str,
) -> Result<Vec<Value>> {
    if field.strategy != Strategy::Merge {
        return replace_list(patch, field, name);
    }
    match element_type(&original, &patch)? {
        None => Ok(original),
        Some("object") => merge_keyed_list(original, patch, field, name),
        Some(_) => Ok(merge_set(original, patch)),
    }
}

/// The patch list that replaces a list; elements carrying a `$patch` are dropped.
fn replace_list(patch: Vec<Value>, field: &Field, name: &str) -> Result<Vec<Value>> {
    let element = field.element();
    let mut list = Vec::with_capacity(patch.len());
    for value in patch.into_iter().filter(|v| v.get(DIRECTIVE).is_none()) {
        list.extend(create(value, &element, name)?);
    }
    Ok(list)
}

/// The JSON type all elements of both lists share (upstream `sliceElementType`).
fn element_type(original: &[Value], patch: &[Value]) -> Result<Option<&'static str>> {
    let mut types = original.iter().chain(patch).map(json_type);
    let Some(first) = types.next() else {
        return Ok(None);
    };
    if first == "array" {
        return Err(StrategicError::ListOfLists);
    }
    if types.any(|t| t != first) {
        let both = format!("[{} {}]", go_list(original), go_list(patch));
        return Err(StrategicError::MixedList(both));
    }
    Ok(Some(first))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A merged list of primitives: a set union (duplicates go).
fn merge_set(original: Vec<Value>, patch: Vec<Value>) -> Vec<Value> {
    let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
    for value in original.iter().chain(&patch) {
        if !merged.contains(value) {
            merged.push(value.clone());
        }
    }
    normalize_order(merged, &patch, &original, Identity::Whole)
}

/// A merged list of objects: `$patch` elements first (`delete` drops every element with that
/// key, `replace` drops them all), then each element merges into the first one with its key
/// or is added (upstream `mergeSliceWithSpecialElements` and `...WithoutSpecialElements`).
fn merge_keyed_list(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    field: &Field,
    name: &str,
) -> Result<Vec<Value>> {
    let key = field
        .merge_key
        .ok_or_else(|| StrategicError::NoMergeKey(name.to_owned()))?;
    let identity = Identity::Key(key);
    let mut elements = Vec::with_capacity(patch.len());
    for element in patch {
        let directive = match element.as_object() {
            Some(map) => Directive::of(map)?,
            None => None,
        };
        match directive {
            None => elements.push(element),
            Some(Directive::Delete) => {
                let doomed = key_of(&element, key)?;
                original.retain(|o| o.get(key) != Some(doomed));
            }
            Some(Directive::Replace) => original.clear(),
            Some(Directive::Merge) => return Err(StrategicError::MergeInList),
        }
    }
    let server = identity.all(&original)?;
    let order = identity.all(&elements)?;
    let schema = field.element().schema;
    for (element, id) in elements.into_iter().zip(&order) {
        let element = into_object(element);
        match original.iter().position(|o| o.get(key) == Some(id)) {
            Some(at) => {
                let current = into_object(original[at].take());
                original[at] = Value::Object(merge_map(current, element, schema)?);
            }
            None => original.push(Value::Object(merge_map(Object::new(), element, schema)?)),
        }
    }
    Ok(normalize_order(original, &order, &server, identity))
}

/// Orders a merged list as upstream `normalizeElementOrder` does: elements named in `order`
/// (identities from the patch, or from `$setElementOrder`) follow it; the rest keep their order
/// in `server` (identities of the list before patching), each placed before the first ordered
/// element it preceded there.
fn normalize_order(
    merged: Vec<Value>,
    order: &[Value],
    server: &[Value],
    identity: Identity,
) -> Vec<Value> {
    let rank = |ids: &[Value], element: &Value| {
        identity
            .of(element)
            .and_then(|id| ids.iter().position(|other| other == id))
    };
    let (mut ordered, mut rest): (Vec<Value>, Vec<Value>) = merged
        .into_iter()
        .partition(|element| rank(order, element).is_some());
    ordered.sort_by_key(|element| rank(order, element));
    rest.sort_by_key(|element| rank(server, element).unwrap_or(usize::MAX));
    let mut rest = rest.into_iter().peekable();
    let mut list = Vec::with_capacity(ordered.len() + rest.len());
    for element in ordered {
        if let Some(at) = rank(server, &element) {
            while let Some(before) = rest.next_if(|r| rank(server, r).is_some_and(|r| r < at)) {
                list.push(before);
            }
        }
        list.push(element);
    }
    list.extend(rest);
    list
}

/// Applies each `$setElementOrder/<list>` together with `<list>`, which it takes out of the
/// patch (upstream `mergePatchIntoOriginal`).
fn set_element_orders(
    original: &mut Object,
    patch: &mut Object,
    object: Option<&Value>,
) -> Result<()> {
    let directives: Vec<String> = patch
        .keys()
        .filter(|key| key.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for directive in directives {
        let name = target(&directive, SET_ELEMENT_ORDER)
            .ok_or(StrategicError::BadDirective(SET_ELEMENT_ORDER_FORMAT))?;
        let Some(Value::Array(order)) = patch.remove(&directive) else {
            return Err(StrategicError::BadDirective(SET_ELEMENT_ORDER_FORMAT));
        };
        let field = Field::of(object, name)?;
        let identity = field.identity();
        let list = take_list(patch, name)?;
        let current = take_list(original, name)?;
        let order_ids = identity.all(&order)?;
        if let Some(list) = &list {
            if !order.is_empty() && !follows(list, &order_ids, identity) {
                return Err(StrategicError::OrderMismatch {
                    list: go_list(list),
                    order: go_list(&order),
                });
            }
        }
        let server = identity.all(current.as_deref().unwrap_or_default())?;
        let merged = match (current, list) {
            (None, None) => continue,
            (Some(current), None) => current,
            (current, Some(list)) => merge_list(current.unwrap_or_default(), list, &field, name)?,
        };
        let ordered = normalize_order(merged, &order_ids, &server, identity);
        original.insert(name.to_owned(), Value::Array(ordered));
    }
    Ok(())
}

/// Whether the elements of `list` (but `$patch` ones) appear in `order` in the same order.
fn follows(list: &[Value], order: &[Value], identity: Identity) -> bool {
    let mut order = order.iter();
    list.iter()
        .filter(|element| element.get(DIRECTIVE).is_none())
        .all(|element| {
            identity
                .of(element)
                .is_some_and(|id| order.any(|o| o == id))
        })
}

fn take_list(map: &mut Object, name: &str) -> Result<Option<Vec<Value>>> {
    match map.remove(name) {
        None => Ok(None),
        Some(Value::Array(list)) => Ok(Some(list)),
        Some(_) => Err(StrategicError::BadDirective(SET_ELEMENT_ORDER_FORMAT)),
    }
}

/// Keeps only the keys `$retainKeys` lists, every one the patch sets among them
/// (upstream `applyRetainKeysDirective`).
fn retain_keys(original: &mut Object, patch: &Object, keys: &Value) -> Result<()> {
    let Value::Array(keys) = keys else {
        return Err(StrategicError::BadDirective(RETAIN_KEYS_FORMAT));
    };
    let listed = |key: &str| keys.iter().any(|k| k.as_str() == Some(key));
    let unlisted = patch.iter().any(|(key, value)| {
        !value.is_null()
            && !key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            && !key.starts_with(SET_ELEMENT_ORDER)
            && !listed(key)
    });
    if unlisted {
        return Err(StrategicError::BadDirective(RETAIN_KEYS_FORMAT));
    }
    original.retain(|key, _| listed(key));
    Ok(())
}

/// Removes the values of `$deleteFromPrimitiveList/<list>` from `<list>`, whatever its
/// strategy; a missing list stays missing (upstream `deleteFromSlice`).
fn delete_from_list(original: &mut Object, directive: &str, values: Value) -> Result<()> {
    let name = target(directive, DELETE_FROM_PRIMITIVE_LIST)
        .ok_or(StrategicError::BadDirective(PRIMITIVE_LIST_FORMAT))?;
    let Value::Array(values) = values else {
        return Err(StrategicError::BadDirective(PRIMITIVE_LIST_FORMAT));
    };
    if values.iter().any(|v| v.is_object() || v.is_array()) {
        return Err(StrategicError::BadDirective(PRIMITIVE_LIST_FORMAT));
    }
    if let Some(Value::Array(list)) = original.get_mut(name) {
        list.retain(|value| !values.contains(value));
    }
    Ok(())
}

/// The map in `value`; element_type has checked every element is one.
fn into_object(value: Value) -> Object {
    match value {
        Value::Object(map) => map,
        _ => Object::new(),
    }
}

/// The list a `<prefix>/<list>` directive names (upstream `extractKey`).
fn target<'k>(directive: &'k str, prefix: &str) -> Option<&'k str> {
    directive
        .split_once('/')
        .filter(|(head, _)| *head == prefix)
        .map(|(_, name)| name)
}

/// `value` as Go's `%v` prints decoded JSON, so messages read like upstream's.
fn go(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(list) => go_list(list),
        Value::Object(map) => go_map(map),
        scalar => scalar.to_string(),
    }
}

fn go_list(list: &[Value]) -> String {
    let items: Vec<String> = list.iter().map(go).collect();
    format!("[{}]", items.join(" "))
}

fn go_map(map: &Object) -> String {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by_key(|(key, _)| *key);
    let items: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{k}:{}", go(v)))
        .collect();
    format!("map[{}]", items.join(" "))
}
