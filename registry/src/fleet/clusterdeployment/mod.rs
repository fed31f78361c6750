//! ClusterDeployment (`cld`): a wanted cluster, built from a ClusterTemplate with a
//! Credential, with the services installed on it. Its spec is checked on its own
//! ([`validation`]) and against its template ([`admission`]); its status is written only by
//! controllers through `/status`, checked like upstream `metav1.Condition`s.

mod admission;
mod validation;

use std::sync::Arc;

use serde_json::{json, Value};

use crate::admission::Admission;
use crate::catalog::{AlreadyRegistered, Catalog};
use crate::field::FieldError;
use crate::fleet;
use crate::meta::dns1123_label_problems;
use crate::resource::{ColumnSource, PrinterColumn, ResourceDefinition, Scope, SelectableField};
use crate::strategy::Strategy;
use crate::structural::object_schema;

pub use fleet_api::v1alpha1::clusterdeployment::{
    ClusterDeploymentSpec, ClusterDeploymentStatus, Condition, ConditionStatus, ConditionType,
    MachineCounts, Phase, Service, ServiceState, ServiceStatus,
};

/// Registers `clusterdeployments.fleet.k0rdent.io`.
pub fn register(catalog: &Catalog) -> Result<(), AlreadyRegistered> {
    let mut schema = object_schema::<ClusterDeploymentSpec, ClusterDeploymentStatus>(
        "A wanted cluster, built from a ClusterTemplate with a Credential, with the services \
         installed on it.",
    );
    unwrap_descriptions(&mut schema);
    let mut def = ResourceDefinition::new(
        fleet::GROUP,
        fleet::VERSION,
        "ClusterDeployment",
        "clusterdeployments",
        Scope::Namespaced,
    );
    def.short_names = vec!["cld".into()];
    def.categories = fleet::categories();
    def.status_subresource = true;
    def.printer_columns = columns();
    def.selectable_fields = ["spec.template", "spec.credential", "status.phase"]
        .into_iter()
        .map(|name| SelectableField {
            name: name.into(),
            json_path: format!(".{name}"),
        })
        .collect();
    let strategy = ClusterDeploymentStrategy {
        spec: schema["properties"]["spec"].clone(),
        status: schema["properties"]["status"].clone(),
        admission: admission::TemplateAdmission::default(),
    };
    def.schema = Some(schema);
    catalog.register(def, Arc::new(strategy))?;
    Ok(())
}

/// Joins the lines of doc comments into one line per paragraph, as controller-gen writes
/// descriptions (`kubectl explain` wraps them itself).
fn unwrap_descriptions(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(text) if key == "description" => {
                        let paragraphs: Vec<String> = text
                            .split("\n\n")
                            .map(|p| p.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
                            .collect();
                        *text = paragraphs.join("\n\n");
                    }
                    other => unwrap_descriptions(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

fn column(name: &str, priority: i32, description: &str, source: ColumnSource) -> PrinterColumn {
    PrinterColumn {
        name: name.into(),
        column_type: "string".into(),
        format: String::new(),
        description: description.into(),
        priority,
        source,
    }
}

fn path(path: &str) -> ColumnSource {
    ColumnSource::JsonPath(path.into())
}

fn computed(f: fn(&Value) -> Value) -> ColumnSource {
    ColumnSource::Computed(Arc::new(f))
}

/// READY REASON TEMPLATE PHASE VERSION SERVICES AGE; CREDENTIAL MESSAGE with `-o wide`.
fn columns() -> Vec<PrinterColumn> {
    vec![
        column(
            "Ready",
            0,
            "Status of the Ready condition (Unknown until a controller sets it).",
            computed(|obj| json!(ready(obj)["status"].as_str().unwrap_or("Unknown"))),
        ),
        column(
            "Reason",
            0,
            "Reason of the Ready condition.",
            computed(|obj| ready(obj)["reason"].clone()),
        ),
        column(
            "Template",
            0,
            "The ClusterTemplate.",
            path(".spec.template"),
        ),
        column(
            "Phase",
            0,
            "Where the cluster is in its life.",
            path(".status.phase"),
        ),
        column(
            "Version",
            0,
            "Kubernetes version of the control plane.",
            path(".status.kubernetesVersion"),
        ),
        column(
            "Services",
            0,
            "Services Deployed / services in spec.",
            computed(services_ready),
        ),
        PrinterColumn {
            column_type: "date".into(),
            ..column("Age", 0, "", path(".metadata.creationTimestamp"))
        },
        column("Credential", 1, "The Credential.", path(".spec.credential")),
        column(
            "Message",
            1,
            "Message of the Ready condition.",
            computed(|obj| ready(obj)["message"].clone()),
        ),
    ]
}

/// The Ready condition (`null` when there is none).
fn ready(obj: &Value) -> &Value {
    obj["status"]["conditions"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["type"] == "Ready"))
        .unwrap_or(&Value::Null)
}

/// `n/m`: services of the spec whose status says Deployed, of all services of the spec.
fn services_ready(obj: &Value) -> Value {
    let wanted: Vec<&str> = obj["spec"]["services"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    let deployed = obj["status"]["services"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["state"] == "Deployed")
        .filter_map(|s| s["name"].as_str())
        .filter(|name| wanted.contains(name))
        .count();
    json!(format!("{deployed}/{}", wanted.len()))
}

/// Defaults, validation and admission of ClusterDeployments.
struct ClusterDeploymentStrategy {
    /// The structural schemas of `spec` and `status`.
    spec: Value,
    status: Value,
    admission: admission::TemplateAdmission,
}

impl Strategy for ClusterDeploymentStrategy {
    /// Drops `null`s from the declared fields; a service's `namespace` defaults to its name.
    fn default(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec") else {
            return;
        };
        validation::drop_nulls(spec, &self.spec);
        let services = spec.get_mut("services").and_then(Value::as_array_mut);
        for service in services.into_iter().flatten() {
            let unset = match service.get("namespace") {
                None => true,
                Some(Value::String(namespace)) => namespace.is_empty(),
                Some(_) => false,
            };
            // Only a valid name makes a valid namespace (else the name alone is reported).
            let name = service["name"].as_str().unwrap_or_default().to_owned();
            if unset && !name.is_empty() && dns1123_label_problems(&name).is_empty() {
                service["namespace"] = Value::String(name);
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let spec = &obj["spec"];
        if spec.is_null() {
            return vec![FieldError::required("spec", "")];
        }
        let mut errors = validation::schema_problems(spec, &self.spec, "spec");
        errors.extend(validation::spec_problems(spec));
        errors
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        let status = &new["status"];
        let mut errors = validation::schema_problems(status, &self.status, "status");
        errors.extend(validation::status_problems(status));
        errors
    }

    fn admission(&self) -> Option<&dyn Admission> {
        Some(&self.admission)
    }
}

#[cfg(test)]
mod tests;
