//! The metadata checks, case by case, with the causes and messages of kube-apiserver v1.33.

use serde_json::{json, Value};

use super::*;
use crate::errors::ApiError;

/// `RegexError` of a qualified name's name part (written out: this is the specification).
pub(super) const QUALIFIED: &str =
    "must consist of alphanumeric characters, '-', '_' or '.', and must \
    start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', \
    regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
pub(super) const LABEL_VALUE: &str =
    "a valid label must be an empty string or consist of alphanumeric \
    characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. \
    'MyValue',  or 'my_value',  or '12345', regex used for validation is \
    '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
pub(super) const SUBDOMAIN: &str =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
    characters, '-' or '.', and must start and end with an alphanumeric character (e.g. \
    'example.com', regex used for validation is \
    '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
    characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  \
    or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
pub(super) const INVALID: &str = "FieldValueInvalid";

/// A 422 cause: field, reason, message.
pub(super) type Cause = (String, String, String);

pub(super) fn cause(field: &str, reason: &str, message: &str) -> Cause {
    (field.into(), reason.into(), message.into())
}

pub(super) fn invalid(field: &str, message: &str) -> Cause {
    cause(field, INVALID, message)
}

pub(super) fn causes(errors: &[FieldError]) -> Vec<Cause> {
    let status = ApiError::invalid("ClusterDeployment", "fleet.k0rdent.io", "web", errors);
    let details = status.status().details.clone().unwrap_or_default();
    details
        .causes
        .into_iter()
        .map(|c| (c.field, c.reason, c.message))
        .collect()
}

/// The top-level message of the 422.
fn message(errors: &[FieldError]) -> String {
    let status = ApiError::invalid("ClusterDeployment", "fleet.k0rdent.io", "web", errors);
    status.status().message.clone()
}

/// The name rules of the fleet kinds: `NameIsDNSSubdomain`.
fn subdomain(name: &str, prefix: bool) -> Vec<String> {
    match prefix {
        true => meta::dns1123_subdomain_problems(&meta::mask_trailing_dash(name)),
        false => meta::dns1123_subdomain_problems(name),
    }
}

/// Valid metadata with `changes` merged into it (a `null` removes a field).
pub(super) fn metadata(changes: Value) -> Value {
    let mut metadata = json!({"name": "web", "namespace": "team-a"});
    for (k, v) in changes.as_object().unwrap() {
        match v {
            Value::Null => metadata.as_object_mut().unwrap().remove(k),
            v => metadata
                .as_object_mut()
                .unwrap()
                .insert(k.clone(), v.clone()),
        };
    }
    json!({"apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "ClusterDeployment", "metadata": metadata})
}

fn on_create(changes: Value) -> Vec<FieldError> {
    validate(&metadata(changes), true, &subdomain)
}

#[test]
fn valid_metadata_has_no_errors() {
    let errors = on_create(json!({
        "generateName": "web-",
        "labels": {"app.kubernetes.io/name": "web", "env": "", "tier": "a_b.c-D9"},
        "annotations": {
            "Example.COM/Note": "anything at all: ✓ \n",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        },
        "finalizers": ["example.com/hold", "orphan", "example.com/hold"],
        "ownerReferences": [
            {"apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "ClusterTemplate", "name": "t",
             "uid": "1", "controller": true, "blockOwnerDeletion": true},
            {"apiVersion": "v1", "kind": "Namespace", "name": "team-a", "uid": "2",
             "controller": false},
        ],
        "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update",
            "apiVersion": "fleet.k0rdent.io/v1alpha1", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {}}, "subresource": "status"}],
    }));
    assert_eq!(causes(&errors), Vec::<Cause>::new());
}

#[test]
fn bad_metadata_answers_upstreams_causes_and_message() {
    let long_value = "x".repeat(93);
    let owner = |name: &str, uid: &str| {
        json!({"apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "ClusterTemplate",
               "name": name, "uid": uid, "controller": true})
    };
    let ref_go = |name: &str, uid: &str| {
        format!(
            "v1.OwnerReference{{APIVersion:\"fleet.k0rdent.io/v1alpha1\", Kind:\"ClusterTemplate\", \
             Name:\"{name}\", UID:\"{uid}\", Controller:(*bool)(0xc000000000), \
             BlockOwnerDeletion:(*bool)(nil)}}"
        )
    };
    let cases: Vec<(&str, Value, Vec<Cause>)> = vec![
        (
            "a label value of 93 characters",
            json!({"labels": {"env": long_value}}),
            vec![invalid(
                "metadata.labels",
                &format!("Invalid value: \"{long_value}\": must be no more than 63 characters"),
            )],
        ),
        (
            "a label key starting with a dash",
            json!({"labels": {"-bad": "ok"}}),
            vec![invalid(
                "metadata.labels",
                &format!("Invalid value: \"-bad\": name part {QUALIFIED}"),
            )],
        ),
        (
            "a label value with bad characters, and an empty label key",
            json!({"labels": {"": "-x"}}),
            vec![
                invalid(
                    "metadata.labels",
                    "Invalid value: \"\": name part must be non-empty",
                ),
                invalid(
                    "metadata.labels",
                    &format!("Invalid value: \"\": name part {QUALIFIED}"),
                ),
                invalid(
                    "metadata.labels",
                    &format!("Invalid value: \"-x\": {LABEL_VALUE}"),
                ),
            ],
        ),
        (
            "label key prefixes: upper case, empty; a name part of 64",
            json!({"labels": {"Example.com/a": "", "/b": "", &format!("c/{}", "n".repeat(64)): ""}}),
            vec![
                invalid(
                    "metadata.labels",
                    "Invalid value: \"/b\": prefix part must be non-empty",
                ),
                invalid(
                    "metadata.labels",
                    &format!("Invalid value: \"Example.com/a\": prefix part {SUBDOMAIN}"),
                ),
                invalid(
                    "metadata.labels",
                    &format!(
                        "Invalid value: \"c/{}\": name part must be no more than 63 characters",
                        "n".repeat(64)
                    ),
                ),
            ],
        ),
        (
            "an annotation key with two slashes (upper case is fine)",
            json!({"annotations": {"x/y/z": "", "Example.COM/Fine": ""}}),
            vec![invalid(
                "metadata.annotations",
                &format!(
                    "Invalid value: \"x/y/z\": a qualified name {QUALIFIED} with an optional DNS \
                     subdomain prefix and '/' (e.g. 'example.com/MyName')"
                ),
            )],
        ),
        (
            "annotations of 300 KB",
            json!({"annotations": {"big": "x".repeat(300_000)}}),
            vec![cause(
                "metadata.annotations",
                "FieldValueTooLong",
                "Too long: may not be more than 262144 bytes",
            )],
        ),
        (
            "a finalizer with a space",
            json!({"finalizers": ["bad finalizer"]}),
            vec![invalid(
                "metadata.finalizers",
                &format!("Invalid value: \"bad finalizer\": name part {QUALIFIED}"),
            )],
        ),
        (
            "orphan and foregroundDeletion together",
            json!({"finalizers": ["orphan", "foregroundDeletion"]}),
            vec![invalid(
                "metadata.finalizers",
                "Invalid value: []string{\"orphan\", \"foregroundDeletion\"}: finalizer orphan \
                 and foregroundDeletion cannot be both set",
            )],
        ),
        (
            "an owner reference with nothing set",
            json!({"ownerReferences": [{}]}),
            vec![
                invalid(
                    "metadata.ownerReferences.apiVersion",
                    "Invalid value: \"\": version must not be empty",
                ),
                invalid(
                    "metadata.ownerReferences.kind",
                    "Invalid value: \"\": kind must not be empty",
                ),
                invalid(
                    "metadata.ownerReferences.name",
                    "Invalid value: \"\": name must not be empty",
                ),
                invalid(
                    "metadata.ownerReferences.uid",
                    "Invalid value: \"\": uid must not be empty",
                ),
            ],
        ),
        (
            "an owner apiVersion without a version, and an Event owner",
            json!({"ownerReferences": [
                {"apiVersion": "fleet.k0rdent.io/", "kind": "K", "name": "n", "uid": "1"},
                {"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "2"},
            ]}),
            vec![
                invalid(
                    "metadata.ownerReferences.apiVersion",
                    "Invalid value: \"fleet.k0rdent.io/\": version must not be empty",
                ),
                invalid(
                    "metadata.ownerReferences",
                    "Invalid value: v1.OwnerReference{APIVersion:\"v1\", Kind:\"Event\", \
                     Name:\"e\", UID:\"2\", Controller:(*bool)(nil), \
                     BlockOwnerDeletion:(*bool)(nil)}: /v1, Kind=Event is disallowed from \
                     being an owner",
                ),
            ],
        ),
        (
            "two controller owners",
            json!({"ownerReferences": [owner("a", "1"), owner("b", "2")]}),
            vec![invalid(
                "metadata.ownerReferences",
                &format!(
                    "Invalid value: []v1.OwnerReference{{{}, {}}}: Only one reference can have \
                     Controller set to true. Found \"true\" in references for \
                     ClusterTemplate/a and ClusterTemplate/b",
                    ref_go("a", "1"),
                    ref_go("b", "2")
                ),
            )],
        ),
        (
            "managed fields: operation, fieldsType, manager, subresource",
            json!({"managedFields": [{"manager": "x".repeat(129), "operation": "Replace",
                "fieldsType": "FieldsV2", "subresource": "s".repeat(257)},
                {"manager": "a\u{7}b", "operation": "Apply"}]}),
            vec![
                invalid(
                    "metadata.managedFields[0].operation",
                    "Invalid value: \"Replace\": must be `Apply` or `Update`",
                ),
                invalid(
                    "metadata.managedFields[0].fieldsType",
                    "Invalid value: \"FieldsV2\": must be `FieldsV1`",
                ),
                cause(
                    "metadata.managedFields[0].manager",
                    "FieldValueTooLong",
                    "Too long: may not be more than 128 bytes",
                ),
                cause(
                    "metadata.managedFields[0].subresource",
                    "FieldValueTooLong",
                    "Too long: may not be more than 256 bytes",
                ),
                invalid(
                    "metadata.managedFields[1].manager",
                    "Invalid value: \"a\\ab\": invalid character U+0007 (at position 1)",
                ),
            ],
        ),
        (
            "an invalid generateName (and so name)",
            json!({"generateName": "Web_", "name": "Web_x2k4z"}),
            vec![
                invalid(
                    "metadata.generateName",
                    &format!("Invalid value: \"Web_\": {SUBDOMAIN}"),
                ),
                invalid(
                    "metadata.name",
                    &format!("Invalid value: \"Web_x2k4z\": {SUBDOMAIN}"),
                ),
            ],
        ),
        (
            "a generateName of a lone dash (masked only from two characters on)",
            json!({"generateName": "-", "name": "xb2k4z"}),
            vec![invalid(
                "metadata.generateName",
                &format!("Invalid value: \"-\": {SUBDOMAIN}"),
            )],
        ),
        (
            "no name, no namespace",
            json!({"name": null, "namespace": null}),
            vec![
                cause(
                    "metadata.name",
                    "FieldValueRequired",
                    "Required value: name or generateName is required",
                ),
                cause("metadata.namespace", "FieldValueRequired", "Required value"),
            ],
        ),
        (
            "namespaces: bad characters; dots",
            json!({"namespace": "Team_A"}),
            vec![invalid(
                "metadata.namespace",
                &format!("Invalid value: \"Team_A\": {LABEL}"),
            )],
        ),
        (
            "a namespace with dots",
            json!({"namespace": "team.a"}),
            vec![invalid(
                "metadata.namespace",
                "Invalid value: \"team.a\": must not contain dots",
            )],
        ),
        (
            "a negative generation",
            json!({"generation": -1}),
            vec![invalid(
                "metadata.generation",
                "Invalid value: -1: must be greater than or equal to 0",
            )],
        ),
    ];
    for (case, changes, want) in cases {
        let errors = on_create(changes);
        assert_eq!(causes(&errors), want, "{case}");
        let text: Vec<String> = want
            .iter()
            .map(|(field, _, message)| format!("{field}: {message}"))
            .collect();
        let aggregate = match &text[..] {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        assert_eq!(
            message(&errors),
            format!("ClusterDeployment.fleet.k0rdent.io \"web\" is invalid: {aggregate}"),
            "{case}"
        );
    }
}

#[test]
fn errors_come_in_upstreams_order() {
    let errors = on_create(json!({
        "generateName": "Ab-",
        "name": "A",
        "namespace": "B",
        "labels": {"-l": ""},
        "annotations": {"-a": ""},
        "ownerReferences": [{"apiVersion": "v1", "kind": "K", "name": "n"}],
        "finalizers": ["-f"],
        "managedFields": [{"operation": "Update", "fieldsType": "x"}],
    }));
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "metadata.generateName",
            "metadata.name",
            "metadata.namespace",
            "metadata.labels",
            "metadata.annotations",
            "metadata.ownerReferences.uid",
            "metadata.finalizers",
            "metadata.managedFields[0].fieldsType",
        ]
    );
}

#[test]
fn cluster_scoped_objects_may_not_have_a_namespace() {
    let errors = validate(&metadata(json!({})), false, &subdomain);
    assert_eq!(
        causes(&errors),
        [cause(
            "metadata.namespace",
            "FieldValueForbidden",
            "Forbidden: not allowed on this type"
        )]
    );
}

#[test]
fn generate_names_are_masked_like_upstream() {
    assert_eq!(meta::mask_trailing_dash("web-"), "wea");
    assert_eq!(meta::mask_trailing_dash("a-"), "a");
    assert_eq!(meta::mask_trailing_dash("-"), "-");
    assert_eq!(meta::mask_trailing_dash("web"), "web");
    assert_eq!(meta::mask_trailing_dash("é-"), "_a");
    assert!(subdomain("web-", true).is_empty());
    assert!(
        subdomain("x.-", true).is_empty(),
        "upstream drops two bytes"
    );
    assert_eq!(path_segment_name("a/b-", true), ["may not contain '/'"]);
    assert_eq!(path_segment_name("..", true), Vec::<String>::new());
    assert_eq!(path_segment_name("..", false), ["may not be '..'"]);
}

fn stored(changes: Value) -> Value {
    let mut obj = metadata(changes);
    let meta = obj["metadata"].as_object_mut().unwrap();
    meta.insert("uid".into(), json!("u-1"));
    meta.insert("resourceVersion".into(), json!("7"));
    meta.insert("generation".into(), json!(2));
    meta.insert("creationTimestamp".into(), json!("2026-01-02T03:04:05Z"));
    obj
}

#[test]
fn updates_refuse_changes_to_what_is_immutable() {
    let old = stored(json!({}));
    let cases: Vec<(&str, Value, Cause)> = vec![
        (
            "a deletionTimestamp set by the client",
            json!({"deletionTimestamp": "2026-03-04T05:06:07.250Z"}),
            invalid(
                "metadata.deletionTimestamp",
                "Invalid value: 2026-03-04 05:06:07.25 +0000 UTC: field is immutable",
            ),
        ),
        (
            "a grace period set by the client",
            json!({"deletionGracePeriodSeconds": 30}),
            invalid(
                "metadata.deletionGracePeriodSeconds",
                "Invalid value: 30: field is immutable",
            ),
        ),
        (
            "another uid",
            json!({"uid": "u-2"}),
            invalid("metadata.uid", "Invalid value: \"u-2\": field is immutable"),
        ),
        (
            "another name",
            json!({"name": "other"}),
            invalid(
                "metadata.name",
                "Invalid value: \"other\": field is immutable",
            ),
        ),
        (
            "the same creation instant in another offset (only the name differs)",
            json!({"creationTimestamp": "2026-01-02T04:04:05+01:00", "name": "x"}),
            invalid("metadata.name", "Invalid value: \"x\": field is immutable"),
        ),
        (
            "another creationTimestamp",
            json!({"creationTimestamp": "2026-01-02T04:04:05Z"}),
            invalid(
                "metadata.creationTimestamp",
                "Invalid value: 2026-01-02 04:04:05 +0000 UTC: field is immutable",
            ),
        ),
        (
            "no resourceVersion",
            json!({"resourceVersion": null}),
            invalid(
                "metadata.resourceVersion",
                "Invalid value: \"\": must be specified for an update",
            ),
        ),
        (
            "a lower generation",
            json!({"generation": 1}),
            invalid(
                "metadata.generation",
                "Invalid value: 1: must not be decremented",
            ),
        ),
    ];
    for (case, changes, want) in cases {
        let mut new = old.clone();
        for (k, v) in changes.as_object().unwrap() {
            match v {
                Value::Null => new["metadata"].as_object_mut().unwrap().remove(k),
                v => new["metadata"]
                    .as_object_mut()
                    .unwrap()
                    .insert(k.clone(), v.clone()),
            };
        }
        assert_eq!(causes(&validate_update(&new, &old)), [want], "{case}");
    }
    assert_eq!(validate_update(&old, &old), []);
}

#[test]
fn updates_recheck_maps_and_lists_but_not_finalizer_names() {
    let old = stored(json!({}));
    let new = stored(json!({"labels": {"-bad": ""}, "finalizers": ["bad finalizer"]}));
    assert_eq!(
        causes(&validate_update(&new, &old)),
        [invalid(
            "metadata.labels",
            &format!("Invalid value: \"-bad\": name part {QUALIFIED}"),
        )]
    );
}

#[test]
fn no_finalizer_may_be_added_while_deleting_listed_sorted_once() {
    let old = stored(json!({"deletionTimestamp": "2026-03-04T05:06:07Z", "finalizers": ["a/x"]}));
    let new = stored(json!({"deletionTimestamp": "2026-03-04T05:06:07Z",
                            "finalizers": ["b/y", "a/x", "b/y", "a/c"]}));
    assert_eq!(
        causes(&validate_update(&new, &old)),
        [cause(
            "metadata.finalizers",
            "FieldValueForbidden",
            "Forbidden: no new finalizers can be added if the object is being deleted, found new \
         finalizers []string{\"a/c\", \"b/y\"}",
        )]
    );
}

#[test]
fn new_finalizers_without_a_domain_are_warned_about() {
    let old = metadata(json!({"finalizers": ["hold"]}));
    let new = metadata(json!({"finalizers": [
        "hold", "keep", "fleet.k0rdent.io", "example.com/ok", "orphan", "kubernetes"]}));
    assert_eq!(
        finalizer_warnings(&new, Some(&old)),
        [
            "metadata.finalizers: \"fleet.k0rdent.io\": prefer a domain-qualified finalizer name \
         including a path (/) to avoid accidental conflicts with other finalizer writers",
            "metadata.finalizers: \"keep\": prefer a domain-qualified finalizer name to avoid \
         accidental conflicts with other finalizer writers",
        ]
    );
    assert_eq!(finalizer_warnings(&old, None).len(), 1);
}
