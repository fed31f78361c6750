//! ServiceTemplate: a beach-head service installed on child clusters — a Helm chart or inline
//! manifests, its version, and the JSON Schema of the `values` a ClusterDeployment or
//! MultiClusterService passes it. The spec is immutable: a new version is a new template.

use std::sync::Arc;

use serde_json::Value;

use crate::catalog::{AlreadyRegistered, Catalog};
use crate::field::FieldError;
use crate::fleet;
use crate::fleet::templatesource;
use crate::resource::{PrinterColumn, ResourceDefinition, Scope, SelectableField};
use crate::strategy::Strategy;
use crate::structural;
pub use fleet_api::v1alpha1::servicetemplate::{ServiceTemplateSpec, TemplateStatus};

/// What inline manifests are given when rendered.
const RENDER_INPUTS: [&str; 2] = ["cluster", "values"];

/// Registers `servicetemplates.fleet.k0rdent.io`.
pub fn register(catalog: &Catalog) -> Result<(), AlreadyRegistered> {
    let mut def = ResourceDefinition::new(
        fleet::GROUP,
        fleet::VERSION,
        "ServiceTemplate",
        "servicetemplates",
        Scope::Namespaced,
    );
    def.short_names = vec!["stpl".into()];
    def.categories = fleet::categories();
    def.status_subresource = true;
    def.schema = Some(structural::object_schema::<
        ServiceTemplateSpec,
        TemplateStatus,
    >(
        "A beach-head service for child clusters: a Helm chart or inline manifests, its \
         version and the schema of its values. The spec is immutable.",
    ));
    def.printer_columns = columns();
    def.selectable_fields = vec![SelectableField {
        name: "spec.version".into(),
        json_path: ".spec.version".into(),
    }];
    catalog.register(def, Arc::new(ServiceTemplateStrategy))?;
    Ok(())
}

/// NAME, VALID, VERSION, SOURCE, AGE; MESSAGE with `-o wide`.
fn columns() -> Vec<PrinterColumn> {
    vec![
        templatesource::column("Valid", "boolean", ".status.valid", 0),
        templatesource::column("Version", "string", ".spec.version", 0),
        templatesource::source_column(0),
        templatesource::column("Age", "date", ".metadata.creationTimestamp", 0),
        templatesource::column("Message", "string", ".status.message", 1),
    ]
}

struct ServiceTemplateStrategy;

impl Strategy for ServiceTemplateStrategy {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let Some(spec) = obj.get("spec").filter(|s| !s.is_null()) else {
            return vec![FieldError::required("spec", "")];
        };
        if !spec.is_object() {
            return vec![crate::field::type_error("spec", spec, "object")];
        }
        let mut errors = templatesource::validate_source(spec.get("source"), "spec.source");
        errors.extend(templatesource::validate_version(
            spec.get("version"),
            "spec.version",
        ));
        if let Some(schema) = spec.get("valuesSchema").filter(|s| !s.is_null()) {
            errors.extend(templatesource::validate_schema(schema, "spec.valuesSchema"));
        }
        errors
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        templatesource::validate_spec_immutable(new, old)
    }

    fn warnings_on_create(&self, obj: &Value) -> Vec<String> {
        templatesource::manifests_warnings(&obj["spec"]["source"], "spec.source", &RENDER_INPUTS)
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        templatesource::validate_status(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(spec: Value) -> Value {
        json!({"metadata": {"name": "ingress-nginx-4-12-0", "namespace": "k0rdent-system"},
               "spec": spec})
    }

    fn messages(errors: Vec<FieldError>) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn servicetemplate_accepts_helm_and_inline_sources() {
        let helm = json!({
            "source": {"helm": {"chart": "ingress-nginx", "version": "4.12.0",
                                "repository": "https://kubernetes.github.io/ingress-nginx"}},
            "version": "4.12.0",
            "valuesSchema": {"type": "object"},
        });
        assert!(ServiceTemplateStrategy
            .validate(&template(helm.clone()))
            .is_empty());
        let spec: ServiceTemplateSpec = serde_json::from_value(helm.clone()).expect("a spec");
        assert_eq!(serde_json::to_value(&spec).expect("JSON"), helm);
        let inline = json!({
            "source": {"inline": {"manifests": "name: {{ cluster.name }}-{{ values.greeting }}"}},
            "version": "1.0.0",
        });
        let obj = template(inline);
        assert!(ServiceTemplateStrategy.validate(&obj).is_empty());
        assert!(ServiceTemplateStrategy.warnings_on_create(&obj).is_empty());
    }

    #[test]
    fn servicetemplate_requires_a_version_and_a_valid_values_schema() {
        let spec = json!({
            "source": {"inline": {"manifests": "x"}},
            "valuesSchema": {"properties": {"replicas": {"minimum": "one"}}},
        });
        assert_eq!(
            messages(ServiceTemplateStrategy.validate(&template(spec))),
            [
                "spec.version: Required value",
                "spec.valuesSchema.properties[replicas].minimum: Invalid value: \"one\": \"one\" is not of type \"number\"",
            ]
        );
    }

    #[test]
    fn servicetemplate_spec_is_immutable() {
        let old = template(json!({"source": {"inline": {"manifests": "x"}}, "version": "1.0.0"}));
        let mut new = old.clone();
        new["spec"]["version"] = json!("1.0.1");
        assert_eq!(
            messages(ServiceTemplateStrategy.validate_update(&new, &old)),
            ["spec: Invalid value: \"object\": field is immutable"]
        );
    }
}
