//! Moving from client-side to server-side apply without conflicts (kube-apiserver's
//! `lastappliedmanager.go` and `lastappliedupdater.go`): when the manager `kubectl` applies an
//! object that carries `kubectl.kubernetes.io/last-applied-configuration`, conflicts on fields
//! whose live values are still what that annotation says are forced, and after the apply the
//! annotation is rewritten to the applied configuration so client-side apply keeps working.

use serde_json::Value;

use super::path::{Path, PathElement};
use super::{Conflicts, FieldSet};

/// The annotation client-side apply keeps.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// The only manager the upgrade applies to (others opt out by using another name).
pub const KUBECTL: &str = "kubectl";

/// The object the annotation of `live` describes, if any.
fn last_applied(live: &Value) -> Option<Value> {
    let text = live
        .pointer("/metadata/annotations")?
        .get(LAST_APPLIED)?
        .as_str()?;
    serde_json::from_str(text).ok()
}

/// The value at `path` of `object`.
fn value_at<'v>(object: &'v Value, path: &Path) -> Option<&'v Value> {
    let mut at = object;
    for element in &path.0 {
        at = match element {
            PathElement::Field(name) => at.get(name)?,
            PathElement::Index(i) => at.get(usize::try_from(*i).ok()?)?,
            PathElement::Value(v) => at.as_array()?.iter().find(|item| *item == v)?,
            PathElement::Key(fields) => at
                .as_array()?
                .iter()
                .find(|item| fields.iter().all(|(k, v)| item.get(k) == Some(v)))?,
        };
    }
    Some(at)
}

/// Whether every conflict is on a field whose live value is still the last-applied one:
/// then `kubectl` may take them (`allowedConflictsFromLastApplied`).
pub fn conflicts_allowed(
    manager: &str,
    live: Option<&Value>,
    conflicts: &Conflicts,
    schema: Option<&Value>,
) -> bool {
    let Some(live) = live.filter(|_| manager == KUBECTL) else {
        return false;
    };
    let Some(applied) = last_applied(live) else {
        return false;
    };
    let Ok(fields) = FieldSet::from_object(&applied, schema) else {
        return false;
    };
    conflicts.0.iter().all(|conflict| {
        fields.has(&conflict.path.0)
            && value_at(&applied, &conflict.path).is_some()
            && value_at(&applied, &conflict.path) == value_at(live, &conflict.path)
    })
}

/// After `kubectl` applied `config`, an object that kept the annotation gets it rewritten to
/// `config` (`lastappliedupdater`).
pub fn update_annotation(manager: &str, config: &Value, object: &mut Value) {
    if manager != KUBECTL {
        return;
    }
    let Some(annotations) = object
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if !annotations.contains_key(LAST_APPLIED) {
        return;
    }
    let mut applied = config.clone();
    if let Some(own) = applied
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        own.remove(LAST_APPLIED);
        if own.is_empty() {
            if let Some(metadata) = applied.get_mut("metadata").and_then(Value::as_object_mut) {
                metadata.remove("annotations");
            }
        }
    }
    annotations.insert(LAST_APPLIED.into(), Value::String(format!("{applied}\n")));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_found_by_field_key_set_item_and_index() {
        let object =
            json!({"spec": {"items": [{"name": "a", "x": 1}], "tags": ["t"], "list": [5]}});
        let key = PathElement::Key(vec![("name".into(), json!("a"))]);
        let path = Path(vec![
            PathElement::Field("spec".into()),
            PathElement::Field("items".into()),
            key,
            PathElement::Field("x".into()),
        ]);
        assert_eq!(value_at(&object, &path), Some(&json!(1)));
        let set = Path(vec![
            PathElement::Field("spec".into()),
            PathElement::Field("tags".into()),
            PathElement::Value(json!("t")),
        ]);
        assert_eq!(value_at(&object, &set), Some(&json!("t")));
        let index = Path(vec![
            PathElement::Field("spec".into()),
            PathElement::Field("list".into()),
            PathElement::Index(0),
        ]);
        assert_eq!(value_at(&object, &index), Some(&json!(5)));
    }

    #[test]
    fn the_annotation_follows_what_kubectl_applied() {
        let mut object = json!({"metadata": {"annotations": {LAST_APPLIED: "{}", "other": "x"}}});
        let config =
            json!({"metadata": {"name": "a", "annotations": {"note": "y"}}, "spec": {"a": 1}});
        update_annotation("someone-else", &config, &mut object);
        assert_eq!(object["metadata"]["annotations"][LAST_APPLIED], "{}");
        update_annotation(KUBECTL, &config, &mut object);
        let text = object["metadata"]["annotations"][LAST_APPLIED]
            .as_str()
            .unwrap();
        let written: Value = serde_json::from_str(text).unwrap();
        assert_eq!(written, config);
    }
}
