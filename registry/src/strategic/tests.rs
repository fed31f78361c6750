//! Strategic merge patch against excerpts of real Kubernetes schemas (PodSpec, ObjectMeta,
//! RBAC Role), shaped as kube-apiserver's OpenAPI v3 with `$ref`s inlined as `allOf`.

use serde_json::{json, Value};

use super::{apply, StrategicError};

fn object(properties: Value) -> Value {
    json!({"type": "object", "properties": properties})
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

/// A list field merged by `key`, its elements a `$ref` inlined.
fn merged_by(key: &str, strategy: &str, element: Value) -> Value {
    json!({
        "type": "array",
        "x-kubernetes-patch-merge-key": key,
        "x-kubernetes-patch-strategy": strategy,
        "items": {"default": {}, "allOf": [element]},
    })
}

fn pod_schema() -> Value {
    let env = merged_by("name", "merge", object(json!({"name": {}, "value": {}})));
    let port = object(json!({"containerPort": {}, "name": {}, "protocol": {}}));
    let container = object(json!({
        "name": {}, "image": {}, "args": strings(), "env": env,
        "ports": merged_by("containerPort", "merge", port),
    }));
    let volume = object(json!({
        "name": {},
        "emptyDir": object(json!({"medium": {}})),
        "hostPath": object(json!({"path": {}})),
        "configMap": object(json!({"name": {}})),
    }));
    let finalizers = json!({
        "type": "array", "items": {"type": "string"}, "x-kubernetes-patch-strategy": "merge",
    });
    let labels = json!({"type": "object", "additionalProperties": {"type": "string"}});
    object(json!({
        "metadata": object(json!({"name": {}, "labels": labels, "finalizers": finalizers})),
        "spec": object(json!({
            "containers": merged_by("name", "merge", container),
            "volumes": merged_by("name", "merge,retainKeys", volume),
            "nodeSelector": labels,
            "hostname": {},
        })),
    }))
}

fn role_schema() -> Value {
    let rule = object(json!({"apiGroups": strings(), "resources": strings(), "verbs": strings()}));
    object(json!({"rules": {"type": "array", "items": {"default": {}, "allOf": [rule]}}}))
}

fn patched(original: Value, patch: Value) -> Value {
    apply(&original, &patch, Some(&pod_schema())).unwrap()
}

fn rejected(original: Value, patch: Value) -> StrategicError {
    apply(&original, &patch, Some(&pod_schema())).unwrap_err()
}

fn containers(names: &[&str]) -> Value {
    let list: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
    json!({"spec": {"containers": list}})
}

fn container_names(pod: &Value) -> Vec<&str> {
    let list = pod["spec"]["containers"].as_array().unwrap();
    list.iter().map(|c| c["name"].as_str().unwrap()).collect()
}

#[test]
fn maps_merge_recursively_and_null_deletes_a_key() {
    let original = json!({
        "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}},
        "spec": {"hostname": "h", "nodeSelector": {"zone": "z"}},
    });
    let patch = json!({"metadata": {"labels": {"a": null, "c": "3"}}, "spec": {"hostname": null}});
    let expected = json!({
        "metadata": {"name": "p", "labels": {"b": "2", "c": "3"}},
        "spec": {"nodeSelector": {"zone": "z"}},
    });
    assert_eq!(patched(original, patch), expected);
}

#[test]
fn containers_merge_by_name_into_the_matching_element() {
    let original = json!({"spec": {"containers": [
        {"name": "app", "image": "v1", "args": ["a"]},
        {"name": "sidecar", "image": "s"},
    ]}});
    let patch = json!({"spec": {"containers": [{"name": "app", "image": "v2"}]}});
    let expected = json!({"spec": {"containers": [
        {"name": "app", "image": "v2", "args": ["a"]},
        {"name": "sidecar", "image": "s"},
    ]}});
    assert_eq!(patched(original, patch), expected);
}

#[test]
fn env_merges_by_name_and_ports_by_container_port() {
    let original = json!({"spec": {"containers": [{
        "name": "app",
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}],
    }]}});
    let patch = json!({"spec": {"containers": [{
        "name": "app",
        "env": [{"name": "B", "value": "3"}],
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
    }]}});
    let merged = patched(original, patch);
    let app = &merged["spec"]["containers"][0];
    assert_eq!(
        app["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}])
    );
    let ports =
        json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 443}]);
    assert_eq!(app["ports"], ports);
}

#[test]
fn untouched_elements_keep_their_place_around_patched_ones() {
    let patch = json!({"spec": {"containers": [{"name": "b", "image": "x"}]}});
    assert_eq!(
        container_names(&patched(containers(&["a", "b", "c"]), patch)),
        ["a", "b", "c"]
    );
}

#[test]
fn patched_elements_follow_the_patch_order() {
    // upstream patch_test.go "preserve the order from the patch in a merging list 2"
    let patch =
        json!({"spec": {"containers": [{"name": "c", "image": "x"}, {"name": "a", "image": "y"}]}});
    assert_eq!(
        container_names(&patched(containers(&["a", "b", "c"]), patch)),
        ["b", "c", "a"]
    );
}

#[test]
fn a_new_element_is_placed_by_the_patch_order() {
    let after_b = json!({"spec": {"containers": [{"name": "b"}, {"name": "n"}]}});
    assert_eq!(
        container_names(&patched(containers(&["a", "b"]), after_b)),
        ["a", "b", "n"]
    );
    // Alone in the patch it comes first, as kube-apiserver does for `kubectl patch`.
    let alone = json!({"spec": {"containers": [{"name": "n"}]}});
    assert_eq!(
        container_names(&patched(containers(&["a", "b"]), alone)),
        ["n", "a", "b"]
    );
}

#[test]
fn set_element_order_reorders_the_list() {
    let order = json!({"spec": {
        "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
    }});
    assert_eq!(
        container_names(&patched(containers(&["a", "b", "c"]), order)),
        ["c", "a", "b"]
    );
    // What kubectl apply sends to add a container at the end.
    let append = json!({"spec": {
        "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "n"}],
        "containers": [{"name": "n", "image": "x"}],
    }});
    let merged = patched(containers(&["a", "b"]), append);
    assert_eq!(container_names(&merged), ["a", "b", "n"]);
    assert_eq!(merged["spec"]["containers"][2]["image"], "x");
}

#[test]
fn set_element_order_must_agree_with_the_patch_list() {
    let patch = json!({"spec": {
        "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
        "containers": [{"name": "b"}, {"name": "a"}],
    }});
    let error = rejected(containers(&["a", "b"]), patch);
    assert!(
        matches!(error, StrategicError::OrderMismatch { .. }),
        "{error}"
    );
    assert!(error
        .to_string()
        .contains("doesn't match $setElementOrder list"));
}

#[test]
fn delete_directive_removes_the_element_with_that_key() {
    let patch = json!({"spec": {"containers": [
        {"name": "b", "$patch": "delete"},
        {"name": "x", "$patch": "delete"},
    ]}});
    assert_eq!(
        container_names(&patched(containers(&["a", "b", "c"]), patch)),
        ["a", "c"]
    );
}

#[test]
fn replace_directive_in_a_map_replaces_the_whole_map() {
    let original = json!({"metadata": {"labels": {"a": "1", "b": "2"}, "name": "p"}});
    let patch = json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}});
    assert_eq!(
        patched(original.clone(), patch),
        json!({"metadata": {"labels": {"c": "3"}, "name": "p"}})
    );
    let patch = json!({"metadata": {"labels": {"$patch": "delete"}}});
    assert_eq!(
        patched(original, patch),
        json!({"metadata": {"labels": {}, "name": "p"}})
    );
}

#[test]
fn replace_marker_in_a_list_replaces_the_list() {
    let patch =
        json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "x"}]}});
    let expected = json!({"spec": {"containers": [{"name": "only", "image": "x"}]}});
    assert_eq!(patched(containers(&["a", "b"]), patch), expected);
}

#[test]
fn merge_directive_in_a_map_is_the_default() {
    let original = json!({"spec": {"hostname": "h", "nodeSelector": {"a": "1"}}});
    let patch = json!({"spec": {"$patch": "merge", "nodeSelector": {"b": "2"}}});
    let expected = json!({"spec": {"hostname": "h", "nodeSelector": {"a": "1", "b": "2"}}});
    assert_eq!(patched(original, patch), expected);
}

#[test]
fn merge_directive_in_a_list_is_rejected_as_upstream() {
    let patch = json!({"spec": {"containers": [{"$patch": "merge"}]}});
    let error = rejected(containers(&["a"]), patch);
    assert_eq!(
        error.to_string(),
        "merging lists cannot yet be specified in the patch"
    );
}

#[test]
fn unknown_patch_directive_is_an_error() {
    let error = rejected(
        json!({"spec": {}}),
        json!({"spec": {"$patch": "bogus", "hostname": "h"}}),
    );
    assert_eq!(
        error.to_string(),
        "unknown patch type: bogus in map: map[$patch:bogus hostname:h]"
    );
}

#[test]
fn merge_key_missing_in_a_patch_element_is_an_error() {
    let patch = json!({"spec": {"containers": [{"image": "httpd"}]}});
    let error = rejected(containers(&["a"]), patch);
    assert_eq!(
        error.to_string(),
        "map: map[image:httpd] does not contain declared merge key: name"
    );
    let delete = json!({"spec": {"containers": [{"$patch": "delete"}]}});
    assert!(matches!(
        rejected(containers(&["a"]), delete),
        StrategicError::MissingMergeKey { .. }
    ));
}

#[test]
fn primitive_merge_lists_are_a_set_union() {
    let original = json!({"metadata": {"finalizers": ["a", "b"]}});
    let patch = json!({"metadata": {"finalizers": ["b", "c", "c"]}});
    assert_eq!(
        patched(original, patch),
        json!({"metadata": {"finalizers": ["a", "b", "c"]}})
    );
}

#[test]
fn delete_from_primitive_list_removes_values() {
    let original = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "x"]}});
    assert_eq!(
        patched(original, patch),
        json!({"metadata": {"finalizers": ["a", "c"]}})
    );
    let missing = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}});
    assert_eq!(
        patched(json!({"metadata": {}}), missing),
        json!({"metadata": {}})
    );
}

#[test]
fn retain_keys_keeps_only_the_listed_keys_of_a_volume() {
    let original = json!({"spec": {"volumes": [
        {"name": "data", "emptyDir": {}},
        {"name": "cfg", "configMap": {"name": "c"}},
    ]}});
    // What kubectl apply sends to turn an emptyDir volume into a hostPath one.
    let patch = json!({"spec": {
        "$setElementOrder/volumes": [{"name": "data"}, {"name": "cfg"}],
        "volumes": [
            {"name": "data", "hostPath": {"path": "/x"}, "$retainKeys": ["hostPath", "name"]},
        ],
    }});
    let expected = json!({"spec": {"volumes": [
        {"name": "data", "hostPath": {"path": "/x"}},
        {"name": "cfg", "configMap": {"name": "c"}},
    ]}});
    assert_eq!(patched(original, patch), expected);
}

#[test]
fn retain_keys_must_list_every_patched_field() {
    let original = json!({"spec": {"volumes": [{"name": "data", "emptyDir": {}}]}});
    let patch =
        json!({"spec": {"volumes": [{"name": "data", "hostPath": {}, "$retainKeys": ["name"]}]}});
    assert_eq!(
        rejected(original, patch).to_string(),
        "invalid patch format of retainKeys"
    );
}

#[test]
fn lists_without_a_merge_strategy_are_replaced() {
    let original = json!({"rules": [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]},
    ]});
    let patch = json!({"rules": [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["watch"]},
    ]});
    assert_eq!(
        apply(&original, &patch, Some(&role_schema())).unwrap(),
        patch
    );

    let original = json!({"spec": {"containers": [{"name": "app", "args": ["a", "b"]}]}});
    let patch = json!({"spec": {"containers": [{"name": "app", "args": ["c"]}]}});
    assert_eq!(patched(original, patch.clone()), patch);
}

#[test]
fn without_a_schema_lists_are_replaced_and_maps_merged() {
    let original =
        json!({"spec": {"containers": [{"name": "a"}], "x": {"k": 1, "j": 2}, "t": "s"}});
    let patch =
        json!({"spec": {"containers": [{"name": "b"}], "x": {"k": null}, "t": {"now": "map"}}});
    let expected =
        json!({"spec": {"containers": [{"name": "b"}], "x": {"j": 2}, "t": {"now": "map"}}});
    assert_eq!(apply(&original, &patch, None).unwrap(), expected);
}

#[test]
fn new_values_are_patched_onto_nothing() {
    let patch = json!({"spec": {
        "containers": [{"name": "a", "image": null, "env": [{"name": "X", "$patch": "delete"}]}],
        "nodeSelector": {"$patch": "delete"},
    }});
    let expected = json!({"spec": {"containers": [{"name": "a", "env": []}]}});
    assert_eq!(patched(json!({"spec": {}}), patch), expected);
}

#[test]
fn schema_strategy_with_two_strategies_is_an_error() {
    let schema =
        object(json!({"items": {"type": "array", "x-kubernetes-patch-strategy": "merge,replace"}}));
    let error = apply(
        &json!({"items": [1]}),
        &json!({"items": [2]}),
        Some(&schema),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "unexpected patch strategy: [merge replace]"
    );
}

#[test]
fn merging_objects_needs_a_merge_key() {
    let schema =
        object(json!({"items": {"type": "array", "x-kubernetes-patch-strategy": "merge"}}));
    let error = apply(
        &json!({"items": [{"a": 1}]}),
        &json!({"items": [{"a": 2}]}),
        Some(&schema),
    )
    .unwrap_err();
    assert_eq!(error, StrategicError::NoMergeKey("items".into()));
}

#[test]
fn original_and_patch_must_be_objects() {
    assert_eq!(
        apply(&json!({}), &json!([]), None).unwrap_err(),
        StrategicError::InvalidDocument
    );
    assert_eq!(
        apply(&json!(null), &json!({}), None).unwrap_err(),
        StrategicError::InvalidDocument
    );
}

/// The `mergeItem` schema of upstream patch_test.go.
fn merge_item_schema() -> Value {
    let merged = |key: &str, strategy: &str| {
        json!({"type": "array", "x-kubernetes-patch-merge-key": key,
               "x-kubernetes-patch-strategy": strategy, "items": {"type": "object"}})
    };
    let ints = |strategy: Option<&str>| match strategy {
        Some(s) => json!({"type": "array", "items": {}, "x-kubernetes-patch-strategy": s}),
        None => json!({"type": "array", "items": {}}),
    };
    object(json!({
        "mergingList": merged("name", "merge"),
        "retainKeysMergingList": merged("name", "merge,retainKeys"),
        "mergingIntList": ints(Some("merge")),
        "nonMergingIntList": ints(None),
        "simpleMap": {"type": "object", "additionalProperties": {}},
    }))
}

#[test]
fn upstream_custom_strategic_merge_patch_cases() {
    let cases = [
        // description, original, patch, modified
        ("unique scalars when merging lists",
         json!({"mergingIntList": [1, 2]}), json!({"mergingIntList": [2, 3]}),
         json!({"mergingIntList": [1, 2, 3]})),
        ("delete map from nested map",
         json!({"simpleMap": {"key1": 1}}), json!({"simpleMap": {"$patch": "delete"}}),
         json!({"simpleMap": {}})),
        ("delete all items from merging list",
         json!({"mergingList": [{"name": 1}, {"name": 2}]}),
         json!({"mergingList": [{"$patch": "replace"}]}), json!({"mergingList": []})),
        ("merge empty merging lists",
         json!({"mergingList": []}), json!({"mergingList": []}), json!({"mergingList": []})),
        ("delete all keys from map",
         json!({"name": 1, "value": 1}), json!({"$patch": "replace"}), json!({})),
        ("add key and delete all keys from map",
         json!({"name": 1, "value": 1}), json!({"other": "a", "$patch": "replace"}),
         json!({"other": "a"})),
        ("delete all duplicate entries in a merging list",
         json!({"mergingList": [
             {"name": 1}, {"name": 1}, {"name": 2, "value": "a"}, {"name": 3}, {"name": 3},
         ]}),
         json!({"mergingList": [{"name": 1, "$patch": "delete"}, {"name": 3, "$patch": "delete"}]}),
         json!({"mergingList": [{"name": 2, "value": "a"}]})),
        ("retainKeys list can delete a field when no retainKeys directive present",
         json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "a"}]}),
         json!({"retainKeysMergingList": [{"name": "foo", "value": null}]}),
         json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo"}]})),
        ("preserve the order from the patch in a merging int list",
         json!({"mergingIntList": [1, 2, 3]}), json!({"mergingIntList": [3, 1]}),
         json!({"mergingIntList": [2, 3, 1]})),
        ("$setElementOrder contains item that is not present in the list to be merged",
         json!({"mergingList": [{"name": 1}, {"name": 3}]}),
         json!({"$setElementOrder/mergingList": [{"name": 3}, {"name": 2}, {"name": 1}],
                "mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}]}),
         json!({"mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}]})),
        ("$setElementOrder contains item that is not present in the int list to be merged",
         json!({"mergingIntList": [1, 3]}), json!({"$setElementOrder/mergingIntList": [3, 2, 1]}),
         json!({"mergingIntList": [3, 1]})),
        ("add and delete items in lists of scalars",
         json!({"mergingIntList": [1, 2, 3]}),
         json!({"$setElementOrder/mergingIntList": [1, 2, 4],
                "$deleteFromPrimitiveList/mergingIntList": [3], "mergingIntList": [4]}),
         json!({"mergingIntList": [1, 2, 4]})),
        ("merge lists of maps",
         json!({"mergingList": [{"name": 1}, {"name": 2, "value": 2}]}),
         json!({"$setElementOrder/mergingList": [
                    {"name": 4}, {"name": 1}, {"name": 2}, {"name": 3},
                ],
                "mergingList": [{"name": 4, "value": 4}, {"name": 3, "value": 3}]}),
         json!({"mergingList": [
             {"name": 4, "value": 4}, {"name": 1}, {"name": 2, "value": 2}, {"name": 3, "value": 3},
         ]})),
        ("$deleteFromPrimitiveList on nonexistent primitive list should not add the primitive list",
         json!({"foo": ["bar"]}), json!({"$deleteFromPrimitiveList/mergingIntList": [3]}),
         json!({"foo": ["bar"]})),
        ("$deleteFromPrimitiveList should delete item from a list without merge patch strategy",
         json!({"nonMergingIntList": [1, 2, 3]}),
         json!({"$deleteFromPrimitiveList/nonMergingIntList": [2]}),
         json!({"nonMergingIntList": [1, 3]})),
    ];
    let schema = merge_item_schema();
    for (description, original, patch, modified) in cases {
        let got = apply(&original, &patch, Some(&schema));
        assert_eq!(got.as_ref().ok(), Some(&modified), "{description}: {got:?}");
    }
}
