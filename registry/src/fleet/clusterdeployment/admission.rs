//! The checks of a ClusterDeployment against its ClusterTemplate (what k0rdent's
//! `clusterdeployment_webhook.go` does): `spec.config` against the template's `configSchema`,
//! and `spec.template` changing only along the current template's `upgradeTo`.
//!
//! A template that does not exist is not an error: objects arrive in any order, and the
//! TemplateReady condition says what is missing. So `config` is checked only when the
//! template exists, and a change of `spec.template` away from a template that does not exist
//! is allowed (a cluster was never built from it: the change fixes a reference, it upgrades
//! nothing). On update, `config` is checked only when it or `spec.template` changes, so a
//! config accepted before its template arrived never blocks unrelated updates (labels,
//! finalizers), as Kubernetes ratchets validation of unchanged fields.

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::admission::{Admission, Request};
use crate::field::FieldError;
use crate::fleet;
use crate::fleet::templatesource::validate_against;
use crate::meta::dns1123_subdomain_problems;
use crate::resource::{Resource, ResourceDefinition, Scope};
use crate::strategy::SchemalessStrategy;

use super::validation::internal;

/// Reads ClusterTemplates to check ClusterDeployments against them.
pub struct TemplateAdmission {
    /// `clustertemplates.fleet.k0rdent.io`, for reading only (its key and its errors).
    templates: Resource,
}

impl std::fmt::Debug for TemplateAdmission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateAdmission").finish()
    }
}

impl Default for TemplateAdmission {
    fn default() -> Self {
        let def = ResourceDefinition::new(
            fleet::GROUP,
            fleet::VERSION,
            "ClusterTemplate",
            "clustertemplates",
            Scope::Namespaced,
        );
        TemplateAdmission {
            templates: Resource {
                def,
                strategy: std::sync::Arc::new(SchemalessStrategy),
            },
        }
    }
}

#[async_trait]
impl Admission for TemplateAdmission {
    async fn admit(&self, request: &Request<'_>) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let new = &request.new["spec"];
        let Some(template) = template_name(new) else {
            // No (valid) template: validation already said so.
            return errors;
        };
        let old = request.old.map(|old| &old["spec"]);
        if let Some(current) = old.and_then(template_name).filter(|c| *c != template) {
            match self.read(request, current).await {
                Ok(Some(found)) => errors.extend(upgrade_problems(current, &found, template)),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        let changed = old
            .is_none_or(|old| old["config"] != new["config"] || old["template"] != new["template"]);
        if changed {
            match self.read(request, template).await {
                Ok(Some(found)) => errors.extend(config_problems(&found, &new["config"])),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        errors
    }
}

impl TemplateAdmission {
    /// The template `name` in the request's namespace; `None` when there is none.
    async fn read(&self, request: &Request<'_>, name: &str) -> Result<Option<Value>, FieldError> {
        match request
            .store
            .get(&self.templates, request.namespace, name)
            .await
        {
            Ok(template) => Ok(Some(template)),
            Err(e) if e.code() == 404 => Ok(None),
            Err(e) => Err(internal(
                "spec.template",
                format!("reading ClusterTemplate {name:?}: {}", e.status().message),
            )),
        }
    }
}

/// A template name that can be looked up (anything else was refused by validation, and must
/// not become a storage key).
fn template_name(spec: &Value) -> Option<&str> {
    spec["template"]
        .as_str()
        .filter(|name| !name.is_empty() && dns1123_subdomain_problems(name).is_empty())
}

/// `spec.template` may change from `current` only to a name in its `upgradeTo`.
fn upgrade_problems(current: &str, found: &Value, wanted: &str) -> Vec<FieldError> {
    let targets: Vec<&str> = found["spec"]["upgradeTo"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if targets.contains(&wanted) {
        return Vec::new();
    }
    let detail = if targets.is_empty() {
        format!(
            "may not change: ClusterTemplate {current:?} allows no upgrades (its upgradeTo is \
             empty)"
        )
    } else {
        let quoted: Vec<String> = targets.iter().map(|t| format!("{t:?}")).collect();
        format!(
            "may only change to one of the templates in upgradeTo of {current:?}: [{}]",
            quoted.join(", ")
        )
    };
    vec![FieldError::forbidden("spec.template", &detail)]
}

/// `config` (an empty object when absent) against the template's `configSchema`, if any.
fn config_problems(found: &Value, config: &Value) -> Vec<FieldError> {
    let schema = &found["spec"]["configSchema"];
    if schema.is_null() {
        return Vec::new();
    }
    let empty = json!({});
    let config = if config.is_null() { &empty } else { config };
    validate_against(schema, config, "spec.config")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(upgrade_to: Value) -> Value {
        json!({"spec": {"upgradeTo": upgrade_to, "configSchema": {
            "type": "object",
            "required": ["region"],
            "properties": {
                "region": {"type": "string"},
                "workers": {"type": "integer", "minimum": 1},
            }
        }}})
    }

    #[test]
    fn upgrades_follow_upgrade_to_and_name_the_allowed_targets() {
        let found = template(json!(["aws-1-34", "aws-1-35"]));
        assert!(upgrade_problems("aws-1-33", &found, "aws-1-34").is_empty());
        let refused = upgrade_problems("aws-1-33", &found, "aws-2-0");
        assert_eq!(
            refused[0].to_string(),
            "spec.template: Forbidden: may only change to one of the templates in upgradeTo of \"aws-1-33\": [\"aws-1-34\", \"aws-1-35\"]"
        );
        let none = upgrade_problems("aws-1-33", &template(json!(null)), "aws-1-34");
        assert_eq!(
            none[0].to_string(),
            "spec.template: Forbidden: may not change: ClusterTemplate \"aws-1-33\" allows no upgrades (its upgradeTo is empty)"
        );
    }

    #[test]
    fn config_is_checked_against_the_schema_with_one_error_per_violation() {
        let found = template(json!([]));
        assert!(config_problems(&found, &json!({"region": "eu"})).is_empty());
        let fields: Vec<String> = config_problems(&found, &json!({"workers": 0}))
            .iter()
            .map(|e| e.field.clone())
            .collect();
        assert_eq!(fields, ["spec.config", "spec.config.workers"]);
        // Absent config is an empty object: required keys are still required.
        assert_eq!(config_problems(&found, &Value::Null).len(), 1);
        assert!(config_problems(&json!({"spec": {}}), &json!({"x": 1})).is_empty());
    }
}
