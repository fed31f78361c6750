//! `metav1.LabelSelector` in an object (a MultiClusterService's `clusterSelector`, a
//! ClusterRole's `aggregationRule`): its validation as k8s.io/apimachinery
//! `pkg/apis/meta/v1/validation/validation.go` (`ValidateLabelSelector`) writes it. The type and
//! its matching are `fleet_api::labelselector`'s.
//!
//! The label key and value rules are those of [`crate::selector`] (apimachinery v0.36's
//! `IsLabelKey`, alias `IsQualifiedName`, and `IsValidLabelValue`), with one field error per
//! problem as `ValidateLabelName` reports them.

use serde_json::{json, Value};

use crate::field::type_error;
use crate::field::FieldError;

pub use fleet_api::labelselector::{LabelSelector, LabelSelectorRequirement, Operator};

/// `ValidateLabelSelector` of the selector at `path` (a JSON value, so that wrong types are
/// reported too).
pub fn validate(selector: &Value, path: &str) -> Vec<FieldError> {
    let Some(map) = selector.as_object() else {
        return vec![type_error(path, selector, "object")];
    };
    let mut errors = Vec::new();
    let labels_path = format!("{path}.matchLabels");
    match map.get("matchLabels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(labels)) => {
            for (key, value) in labels {
                errors.extend(validate_label_name(key, &labels_path));
                match value.as_str() {
                    Some(value) => errors.extend(
                        label_value_problems(value)
                            .into_iter()
                            .map(|p| FieldError::invalid(&labels_path, &json!(value), &p)),
                    ),
                    None => {
                        errors.push(type_error(&format!("{labels_path}.{key}"), value, "string"))
                    }
                }
            }
        }
        Some(other) => errors.push(type_error(&labels_path, other, "object")),
    }
    let expressions_path = format!("{path}.matchExpressions");
    match map.get("matchExpressions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(expressions)) => {
            for (i, expression) in expressions.iter().enumerate() {
                errors.extend(validate_requirement(
                    expression,
                    &format!("{expressions_path}[{i}]"),
                ));
            }
        }
        Some(other) => errors.push(type_error(&expressions_path, other, "array")),
    }
    errors
}

/// `ValidateLabelSelectorRequirement`: the operator and its values, the key, every value.
fn validate_requirement(requirement: &Value, path: &str) -> Vec<FieldError> {
    if !requirement.is_object() {
        return vec![type_error(path, requirement, "object")];
    }
    let mut errors = Vec::new();
    let mut text = |field: &str| -> String {
        match &requirement[field] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => {
                errors.push(type_error(&format!("{path}.{field}"), other, "string"));
                String::new()
            }
        }
    };
    let key = text("key");
    let operator = text("operator");
    let values_path = format!("{path}.values");
    let values: Vec<&str> = match &requirement["values"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item.as_str() {
                Some(s) => Some(s),
                None => {
                    errors.push(type_error(&format!("{values_path}[{i}]"), item, "string"));
                    None
                }
            })
            .collect(),
        other => {
            errors.push(type_error(&values_path, other, "array"));
            Vec::new()
        }
    };
    match operator.as_str() {
        "In" | "NotIn" if values.is_empty() => errors.push(FieldError::required(
            &values_path,
            "must be specified when `operator` is 'In' or 'NotIn'",
        )),
        "Exists" | "DoesNotExist" if !values.is_empty() => errors.push(FieldError::forbidden(
            &values_path,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
        _ => errors.push(FieldError::invalid(
            &format!("{path}.operator"),
            &json!(operator),
            "not a valid selector operator",
        )),
    }
    errors.extend(validate_label_name(&key, &format!("{path}.key")));
    for (i, value) in values.iter().enumerate() {
        for problem in label_value_problems(value) {
            errors.push(FieldError::invalid(
                &format!("{values_path}[{i}]"),
                &json!(value),
                &problem,
            ));
        }
    }
    errors
}

/// `ValidateLabelName`: one error per problem of the key.
fn validate_label_name(key: &str, path: &str) -> Vec<FieldError> {
    label_key_problems(key)
        .into_iter()
        .map(|p| FieldError::invalid(path, &json!(key), &p))
        .collect()
}

// ---- Label keys and values (as `crate::selector` checks them) ----

// Label keys and values are checked as the label selector parser checks them
// (`crate::selector`), with upstream's messages.
#[cfg(test)]
use crate::meta::{
    LABEL_VALUE_RULES as LABEL_VALUE_FORMAT, QUALIFIED_NAME_RULES as LABEL_KEY_FORMAT,
};
use crate::selector::{label_key_problems, label_value_problems};

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(selector: Value) -> Vec<String> {
        validate(&selector, "spec.clusterSelector")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn valid_selectors_have_no_errors() {
        let selector = json!({
            "matchLabels": {"env": "prod", "k0rdent.io/tier": ""},
            "matchExpressions": [
                {"key": "region", "operator": "In", "values": ["eu", "us"]},
                {"key": "legacy", "operator": "DoesNotExist"}
            ]
        });
        assert!(messages(selector).is_empty());
        assert!(messages(json!({})).is_empty());
    }

    #[test]
    fn operators_values_keys_and_label_values_are_checked_as_upstream() {
        let selector = json!({
            "matchLabels": {"-bad": "ok", "env": "not ok!"},
            "matchExpressions": [
                {"key": "region", "operator": "Equals", "values": ["eu"]},
                {"key": "region", "operator": "In"},
                {"key": "region", "operator": "Exists", "values": ["x"]},
                {"key": "", "operator": "NotIn", "values": ["-x"]}
            ]
        });
        let label_value = LABEL_VALUE_FORMAT;
        assert_eq!(
            messages(selector),
            [
                format!("spec.clusterSelector.matchLabels: Invalid value: \"-bad\": name part {LABEL_KEY_FORMAT}"),
                format!("spec.clusterSelector.matchLabels: Invalid value: \"not ok!\": {label_value}"),
                "spec.clusterSelector.matchExpressions[0].operator: Invalid value: \"Equals\": not a valid selector operator".into(),
                "spec.clusterSelector.matchExpressions[1].values: Required value: must be specified when `operator` is 'In' or 'NotIn'".into(),
                "spec.clusterSelector.matchExpressions[2].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'".into(),
                "spec.clusterSelector.matchExpressions[3].key: Invalid value: \"\": name part must be non-empty".into(),
                format!("spec.clusterSelector.matchExpressions[3].key: Invalid value: \"\": name part {LABEL_KEY_FORMAT}"),
                format!("spec.clusterSelector.matchExpressions[3].values[0]: Invalid value: \"-x\": {label_value}"),
            ]
        );
    }

    #[test]
    fn wrong_types_are_reported_like_schema_validation() {
        assert_eq!(
            messages(json!({"matchLabels": {"env": 1}, "matchExpressions": {}})),
            [
                "spec.clusterSelector.matchLabels.env: Invalid value: \"integer\": spec.clusterSelector.matchLabels.env in body must be of type string: \"integer\"",
                "spec.clusterSelector.matchExpressions: Invalid value: \"object\": spec.clusterSelector.matchExpressions in body must be of type array: \"object\"",
            ]
        );
    }
}
