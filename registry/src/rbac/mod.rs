//! The `rbac.authorization.k8s.io/v1` kinds — Role, ClusterRole, RoleBinding,
//! ClusterRoleBinding — stored and served as built-in kinds (strategic merge patch), with
//! kube-apiserver's validation (`pkg/apis/rbac/validation/validation.go`), defaults and
//! printer columns. Evaluating them (the RBAC authorizer) is separate.

pub mod authorizer;
pub mod bootstrap;
pub mod escalation;
#[cfg(test)]
mod guard_tests;
mod openapi;

use std::sync::Arc;

use serde_json::{json, Value};

use crate::admission::WriteGuard;
use crate::catalog::{AlreadyRegistered, Catalog};
use crate::field::{go_strings, FieldError};
use crate::meta::path_segment_problems;
use crate::resource::{ColumnSource, PrinterColumn, ResourceDefinition, Scope};
use crate::strategy::Strategy;

pub const GROUP: &str = "rbac.authorization.k8s.io";
pub const VERSION: &str = "v1";

/// Registers the four RBAC kinds.
pub fn install(catalog: &Catalog) -> Result<(), AlreadyRegistered> {
    let kinds = [
        ("Role", "roles", Scope::Namespaced, openapi::role(), false),
        (
            "ClusterRole",
            "clusterroles",
            Scope::Cluster,
            openapi::cluster_role(),
            false,
        ),
        (
            "RoleBinding",
            "rolebindings",
            Scope::Namespaced,
            openapi::role_binding(),
            true,
        ),
        (
            "ClusterRoleBinding",
            "clusterrolebindings",
            Scope::Cluster,
            openapi::cluster_role_binding(),
            true,
        ),
    ];
    for (kind, plural, scope, schema, binding) in kinds {
        let mut def = ResourceDefinition::new(GROUP, VERSION, kind, plural, scope);
        def.schema = Some(schema);
        def.strategic_merge_patch = true;
        def.printer_columns = if binding {
            binding_columns()
        } else {
            role_columns()
        };
        let strategy: Arc<dyn Strategy> = if binding {
            Arc::new(BindingStrategy {
                namespaced: scope == Scope::Namespaced,
            })
        } else {
            Arc::new(RoleStrategy {
                namespaced: scope == Scope::Namespaced,
            })
        };
        catalog.register(def, strategy)?;
    }
    Ok(())
}

fn computed(name: &str, priority: i32, f: fn(&Value) -> Value) -> PrinterColumn {
    PrinterColumn {
        name: name.into(),
        column_type: "string".into(),
        format: String::new(),
        description: String::new(),
        priority,
        source: ColumnSource::Computed(Arc::new(f)),
    }
}

/// NAME, CREATED AT (kube-apiserver's printers for roles).
fn role_columns() -> Vec<PrinterColumn> {
    vec![computed("Created At", 0, |obj| {
        obj["metadata"]["creationTimestamp"].clone()
    })]
}

/// NAME, ROLE, AGE; USERS, GROUPS, SERVICEACCOUNTS with `-o wide`.
fn binding_columns() -> Vec<PrinterColumn> {
    vec![
        computed("Role", 0, |obj| {
            let r = &obj["roleRef"];
            json!(format!(
                "{}/{}",
                r["kind"].as_str().unwrap_or_default(),
                r["name"].as_str().unwrap_or_default()
            ))
        }),
        PrinterColumn {
            name: "Age".into(),
            column_type: "date".into(),
            format: String::new(),
            description: String::new(),
            priority: 0,
            source: ColumnSource::JsonPath(".metadata.creationTimestamp".into()),
        },
        computed("Users", 1, |obj| subjects_of(obj, "User")),
        computed("Groups", 1, |obj| subjects_of(obj, "Group")),
        computed("ServiceAccounts", 1, |obj| {
            subjects_of(obj, "ServiceAccount")
        }),
    ]
}

fn subjects_of(obj: &Value, kind: &str) -> Value {
    let names: Vec<String> = obj["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["kind"] == kind)
        .map(|s| {
            let name = s["name"].as_str().unwrap_or_default();
            match s["namespace"].as_str().filter(|_| kind == "ServiceAccount") {
                Some(ns) => format!("{ns}/{name}"),
                None => name.to_owned(),
            }
        })
        .collect();
    json!(names.join(", "))
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

struct RoleStrategy {
    namespaced: bool,
}

impl Strategy for RoleStrategy {
    fn validate_name(&self, name: &str) -> Vec<String> {
        path_segment_problems(name)
    }

    fn write_guard(&self) -> Option<&dyn WriteGuard> {
        Some(&escalation::EscalationCheck)
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (i, rule) in obj["rules"].as_array().into_iter().flatten().enumerate() {
            let at = |f: &str| format!("rules[{i}].{f}");
            if strings(&rule["verbs"]).is_empty() {
                errors.push(FieldError::required(
                    &at("verbs"),
                    "verbs must contain at least one value",
                ));
            }
            let urls = strings(&rule["nonResourceURLs"]);
            if !urls.is_empty() {
                if self.namespaced {
                    errors.push(FieldError::invalid_raw(
                        &at("nonResourceURLs"),
                        &go_strings(&urls),
                        "namespaced rules cannot apply to non-resource URLs",
                    ));
                }
                let resourceful = ["apiGroups", "resources", "resourceNames"]
                    .iter()
                    .any(|f| !strings(&rule[*f]).is_empty());
                if resourceful {
                    errors.push(FieldError::invalid_raw(
                        &at("nonResourceURLs"),
                        &go_strings(&urls),
                        "rules cannot apply to both regular resources and non-resource URLs",
                    ));
                }
                continue;
            }
            if strings(&rule["apiGroups"]).is_empty() {
                errors.push(FieldError::required(
                    &at("apiGroups"),
                    "resource rules must supply at least one api group",
                ));
            }
            if strings(&rule["resources"]).is_empty() {
                errors.push(FieldError::required(
                    &at("resources"),
                    "resource rules must supply at least one resource",
                ));
            }
        }
        errors
    }
}

struct BindingStrategy {
    namespaced: bool,
}

impl Strategy for BindingStrategy {
    fn validate_name(&self, name: &str) -> Vec<String> {
        path_segment_problems(name)
    }

    fn write_guard(&self) -> Option<&dyn WriteGuard> {
        Some(&escalation::EscalationCheck)
    }

    /// `SetDefaults_Subject`: User and Group subjects belong to the RBAC group.
    fn default(&self, obj: &mut Value) {
        if let Some(subjects) = obj["subjects"].as_array_mut() {
            for subject in subjects {
                let kind = subject["kind"].as_str().unwrap_or_default().to_owned();
                let empty = subject["apiGroup"].as_str().unwrap_or_default().is_empty();
                if empty && matches!(kind.as_str(), "User" | "Group") {
                    subject["apiGroup"] = json!(GROUP);
                }
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let role_ref = &obj["roleRef"];
        let kind = role_ref["kind"].as_str().unwrap_or_default();
        if !kind.is_empty() && kind != "Role" && kind != "ClusterRole" {
            errors.push(FieldError::not_supported(
                "roleRef.kind",
                &json!(kind),
                &["Role", "ClusterRole"],
            ));
        }
        if !self.namespaced && kind == "Role" {
            errors.push(FieldError::not_supported(
                "roleRef.kind",
                &json!(kind),
                &["ClusterRole"],
            ));
        }
        let name = role_ref["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            errors.push(FieldError::required("roleRef.name", ""));
        } else {
            for problem in path_segment_problems(name) {
                errors.push(FieldError::invalid("roleRef.name", &json!(name), &problem));
            }
        }
        if role_ref["apiGroup"].as_str().unwrap_or_default() != GROUP {
            let api_group = role_ref["apiGroup"].as_str().unwrap_or_default();
            errors.push(FieldError::not_supported(
                "roleRef.apiGroup",
                &json!(api_group),
                &[GROUP],
            ));
        }
        for (i, subject) in obj["subjects"].as_array().into_iter().flatten().enumerate() {
            errors.extend(self.validate_subject(subject, &format!("subjects[{i}]")));
        }
        errors
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        if new["roleRef"] == old["roleRef"] {
            return Vec::new();
        }
        let r = &new["roleRef"];
        let printed = format!(
            "rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}",
            r["apiGroup"].as_str().unwrap_or_default(),
            r["kind"].as_str().unwrap_or_default(),
            r["name"].as_str().unwrap_or_default()
        );
        vec![FieldError::invalid_raw(
            "roleRef",
            &printed,
            "cannot change roleRef",
        )]
    }
}

impl BindingStrategy {
    /// `ValidateRoleBindingSubject`.
    fn validate_subject(&self, subject: &Value, path: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let at = |f: &str| format!("{path}.{f}");
        let name = subject["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            errors.push(FieldError::required(&at("name"), ""));
        }
        let api_group = subject["apiGroup"].as_str().unwrap_or_default();
        match subject["kind"].as_str().unwrap_or_default() {
            "ServiceAccount" => {
                if !name.is_empty() {
                    for problem in crate::meta::dns1123_subdomain_problems(name) {
                        errors.push(FieldError::invalid(&at("name"), &json!(name), &problem));
                    }
                }
                if !api_group.is_empty() {
                    errors.push(FieldError::not_supported(
                        &at("apiGroup"),
                        &json!(api_group),
                        &[""],
                    ));
                }
                if !self.namespaced && subject["namespace"].as_str().unwrap_or_default().is_empty()
                {
                    errors.push(FieldError::required(&at("namespace"), ""));
                }
            }
            "User" | "Group" => {
                if api_group != GROUP {
                    errors.push(FieldError::not_supported(
                        &at("apiGroup"),
                        &json!(api_group),
                        &[GROUP],
                    ));
                }
            }
            other => errors.push(FieldError::not_supported(
                &at("kind"),
                &json!(other),
                &["ServiceAccount", "User", "Group"],
            )),
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_need_verbs_groups_and_resources_or_only_urls_on_cluster_roles() {
        let role = RoleStrategy { namespaced: true };
        let errors = role.validate(&json!({"rules": [{"resources": ["pods"]}, {"verbs": ["get"], "nonResourceURLs": ["/x"]}]}));
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(text, [
            "rules[0].verbs: Required value: verbs must contain at least one value",
            "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
            "rules[1].nonResourceURLs: Invalid value: []string{\"/x\"}: namespaced rules cannot apply to non-resource URLs",
        ]);
        let cluster = RoleStrategy { namespaced: false };
        assert!(cluster
            .validate(&json!({"rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]}))
            .is_empty());
    }

    #[test]
    fn bindings_default_subject_groups_and_keep_role_ref() {
        let binding = BindingStrategy { namespaced: true };
        let mut obj = json!({"roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "r"},
                             "subjects": [{"kind": "User", "name": "alice"}]});
        binding.default(&mut obj);
        assert_eq!(obj["subjects"][0]["apiGroup"], GROUP);
        assert!(binding.validate(&obj).is_empty());
        let mut changed = obj.clone();
        changed["roleRef"]["name"] = json!("other");
        assert_eq!(
            binding.validate_update(&changed, &obj)[0].to_string(),
            "roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"other\"}: cannot change roleRef"
        );
    }

    #[test]
    fn names_are_path_segments() {
        assert!(path_segment_problems("system:basic-user").is_empty());
        assert_eq!(path_segment_problems("a/b"), ["may not contain '/'"]);
    }
}
