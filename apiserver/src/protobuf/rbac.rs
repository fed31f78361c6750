//! rbac.authorization.k8s.io/v1 messages: Role, ClusterRole, RoleBinding, ClusterRoleBinding.
//!
//! Field numbers from k8s.io/api `rbac/v1/generated.proto`; JSON from `rbac/v1/types.go`.

use prost::Message;

use super::meta::{self, LabelSelector, ObjectMeta};
use super::{Fields, Object, Result};

/// The group version of these kinds.
pub(super) const GROUP_VERSION: &str = "rbac.authorization.k8s.io/v1";

/// `Role`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Role {
    #[prost(message, optional, tag = "1")]
    pub(super) metadata: Option<ObjectMeta>,
    #[prost(message, repeated, tag = "2")]
    pub(super) rules: Vec<PolicyRule>,
}

impl Object for Role {
    fn into_fields(self) -> Result<Fields> {
        Ok(Fields::default()
            .object("metadata", meta::metadata(self.metadata)?)
            .required_list("rules", rules(self.rules)))
    }
}

/// `ClusterRole`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct ClusterRole {
    #[prost(message, optional, tag = "1")]
    pub(super) metadata: Option<ObjectMeta>,
    #[prost(message, repeated, tag = "2")]
    pub(super) rules: Vec<PolicyRule>,
    #[prost(message, optional, tag = "3")]
    pub(super) aggregation_rule: Option<AggregationRule>,
}

impl Object for ClusterRole {
    fn into_fields(self) -> Result<Fields> {
        let aggregation_rule = self.aggregation_rule.map(|rule| {
            let selectors: Vec<Fields> = rule
                .cluster_role_selectors
                .into_iter()
                .map(LabelSelector::into_fields)
                .collect();
            Fields::default().list("clusterRoleSelectors", selectors)
        });
        Ok(Fields::default()
            .object("metadata", meta::metadata(self.metadata)?)
            .required_list("rules", rules(self.rules))
            .pointer("aggregationRule", aggregation_rule))
    }
}

/// `PolicyRule`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct PolicyRule {
    #[prost(string, repeated, tag = "1")]
    pub(super) verbs: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub(super) api_groups: Vec<String>,
    #[prost(string, repeated, tag = "3")]
    pub(super) resources: Vec<String>,
    #[prost(string, repeated, tag = "4")]
    pub(super) resource_names: Vec<String>,
    #[prost(string, repeated, tag = "5")]
    pub(super) non_resource_urls: Vec<String>,
}

fn rules(rules: Vec<PolicyRule>) -> Vec<Fields> {
    let into_fields = |rule: PolicyRule| {
        Fields::default()
            .required_list("verbs", rule.verbs)
            .list("apiGroups", rule.api_groups)
            .list("resources", rule.resources)
            .list("resourceNames", rule.resource_names)
            .list("nonResourceURLs", rule.non_resource_urls)
    };
    rules.into_iter().map(into_fields).collect()
}

/// `AggregationRule`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct AggregationRule {
    #[prost(message, repeated, tag = "1")]
    pub(super) cluster_role_selectors: Vec<LabelSelector>,
}

/// `RoleBinding` and `ClusterRoleBinding`, alike on the wire and in JSON.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Binding {
    #[prost(message, optional, tag = "1")]
    pub(super) metadata: Option<ObjectMeta>,
    #[prost(message, repeated, tag = "2")]
    pub(super) subjects: Vec<Subject>,
    #[prost(message, optional, tag = "3")]
    pub(super) role_ref: Option<RoleRef>,
}

/// `Subject`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Subject {
    #[prost(string, optional, tag = "1")]
    pub(super) kind: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub(super) api_group: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub(super) name: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub(super) namespace: Option<String>,
}

/// `RoleRef`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct RoleRef {
    #[prost(string, optional, tag = "1")]
    pub(super) api_group: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub(super) kind: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub(super) name: Option<String>,
}

impl Object for Binding {
    fn into_fields(self) -> Result<Fields> {
        let subjects: Vec<Fields> = self
            .subjects
            .into_iter()
            .map(|subject| {
                Fields::default()
                    .required_string("kind", subject.kind)
                    .string("apiGroup", subject.api_group)
                    .required_string("name", subject.name)
                    .string("namespace", subject.namespace)
            })
            .collect();
        let role_ref = self.role_ref.unwrap_or_default();
        Ok(Fields::default()
            .object("metadata", meta::metadata(self.metadata)?)
            .list("subjects", subjects)
            .object(
                "roleRef",
                Fields::default()
                    .required_string("apiGroup", role_ref.api_group)
                    .required_string("kind", role_ref.kind)
                    .required_string("name", role_ref.name),
            ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::super::meta::Requirement;
    use super::super::{decode, envelope, some};
    use super::*;

    fn named(name: &str) -> Option<ObjectMeta> {
        Some(ObjectMeta {
            name: some(name),
            generate_name: some(""),
            generation: Some(0),
            creation_timestamp: Some(meta::Time::default()),
            ..ObjectMeta::default()
        })
    }

    #[test]
    fn role_without_rules_still_has_rules() {
        let role = Role {
            metadata: named("empty"),
            rules: vec![],
        };
        assert_eq!(
            decode(&envelope(GROUP_VERSION, "Role", &role)).unwrap(),
            json!({
                "apiVersion": GROUP_VERSION, "kind": "Role",
                "metadata": {"name": "empty"}, "rules": [],
            })
        );
    }

    #[test]
    fn cluster_role_keeps_aggregation_rule_and_non_resource_urls() {
        let role = ClusterRole {
            metadata: named("agg"),
            rules: vec![PolicyRule {
                verbs: vec!["get".into()],
                non_resource_urls: vec!["/healthz".into()],
                ..PolicyRule::default()
            }],
            aggregation_rule: Some(AggregationRule {
                cluster_role_selectors: vec![LabelSelector {
                    match_labels: BTreeMap::from([("agg".into(), "true".into())]),
                    match_expressions: vec![Requirement {
                        key: some("tier"),
                        operator: some("In"),
                        values: vec!["a".into(), "b".into()],
                    }],
                }],
            }),
        };
        assert_eq!(
            decode(&envelope(GROUP_VERSION, "ClusterRole", &role)).unwrap(),
            json!({
                "apiVersion": GROUP_VERSION, "kind": "ClusterRole",
                "metadata": {"name": "agg"},
                "rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}],
                "aggregationRule": {"clusterRoleSelectors": [{
                    "matchLabels": {"agg": "true"},
                    "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}],
                }]},
            })
        );
    }

    #[test]
    fn bindings_write_subjects_and_role_ref() {
        let binding = Binding {
            metadata: named("b"),
            subjects: vec![
                Subject {
                    kind: some("User"),
                    api_group: some("rbac.authorization.k8s.io"),
                    name: some("alice"),
                    namespace: some(""),
                },
                Subject {
                    kind: some("ServiceAccount"),
                    api_group: some(""),
                    name: some("robot"),
                    namespace: some("ns1"),
                },
            ],
            role_ref: Some(RoleRef {
                api_group: some("rbac.authorization.k8s.io"),
                kind: some("ClusterRole"),
                name: some("view"),
            }),
        };
        for kind in ["RoleBinding", "ClusterRoleBinding"] {
            assert_eq!(
                decode(&envelope(GROUP_VERSION, kind, &binding)).unwrap(),
                json!({
                    "apiVersion": GROUP_VERSION, "kind": kind,
                    "metadata": {"name": "b"},
                    "subjects": [
                        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
                        {"kind": "ServiceAccount", "name": "robot", "namespace": "ns1"},
                    ],
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view",
                    },
                })
            );
        }
    }

    #[test]
    fn binding_without_role_ref_still_has_role_ref() {
        let binding = Binding::default();
        assert_eq!(
            decode(&envelope(GROUP_VERSION, "RoleBinding", &binding)).unwrap(),
            json!({
                "apiVersion": GROUP_VERSION, "kind": "RoleBinding", "metadata": {},
                "roleRef": {"apiGroup": "", "kind": "", "name": ""},
            })
        );
    }
}
