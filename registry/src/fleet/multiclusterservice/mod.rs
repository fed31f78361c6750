//! MultiClusterService (`mcs`, cluster-scoped): services for every ClusterDeployment whose
//! labels match a selector, with a priority, a sync mode, ordering after other
//! MultiClusterServices and batched rollouts. Its status (the matching clusters and their
//! state) is written only by controllers through `/status`.

mod admission;
pub mod services;

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::admission::Admission;
use crate::catalog::{AlreadyRegistered, Catalog};
use crate::field::type_error;
use crate::field::FieldError;
use crate::fleet;
use crate::meta;
use crate::resource::{ColumnSource, PrinterColumn, ResourceDefinition, Scope};
use crate::strategy::Strategy;
use crate::structural::object_schema;
pub use fleet_api::v1alpha1::multiclusterservice::*;

/// The bounds of `spec.priority`.
const PRIORITY_MIN: i64 = 1;
const PRIORITY_MAX: i64 = 2_147_483_646;
/// The values of `spec.syncMode`, in the order messages list them.
pub const SYNC_MODES: [&str; 4] = [
    "OneTime",
    "Continuous",
    "ContinuousWithDriftDetection",
    "DryRun",
];
/// The states of a matching cluster, in the order messages list them.
pub const CLUSTER_STATES: [&str; 5] = ["Pending", "Provisioning", "Deployed", "Failed", "Deleting"];

/// The definition of `multiclusterservices.fleet.k0rdent.io`.
pub fn definition() -> ResourceDefinition {
    let mut def = ResourceDefinition::new(
        fleet::GROUP,
        fleet::VERSION,
        "MultiClusterService",
        "multiclusterservices",
        Scope::Cluster,
    );
    def.short_names = vec!["mcs".into()];
    def.categories = fleet::categories();
    def.status_subresource = true;
    def.schema = Some(object_schema::<
        MultiClusterServiceSpec,
        MultiClusterServiceStatus,
    >(
        "Services for every ClusterDeployment whose labels match a selector: a priority, a \
         sync mode, ordering after other MultiClusterServices, batched rollouts.",
    ));
    def.printer_columns = columns();
    def
}

/// Registers `multiclusterservices.fleet.k0rdent.io`.
pub fn register(catalog: &Catalog) -> Result<(), AlreadyRegistered> {
    let def = definition();
    let strategy = MultiClusterServiceStrategy {
        admission: admission::NoCycles::new(def.clone()),
    };
    catalog.register(def, Arc::new(strategy))?;
    Ok(())
}

/// CLUSTERS (deployed/matching), PRIORITY, MODE, AGE.
fn columns() -> Vec<PrinterColumn> {
    let column = |name: &str, column_type: &str, description: &str, source| PrinterColumn {
        name: name.into(),
        column_type: column_type.into(),
        format: String::new(),
        description: description.into(),
        priority: 0,
        source,
    };
    vec![
        column(
            "Clusters",
            "string",
            "Matching clusters with every service Deployed / matching clusters.",
            ColumnSource::Computed(Arc::new(clusters_cell)),
        ),
        column(
            "Priority",
            "integer",
            "Which object wins a service name on a cluster (higher wins).",
            ColumnSource::JsonPath(".spec.priority".into()),
        ),
        column(
            "Mode",
            "string",
            "How services are kept on the clusters.",
            ColumnSource::JsonPath(".spec.syncMode".into()),
        ),
        column(
            "Age",
            "date",
            "",
            ColumnSource::JsonPath(".metadata.creationTimestamp".into()),
        ),
    ]
}

/// `n/m`: matching clusters in state Deployed, of all matching clusters.
fn clusters_cell(obj: &Value) -> Value {
    let clusters = obj["status"]["matchingClusters"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let deployed = clusters.iter().filter(|c| c["state"] == "Deployed").count();
    json!(format!("{deployed}/{}", clusters.len()))
}

#[derive(Debug)]
struct MultiClusterServiceStrategy {
    admission: admission::NoCycles,
}

impl Strategy for MultiClusterServiceStrategy {
    fn default(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
            return;
        };
        set_if_absent(spec, "templateNamespace", json!(DEFAULT_TEMPLATE_NAMESPACE));
        set_if_absent(spec, "priority", json!(DEFAULT_PRIORITY));
        set_if_absent(spec, "syncMode", json!("Continuous"));
        set_if_absent(spec, "rollout", json!({}));
        if let Some(rollout) = spec.get_mut("rollout").and_then(Value::as_object_mut) {
            set_if_absent(rollout, "maxUpdate", json!("100%"));
            set_if_absent(rollout, "stopOnFailure", json!(true));
        }
        let services = spec.get_mut("services").and_then(Value::as_array_mut);
        for service in services.into_iter().flatten() {
            services::default_namespace(service);
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        match &obj["spec"] {
            Value::Null => vec![FieldError::required("spec", "")],
            Value::Object(spec) => validate_spec(spec, meta::name(obj).unwrap_or_default()),
            other => vec![type_error("spec", other, "object")],
        }
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        validate_status(&new["status"])
    }

    fn admission(&self) -> Option<&dyn Admission> {
        Some(&self.admission)
    }
}

/// Sets `key` when it is missing or null.
fn set_if_absent(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.into(), value);
    }
}

fn validate_spec(spec: &Map<String, Value>, name: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match spec.get("clusterSelector") {
        None | Some(Value::Null) => errors.push(FieldError::required(
            "spec.clusterSelector",
            "select clusters by label; {} selects every cluster",
        )),
        Some(selector) => errors.extend(crate::labelselector::validate(
            selector,
            "spec.clusterSelector",
        )),
    }
    match spec.get("templateNamespace") {
        None | Some(Value::Null) => {}
        Some(Value::String(ns)) => errors.extend(
            meta::dns1123_label_problems(ns)
                .into_iter()
                .map(|p| FieldError::invalid("spec.templateNamespace", &json!(ns), &p)),
        ),
        Some(other) => errors.push(type_error("spec.templateNamespace", other, "string")),
    }
    errors.extend(services::validate(
        spec.get("services").unwrap_or(&Value::Null),
        "spec.services",
    ));
    match spec.get("priority") {
        None | Some(Value::Null) => {}
        Some(value) => match value.as_i64() {
            Some(p) if (PRIORITY_MIN..=PRIORITY_MAX).contains(&p) => {}
            Some(_) => errors.push(FieldError::invalid(
                "spec.priority",
                value,
                &format!("must be between {PRIORITY_MIN} and {PRIORITY_MAX}, inclusive"),
            )),
            None => errors.push(type_error("spec.priority", value, "integer")),
        },
    }
    match spec.get("syncMode") {
        None | Some(Value::Null) => {}
        Some(Value::String(mode)) if SYNC_MODES.contains(&mode.as_str()) => {}
        Some(value @ Value::String(_)) => errors.push(FieldError::not_supported(
            "spec.syncMode",
            value,
            &SYNC_MODES,
        )),
        Some(other) => errors.push(type_error("spec.syncMode", other, "string")),
    }
    errors.extend(validate_depends_on(spec.get("dependsOn"), name));
    match spec.get("rollout") {
        None | Some(Value::Null) => {}
        Some(Value::Object(rollout)) => errors.extend(validate_rollout(rollout)),
        Some(other) => errors.push(type_error("spec.rollout", other, "object")),
    }
    errors
}

/// `spec.dependsOn`: names of other MultiClusterServices, each once, not this one.
fn validate_depends_on(depends_on: Option<&Value>, own: &str) -> Vec<FieldError> {
    let items = match depends_on {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => return vec![type_error("spec.dependsOn", other, "array")],
    };
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("spec.dependsOn[{i}]");
        let Some(name) = item.as_str() else {
            errors.push(type_error(&at, item, "string"));
            continue;
        };
        if !seen.insert(name) {
            errors.push(FieldError::duplicate(&at, item));
        } else if name == own {
            errors.push(FieldError::invalid(
                &at,
                item,
                "a MultiClusterService may not depend on itself",
            ));
        } else {
            errors.extend(
                meta::dns1123_subdomain_problems(name)
                    .into_iter()
                    .map(|p| FieldError::invalid(&at, item, &p)),
            );
        }
    }
    errors
}

/// The message of a string `maxUpdate` that is not a percentage (upstream `IsValidPercent`).
const PERCENT_FORMAT: &str = "a valid percent string must be a numeric string followed by an \
    ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

fn validate_rollout(rollout: &Map<String, Value>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let path = "spec.rollout.maxUpdate";
    match rollout.get("maxUpdate") {
        None | Some(Value::Null) => {}
        Some(value @ Value::String(text)) => {
            let digits = text.strip_suffix('%').unwrap_or_default();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                errors.push(FieldError::invalid(path, value, PERCENT_FORMAT));
            } else if !matches!(digits.parse::<u32>(), Ok(1..=100)) {
                errors.push(FieldError::invalid(
                    path,
                    value,
                    "must be between 1% and 100%, inclusive",
                ));
            }
        }
        Some(value) => match value.as_i64() {
            Some(count) if count >= 1 => {}
            Some(_) => errors.push(FieldError::invalid(
                path,
                value,
                "must be greater than or equal to 1",
            )),
            None => errors.push(FieldError::invalid(
                path,
                value,
                "must be an integer or percentage (e.g '5%')",
            )),
        },
    }
    match rollout.get("stopOnFailure") {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(other) => errors.push(type_error("spec.rollout.stopOnFailure", other, "boolean")),
    }
    errors
}

/// What `/status` may write: known cluster states and condition statuses.
fn validate_status(status: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let clusters = status["matchingClusters"].as_array().into_iter().flatten();
    for (i, cluster) in clusters.enumerate() {
        let at = format!("status.matchingClusters[{i}]");
        for field in ["namespace", "name"] {
            if cluster[field].as_str().unwrap_or_default().is_empty() {
                errors.push(FieldError::required(&format!("{at}.{field}"), ""));
            }
        }
        let state = &cluster["state"];
        if !CLUSTER_STATES.iter().any(|s| state == s) {
            errors.push(FieldError::not_supported(
                &format!("{at}.state"),
                state,
                &CLUSTER_STATES,
            ));
        }
    }
    let conditions = status["conditions"].as_array().into_iter().flatten();
    for (i, condition) in conditions.enumerate() {
        let value = &condition["status"];
        if !["True", "False", "Unknown"].iter().any(|s| value == s) {
            errors.push(FieldError::not_supported(
                &format!("status.conditions[{i}].status"),
                value,
                &["False", "True", "Unknown"],
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategy() -> MultiClusterServiceStrategy {
        MultiClusterServiceStrategy {
            admission: admission::NoCycles::new(definition()),
        }
    }

    fn mcs(spec: Value) -> Value {
        json!({
            "apiVersion": "fleet.k0rdent.io/v1alpha1",
            "kind": "MultiClusterService",
            "metadata": {"name": "ingress"},
            "spec": spec,
        })
    }

    fn messages(spec: Value) -> Vec<String> {
        let s = strategy();
        let mut obj = mcs(spec);
        s.default(&mut obj);
        s.validate(&obj).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_fill_namespace_priority_mode_and_rollout() {
        let mut obj = mcs(json!({"clusterSelector": {}, "rollout": {"maxUpdate": 2},
                                 "services": [{"name": "web", "template": "web-1"}]}));
        strategy().default(&mut obj);
        assert_eq!(
            obj["spec"],
            json!({
                "clusterSelector": {},
                "templateNamespace": "k0rdent-system",
                "priority": 100,
                "syncMode": "Continuous",
                "rollout": {"maxUpdate": 2, "stopOnFailure": true},
                "services": [{"name": "web", "template": "web-1", "namespace": "web"}],
            })
        );
        let spec: MultiClusterServiceSpec = serde_json::from_value(obj["spec"].clone()).unwrap();
        assert_eq!(spec.sync_mode, SyncMode::Continuous);
        assert_eq!(spec.rollout.max_update, IntOrPercent::Count(2));
        assert!(strategy().validate(&obj).is_empty());
    }

    #[test]
    fn sync_mode_priority_and_rollout_are_checked() {
        assert_eq!(
            messages(json!({
                "clusterSelector": {},
                "syncMode": "Sometimes",
                "priority": 0,
                "rollout": {"maxUpdate": "150%", "stopOnFailure": "yes"}
            })),
            [
                "spec.priority: Invalid value: 0: must be between 1 and 2147483646, inclusive",
                "spec.syncMode: Unsupported value: \"Sometimes\": supported values: \"OneTime\", \"Continuous\", \"ContinuousWithDriftDetection\", \"DryRun\"",
                "spec.rollout.maxUpdate: Invalid value: \"150%\": must be between 1% and 100%, inclusive",
                "spec.rollout.stopOnFailure: Invalid value: \"string\": spec.rollout.stopOnFailure in body must be of type boolean: \"string\"",
            ]
        );
        let max_update =
            |v: Value| messages(json!({"clusterSelector": {}, "rollout": {"maxUpdate": v}}));
        assert_eq!(
            max_update(json!("abc")),
            [format!(
                "spec.rollout.maxUpdate: Invalid value: \"abc\": {PERCENT_FORMAT}"
            )]
        );
        assert_eq!(
            max_update(json!("0")),
            [format!(
                "spec.rollout.maxUpdate: Invalid value: \"0\": {PERCENT_FORMAT}"
            )]
        );
        assert_eq!(
            max_update(json!(0)),
            ["spec.rollout.maxUpdate: Invalid value: 0: must be greater than or equal to 1"]
        );
        assert_eq!(
            max_update(json!(1.5)),
            ["spec.rollout.maxUpdate: Invalid value: 1.5: must be an integer or percentage (e.g '5%')"]
        );
        for fine in [json!("1%"), json!("100%"), json!(3)] {
            assert!(max_update(fine).is_empty());
        }
        assert_eq!(
            messages(json!({"clusterSelector": {}, "priority": 2.5})),
            ["spec.priority: Invalid value: \"number\": spec.priority in body must be of type integer: \"number\""]
        );
    }

    #[test]
    fn the_selector_is_required_and_dependencies_name_others() {
        assert_eq!(
            messages(json!({"dependsOn": ["ingress", "monitoring", "monitoring", "Bad_Name"]})),
            [
                "spec.clusterSelector: Required value: select clusters by label; {} selects every cluster",
                "spec.dependsOn[0]: Invalid value: \"ingress\": a MultiClusterService may not depend on itself",
                "spec.dependsOn[2]: Duplicate value: \"monitoring\"",
                "spec.dependsOn[3]: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ]
        );
        assert_eq!(
            strategy().validate(&json!({"metadata": {"name": "x"}}))[0].to_string(),
            "spec: Required value"
        );
    }

    #[test]
    fn the_clusters_column_counts_deployed_of_matching() {
        let obj = json!({"status": {"matchingClusters": [
            {"namespace": "a", "name": "x", "state": "Deployed"},
            {"namespace": "a", "name": "y", "state": "Failed"},
            {"namespace": "b", "name": "z", "state": "Deployed"}
        ]}});
        assert_eq!(clusters_cell(&obj), json!("2/3"));
        assert_eq!(clusters_cell(&json!({})), json!("0/0"));
        assert!(validate_status(&obj["status"]).is_empty());
        assert_eq!(
            validate_status(&json!({"matchingClusters": [{"namespace": "a", "name": "x", "state": "Done"}]}))[0].to_string(),
            "status.matchingClusters[0].state: Unsupported value: \"Done\": supported values: \"Pending\", \"Provisioning\", \"Deployed\", \"Failed\", \"Deleting\""
        );
    }

    #[test]
    fn the_schema_documents_the_rollout() {
        let schema = definition().schema.unwrap();
        let rollout = &schema["properties"]["spec"]["properties"]["rollout"];
        assert!(rollout["description"]
            .as_str()
            .unwrap()
            .contains("updated at once"));
        let max_update = &rollout["properties"]["maxUpdate"];
        assert_eq!(max_update["x-kubernetes-int-or-string"], true);
        assert_eq!(max_update["default"], "100%");
        assert!(!schema.to_string().contains("$ref"), "{schema}");
        assert!(!schema.to_string().contains("null"), "{schema}");
        assert_eq!(
            schema["properties"]["spec"]["required"],
            json!(["clusterSelector"])
        );
        let mode = &schema["properties"]["spec"]["properties"]["syncMode"];
        assert_eq!(mode["enum"], json!(SYNC_MODES));
    }
}
