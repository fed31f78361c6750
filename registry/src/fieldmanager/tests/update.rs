//! `record_update`: Update entries of creates, updates and patches.

use serde_json::{json, Value};

use super::{content, deployment, fields_of, op, op_at, schema, T1};
use crate::fieldmanager::{record_update, ManagedFields, ManagedOperation, Reset};

const UPDATE: ManagedOperation = ManagedOperation::Update;

fn create(manager: &str, object: Value) -> Value {
    let mut object = object;
    record_update(
        Some(&schema()),
        Reset::None,
        None,
        &mut object,
        &op(manager),
    )
    .unwrap();
    object
}

#[test]
fn create_records_new_maps_as_members_like_a_custom_resource() {
    let mut object = deployment(json!({"replicas": 1}));
    object["metadata"]["labels"] = json!({"app": "web"});
    let created = create("kubectl-create", object);
    assert_eq!(
        fields_of(&created, "kubectl-create", UPDATE),
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
               "f:spec": {".": {}, "f:replicas": {}}})
    );
    let entry = &created["metadata"]["managedFields"][0];
    assert_eq!(entry["operation"], "Update");
    assert_eq!(entry["apiVersion"], "apps/v1");
    assert_eq!(entry["time"], "2024-01-01T00:00:00Z");
    assert_eq!(entry["fieldsType"], "FieldsV1");
    assert_eq!(entry.get("subresource"), None);
}

#[test]
fn an_update_takes_the_fields_it_changes_from_other_managers() {
    let old = create(
        "creator",
        deployment(json!({"replicas": 1, "paused": false})),
    );
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(3);
    record_update(
        Some(&schema()),
        Reset::None,
        Some(&old),
        &mut new,
        &op_at("scaler", T1),
    )
    .unwrap();
    assert_eq!(
        fields_of(&new, "creator", UPDATE),
        json!({"f:spec": {".": {}, "f:paused": {}}})
    );
    assert_eq!(
        fields_of(&new, "scaler", UPDATE),
        json!({"f:spec": {"f:replicas": {}}})
    );
}

#[test]
fn deleted_fields_leave_every_set() {
    let old = create(
        "creator",
        deployment(json!({"replicas": 1, "paused": false})),
    );
    let mut new = old.clone();
    new["spec"].as_object_mut().unwrap().remove("paused");
    record_update(
        Some(&schema()),
        Reset::None,
        Some(&old),
        &mut new,
        &op("editor"),
    )
    .unwrap();
    assert_eq!(
        fields_of(&new, "creator", UPDATE),
        json!({"f:spec": {".": {}, "f:replicas": {}}})
    );
    assert_eq!(fields_of(&new, "editor", UPDATE), Value::Null);
}

#[test]
fn sending_no_managed_fields_keeps_the_old_ones_and_an_unchanged_object_keeps_its_times() {
    let old = create("creator", deployment(json!({"replicas": 1})));
    let mut new = content(&old);
    record_update(
        Some(&schema()),
        Reset::None,
        Some(&old),
        &mut new,
        &op_at("creator", T1),
    )
    .unwrap();
    assert_eq!(new, old);
}

#[test]
fn empty_managed_fields_reset_them_and_then_nothing_is_tracked() {
    for reset in [json!([]), json!([{}])] {
        let old = create("creator", deployment(json!({"replicas": 1})));
        let mut new = old.clone();
        new["metadata"]["managedFields"] = reset;
        new["spec"]["replicas"] = json!(2);
        record_update(
            Some(&schema()),
            Reset::None,
            Some(&old),
            &mut new,
            &op("editor"),
        )
        .unwrap();
        assert_eq!(new["metadata"].get("managedFields"), None);

        let old = new.clone();
        new["spec"]["replicas"] = json!(3);
        record_update(
            Some(&schema()),
            Reset::None,
            Some(&old),
            &mut new,
            &op("editor"),
        )
        .unwrap();
        assert_eq!(new["metadata"].get("managedFields"), None);
    }
}

#[test]
fn managed_fields_sent_by_the_client_replace_the_old_ones() {
    let old = create("creator", deployment(json!({"replicas": 1})));
    let mut new = old.clone();
    new["metadata"]["managedFields"][0]["manager"] = json!("renamed");
    record_update(
        Some(&schema()),
        Reset::None,
        Some(&old),
        &mut new,
        &op("editor"),
    )
    .unwrap();
    assert_eq!(fields_of(&new, "creator", UPDATE), Value::Null);
    assert_eq!(
        fields_of(&new, "renamed", UPDATE),
        json!({"f:spec": {".": {}, "f:replicas": {}}})
    );
}

#[test]
fn a_status_write_records_only_status_under_its_subresource() {
    let old = create("creator", deployment(json!({"replicas": 1})));
    let mut new = old.clone();
    new["metadata"]["managedFields"] = json!([]);
    new["status"] = json!({"ready": 1});
    new["spec"]["replicas"] = json!(5);
    let mut status_op = op("controller");
    status_op.subresource = Some("status".to_owned());
    record_update(
        Some(&schema()),
        Reset::AllButStatus,
        Some(&old),
        &mut new,
        &status_op,
    )
    .unwrap();
    let managed = ManagedFields::from_object(&new).unwrap();
    assert_eq!(
        managed.len(),
        2,
        "request managedFields ignored on a subresource"
    );
    let entry = managed.entry("controller", UPDATE).unwrap();
    assert_eq!(entry.subresource.as_deref(), Some("status"));
    assert_eq!(
        entry.fields.to_fields_v1(),
        json!({"f:status": {".": {}, "f:ready": {}}})
    );
    assert_eq!(
        fields_of(&new, "creator", UPDATE),
        json!({"f:spec": {".": {}, "f:replicas": {}}})
    );
}

#[test]
fn the_main_endpoint_ignores_status_when_the_kind_has_a_status_subresource() {
    let mut object = deployment(json!({"replicas": 1}));
    object["status"] = json!({"ready": 1});
    record_update(
        Some(&schema()),
        Reset::Status,
        None,
        &mut object,
        &op("creator"),
    )
    .unwrap();
    assert_eq!(
        fields_of(&object, "creator", UPDATE),
        json!({"f:spec": {".": {}, "f:replicas": {}}})
    );
}

#[test]
fn an_object_that_does_not_fit_its_schema_keeps_the_old_managed_fields() {
    let old = create("creator", deployment(json!({"replicas": 1})));
    let mut new = deployment(json!({"containers": [{"image": "x"}]}));
    let error = record_update(
        Some(&schema()),
        Reset::None,
        Some(&old),
        &mut new,
        &op("editor"),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        r#".spec.containers: element 0: associative list with keys has an element that omits all key fields ["name"] (and doesn't have default values for any key fields)"#
    );
    assert_eq!(
        new["metadata"]["managedFields"],
        old["metadata"]["managedFields"]
    );
}

#[test]
fn schema_less_kinds_own_map_keys_and_whole_lists() {
    let mut object = json!({"apiVersion": "example.com/v1", "kind": "Thing",
                            "metadata": {"name": "t"}, "spec": {"list": [1, 2], "map": {"a": 1}}});
    record_update(None, Reset::None, None, &mut object, &op("creator")).unwrap();
    assert_eq!(
        fields_of(&object, "creator", UPDATE),
        json!({"f:spec": {".": {}, "f:list": {}, "f:map": {".": {}, "f:a": {}}}})
    );
}
