//! authorization.k8s.io/v1 messages: SubjectAccessReview, LocalSubjectAccessReview,
//! SelfSubjectAccessReview, SelfSubjectRulesReview (without their `status`).
//!
//! Field numbers from k8s.io/api `authorization/v1/generated.proto`; JSON from its `types.go`.

use std::collections::BTreeMap;

use prost::Message;

use super::meta::{self, ObjectMeta, Requirement};
use super::{Fields, Object, Result};

/// The group version of these kinds.
pub(super) const GROUP_VERSION: &str = "authorization.k8s.io/v1";

/// `SubjectAccessReview` and `LocalSubjectAccessReview`, alike on the wire and in JSON.
#[derive(Clone, PartialEq, Message)]
pub(super) struct SubjectAccessReview {
    #[prost(message, optional, tag = "1")]
    pub(super) metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub(super) spec: Option<SubjectAccessReviewSpec>,
}

/// `SubjectAccessReviewSpec`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct SubjectAccessReviewSpec {
    #[prost(message, optional, tag = "1")]
    pub(super) resource_attributes: Option<ResourceAttributes>,
    #[prost(message, optional, tag = "2")]
    pub(super) non_resource_attributes: Option<NonResourceAttributes>,
    #[prost(string, optional, tag = "3")]
    pub(super) user: Option<String>,
    #[prost(string, repeated, tag = "4")]
    pub(super) groups: Vec<String>,
    #[prost(btree_map = "string, message", tag = "5")]
    pub(super) extra: BTreeMap<String, ExtraValue>,
    #[prost(string, optional, tag = "6")]
    pub(super) uid: Option<String>,
}

/// `ExtraValue`: a list of strings, written as a JSON array.
#[derive(Clone, PartialEq, Message)]
pub(super) struct ExtraValue {
    #[prost(string, repeated, tag = "1")]
    pub(super) items: Vec<String>,
}

impl Object for SubjectAccessReview {
    fn into_fields(self) -> Result<Fields> {
        let spec = self.spec.unwrap_or_default();
        let extra: BTreeMap<String, Vec<String>> =
            spec.extra.into_iter().map(|(k, v)| (k, v.items)).collect();
        let spec = attributes(spec.resource_attributes, spec.non_resource_attributes)
            .string("user", spec.user)
            .list("groups", spec.groups)
            .map("extra", extra)
            .string("uid", spec.uid);
        Ok(Fields::default()
            .object("metadata", meta::metadata(self.metadata)?)
            .object("spec", spec))
    }
}

/// `SelfSubjectAccessReview`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct SelfSubjectAccessReview {
    #[prost(message, optional, tag = "1")]
    pub(super) metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub(super) spec: Option<SelfSubjectAccessReviewSpec>,
}

/// `SelfSubjectAccessReviewSpec`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct SelfSubjectAccessReviewSpec {
    #[prost(message, optional, tag = "1")]
    pub(super) resource_attributes: Option<ResourceAttributes>,
    #[prost(message, optional, tag = "2")]
    pub(super) non_resource_attributes: Option<NonResourceAttributes>,
}

impl Object for SelfSubjectAccessReview {
    fn into_fields(self) -> Result<Fields> {
        let spec = self.spec.unwrap_or_default();
        Ok(Fields::default()
            .object("metadata", meta::metadata(self.metadata)?)
            .object(
                "spec",
                attributes(spec.resource_attributes, spec.non_resource_attributes),
            ))
    }
}

/// `ResourceAttributes`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct ResourceAttributes {
    #[prost(string, optional, tag = "1")]
    pub(super) namespace: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub(super) verb: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub(super) group: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub(super) version: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub(super) resource: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub(super) subresource: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub(super) name: Option<String>,
    #[prost(message, optional, tag = "8")]
    pub(super) field_selector: Option<SelectorAttributes>,
    #[prost(message, optional, tag = "9")]
    pub(super) label_selector: Option<SelectorAttributes>,
}

/// `FieldSelectorAttributes` and `LabelSelectorAttributes`, alike on the wire and in JSON.
#[derive(Clone, PartialEq, Message)]
pub(super) struct SelectorAttributes {
    #[prost(string, optional, tag = "1")]
    pub(super) raw_selector: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub(super) requirements: Vec<Requirement>,
}

/// `NonResourceAttributes`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct NonResourceAttributes {
    #[prost(string, optional, tag = "1")]
    pub(super) path: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub(super) verb: Option<String>,
}

/// The two pointer fields both access review specs start with.
fn attributes(
    resource: Option<ResourceAttributes>,
    non_resource: Option<NonResourceAttributes>,
) -> Fields {
    let selector = |s: SelectorAttributes| {
        Fields::default()
            .string("rawSelector", s.raw_selector)
            .list("requirements", meta::requirements(s.requirements))
    };
    let resource = resource.map(|r| {
        Fields::default()
            .string("namespace", r.namespace)
            .string("verb", r.verb)
            .string("group", r.group)
            .string("version", r.version)
            .string("resource", r.resource)
            .string("subresource", r.subresource)
            .string("name", r.name)
            .pointer("fieldSelector", r.field_selector.map(selector))
            .pointer("labelSelector", r.label_selector.map(selector))
    });
    let non_resource = non_resource.map(|n| {
        Fields::default()
            .string("path", n.path)
            .string("verb", n.verb)
    });
    Fields::default()
        .pointer("resourceAttributes", resource)
        .pointer("nonResourceAttributes", non_resource)
}

/// `SelfSubjectRulesReview`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct SelfSubjectRulesReview {
    #[prost(message, optional, tag = "1")]
    pub(super) metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub(super) spec: Option<SelfSubjectRulesReviewSpec>,
}

/// `SelfSubjectRulesReviewSpec`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct SelfSubjectRulesReviewSpec {
    #[prost(string, optional, tag = "1")]
    pub(super) namespace: Option<String>,
}

impl Object for SelfSubjectRulesReview {
    fn into_fields(self) -> Result<Fields> {
        let spec = self.spec.unwrap_or_default();
        Ok(Fields::default()
            .object("metadata", meta::metadata(self.metadata)?)
            .object(
                "spec",
                Fields::default().string("namespace", spec.namespace),
            ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{decode, envelope, some};
    use super::*;

    fn get_pods() -> ResourceAttributes {
        ResourceAttributes {
            namespace: some("ns1"),
            verb: some("list"),
            group: some(""),
            resource: some("pods"),
            ..ResourceAttributes::default()
        }
    }

    #[test]
    fn self_subject_access_review_keeps_selectors() {
        let review = SelfSubjectAccessReview {
            metadata: Some(ObjectMeta::default()),
            spec: Some(SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    field_selector: Some(SelectorAttributes {
                        raw_selector: some("spec.nodeName=n1"),
                        requirements: vec![],
                    }),
                    label_selector: Some(SelectorAttributes {
                        raw_selector: None,
                        requirements: vec![Requirement {
                            key: some("app"),
                            operator: some("Exists"),
                            values: vec![],
                        }],
                    }),
                    ..get_pods()
                }),
                non_resource_attributes: None,
            }),
        };
        let body = envelope(GROUP_VERSION, "SelfSubjectAccessReview", &review);
        assert_eq!(
            decode(&body).unwrap(),
            json!({
                "apiVersion": GROUP_VERSION, "kind": "SelfSubjectAccessReview", "metadata": {},
                "spec": {"resourceAttributes": {
                    "namespace": "ns1", "verb": "list", "resource": "pods",
                    "fieldSelector": {"rawSelector": "spec.nodeName=n1"},
                    "labelSelector": {"requirements": [{"key": "app", "operator": "Exists"}]},
                }},
            })
        );
    }

    #[test]
    fn subject_access_review_writes_user_groups_and_extra() {
        let review = SubjectAccessReview {
            metadata: Some(ObjectMeta {
                namespace: some("ns1"),
                ..ObjectMeta::default()
            }),
            spec: Some(SubjectAccessReviewSpec {
                resource_attributes: None,
                non_resource_attributes: Some(NonResourceAttributes {
                    path: some("/healthz"),
                    verb: some("get"),
                }),
                user: some("alice"),
                groups: vec!["devs".into()],
                extra: BTreeMap::from([(
                    "scopes".into(),
                    ExtraValue {
                        items: vec!["a".into(), "b".into()],
                    },
                )]),
                uid: some(""),
            }),
        };
        for kind in ["SubjectAccessReview", "LocalSubjectAccessReview"] {
            assert_eq!(
                decode(&envelope(GROUP_VERSION, kind, &review)).unwrap(),
                json!({
                    "apiVersion": GROUP_VERSION, "kind": kind, "metadata": {"namespace": "ns1"},
                    "spec": {
                        "nonResourceAttributes": {"path": "/healthz", "verb": "get"},
                        "user": "alice", "groups": ["devs"], "extra": {"scopes": ["a", "b"]},
                    },
                })
            );
        }
    }

    #[test]
    fn self_subject_rules_review_writes_namespace() {
        let review = SelfSubjectRulesReview {
            metadata: None,
            spec: Some(SelfSubjectRulesReviewSpec {
                namespace: some("ns1"),
            }),
        };
        let body = envelope(GROUP_VERSION, "SelfSubjectRulesReview", &review);
        assert_eq!(
            decode(&body).unwrap(),
            json!({
                "apiVersion": GROUP_VERSION, "kind": "SelfSubjectRulesReview", "metadata": {},
                "spec": {"namespace": "ns1"},
            })
        );
    }
}
