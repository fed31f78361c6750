//! Applies the server refuses, with upstream's Status: no `fieldManager` (422), conflicts
//! (409 with causes), malformed configurations (400), namespace and uid mismatches, stale
//! resourceVersions. A module of `tests/server_side_apply.rs`.

use kube::api::{Patch, PatchParams};
use serde_json::json;

use crate::support::{Backend, Raw};
use crate::support_apply::{
    apply_as, apply_request, apply_text, cld_path, clds, expect, get, patch_request, rv, start, Cld,
};

async fn apply_without_a_field_manager_is_an_invalid_patch_options_status(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let path = cld_path("web");
    let config = Cld::new("web").json();
    let expected = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        "reason": "Invalid",
        "details": {
            "group": "meta.k8s.io",
            "kind": "PatchOptions",
            "causes": [{
                "reason": "FieldValueRequired",
                "message": "Required value: is required for apply patch",
                "field": "fieldManager",
            }],
        },
        "code": 422,
    });
    for query in ["", "fieldManager="] {
        let reply = apply_request(&path, query, &config).send(&client).await;
        assert_eq!(expect(&reply, 422, query), expected, "?{query}");
    }
    let refused = clds(&client)
        .patch("web", &PatchParams::default(), &Patch::Apply(&config))
        .await
        .expect_err("kube-rs sends no fieldManager");
    let kube::Error::Api(status) = refused else {
        panic!("an API error: {refused}");
    };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert_eq!(status.message, expected["message"]);
    assert_eq!(Raw::get(&path).send(&client).await.status, 404);

    // `force` is for apply only (`ValidatePatchOptions`).
    let reply = patch_request(
        &path,
        "fieldManager=x&force=true",
        "application/merge-patch+json",
        &json!({}),
    )
    .send(&client)
    .await;
    let status = expect(&reply, 422, "force on a merge patch");
    assert_eq!(
        status["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch"
    );
}

async fn a_conflict_is_a_409_status_with_one_field_manager_conflict_cause_per_field(
    backend: Backend,
) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let path = cld_path("web");
    let mine = Cld::new("web")
        .label("team", "a")
        .config("region", "us-east-1")
        .config("size", "small");
    apply_as(&client, &path, "alpha", &mine.json(), 201).await;
    let changed = json!({"spec": {"config": {"region": "eu-west-1", "size": "large"}}});
    let reply = patch_request(
        &path,
        "fieldManager=ops",
        "application/merge-patch+json",
        &changed,
    )
    .send(&client)
    .await;
    expect(&reply, 200, "merge patch by ops");

    let cause = |manager: &str, field: &str| {
        let message = format!("conflict with {manager}");
        json!({"reason": "FieldManagerConflict", "message": message, "field": field})
    };
    let ops = "\"ops\" using fleet.k0rdent.io/v1alpha1";
    let reply = apply_request(&path, "fieldManager=alpha", &mine.json())
        .send(&client)
        .await;
    assert_eq!(
        expect(&reply, 409, "two conflicts with one manager"),
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": format!("Apply failed with 2 conflicts: conflicts with {ops}:\n- .spec.config.region\n- .spec.config.size"),
            "reason": "Conflict",
            "details": {"causes": [
                cause(ops, ".spec.config.region"),
                cause(ops, ".spec.config.size"),
            ]},
            "code": 409,
        })
    );

    // Conflicts with two managers: grouped by manager, managers sorted.
    let beta = Cld::partial("web")
        .label("team", "a")
        .config("size", "large");
    apply_as(&client, &path, "beta", &beta.json(), 200).await;
    let third = Cld::partial("web")
        .label("team", "b")
        .config("region", "ap-south-1");
    let reply = apply_request(&path, "fieldManager=gamma", &third.json())
        .send(&client)
        .await;
    let mut status = expect(&reply, 409, "conflicts with three managers");
    assert_eq!(
        status["message"],
        format!(
            "Apply failed with 3 conflicts: conflicts with \"alpha\":\n- .metadata.labels.team\n\
             conflicts with \"beta\":\n- .metadata.labels.team\nconflicts with {ops}:\n- .spec.config.region"
        )
    );
    let causes = status["details"]["causes"].as_array_mut().expect("causes");
    causes.sort_by_key(|c| c.to_string());
    assert_eq!(
        *causes,
        [
            cause("\"alpha\"", ".metadata.labels.team"),
            cause("\"beta\"", ".metadata.labels.team"),
            cause(ops, ".spec.config.region"),
        ]
    );
    assert_eq!(get(&client, &path).await["metadata"]["labels"]["team"], "a");
}

/// What `versionCheckManager`, `structuredMergeManager.Apply`, the YAML decoding of
/// `applyPatcher`, `checkName`, and the uid and resourceVersion preconditions refuse.
async fn malformed_or_stale_apply_configurations_are_refused(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let path = cld_path("web");
    let config = Cld::new("web").config("region", "us-east-1").json();
    let created = apply_as(&client, &path, "fleet-test", &config, 201).await;

    let mut wrong_kind = config.clone();
    wrong_kind["kind"] = json!("Wrong");
    let mut wrong_version = config.clone();
    wrong_version["apiVersion"] = json!("fleet.k0rdent.io/v1");
    let mut with_managed_fields = config.clone();
    with_managed_fields["metadata"]["managedFields"] = json!([]);
    let mut other_name = config.clone();
    other_name["metadata"]["name"] = json!("other");
    for (body, message) in [
        (
            &wrong_kind,
            "invalid object type: fleet.k0rdent.io/v1alpha1, Kind=Wrong",
        ),
        (
            &wrong_version,
            "invalid object type: fleet.k0rdent.io/v1, Kind=ClusterDeployment",
        ),
        (&with_managed_fields, "metadata.managedFields must be nil"),
        (
            &other_name,
            "the name of the object (other) does not match the name on the URL (web)",
        ),
    ] {
        let reply = apply_request(&path, "fieldManager=fleet-test", body)
            .send(&client)
            .await;
        let status = expect(&reply, 400, message);
        assert_eq!(status["reason"], "BadRequest", "{status}");
        assert_eq!(status["message"], message, "{status}");
    }
    let reply = apply_text(&path, "fieldManager=fleet-test", "{: [")
        .send(&client)
        .await;
    let status = expect(&reply, 400, "not YAML");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("error decoding YAML: "), "{status}");

    // A resourceVersion in the configuration is a precondition.
    let mut stale = config.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    let reply = apply_request(&path, "fieldManager=fleet-test", &stale)
        .send(&client)
        .await;
    let status = expect(&reply, 409, "a stale resourceVersion");
    assert_eq!(
        status["message"],
        "Operation cannot be fulfilled on clusterdeployments.fleet.k0rdent.io \"web\": \
         the object has been modified; please apply your changes to the latest version and try again"
    );
    let mut current = config.clone();
    current["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"].clone();
    current["metadata"]["labels"] = json!({"locked": "yes"});
    let locked = apply_as(&client, &path, "fleet-test", &current, 200).await;
    assert_eq!(locked["metadata"]["labels"], json!({"locked": "yes"}));
    assert_eq!(get(&client, &path).await, locked, "nothing else changed");
}

/// `patcher.applyPatch` runs `EnsureObjectNamespaceMatchesRequestNamespace` on what every patch
/// produces (k8s.io/apiserver `pkg/endpoints/handlers/patch.go`, `pkg/registry/rest/meta.go`).
async fn an_apply_naming_another_namespace_is_a_bad_request(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let path = cld_path("web");
    let mut config = Cld::new("web").json();
    config["metadata"]["namespace"] = json!("other");
    for code in [201, 200] {
        let reply = apply_request(&path, "fieldManager=fleet-test", &config)
            .send(&client)
            .await;
        let status = expect(&reply, 400, "another namespace");
        assert_eq!(
            status["message"],
            "the namespace of the provided object does not match the namespace sent on the request",
            "{status}"
        );
        // The second time round, against an existing object.
        apply_as(&client, &path, "fleet-test", &Cld::new("web").json(), code).await;
    }
}

/// A uid in the configuration: one no object has cannot create (`patcher.applyPatch`: "uid
/// mismatch"), another than the live one is an immutable field (`ValidateObjectMetaUpdate`),
/// the live one is fine.
async fn a_uid_in_an_apply_must_be_the_live_objects(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let path = cld_path("web");
    let config = Cld::new("web").config("region", "us-east-1").json();
    let created = apply_as(&client, &path, "fleet-test", &config, 201).await;
    let mut same_uid = config.clone();
    same_uid["metadata"]["uid"] = created["metadata"]["uid"].clone();
    let again = apply_as(&client, &path, "fleet-test", &same_uid, 200).await;
    assert_eq!(rv(&again), rv(&created));

    let mut ghost = Cld::new("ghost").json();
    ghost["metadata"]["uid"] = json!("0f6a4a64-7b1e-4e7a-9a51-1d5b4c1f6a00");
    let reply = apply_request(&cld_path("ghost"), "fieldManager=fleet-test", &ghost)
        .send(&client)
        .await;
    let status = expect(&reply, 409, "a uid on a missing object");
    assert_eq!(
        status["message"],
        "Operation cannot be fulfilled on clusterdeployments.fleet.k0rdent.io \"ghost\": uid mismatch: \
         the provided object specified uid 0f6a4a64-7b1e-4e7a-9a51-1d5b4c1f6a00, and no existing object was found"
    );
    let mut other_uid = config.clone();
    other_uid["metadata"]["uid"] = ghost["metadata"]["uid"].clone();
    let reply = apply_request(&path, "fieldManager=fleet-test", &other_uid)
        .send(&client)
        .await;
    let status = expect(&reply, 422, "another uid");
    assert_eq!(
        status["message"],
        "ClusterDeployment.fleet.k0rdent.io \"web\" is invalid: metadata.uid: Invalid value: \
         \"0f6a4a64-7b1e-4e7a-9a51-1d5b4c1f6a00\": field is immutable"
    );
    assert_eq!(get(&client, &path).await, created, "nothing changed");
    assert_eq!(Raw::get(&cld_path("ghost")).send(&client).await.status, 404);
}

on_both_backends!(
    apply_without_a_field_manager_is_an_invalid_patch_options_status,
    a_conflict_is_a_409_status_with_one_field_manager_conflict_cause_per_field,
    malformed_or_stale_apply_configurations_are_refused,
    an_apply_naming_another_namespace_is_a_bad_request,
    a_uid_in_an_apply_must_be_the_live_objects,
);
