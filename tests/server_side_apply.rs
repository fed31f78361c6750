//! Server-side apply against `fleet-apiserver up` (`../shared/docs/KUBERNETES-API.md` §7,
//! issue #8), on the embedded store and on etcd: kubectl 1.32 and 1.33 `apply --server-side`
//! (create, re-apply, update, conflicts and `--force-conflicts`, `--show-managed-fields`, the
//! removal rule, the migration from client-side apply, `--dry-run=server`, RBAC kinds);
//! kube-rs `Patch::Apply` and raw requests (managers, force, the 422 and 409 Status, `/status`,
//! negotiation and dry run, clearing managed fields, list types, OpenAPI); and an apply of
//! every kind discovery lists as patchable.
//!
//! Expected behaviour is upstream's: k8s.io/apiserver `pkg/endpoints/handlers/patch.go`,
//! k8s.io/apimachinery `pkg/util/managedfields/internal/` (`fieldmanager.go`,
//! `skipnonapplied.go`, `lastappliedmanager.go`, `lastappliedupdater.go`, `conflict.go`),
//! sigs.k8s.io/structured-merge-diff `merge/update.go`, and kubectl's `pkg/cmd/apply/apply.go`.

#[macro_use]
mod support;
/// The kubectl cases, in a file of their own (`kubectl::<backend>_kubectl_<version>::…`).
#[path = "support_apply/kubectl.rs"]
mod kubectl;
/// The refused applies, in a file of their own (`refusals::<backend>::…`).
#[path = "support_apply/refusals.rs"]
mod refusals;
mod support_apply;
mod support_discovery;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use support::{Backend, Raw, API_VERSION};
use support_apply::sweep::patchable_resources;
use support_apply::{
    apply_as, apply_request, apply_text, cld_path, clds, entries, expect, fields_of, get, managers,
    patch_request, rv, start, Cld, APPLY_PATCH, METADATA, TABLE_V1,
};

/// Applies `config` through kube-rs with `params`; the object as JSON.
async fn kube_apply(
    client: &kube::Client,
    params: &PatchParams,
    config: &Cld,
) -> Result<Value, kube::core::Status> {
    let name = config.json()["metadata"]["name"]
        .as_str()
        .expect("a name")
        .to_owned();
    match clds(client)
        .patch(&name, params, &Patch::Apply(config.json()))
        .await
    {
        Ok(object) => Ok(serde_json::to_value(object).expect("JSON")),
        Err(kube::Error::Api(status)) => Err(*status),
        Err(other) => panic!("apply of {name}: {other}"),
    }
}

async fn kube_apply_ok(client: &kube::Client, params: &PatchParams, config: &Cld) -> Value {
    kube_apply(client, params, config)
        .await
        .unwrap_or_else(|status| panic!("apply refused: {status:?}"))
}

async fn kube_rs_apply_creates_then_updates_an_object(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let params = PatchParams::apply("fleet-test");
    let config = Cld::new("web")
        .label("team", "a")
        .config("region", "us-east-1");
    let created = kube_apply_ok(&client, &params, &config).await;
    assert_eq!(created["kind"], "ClusterDeployment");
    assert_eq!(created["metadata"]["labels"], json!({"team": "a"}));
    assert_eq!(created["spec"]["config"], json!({"region": "us-east-1"}));
    assert_eq!(managers(&created), ["fleet-test Apply"]);
    let entry = &entries(&created)[0];
    assert_eq!(entry["apiVersion"], "fleet.k0rdent.io/v1alpha1");
    assert_eq!(entry["fieldsType"], "FieldsV1");
    assert!(entry["time"].is_string(), "{entry}");

    let again = kube_apply_ok(&client, &params, &config).await;
    assert_eq!(rv(&again), rv(&created));
    let updated = kube_apply_ok(&client, &params, &config.config("region", "eu-west-1")).await;
    assert_ne!(rv(&updated), rv(&created));
    assert_eq!(updated["spec"]["config"], json!({"region": "eu-west-1"}));

    // A field the server defaults (a service's namespace) is no change when re-applied
    // without it.
    let services = json!([{"name": "podinfo", "template": "podinfo-1"}]);
    let defaulted = Cld::new("defaulted").spec("services", services);
    let created = kube_apply_ok(&client, &params, &defaulted).await;
    assert_eq!(created["spec"]["services"][0]["namespace"], "podinfo");
    let again = kube_apply_ok(&client, &params, &defaulted).await;
    assert_eq!(rv(&again), rv(&created), "{again}");

    // Raw: 201 for the create, 200 after; a YAML body works like JSON.
    let yaml = "apiVersion: fleet.k0rdent.io/v1alpha1
kind: ClusterDeployment
metadata:
  name: yaml
  namespace: default
  labels: {team: b}
spec:
  template: aws-standalone-1
  credential: aws
  config:
    region: us-east-1   # a comment
    workers: 3
";
    let path = cld_path("yaml");
    let reply = apply_text(&path, "fieldManager=fleet-test", yaml)
        .send(&client)
        .await;
    let created = expect(&reply, 201, "apply create from YAML");
    assert_eq!(
        created["spec"]["config"],
        json!({"region": "us-east-1", "workers": 3})
    );
    let reply = apply_text(&path, "fieldManager=fleet-test", yaml)
        .send(&client)
        .await;
    assert_eq!(rv(&expect(&reply, 200, "re-apply from YAML")), rv(&created));
}

async fn managers_applying_disjoint_fields_never_conflict_and_both_keep_theirs(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let (a, b) = (PatchParams::apply("alpha"), PatchParams::apply("beta"));
    for round in 1..=4 {
        let mine = Cld::new("shared")
            .label("alpha", &format!("r{round}"))
            .config("alpha-key", round);
        kube_apply_ok(&client, &a, &mine).await;
        let theirs = Cld::partial("shared")
            .label("beta", &format!("r{round}"))
            .config("beta-key", round * 10);
        let object = kube_apply_ok(&client, &b, &theirs).await;
        assert_eq!(
            object["metadata"]["labels"],
            json!({"alpha": format!("r{round}"), "beta": format!("r{round}")})
        );
        assert_eq!(
            object["spec"]["config"],
            json!({"alpha-key": round, "beta-key": round * 10})
        );
        assert_eq!(managers(&object), ["alpha Apply", "beta Apply"]);
        assert_eq!(
            fields_of(&object, "alpha", "Apply"),
            json!({
                "f:metadata": {"f:labels": {"f:alpha": {}}},
                "f:spec": {"f:config": {"f:alpha-key": {}}, "f:credential": {}, "f:template": {}},
            })
        );
        assert_eq!(
            fields_of(&object, "beta", "Apply"),
            json!({
                "f:metadata": {"f:labels": {"f:beta": {}}},
                "f:spec": {"f:config": {"f:beta-key": {}}},
            })
        );
    }
}

async fn force_moves_ownership_from_one_applier_to_another(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let a = PatchParams::apply("alpha");
    let b = PatchParams::apply("beta");
    let mine = Cld::new("web").config("region", "us-east-1");
    kube_apply_ok(&client, &a, &mine).await;
    let theirs = Cld::partial("web").config("region", "eu-west-1");
    let refused = kube_apply(&client, &b, &theirs)
        .await
        .expect_err("beta conflicts with alpha");
    assert_eq!(refused.code, 409);
    assert_eq!(refused.reason, "Conflict");
    assert_eq!(
        refused.message,
        "Apply failed with 1 conflict: conflict with \"alpha\": .spec.config.region"
    );

    let forced = kube_apply_ok(&client, &b.clone().force(), &theirs).await;
    assert_eq!(forced["spec"]["config"], json!({"region": "eu-west-1"}));
    assert_eq!(
        fields_of(&forced, "beta", "Apply"),
        json!({"f:spec": {"f:config": {"f:region": {}}}})
    );
    assert_eq!(
        fields_of(&forced, "alpha", "Apply"),
        json!({"f:spec": {"f:credential": {}, "f:template": {}}}),
        "alpha lost region"
    );

    // Now alpha is the one in conflict.
    let refused = kube_apply(&client, &a, &mine)
        .await
        .expect_err("alpha conflicts");
    assert_eq!(
        refused.message,
        "Apply failed with 1 conflict: conflict with \"beta\": .spec.config.region"
    );
    // Leaving region out is no conflict, and does not remove beta's field.
    let object = kube_apply_ok(&client, &a, &Cld::new("web")).await;
    assert_eq!(object["spec"]["config"], json!({"region": "eu-west-1"}));
}

async fn apply_to_status_owns_only_status_and_the_main_endpoint_ignores_status(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let path = cld_path("st");
    let status_path = format!("{path}/status");
    let controller =
        Cld::partial("st").status(json!({"phase": "Provisioning", "kubernetesVersion": "v1.33.1"}));
    let reply = apply_request(
        &status_path,
        "fieldManager=fleet-controller",
        &controller.json(),
    )
    .send(&client)
    .await;
    let missing = expect(&reply, 404, "apply to the status of a missing object");
    assert_eq!(missing["reason"], "NotFound", "{missing}");

    // The main endpoint drops status, and its applier does not own it.
    let user = Cld::new("st")
        .config("region", "us-east-1")
        .status(json!({"phase": "Failed"}));
    let created = apply_as(&client, &path, "fleet-test", &user.json(), 201).await;
    assert!(created["status"].get("phase").is_none(), "{created}");
    assert!(fields_of(&created, "fleet-test", "Apply")
        .get("f:status")
        .is_none());

    // The status endpoint drops everything else.
    let controller = controller.config("region", "eu-west-1");
    let reported = apply_as(
        &client,
        &status_path,
        "fleet-controller",
        &controller.json(),
        200,
    )
    .await;
    assert_eq!(reported["status"]["phase"], "Provisioning");
    assert_eq!(reported["spec"]["config"]["region"], "us-east-1");
    assert_eq!(
        managers(&reported),
        ["fleet-controller Apply status", "fleet-test Apply"]
    );
    let entry = entries(&reported)
        .into_iter()
        .find(|e| e["manager"] == "fleet-controller")
        .expect("the controller's entry");
    assert_eq!(
        entry["fieldsV1"],
        json!({"f:status": {"f:kubernetesVersion": {}, "f:phase": {}}})
    );

    let again = apply_as(&client, &path, "fleet-test", &user.json(), 200).await;
    assert_eq!(
        again["status"]["phase"], "Provisioning",
        "the main endpoint keeps status"
    );
    assert_eq!(rv(&again), rv(&reported), "re-applied, nothing changes");

    // Another status applier conflicts with the controller, named with its subresource.
    let other = Cld::partial("st").status(json!({"phase": "Failed"}));
    let reply = apply_request(&status_path, "fieldManager=other", &other.json())
        .send(&client)
        .await;
    let conflict = expect(&reply, 409, "status conflict");
    assert_eq!(
        conflict["message"],
        "Apply failed with 1 conflict: conflict with \"fleet-controller\" with subresource \"status\": .status.phase"
    );
    // The removal rule holds on status too.
    let fewer = Cld::partial("st").status(json!({"phase": "Provisioned"}));
    let object = apply_as(
        &client,
        &status_path,
        "fleet-controller",
        &fewer.json(),
        200,
    )
    .await;
    assert_eq!(object["status"]["phase"], "Provisioned");
    assert!(
        object["status"].get("kubernetesVersion").is_none(),
        "{object}"
    );
}

async fn table_metadata_and_dry_run_work_on_apply_responses(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let path = cld_path("web");
    let config = Cld::new("web").config("region", "us-east-1").json();
    let reply = apply_request(&path, "fieldManager=fleet-test", &config)
        .header("accept", TABLE_V1)
        .send(&client)
        .await;
    let table = expect(&reply, 201, "apply create as a Table");
    assert_eq!(table["kind"], "Table", "{table}");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(table["columnDefinitions"][0]["name"], "Name", "{table}");
    assert_eq!(table["rows"][0]["cells"][0], "web", "{table}");

    let labelled = Cld::new("web")
        .label("team", "a")
        .config("region", "us-east-1")
        .json();
    let reply = apply_request(&path, "fieldManager=fleet-test", &labelled)
        .header("accept", METADATA)
        .send(&client)
        .await;
    let metadata = expect(&reply, 200, "apply update as metadata");
    assert_eq!(metadata["kind"], "PartialObjectMetadata", "{metadata}");
    assert_eq!(metadata["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(metadata["metadata"]["labels"], json!({"team": "a"}));
    assert_eq!(managers(&metadata), ["fleet-test Apply"]);
    assert!(metadata.get("spec").is_none(), "{metadata}");

    // dryRun=All: the answer of a real apply, nothing stored.
    let stored = get(&client, &path).await;
    let changed = Cld::new("web").config("region", "eu-west-1").json();
    let reply = apply_request(&path, "fieldManager=fleet-test&dryRun=All", &changed)
        .send(&client)
        .await;
    assert_eq!(
        expect(&reply, 200, "dry-run update")["spec"]["config"]["region"],
        "eu-west-1"
    );
    assert_eq!(get(&client, &path).await, stored);
    let ghost = Cld::new("ghost").json();
    let reply = apply_request(
        &cld_path("ghost"),
        "fieldManager=fleet-test&dryRun=All",
        &ghost,
    )
    .send(&client)
    .await;
    let answered = expect(&reply, 201, "dry-run create");
    assert_eq!(managers(&answered), ["fleet-test Apply"]);
    assert_eq!(Raw::get(&cld_path("ghost")).send(&client).await.status, 404);
}

/// Upstream `decodeLiveOrNew` and `skipNonAppliedManager` (k8s.io/kubernetes
/// `test/integration/apiserver/apply` `TestClearManagedFieldsWithUpdateEmptyList`).
async fn an_update_without_managed_fields_keeps_them_and_an_empty_entry_clears_them(
    backend: Backend,
) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let api = clds(&client);
    let config = Cld::new("web").config("region", "us-east-1");
    kube_apply_ok(&client, &PatchParams::apply("fleet-test"), &config).await;

    // Without managedFields: the live ones are kept, and the writer gets an Update entry.
    let mut object = api.get("web").await.expect("get");
    object.metadata.managed_fields = None;
    object.metadata.labels = Some([("edited".to_owned(), "yes".to_owned())].into());
    let params = PostParams {
        field_manager: Some("editor".to_owned()),
        ..PostParams::default()
    };
    let kept = serde_json::to_value(api.replace("web", &params, &object).await.expect("replace"))
        .expect("JSON");
    assert_eq!(managers(&kept), ["editor Update", "fleet-test Apply"]);
    assert_eq!(
        fields_of(&kept, "editor", "Update"),
        json!({"f:metadata": {"f:labels": {".": {}, "f:edited": {}}}})
    );

    // `[{}]` clears them; later writes of an object without them track nothing.
    let mut object = api.get("web").await.expect("get");
    object.metadata.managed_fields = Some(vec![ManagedFieldsEntry::default()]);
    let cleared = api.replace("web", &params, &object).await.expect("replace");
    assert_eq!(cleared.metadata.managed_fields, None, "{cleared:?}");
    let mut object = api.get("web").await.expect("get");
    assert_eq!(object.metadata.managed_fields, None);
    object.metadata.labels = Some([("edited".to_owned(), "again".to_owned())].into());
    let untracked = api.replace("web", &params, &object).await.expect("replace");
    assert_eq!(untracked.metadata.managed_fields, None, "{untracked:?}");

    // The next apply first hands everything to `before-first-apply`.
    let applied = kube_apply_ok(&client, &PatchParams::apply("fleet-test"), &config).await;
    assert_eq!(
        managers(&applied),
        ["before-first-apply Update", "fleet-test Apply"]
    );
    let changed = config.clone().config("region", "eu-west-1");
    let refused = kube_apply(&client, &PatchParams::apply("fleet-test"), &changed)
        .await
        .expect_err("a conflict with before-first-apply");
    assert_eq!(
        refused.message,
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using \
         fleet.k0rdent.io/v1alpha1: .spec.config.region"
    );

    // A merge patch of `managedFields: []` clears them too.
    let reply = patch_request(
        &cld_path("web"),
        "",
        "application/merge-patch+json",
        &json!({"metadata": {"managedFields": []}}),
    )
    .send(&client)
    .await;
    let patched = expect(&reply, 200, "merge patch clearing managed fields");
    assert!(entries(&patched).is_empty(), "{patched}");
    assert!(entries(&get(&client, &cld_path("web")).await).is_empty());
}

async fn every_patchable_kind_is_created_reapplied_and_conflicted_by_apply(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let resources = patchable_resources(&client).await;
    let kinds: Vec<&str> = resources.iter().map(|r| r.kind.as_str()).collect();
    for kind in [
        "ClusterDeployment",
        "Role",
        "ClusterRole",
        "RoleBinding",
        "ClusterRoleBinding",
    ] {
        assert!(kinds.contains(&kind), "{kind} is patchable: {kinds:?}");
    }
    let (mut applied, mut skipped) = (Vec::new(), Vec::new());
    for resource in &resources {
        let name = "sweep-apply";
        let Some(fixture) = resource.fixture(name, "sweep-a") else {
            skipped.push(resource.resource());
            continue;
        };
        let what = resource.resource();
        let path = resource.object(name);
        let created = apply_as(&client, &path, "sweep-a", &fixture, 201).await;
        assert_eq!(created["kind"], resource.kind.as_str(), "{what}: {created}");
        assert_eq!(managers(&created), ["sweep-a Apply"], "{what}: {created}");
        let again = apply_as(&client, &path, "sweep-a", &fixture, 200).await;
        assert_eq!(rv(&again), rv(&created), "{what}: a no-op re-apply");

        let mut other = fixture.clone();
        other["metadata"]["labels"]["owner"] = json!("sweep-b");
        let reply = apply_request(&path, "fieldManager=sweep-b", &other)
            .send(&client)
            .await;
        let conflict = expect(&reply, 409, &format!("{what}: conflicting apply"));
        assert_eq!(
            conflict["message"],
            "Apply failed with 1 conflict: conflict with \"sweep-a\": .metadata.labels.owner",
            "{what}"
        );
        assert_eq!(
            conflict["details"]["causes"],
            json!([{
                "reason": "FieldManagerConflict",
                "message": "conflict with \"sweep-a\"",
                "field": ".metadata.labels.owner",
            }]),
            "{what}"
        );
        let reply = apply_request(&path, "fieldManager=sweep-b&force=true", &other)
            .send(&client)
            .await;
        let forced = expect(&reply, 200, &format!("{what}: forced apply"));
        assert_eq!(forced["metadata"]["labels"]["owner"], "sweep-b", "{what}");
        assert_eq!(
            managers(&forced),
            ["sweep-a Apply", "sweep-b Apply"],
            "{what}"
        );
        applied.push(what);
    }
    eprintln!("applied: {}", applied.join(", "));
    if !skipped.is_empty() {
        eprintln!("no apply fixture (skipped): {}", skipped.join(", "));
    }
}

/// ObjectMeta's `finalizers` (`+listType=set`) and `ownerReferences` (`+listType=map`, key
/// `uid`, of atomic items: `+structType=atomic`) merge item by item; a list without a list
/// type (`spec.services`) is atomic.
async fn list_types_decide_which_items_two_appliers_share(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    // Real owners, so that the garbage collector keeps what refers to them.
    let mut uids = Vec::new();
    for owner in ["owner-a", "owner-b"] {
        let config = Cld::new(owner).json();
        let created = apply_as(&client, &cld_path(owner), "setup", &config, 201).await;
        uids.push(
            created["metadata"]["uid"]
                .as_str()
                .expect("a uid")
                .to_owned(),
        );
    }
    let kind = "ClusterDeployment";
    let reference = |name: &str, uid: &str| json!({"apiVersion": API_VERSION, "kind": kind, "name": name, "uid": uid});
    let path = cld_path("web");
    let services =
        |name: &str| json!([{"name": name, "template": format!("svc-{name}"), "namespace": name}]);
    let mut alpha = Cld::new("web").spec("services", services("a")).json();
    alpha["metadata"]["finalizers"] = json!(["fleet.k0rdent.io/alpha"]);
    alpha["metadata"]["ownerReferences"] = json!([reference("owner-a", &uids[0])]);
    let created = apply_as(&client, &path, "alpha", &alpha, 201).await;
    assert_eq!(
        fields_of(&created, "alpha", "Apply")["f:spec"]["f:services"],
        json!({}),
        "an atomic list is one field: {created}"
    );

    let mut beta = Cld::partial("web").json();
    beta["metadata"]["finalizers"] = json!(["fleet.k0rdent.io/beta"]);
    beta["metadata"]["ownerReferences"] = json!([reference("owner-b", &uids[1])]);
    let shared = apply_as(&client, &path, "beta", &beta, 200).await;
    assert_eq!(
        shared["metadata"]["finalizers"],
        json!(["fleet.k0rdent.io/alpha", "fleet.k0rdent.io/beta"])
    );
    let owners: Vec<&Value> = shared["metadata"]["ownerReferences"]
        .as_array()
        .expect("ownerReferences")
        .iter()
        .map(|r| &r["name"])
        .collect();
    assert_eq!(owners, [&json!("owner-a"), &json!("owner-b")]);
    let item = format!("k:{{\"uid\":\"{}\"}}", uids[1]);
    assert_eq!(
        fields_of(&shared, "beta", "Apply"),
        json!({"f:metadata": {
            "f:finalizers": {"v:\"fleet.k0rdent.io/beta\"": {}},
            "f:ownerReferences": {item: {}},
        }})
    );

    let mut other_services = beta.clone();
    other_services["spec"] = json!({"services": services("b")});
    let reply = apply_request(&path, "fieldManager=beta", &other_services)
        .send(&client)
        .await;
    assert_eq!(
        expect(&reply, 409, "a different atomic list")["message"],
        "Apply failed with 1 conflict: conflict with \"alpha\": .spec.services"
    );

    // alpha stops applying its items: only they go.
    let mut fewer = alpha.clone();
    fewer["metadata"]
        .as_object_mut()
        .expect("metadata")
        .remove("finalizers");
    fewer["metadata"]
        .as_object_mut()
        .expect("metadata")
        .remove("ownerReferences");
    let object = apply_as(&client, &path, "alpha", &fewer, 200).await;
    assert_eq!(
        object["metadata"]["finalizers"],
        json!(["fleet.k0rdent.io/beta"])
    );
    assert_eq!(
        object["metadata"]["ownerReferences"],
        json!([reference("owner-b", &uids[1])])
    );
    assert_eq!(object["spec"]["services"], services("a"));
}

/// Every patch operation of the OpenAPI v3 and v2 documents accepts apply patches.
async fn openapi_lists_apply_patches_for_every_patch_operation(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let mut operations = 0;
    let index = get(&client, "/openapi/v3").await;
    for (group_version, entry) in index["paths"].as_object().expect("paths") {
        let url = entry["serverRelativeURL"].as_str().expect("a URL");
        let document = get(&client, url).await;
        for (path, item) in document["paths"].as_object().expect("paths") {
            let Some(patch) = item.get("patch") else {
                continue;
            };
            operations += 1;
            let content = &patch["requestBody"]["content"];
            assert!(
                content.get(APPLY_PATCH).is_some(),
                "{group_version} {path}: {content}"
            );
        }
    }
    assert!(operations > 0, "some patch operations: {index}");
    let v2 = get(&client, "/openapi/v2").await;
    for (path, item) in v2["paths"].as_object().expect("paths") {
        if let Some(patch) = item.get("patch") {
            let consumes = &patch["consumes"];
            assert!(
                consumes
                    .as_array()
                    .expect("consumes")
                    .contains(&json!(APPLY_PATCH)),
                "{path}: {consumes}"
            );
        }
    }
}

/// At most ten Update entries: the oldest merge into `ancient-changes` (k8s.io/apimachinery
/// `pkg/util/managedfields/internal/capmanagers.go`); Apply entries are never merged.
async fn the_oldest_of_more_than_ten_updaters_merge_into_ancient_changes(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let path = cld_path("web");
    apply_as(&client, &path, "fleet-test", &Cld::new("web").json(), 201).await;
    let mut object = Value::Null;
    for n in 1..=12 {
        let manager = format!("m{n:02}");
        let body = json!({"metadata": {"labels": {manager.clone(): "x"}}});
        let reply = patch_request(
            &path,
            &format!("fieldManager={manager}"),
            "application/merge-patch+json",
            &body,
        )
        .send(&client)
        .await;
        object = expect(&reply, 200, &manager);
        if n == 11 {
            let updaters: Vec<String> = (3..=11).map(|n| format!("m{n:02} Update")).collect();
            let mut expected = vec![
                "ancient-changes Update".to_owned(),
                "fleet-test Apply".to_owned(),
            ];
            expected.extend(updaters);
            assert_eq!(managers(&object), expected);
            assert_eq!(
                fields_of(&object, "ancient-changes", "Update"),
                json!({"f:metadata": {"f:labels": {".": {}, "f:m01": {}, "f:m02": {}}}})
            );
        }
    }
    let mut expected = vec![
        "ancient-changes Update".to_owned(),
        "fleet-test Apply".to_owned(),
    ];
    expected.extend((4..=12).map(|n| format!("m{n:02} Update")));
    assert_eq!(managers(&object), expected);
    assert_eq!(
        fields_of(&object, "ancient-changes", "Update"),
        json!({"f:metadata": {"f:labels": {".": {}, "f:m01": {}, "f:m02": {}, "f:m03": {}}}})
    );
}

/// A write without `fieldManager` is recorded under its user agent up to the first `/`
/// (k8s.io/apiserver `handlers/create.go` `prefixFromUserAgent`), a nameless one as
/// `unknown` (`buildManagerInfo`).
async fn writes_without_a_field_manager_are_recorded_under_their_user_agent(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let path = cld_path("web");
    apply_as(&client, &path, "fleet-test", &Cld::new("web").json(), 201).await;
    for (agent, label) in [("my-tool/1.2 (linux/amd64)", "a"), ("", "b")] {
        let body = json!({"metadata": {"labels": {label: "x"}}});
        let reply = patch_request(&path, "", "application/merge-patch+json", &body)
            .header("user-agent", agent)
            .send(&client)
            .await;
        expect(&reply, 200, agent);
    }
    let object = get(&client, &path).await;
    assert_eq!(
        managers(&object),
        ["fleet-test Apply", "my-tool Update", "unknown Update"]
    );
    assert_eq!(
        fields_of(&object, "unknown", "Update"),
        json!({"f:metadata": {"f:labels": {"f:b": {}}}})
    );
}

on_both_backends!(
    kube_rs_apply_creates_then_updates_an_object,
    managers_applying_disjoint_fields_never_conflict_and_both_keep_theirs,
    force_moves_ownership_from_one_applier_to_another,
    apply_to_status_owns_only_status_and_the_main_endpoint_ignores_status,
    table_metadata_and_dry_run_work_on_apply_responses,
    an_update_without_managed_fields_keeps_them_and_an_empty_entry_clears_them,
    every_patchable_kind_is_created_reapplied_and_conflicted_by_apply,
    list_types_decide_which_items_two_appliers_share,
    openapi_lists_apply_patches_for_every_patch_operation,
    the_oldest_of_more_than_ten_updaters_merge_into_ancient_changes,
    writes_without_a_field_manager_are_recorded_under_their_user_agent,
);
