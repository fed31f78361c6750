//! `apply`: merging, Apply entries, conflicts and removal.

use serde_json::{json, Value};

use super::{content, deployment, fields_of, op, op_at, schema, T1, T2};
use crate::fieldmanager::{
    apply, record_update, ApplyError, ManagedFields, ManagedOperation, Operation, Reset,
};

const APPLY: ManagedOperation = ManagedOperation::Apply;
const UPDATE: ManagedOperation = ManagedOperation::Update;

fn apply_as(live: Option<&Value>, config: &Value, op: &Operation) -> Result<Value, ApplyError> {
    apply(Some(&schema()), Reset::None, live, config, op, false)
}

fn nginx(image: &str) -> Value {
    let mut config =
        deployment(json!({"replicas": 2, "containers": [{"name": "nginx", "image": image}]}));
    config["metadata"]["labels"] = json!({"app": "web"});
    config
}

fn conflicts(result: Result<Value, ApplyError>) -> String {
    match result {
        Err(ApplyError::Conflicts(c)) => c.message(),
        other => panic!("expected conflicts, got {other:?}"),
    }
}

#[test]
fn creating_by_apply_records_what_the_configuration_sets() {
    let created = apply_as(None, &nginx("nginx:1"), &op("kubectl")).unwrap();
    assert_eq!(content(&created), nginx("nginx:1"));
    assert_eq!(
        fields_of(&created, "kubectl", APPLY),
        json!({"f:metadata": {"f:labels": {"f:app": {}}},
               "f:spec": {"f:replicas": {}, "f:containers": {
                   "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}})
    );
    let managed = ManagedFields::from_object(&created).unwrap();
    assert_eq!(managed.len(), 1);
    let entry = managed.entry("kubectl", APPLY).unwrap();
    assert_eq!(entry.time.as_deref(), Some(super::T0));
    assert_eq!(entry.api_version, "apps/v1");
}

#[test]
fn reapplying_the_same_configuration_changes_nothing_not_even_the_time() {
    let created = apply_as(None, &nginx("nginx:1"), &op("kubectl")).unwrap();
    let again = apply_as(Some(&created), &nginx("nginx:1"), &op_at("kubectl", T1)).unwrap();
    assert_eq!(again, created);
}

#[test]
fn changing_a_field_another_manager_owns_is_a_conflict_unless_forced() {
    let created = apply_as(None, &nginx("nginx:1"), &op("kubectl")).unwrap();
    let mut live = created.clone();
    live["spec"]["replicas"] = json!(5);
    record_update(
        Some(&schema()),
        Reset::None,
        Some(&created),
        &mut live,
        &op("hpa"),
    )
    .unwrap();

    let error = apply_as(Some(&live), &nginx("nginx:1"), &op_at("kubectl", T1));
    assert_eq!(
        conflicts(error),
        r#"Apply failed with 1 conflict: conflict with "hpa" using apps/v1: .spec.replicas"#
    );

    let forced = apply(
        Some(&schema()),
        Reset::None,
        Some(&live),
        &nginx("nginx:1"),
        &op_at("kubectl", T1),
        true,
    )
    .unwrap();
    assert_eq!(forced["spec"]["replicas"], json!(2));
    assert_eq!(fields_of(&forced, "hpa", UPDATE), Value::Null);
    let kubectl = ManagedFields::from_object(&forced).unwrap();
    let entry = kubectl.entry("kubectl", APPLY).unwrap();
    assert!(entry
        .fields
        .has(&super::super::Path::fields(&["spec", "replicas"]).0));
    assert_eq!(entry.time.as_deref(), Some(T1));
}

#[test]
fn applying_the_current_value_shares_the_field() {
    let created = apply_as(None, &nginx("nginx:1"), &op("alice")).unwrap();
    let shared = apply_as(Some(&created), &nginx("nginx:1"), &op("bob")).unwrap();
    assert_eq!(content(&shared), content(&created));
    assert_eq!(
        fields_of(&shared, "alice", APPLY),
        fields_of(&shared, "bob", APPLY)
    );
}

#[test]
fn several_conflicts_name_each_manager_and_field() {
    let created = apply_as(None, &nginx("nginx:1"), &op("alice")).unwrap();
    let mut config = nginx("nginx:2");
    config["spec"]["replicas"] = json!(3);
    config["metadata"]["labels"]["app"] = json!("other");
    let error = apply_as(Some(&created), &config, &op("bob"));
    assert_eq!(
        conflicts(error),
        "Apply failed with 3 conflicts: conflicts with \"alice\":\n\
         - .metadata.labels.app\n\
         - .spec.replicas\n\
         - .spec.containers[name=\"nginx\"].image"
    );
}

#[test]
fn the_conflict_causes_carry_message_and_field() {
    let created = apply_as(None, &nginx("nginx:1"), &op("alice")).unwrap();
    let mut scale = op("hpa");
    scale.subresource = Some("scale".into());
    let mut live = created.clone();
    live["spec"]["replicas"] = json!(9);
    record_update(
        Some(&schema()),
        Reset::None,
        Some(&created),
        &mut live,
        &scale,
    )
    .unwrap();
    let Err(ApplyError::Conflicts(c)) = apply_as(Some(&live), &nginx("nginx:1"), &op("alice"))
    else {
        panic!("expected a conflict");
    };
    assert_eq!(c.0.len(), 1);
    assert_eq!(
        c.0[0].message(),
        r#"conflict with "hpa" with subresource "scale" using apps/v1"#
    );
    assert_eq!(c.0[0].field(), ".spec.replicas");
}

#[test]
fn fields_no_longer_applied_are_removed_unless_someone_else_owns_them() {
    let mut first = nginx("nginx:1");
    first["spec"]["tags"] = json!(["a", "b"]);
    first["spec"]["args"] = json!(["--x"]);
    first["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "sidecar", "image": "s:1", "ports": [{"containerPort": 80}]}));
    let created = apply_as(None, &first, &op("alice")).unwrap();
    // bob applies the same tag "b": it is shared and must stay.
    let bob = deployment(json!({"tags": ["b"]}));
    let shared = apply_as(Some(&created), &bob, &op("bob")).unwrap();

    let second = deployment(json!({"containers": [{"name": "nginx", "image": "nginx:1"}]}));
    let next = apply_as(Some(&shared), &second, &op_at("alice", T2)).unwrap();
    assert_eq!(
        content(&next)["spec"],
        json!({"tags": ["b"], "containers": [{"name": "nginx", "image": "nginx:1"}]})
    );
    assert_eq!(content(&next)["metadata"].get("labels"), None);
}

#[test]
fn fields_set_by_an_update_survive_when_the_applier_drops_its_own() {
    let created = apply_as(None, &nginx("nginx:1"), &op("alice")).unwrap();
    let mut live = created.clone();
    live["spec"]["paused"] = json!(true);
    live["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80}]);
    record_update(
        Some(&schema()),
        Reset::None,
        Some(&created),
        &mut live,
        &op("editor"),
    )
    .unwrap();

    let without_image = deployment(json!({"replicas": 2, "containers": [{"name": "nginx"}]}));
    let next = apply_as(Some(&live), &without_image, &op("alice")).unwrap();
    assert_eq!(
        content(&next)["spec"],
        json!({"replicas": 2, "paused": true,
               "containers": [{"name": "nginx", "ports": [{"containerPort": 80}]}]})
    );
}

#[test]
fn map_list_items_merge_by_key_in_the_order_the_configuration_gives() {
    let live = apply_as(
        None,
        &deployment(
            json!({"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}),
        ),
        &op("alice"),
    )
    .unwrap();
    let next = apply_as(
        Some(&live),
        &deployment(
            json!({"containers": [{"name": "c", "image": "c:1"}, {"name": "a", "image": "a:1"}]}),
        ),
        &op("bob"),
    )
    .unwrap();
    let names: Vec<&str> = next["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // `b` keeps its place after `a`; `c` comes before `a` as in the configuration.
    assert_eq!(names, ["c", "a", "b"]);
}

#[test]
fn an_object_without_managed_fields_is_first_owned_by_before_first_apply() {
    let live = deployment(json!({"replicas": 1}));
    let error = apply_as(
        Some(&live),
        &deployment(json!({"replicas": 2})),
        &op("kubectl"),
    );
    assert_eq!(
        conflicts(error),
        r#"Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas"#
    );
    let same = apply_as(
        Some(&live),
        &deployment(json!({"replicas": 1})),
        &op("kubectl"),
    )
    .unwrap();
    assert_eq!(
        fields_of(&same, "before-first-apply", UPDATE),
        json!({"f:spec": {".": {}, "f:replicas": {}}})
    );
}

#[test]
fn status_is_not_owned_through_the_main_endpoint() {
    let mut status = op("controller");
    status.subresource = Some("status".into());
    let mut with_status = deployment(json!({"replicas": 1}));
    with_status["status"] = json!({"ready": 1});
    let live = apply(
        Some(&schema()),
        Reset::AllButStatus,
        None,
        &with_status,
        &status,
        false,
    )
    .unwrap();
    assert_eq!(
        ManagedFields::from_object(&live)
            .unwrap()
            .entry("controller", APPLY)
            .unwrap()
            .fields
            .to_fields_v1(),
        json!({"f:status": {"f:ready": {}}})
    );
    let mut config = deployment(json!({"replicas": 1}));
    config["status"] = json!({"ready": 7});
    let applied = apply(
        Some(&schema()),
        Reset::Status,
        Some(&live),
        &config,
        &op("kubectl"),
        false,
    )
    .unwrap();
    assert_eq!(
        fields_of(&applied, "kubectl", APPLY),
        json!({"f:spec": {"f:replicas": {}}})
    );
}

#[test]
fn invalid_configurations_are_refused_with_upstream_messages() {
    let invalid = |result: Result<Value, ApplyError>| match result {
        Err(ApplyError::Invalid(message)) => message,
        other => panic!("expected invalid, got {other:?}"),
    };
    let mut wrong_version = nginx("x");
    wrong_version["apiVersion"] = json!("apps/v2");
    assert_eq!(
        invalid(apply_as(None, &wrong_version, &op("kubectl"))),
        "invalid object type: apps/v2, Kind=Deployment"
    );
    let mut with_managed = nginx("x");
    with_managed["metadata"]["managedFields"] = json!([]);
    assert_eq!(
        invalid(apply_as(None, &with_managed, &op("kubectl"))),
        "metadata.managedFields must be nil"
    );
    let duplicate = deployment(json!({"containers": [{"name": "a"}, {"name": "a"}]}));
    assert_eq!(
        invalid(apply_as(None, &duplicate, &op("kubectl"))),
        r#"failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.containers: duplicate entries for key [name="a"]"#
    );
    let mut bad_live = nginx("x");
    bad_live["metadata"]["managedFields"] = json!([{"manager": "m"}]);
    assert!(matches!(
        apply_as(Some(&bad_live), &nginx("x"), &op("kubectl")),
        Err(ApplyError::ManagedFields(_))
    ));
}

#[test]
fn schema_less_objects_merge_maps_and_replace_lists() {
    let config = |list: Value| {
        json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"},
               "spec": {"list": list, "map": {"a": 1}}})
    };
    let op = Operation {
        api_version: "example.com/v1".into(),
        ..op("kubectl")
    };
    let live = apply(None, Reset::None, None, &config(json!([1, 2])), &op, false).unwrap();
    assert_eq!(
        fields_of(&live, "kubectl", APPLY),
        json!({"f:spec": {".": {}, "f:list": {}, "f:map": {".": {}, "f:a": {}}}})
    );
    let next = apply(
        None,
        Reset::None,
        Some(&live),
        &config(json!([3])),
        &op,
        false,
    )
    .unwrap();
    assert_eq!(next["spec"]["list"], json!([3]));
}
