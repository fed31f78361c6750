//! ClusterTemplate: how to build a cluster — provider, Kubernetes version, a Helm chart or
//! inline manifests producing Cluster API objects, the JSON Schema of a ClusterDeployment's
//! `config`, and the templates it may be upgraded to. The spec is immutable: a new version is
//! a new template.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use crate::catalog::{AlreadyRegistered, Catalog};
use crate::field::FieldError;
use crate::fleet;
use crate::fleet::templatesource;
use crate::meta;
use crate::resource::{PrinterColumn, ResourceDefinition, Scope, SelectableField};
use crate::strategy::Strategy;
use crate::structural;
pub use fleet_api::v1alpha1::clustertemplate::{ClusterTemplateSpec, TemplateStatus};

/// Providers with a Cluster API infrastructure provider the platform knows; others are
/// accepted with a warning.
pub const KNOWN_PROVIDERS: [&str; 6] = ["aws", "azure", "gcp", "vsphere", "openstack", "sim"];
/// What inline manifests are given when rendered.
const RENDER_INPUTS: [&str; 2] = ["cluster", "config"];

/// Registers `clustertemplates.fleet.k0rdent.io`.
pub fn register(catalog: &Catalog) -> Result<(), AlreadyRegistered> {
    let mut def = ResourceDefinition::new(
        fleet::GROUP,
        fleet::VERSION,
        "ClusterTemplate",
        "clustertemplates",
        Scope::Namespaced,
    );
    def.short_names = vec!["ctpl".into()];
    def.categories = fleet::categories();
    def.status_subresource = true;
    def.schema = Some(structural::object_schema::<
        ClusterTemplateSpec,
        TemplateStatus,
    >(
        "How to build a cluster: provider, Kubernetes version, a Helm chart or inline manifests \
         producing Cluster API objects, the schema of a ClusterDeployment's config, and allowed \
         upgrades. The spec is immutable.",
    ));
    def.printer_columns = columns();
    def.selectable_fields = vec![SelectableField {
        name: "spec.provider".into(),
        json_path: ".spec.provider".into(),
    }];
    catalog.register(def, Arc::new(ClusterTemplateStrategy))?;
    Ok(())
}

/// NAME, VALID, PROVIDER, VERSION, AGE; SOURCE and MESSAGE with `-o wide`.
fn columns() -> Vec<PrinterColumn> {
    vec![
        templatesource::column("Valid", "boolean", ".status.valid", 0),
        templatesource::column("Provider", "string", ".spec.provider", 0),
        templatesource::column("Version", "string", ".spec.kubernetesVersion", 0),
        templatesource::column("Age", "date", ".metadata.creationTimestamp", 0),
        templatesource::source_column(1),
        templatesource::column("Message", "string", ".status.message", 1),
    ]
}

struct ClusterTemplateStrategy;

impl Strategy for ClusterTemplateStrategy {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let Some(spec) = obj.get("spec").filter(|s| !s.is_null()) else {
            return vec![FieldError::required("spec", "")];
        };
        if !spec.is_object() {
            return vec![crate::field::type_error("spec", spec, "object")];
        }
        let mut errors = Vec::new();
        if let Some(provider) =
            crate::field::required_string(spec.get("provider"), "spec.provider", &mut errors)
        {
            for problem in meta::dns1123_label_problems(provider) {
                errors.push(FieldError::invalid(
                    "spec.provider",
                    &Value::from(provider),
                    &problem,
                ));
            }
        }
        let version_path = "spec.kubernetesVersion";
        if let Some(version) =
            crate::field::required_string(spec.get("kubernetesVersion"), version_path, &mut errors)
        {
            if !templatesource::is_kubernetes_version(version) {
                errors.push(FieldError::invalid(
                    version_path,
                    &Value::from(version),
                    "a Kubernetes version must be of the form vMAJOR.MINOR.PATCH (e.g. \
                     'v1.33.1', regex used for validation is \
                     'v(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)')",
                ));
            }
        }
        errors.extend(templatesource::validate_source(
            spec.get("source"),
            "spec.source",
        ));
        if let Some(schema) = spec.get("configSchema").filter(|s| !s.is_null()) {
            errors.extend(templatesource::validate_schema(schema, "spec.configSchema"));
        }
        if let Some(targets) = spec.get("upgradeTo").filter(|t| !t.is_null()) {
            errors.extend(validate_upgrade_to(targets, meta::name(obj)));
        }
        errors
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        templatesource::validate_spec_immutable(new, old)
    }

    fn warnings_on_create(&self, obj: &Value) -> Vec<String> {
        let spec = &obj["spec"];
        let mut warnings = Vec::new();
        if let Some(provider) = spec["provider"].as_str() {
            if !KNOWN_PROVIDERS.contains(&provider) {
                warnings.push(format!(
                    "spec.provider: {provider:?} is not a known provider ({}); no built-in \
                     infrastructure provider will build its clusters",
                    KNOWN_PROVIDERS.join(", ")
                ));
            }
        }
        warnings.extend(templatesource::manifests_warnings(
            &spec["source"],
            "spec.source",
            &RENDER_INPUTS,
        ));
        warnings
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        templatesource::validate_status(new)
    }
}

/// `spec.upgradeTo`: distinct template names (DNS-1123 subdomains), never the template itself.
fn validate_upgrade_to(targets: &Value, own_name: Option<&str>) -> Vec<FieldError> {
    let path = "spec.upgradeTo";
    let Some(targets) = targets.as_array() else {
        return vec![crate::field::type_error(path, targets, "array")];
    };
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (i, target) in targets.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Some(name) = crate::field::required_string(Some(target), &at, &mut errors) else {
            continue;
        };
        let problems = meta::dns1123_subdomain_problems(name);
        for problem in &problems {
            errors.push(FieldError::invalid(&at, &Value::from(name), problem));
        }
        if !seen.insert(name) {
            errors.push(FieldError::duplicate(&at, &Value::from(name)));
        } else if problems.is_empty() && Some(name) == own_name {
            errors.push(FieldError::invalid(
                &at,
                &Value::from(name),
                "a template cannot be upgraded to itself",
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(spec: Value) -> Value {
        json!({"metadata": {"name": "aws-1-33", "namespace": "k0rdent-system"}, "spec": spec})
    }

    fn valid_spec() -> Value {
        json!({
            "provider": "aws",
            "kubernetesVersion": "v1.33.1",
            "source": {"helm": {"chart": "aws-standalone-cp", "version": "1.0.0",
                                "repository": "oci://ghcr.io/k0rdent/kcm/charts"}},
            "configSchema": {"type": "object", "properties": {"region": {"type": "string"}}},
            "upgradeTo": ["aws-1-34"],
        })
    }

    fn messages(errors: Vec<FieldError>) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn clustertemplate_accepts_a_complete_spec() {
        let strategy = ClusterTemplateStrategy;
        let obj = template(valid_spec());
        assert!(strategy.validate(&obj).is_empty());
        assert!(strategy.warnings_on_create(&obj).is_empty());
        let spec: ClusterTemplateSpec = serde_json::from_value(valid_spec()).expect("a spec");
        assert_eq!(serde_json::to_value(&spec).expect("JSON"), valid_spec());
    }

    #[test]
    fn clustertemplate_requires_provider_and_version() {
        let mut spec = valid_spec();
        spec["provider"] = json!("AWS");
        spec["kubernetesVersion"] = json!("1.33");
        let errors = messages(ClusterTemplateStrategy.validate(&template(spec)));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0]
            .starts_with("spec.provider: Invalid value: \"AWS\": a lowercase RFC 1123 label"));
        assert!(errors[1].starts_with(
            "spec.kubernetesVersion: Invalid value: \"1.33\": a Kubernetes version must be"
        ));
        let errors = messages(ClusterTemplateStrategy.validate(&template(json!({}))));
        assert_eq!(
            errors,
            [
                "spec.provider: Required value",
                "spec.kubernetesVersion: Required value",
                "spec.source: Required value",
            ]
        );
    }

    #[test]
    fn clustertemplate_upgrade_targets_are_distinct_names() {
        let mut spec = valid_spec();
        spec["upgradeTo"] = json!(["aws-1-34", "Bad_Name", "aws-1-34", "aws-1-33"]);
        let errors = messages(ClusterTemplateStrategy.validate(&template(spec)));
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with(
            "spec.upgradeTo[1]: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"
        ));
        assert_eq!(
            errors[1],
            "spec.upgradeTo[2]: Duplicate value: \"aws-1-34\""
        );
        assert_eq!(
            errors[2],
            "spec.upgradeTo[3]: Invalid value: \"aws-1-33\": a template cannot be upgraded to itself"
        );
    }

    #[test]
    fn clustertemplate_warns_about_unknown_providers_and_inputs() {
        let mut spec = valid_spec();
        spec["provider"] = json!("hetzner");
        spec["source"] =
            json!({"inline": {"manifests": "name: {{ cluster.name }}-{{ values.x }}"}});
        assert_eq!(
            ClusterTemplateStrategy.warnings_on_create(&template(spec)),
            [
                "spec.provider: \"hetzner\" is not a known provider (aws, azure, gcp, vsphere, openstack, sim); no built-in infrastructure provider will build its clusters",
                "spec.source.inline.manifests: the template refers to \"values\", which is never given; it sees only cluster and config",
            ]
        );
    }

    #[test]
    fn clustertemplate_spec_is_immutable_and_status_typed() {
        let old = template(valid_spec());
        let mut new = old.clone();
        new["spec"]["upgradeTo"] = json!(["aws-1-35"]);
        assert_eq!(
            messages(ClusterTemplateStrategy.validate_update(&new, &old)),
            ["spec: Invalid value: \"object\": field is immutable"]
        );
        new["status"] = json!({"valid": "yes", "observedGeneration": -1});
        assert_eq!(
            messages(ClusterTemplateStrategy.validate_status_update(&new, &old)),
            [
                "status.valid: Invalid value: \"string\": status.valid in body must be of type boolean: \"string\"",
                "status.observedGeneration: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
    }

    #[test]
    fn clustertemplate_schema_documents_the_source() {
        let schema = structural::object_schema::<ClusterTemplateSpec, TemplateStatus>("t");
        let source = &schema["properties"]["spec"]["properties"]["source"];
        assert!(source["description"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Where the Cluster API objects come from"));
        assert_eq!(
            source["properties"]["helm"]["required"],
            json!(["chart", "version", "repository"])
        );
        let config_schema = &schema["properties"]["spec"]["properties"]["configSchema"];
        assert_eq!(config_schema["x-kubernetes-preserve-unknown-fields"], true);
        assert_eq!(
            schema["properties"]["spec"]["required"],
            json!(["provider", "kubernetesVersion", "source"])
        );
    }
}
