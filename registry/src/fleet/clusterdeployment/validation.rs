//! What makes a ClusterDeployment valid on its own: the shape its schema declares (types,
//! enums, required fields, minimums — with the messages kube-apiserver gives custom
//! resources, k8s.io/kube-openapi `pkg/validation/validate`), names of the objects it refers
//! to, the services and their dependency graph, and status as Kubernetes validates
//! `metav1.Condition`s (k8s.io/apimachinery `pkg/apis/meta/v1/validation` `ValidateConditions`).

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::field::{type_error, type_name};
use crate::field::{FieldError, FieldErrorKind};
use crate::fleet::templatesource::is_semver;
use crate::meta::{dns1123_label_problems, dns1123_subdomain_problems};
use crate::time::parse_time;

/// `metav1.Condition` limits (`maxReasonLen`, `maxMessageLen`).
const MAX_REASON_LEN: usize = 1024;
const MAX_MESSAGE_LEN: usize = 32 * 1024;

const REASON_MESSAGE: &str = "a condition reason must start with alphabetic character, \
     optionally followed by a string of alphanumeric characters or '_,:', and must end with an \
     alphanumeric character or '_'";

/// Problems of `value` against a structural schema, under `path`. `null` counts as absent.
pub fn schema_problems(value: &Value, schema: &Value, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    walk(value, schema, path, &mut errors);
    errors
}

fn walk(value: &Value, schema: &Value, path: &str, errors: &mut Vec<FieldError>) {
    if value.is_null() {
        return;
    }
    let actual = type_name(value);
    if let Some(wanted) = schema.get("type").and_then(Value::as_str) {
        if actual != wanted && !(wanted == "number" && actual == "integer") {
            errors.push(type_error(path, value, wanted));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
            errors.push(FieldError::not_supported(path, value, &names));
        }
    }
    let minimum = schema.get("minimum").and_then(Value::as_f64);
    if let (Some(minimum), Some(number)) = (minimum, value.as_f64()) {
        if number < minimum {
            let detail = format!("{path} in body should be greater than or equal to {minimum}");
            errors.push(FieldError::invalid(path, value, &detail));
        }
    }
    if let (Some("date-time"), Some(text)) = (schema["format"].as_str(), value.as_str()) {
        if !text.is_empty() && parse_time(text).is_none() {
            let detail = format!("{path} in body must be of type date-time: {text:?}");
            errors.push(FieldError::invalid(path, value, &detail));
        }
    }
    match value {
        Value::Object(map) => {
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                if map.get(name).is_none_or(Value::is_null) {
                    errors.push(FieldError::required(&format!("{path}.{name}"), ""));
                }
            }
            let properties = schema.get("properties");
            for (key, child) in map {
                if let Some(child_schema) = properties.and_then(|p| p.get(key)) {
                    walk(child, child_schema, &format!("{path}.{key}"), errors);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk(item, item_schema, &format!("{path}[{i}]"), errors);
                }
            }
        }
        _ => {}
    }
}

/// Removes `null`s from the declared (not free-form) parts of `value`, as kube-apiserver
/// prunes nulls of non-nullable fields of custom resources.
pub fn drop_nulls(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            map.retain(|key, child| !(child.is_null() && properties.contains_key(key)));
            for (key, child) in map.iter_mut() {
                if let Some(child_schema) = properties.get(key) {
                    drop_nulls(child, child_schema);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                items
                    .iter_mut()
                    .for_each(|item| drop_nulls(item, item_schema));
            }
        }
        _ => {}
    }
}

/// A reference to an object by name: required, and a name such an object can have.
fn reference(field: &str, value: &Value, errors: &mut Vec<FieldError>) {
    match value.as_str() {
        Some("") => errors.push(FieldError::required(field, "")),
        Some(name) => {
            for problem in dns1123_subdomain_problems(name) {
                errors.push(FieldError::invalid(field, value, &problem));
            }
        }
        // Missing or not a string: the schema check says so.
        None => {}
    }
}

/// A DNS-1123 label (service names, namespaces of the child cluster).
fn label(field: &str, value: &Value, errors: &mut Vec<FieldError>) {
    match value.as_str() {
        Some("") => errors.push(FieldError::required(field, "")),
        Some(name) => {
            for problem in dns1123_label_problems(name) {
                errors.push(FieldError::invalid(field, value, &problem));
            }
        }
        None => {}
    }
}

/// Checks `spec` beyond its schema: references and services.
pub fn spec_problems(spec: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    reference("spec.template", &spec["template"], &mut errors);
    reference("spec.credential", &spec["credential"], &mut errors);
    if let Some(services) = spec["services"].as_array() {
        errors.extend(services_problems(services));
    }
    errors
}

fn services_problems(services: &[Value]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, service) in services.iter().enumerate() {
        let at = |f: &str| format!("spec.services[{i}].{f}");
        label(&at("name"), &service["name"], &mut errors);
        reference(&at("template"), &service["template"], &mut errors);
        if service.get("namespace").is_some_and(|n| !n.is_null()) {
            label(&at("namespace"), &service["namespace"], &mut errors);
        }
    }
    errors.extend(crate::fleet::servicespec::dependency_problems(
        services,
        "spec.services",
    ));
    errors
}

/// The string items of an array, with their indices.
fn strings(value: &Value) -> impl Iterator<Item = (usize, &str)> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, v)| Some((i, v.as_str()?)))
}

/// Checks `status` beyond its schema, as upstream checks conditions.
pub fn status_problems(status: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut types = HashSet::new();
    for (i, condition) in status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        errors.extend(condition_problems(
            condition,
            &format!("status.conditions[{i}]"),
        ));
        if let Some(kind) = condition["type"].as_str() {
            if !types.insert(kind) {
                let field = format!("status.conditions[{i}].type");
                errors.push(FieldError::duplicate(&field, &condition["type"]));
            }
        }
    }
    let mut services = HashSet::new();
    for (i, service) in status["services"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(name) = service["name"].as_str() {
            if !services.insert(name) {
                let field = format!("status.services[{i}].name");
                errors.push(FieldError::duplicate(&field, &service["name"]));
            }
        }
    }
    if let Some(version) = status["kubernetesVersion"].as_str() {
        if !(version.starts_with('v') && is_semver(version)) {
            errors.push(FieldError::invalid(
                "status.kubernetesVersion",
                &status["kubernetesVersion"],
                "must be a Kubernetes version: vMAJOR.MINOR.PATCH, optionally followed by \
                 -PRERELEASE and +BUILD (e.g. 'v1.33.0' or 'v1.33.0+k0s.0')",
            ));
        }
    }
    for (i, name) in strings(&status["availableUpgrades"]) {
        let field = format!("status.availableUpgrades[{i}]");
        reference(&field, &json!(name), &mut errors);
    }
    errors
}

/// `ValidateCondition` (type, status and minimums are the schema's).
fn condition_problems(condition: &Value, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let at = |f: &str| format!("{path}.{f}");
    if condition["lastTransitionTime"].as_str() == Some("") {
        errors.push(FieldError::required(
            &at("lastTransitionTime"),
            "must be set",
        ));
    }
    match condition["reason"].as_str() {
        Some("") => errors.push(FieldError::required(&at("reason"), "must be set")),
        Some(reason) => {
            if !is_reason(reason) {
                let value = &condition["reason"];
                errors.push(FieldError::invalid(&at("reason"), value, REASON_MESSAGE));
            }
            if reason.len() > MAX_REASON_LEN {
                errors.push(FieldError::too_long(&at("reason"), MAX_REASON_LEN));
            }
        }
        None => {}
    }
    let message = condition["message"].as_str().unwrap_or_default();
    if message.len() > MAX_MESSAGE_LEN {
        errors.push(FieldError::too_long(&at("message"), MAX_MESSAGE_LEN));
    }
    errors
}

/// `^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`
fn is_reason(reason: &str) -> bool {
    let b = reason.as_bytes();
    let inner = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b',' | b':');
    let last = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    match b {
        [] => false,
        [first] => first.is_ascii_alphabetic(),
        [first, middle @ .., end] => {
            first.is_ascii_alphabetic() && middle.iter().all(inner) && last(end)
        }
    }
}

/// An error of a step that could not run (reading another object), as a 422 cause.
pub fn internal(field: &str, detail: String) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Internal,
        field: field.into(),
        value: None,
        detail,
    }
}
