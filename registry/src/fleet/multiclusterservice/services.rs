//! The `services` of a MultiClusterService — the same shape as a ClusterDeployment's: each a
//! ServiceTemplate with values, installed in a namespace of the child cluster after the
//! services it depends on. Names are unique, `dependsOn` names other listed services, and
//! the dependencies form no cycle.

use serde_json::{json, Value};

use crate::field::type_error;
use crate::field::FieldError;
use crate::meta;

/// Sets a service's `namespace` to its name when it has none (and the name is a valid one),
/// as ClusterDeployment services are defaulted.
pub fn default_namespace(service: &mut Value) {
    let unset = match service.get("namespace") {
        None | Some(Value::Null) => true,
        Some(Value::String(namespace)) => namespace.is_empty(),
        Some(_) => false,
    };
    let name = service["name"].as_str().unwrap_or_default().to_owned();
    if unset && !name.is_empty() && meta::dns1123_label_problems(&name).is_empty() {
        service["namespace"] = Value::String(name);
    }
}

/// Checks the list of services at `path` (e.g. `spec.services`).
pub fn validate(services: &Value, path: &str) -> Vec<FieldError> {
    let items = match services {
        Value::Null => return Vec::new(),
        Value::Array(items) => items,
        other => return vec![type_error(path, other, "array")],
    };
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if !item.is_object() {
            errors.push(type_error(&at, item, "object"));
            continue;
        }
        errors.extend(validate_service(item, &at));
    }
    errors.extend(crate::fleet::servicespec::dependency_problems(items, path));
    errors
}

/// A check of a name: its problems.
type NameCheck = fn(&str) -> Vec<String>;

/// The fields of one service (its name's uniqueness and its dependencies are checked by
/// [`validate`]).
fn validate_service(service: &Value, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let rules: [(&str, bool, NameCheck); 3] = [
        ("name", true, meta::dns1123_label_problems),
        ("template", true, meta::dns1123_subdomain_problems),
        ("namespace", false, meta::dns1123_label_problems),
    ];
    for (field, required, problems) in rules {
        let at = format!("{path}.{field}");
        match &service[field] {
            Value::Null if required => errors.push(FieldError::required(&at, "")),
            Value::Null => {}
            Value::String(s) if s.is_empty() && required => {
                errors.push(FieldError::required(&at, ""))
            }
            Value::String(s) => errors.extend(
                problems(s)
                    .into_iter()
                    .map(|p| FieldError::invalid(&at, &json!(s), &p)),
            ),
            other => errors.push(type_error(&at, other, "string")),
        }
    }
    match &service["values"] {
        Value::Null | Value::Object(_) => {}
        other => errors.push(type_error(&format!("{path}.values"), other, "object")),
    }
    let depends_on = format!("{path}.dependsOn");
    match &service["dependsOn"] {
        Value::Null => {}
        Value::Array(items) => {
            for (j, item) in items.iter().enumerate() {
                if !item.is_string() {
                    errors.push(type_error(&format!("{depends_on}[{j}]"), item, "string"));
                }
            }
        }
        other => errors.push(type_error(&depends_on, other, "array")),
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(services: Value) -> Vec<String> {
        validate(&services, "spec.services")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_valid_list_has_no_errors() {
        let services = json!([
            {"name": "cert-manager", "template": "cert-manager-1-16", "namespace": "cert-manager"},
            {"name": "ingress", "template": "ingress-nginx-4-12", "values": {"replicas": 2},
             "dependsOn": ["cert-manager"]}
        ]);
        assert!(messages(services).is_empty());
    }

    #[test]
    fn names_are_required_labels_and_unique() {
        assert_eq!(
            messages(json!([
                {"template": "t"},
                {"name": "Web", "template": "t"},
                {"name": "web", "template": "t", "namespace": 7},
                {"name": "web", "template": ""}
            ])),
            [
                "spec.services[0].name: Required value",
                "spec.services[1].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                "spec.services[2].namespace: Invalid value: \"integer\": spec.services[2].namespace in body must be of type string: \"integer\"",
                "spec.services[3].template: Required value",
                "spec.services[3].name: Duplicate value: \"web\"",
            ]
        );
    }

    #[test]
    fn dependencies_name_other_listed_services_without_cycles() {
        assert_eq!(
            messages(json!([
                {"name": "a", "template": "t", "dependsOn": ["b"]},
                {"name": "b", "template": "t", "dependsOn": ["c", "c"]},
                {"name": "c", "template": "t", "dependsOn": ["a", "c", "zz"]}
            ])),
            [
                "spec.services[1].dependsOn[1]: Duplicate value: \"c\"",
                "spec.services[2].dependsOn[1]: Invalid value: \"c\": a service may not depend on itself",
                "spec.services[2].dependsOn[2]: Invalid value: \"zz\": must be the name of another service in spec.services",
                "spec.services[0].dependsOn: Invalid value: []string{\"b\"}: dependency cycle: a -> b -> c -> a",
            ]
        );
    }
}
