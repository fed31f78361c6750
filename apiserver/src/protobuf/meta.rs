//! meta/v1 messages: ObjectMeta, Time, label selectors, DeleteOptions.
//!
//! Field numbers from k8s.io/apimachinery `pkg/apis/meta/v1/generated.proto`; JSON names and
//! `omitempty` from its `types.go`.

use std::collections::BTreeMap;

use k8s_openapi::jiff;
use prost::Message;

use super::{DecodeError, Fields, Object, Result};

/// `ObjectMeta`. `managedFields` (17) is not declared, so it is skipped.
#[derive(Clone, PartialEq, Message)]
pub(super) struct ObjectMeta {
    #[prost(string, optional, tag = "1")]
    pub(super) name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub(super) generate_name: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub(super) namespace: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub(super) self_link: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub(super) uid: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub(super) resource_version: Option<String>,
    #[prost(int64, optional, tag = "7")]
    pub(super) generation: Option<i64>,
    #[prost(message, optional, tag = "8")]
    pub(super) creation_timestamp: Option<Time>,
    #[prost(message, optional, tag = "9")]
    pub(super) deletion_timestamp: Option<Time>,
    #[prost(int64, optional, tag = "10")]
    pub(super) deletion_grace_period_seconds: Option<i64>,
    #[prost(btree_map = "string, string", tag = "11")]
    pub(super) labels: BTreeMap<String, String>,
    #[prost(btree_map = "string, string", tag = "12")]
    pub(super) annotations: BTreeMap<String, String>,
    #[prost(message, repeated, tag = "13")]
    pub(super) owner_references: Vec<OwnerReference>,
    #[prost(string, repeated, tag = "14")]
    pub(super) finalizers: Vec<String>,
}

/// The `metadata` of an object: a struct, so always written (`{}` when absent).
pub(super) fn metadata(meta: Option<ObjectMeta>) -> Result<Fields> {
    let meta = meta.unwrap_or_default();
    let owner_references: Vec<Fields> = meta
        .owner_references
        .into_iter()
        .map(OwnerReference::into_fields)
        .collect();
    Ok(Fields::default()
        .string("name", meta.name)
        .string("generateName", meta.generate_name)
        .string("namespace", meta.namespace)
        .string("selfLink", meta.self_link)
        .string("uid", meta.uid)
        .string("resourceVersion", meta.resource_version)
        .int("generation", meta.generation)
        .pointer("creationTimestamp", rfc3339(meta.creation_timestamp)?)
        .pointer("deletionTimestamp", rfc3339(meta.deletion_timestamp)?)
        .pointer(
            "deletionGracePeriodSeconds",
            meta.deletion_grace_period_seconds,
        )
        .map("labels", meta.labels)
        .map("annotations", meta.annotations)
        .list("ownerReferences", owner_references)
        .list("finalizers", meta.finalizers))
}

/// `Time`: whole seconds since 1970 (`nanos` is never written by Kubernetes, and ignored).
#[derive(Clone, PartialEq, Message)]
pub(super) struct Time {
    #[prost(int64, optional, tag = "1")]
    pub(super) seconds: Option<i64>,
    #[prost(int32, optional, tag = "2")]
    pub(super) nanos: Option<i32>,
}

/// `0000-01-01T00:00:00Z` and `9999-12-31T23:59:59Z`, the bounds of Go's `Time.MarshalJSON`.
const SECONDS: std::ops::RangeInclusive<i64> = -62_167_219_200..=253_402_300_799;

/// A time as Go's `Time.MarshalJSON` writes it (RFC 3339, UTC, whole seconds); `None` for
/// the zero time, which gogo-protobuf writes as an empty message.
fn rfc3339(time: Option<Time>) -> Result<Option<String>> {
    let Some(Time {
        seconds: Some(seconds),
        ..
    }) = time
    else {
        return Ok(None);
    };
    if !SECONDS.contains(&seconds) {
        return Err(DecodeError::TimeOutOfRange(seconds));
    }
    let timestamp =
        jiff::Timestamp::from_second(seconds).map_err(|_| DecodeError::TimeOutOfRange(seconds))?;
    jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%SZ", timestamp)
        .map(Some)
        .map_err(|_| DecodeError::TimeOutOfRange(seconds))
}

/// `OwnerReference`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct OwnerReference {
    #[prost(string, optional, tag = "5")]
    pub(super) api_version: Option<String>,
    #[prost(string, optional, tag = "1")]
    pub(super) kind: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub(super) name: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub(super) uid: Option<String>,
    #[prost(bool, optional, tag = "6")]
    pub(super) controller: Option<bool>,
    #[prost(bool, optional, tag = "7")]
    pub(super) block_owner_deletion: Option<bool>,
}

impl OwnerReference {
    fn into_fields(self) -> Fields {
        Fields::default()
            .required_string("apiVersion", self.api_version)
            .required_string("kind", self.kind)
            .required_string("name", self.name)
            .required_string("uid", self.uid)
            .pointer("controller", self.controller)
            .pointer("blockOwnerDeletion", self.block_owner_deletion)
    }
}

/// `LabelSelector`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct LabelSelector {
    #[prost(btree_map = "string, string", tag = "1")]
    pub(super) match_labels: BTreeMap<String, String>,
    #[prost(message, repeated, tag = "2")]
    pub(super) match_expressions: Vec<Requirement>,
}

impl LabelSelector {
    pub(super) fn into_fields(self) -> Fields {
        Fields::default()
            .map("matchLabels", self.match_labels)
            .list("matchExpressions", requirements(self.match_expressions))
    }
}

/// `LabelSelectorRequirement` and `FieldSelectorRequirement`, alike on the wire and in JSON.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Requirement {
    #[prost(string, optional, tag = "1")]
    pub(super) key: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub(super) operator: Option<String>,
    #[prost(string, repeated, tag = "3")]
    pub(super) values: Vec<String>,
}

/// The JSON of selector requirements.
pub(super) fn requirements(requirements: Vec<Requirement>) -> Vec<Fields> {
    let into_fields = |r: Requirement| {
        Fields::default()
            .required_string("key", r.key)
            .required_string("operator", r.operator)
            .list("values", r.values)
    };
    requirements.into_iter().map(into_fields).collect()
}

/// `DeleteOptions`. Every field but `dryRun` is a Go pointer: written whenever set.
#[derive(Clone, PartialEq, Message)]
pub(super) struct DeleteOptions {
    #[prost(int64, optional, tag = "1")]
    pub(super) grace_period_seconds: Option<i64>,
    #[prost(message, optional, tag = "2")]
    pub(super) preconditions: Option<Preconditions>,
    #[prost(bool, optional, tag = "3")]
    pub(super) orphan_dependents: Option<bool>,
    #[prost(string, optional, tag = "4")]
    pub(super) propagation_policy: Option<String>,
    #[prost(string, repeated, tag = "5")]
    pub(super) dry_run: Vec<String>,
    #[prost(bool, optional, tag = "6")]
    pub(super) ignore_store_read_error_with_cluster_breaking_potential: Option<bool>,
}

/// `Preconditions`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Preconditions {
    #[prost(string, optional, tag = "1")]
    pub(super) uid: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub(super) resource_version: Option<String>,
}

impl Object for DeleteOptions {
    fn into_fields(self) -> Result<Fields> {
        let preconditions = self.preconditions.map(|p| {
            Fields::default()
                .pointer("uid", p.uid)
                .pointer("resourceVersion", p.resource_version)
        });
        Ok(Fields::default()
            .pointer("gracePeriodSeconds", self.grace_period_seconds)
            .pointer("preconditions", preconditions)
            .pointer("orphanDependents", self.orphan_dependents)
            .pointer("propagationPolicy", self.propagation_policy)
            .list("dryRun", self.dry_run)
            .pointer(
                "ignoreStoreReadErrorWithClusterBreakingPotential",
                self.ignore_store_read_error_with_cluster_breaking_potential,
            ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{decode, envelope, some};
    use super::*;

    #[test]
    fn delete_options_keep_set_pointers_even_when_zero() {
        let options = DeleteOptions {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: some("u-1"),
                resource_version: None,
            }),
            propagation_policy: some("Foreground"),
            dry_run: vec!["All".into()],
            ..DeleteOptions::default()
        };
        let body = envelope("rbac.authorization.k8s.io/v1", "DeleteOptions", &options);
        assert_eq!(
            decode(&body).unwrap(),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "DeleteOptions",
                "gracePeriodSeconds": 0,
                "preconditions": {"uid": "u-1"},
                "propagationPolicy": "Foreground",
                "dryRun": ["All"],
            })
        );
    }

    #[test]
    fn object_meta_writes_every_set_field() {
        let meta = ObjectMeta {
            name: some("a"),
            uid: some("u-1"),
            resource_version: some("7"),
            generation: Some(3),
            creation_timestamp: Some(Time {
                seconds: Some(0),
                nanos: Some(5),
            }),
            deletion_timestamp: Some(Time::default()),
            deletion_grace_period_seconds: Some(30),
            annotations: BTreeMap::from([("k".into(), "v".into())]),
            owner_references: vec![OwnerReference {
                api_version: some("v1"),
                kind: some("ConfigMap"),
                name: some("cm"),
                controller: Some(true),
                ..OwnerReference::default()
            }],
            finalizers: vec!["f".into()],
            ..ObjectMeta::default()
        };
        assert_eq!(
            serde_json::Value::from(metadata(Some(meta)).unwrap()),
            json!({
                "name": "a",
                "uid": "u-1",
                "resourceVersion": "7",
                "generation": 3,
                "creationTimestamp": "1970-01-01T00:00:00Z",
                "deletionGracePeriodSeconds": 30,
                "annotations": {"k": "v"},
                "ownerReferences": [{
                    "apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "",
                    "controller": true,
                }],
                "finalizers": ["f"],
            })
        );
    }

    #[test]
    fn time_beyond_year_9999_is_rejected() {
        let meta = ObjectMeta {
            creation_timestamp: Some(Time {
                seconds: Some(253_402_300_800),
                nanos: None,
            }),
            ..ObjectMeta::default()
        };
        let err = metadata(Some(meta)).unwrap_err();
        assert!(matches!(err, DecodeError::TimeOutOfRange(_)), "{err:?}");
    }
}
