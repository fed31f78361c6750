//! kubectl 1.32 and 1.33 `apply --server-side` against `fleet-apiserver up`, on both
//! backends: create, re-apply, update; conflicts with `kubectl patch` and `--force-conflicts`;
//! `--show-managed-fields`; the removal rule; the migration from client-side apply;
//! `--dry-run=server`; RBAC kinds. A module of `tests/server_side_apply.rs`.

use serde_json::{json, Value};

use crate::support::{Backend, Kubectl, TestServer};
use crate::support_apply::{
    fields_of, kubectl_apply, kubectl_get, managed_fields_block, managers, rv, without_times, Cld,
    KUBECTL_CONFLICT_ADVICE, LAST_APPLIED,
};

/// The fields `Cld::new(..).label("team", ..).config("region", ..).config("workers", ..)` sets.
fn team_region_workers_fields() -> Value {
    json!({
        "f:metadata": {"f:labels": {"f:team": {}}},
        "f:spec": {
            "f:config": {"f:region": {}, "f:workers": {}},
            "f:credential": {},
            "f:template": {},
        },
    })
}

fn start_kubectl(backend: Backend, version: &str) -> Option<(TestServer, Kubectl)> {
    let server = TestServer::start(backend)?;
    let kubectl = Kubectl::new(version, &server.kubeconfig())?;
    Some((server, kubectl))
}

fn apply_server_side_creates_then_leaves_an_unchanged_object_alone_then_updates(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start_kubectl(backend, version) else {
        return;
    };
    let config = Cld::new("web")
        .label("team", "a")
        .config("region", "us-east-1")
        .config("workers", 2);
    let out = kubectl_apply(&kubectl, &config.text(), &[]);
    assert_eq!(
        out,
        "clusterdeployment.fleet.k0rdent.io/web serverside-applied"
    );
    let created = kubectl_get(&kubectl, &["cld", "web"]);
    assert_eq!(managers(&created), ["kubectl Apply"], "{created}");
    assert_eq!(
        fields_of(&created, "kubectl", "Apply"),
        team_region_workers_fields()
    );
    assert_eq!(
        created["spec"]["config"],
        json!({"region": "us-east-1", "workers": 2})
    );

    // The same configuration again writes nothing.
    let out = kubectl_apply(&kubectl, &config.text(), &[]);
    assert_eq!(
        out,
        "clusterdeployment.fleet.k0rdent.io/web serverside-applied"
    );
    let again = kubectl_get(&kubectl, &["cld", "web"]);
    assert_eq!(
        rv(&again),
        rv(&created),
        "a no-op apply keeps the resourceVersion"
    );
    assert_eq!(
        again, created,
        "a no-op apply changes nothing, times included"
    );

    let changed = config.label("tier", "gold").config("region", "eu-west-1");
    let out = kubectl_apply(&kubectl, &changed.text(), &[]);
    assert_eq!(
        out,
        "clusterdeployment.fleet.k0rdent.io/web serverside-applied"
    );
    let updated = kubectl_get(&kubectl, &["cld", "web"]);
    assert_ne!(rv(&updated), rv(&created));
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
    assert_eq!(
        updated["spec"]["config"],
        json!({"region": "eu-west-1", "workers": 2})
    );
    assert_eq!(
        updated["metadata"]["labels"],
        json!({"team": "a", "tier": "gold"})
    );
    assert_eq!(managers(&updated), ["kubectl Apply"]);
    let mut fields = team_region_workers_fields();
    fields["f:metadata"]["f:labels"]["f:tier"] = json!({});
    assert_eq!(fields_of(&updated, "kubectl", "Apply"), fields);
}

fn apply_server_side_conflicts_on_a_field_kubectl_patch_changed_until_forced(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start_kubectl(backend, version) else {
        return;
    };
    let config = Cld::new("web")
        .label("team", "a")
        .config("region", "us-east-1")
        .config("workers", 2);
    kubectl_apply(&kubectl, &config.text(), &[]);
    let patch = r#"{"spec":{"config":{"region":"eu-west-1","zone":"b"}}}"#;
    let out = kubectl.ok(&["patch", "cld", "web", "--type=merge", "-p", patch]);
    assert_eq!(out.trim(), "clusterdeployment.fleet.k0rdent.io/web patched");
    let patched = kubectl_get(&kubectl, &["cld", "web"]);
    assert_eq!(
        managers(&patched),
        ["kubectl Apply", "kubectl-patch Update"]
    );
    // The patch took `region` from the applier.
    assert_eq!(
        fields_of(&patched, "kubectl-patch", "Update"),
        json!({"f:spec": {"f:config": {"f:region": {}, "f:zone": {}}}})
    );
    assert!(
        fields_of(&patched, "kubectl", "Apply")["f:spec"]["f:config"]
            .get("f:region")
            .is_none(),
        "{patched}"
    );

    let changed = config.config("region", "us-west-2");
    let err = kubectl.fails_with(
        &["apply", "--server-side", "-f", "-"],
        Some(&changed.text()),
    );
    assert_eq!(
        err,
        format!(
            "error: Apply failed with 1 conflict: conflict with \"kubectl-patch\" using \
             fleet.k0rdent.io/v1alpha1: .spec.config.region\n{KUBECTL_CONFLICT_ADVICE}"
        )
    );
    let refused = kubectl_get(&kubectl, &["cld", "web"]);
    assert_eq!(refused, patched, "a conflicting apply writes nothing");

    let out = kubectl_apply(&kubectl, &changed.text(), &["--force-conflicts"]);
    assert_eq!(
        out,
        "clusterdeployment.fleet.k0rdent.io/web serverside-applied"
    );
    let forced = kubectl_get(&kubectl, &["cld", "web"]);
    assert_eq!(
        forced["spec"]["config"],
        json!({"region": "us-west-2", "workers": 2, "zone": "b"})
    );
    assert_eq!(managers(&forced), ["kubectl Apply", "kubectl-patch Update"]);
    assert_eq!(
        fields_of(&forced, "kubectl", "Apply"),
        team_region_workers_fields()
    );
    assert_eq!(
        fields_of(&forced, "kubectl-patch", "Update"),
        json!({"f:spec": {"f:config": {"f:zone": {}}}}),
        "force moved region to the applier"
    );
}

fn get_show_managed_fields_prints_the_apply_and_update_entries(backend: Backend, version: &str) {
    let Some((_server, kubectl)) = start_kubectl(backend, version) else {
        return;
    };
    let config = Cld::new("web")
        .label("team", "a")
        .config("region", "us-east-1")
        .config("workers", 2);
    kubectl_apply(&kubectl, &config.text(), &[]);
    let patch = r#"{"metadata":{"labels":{"tier":"gold"}},"spec":{"config":{"zone":"b"}}}"#;
    kubectl.ok(&["patch", "cld", "web", "--type=merge", "-p", patch]);
    // The same patch again changes nothing, managed fields and times included.
    let out = kubectl.ok(&["patch", "cld", "web", "--type=merge", "-p", patch]);
    assert_eq!(
        out.trim(),
        "clusterdeployment.fleet.k0rdent.io/web patched (no change)"
    );

    let plain = kubectl.ok(&["get", "cld", "web", "-o", "yaml"]);
    assert!(!plain.contains("managedFields"), "{plain}");
    let yaml = kubectl.ok(&["get", "cld", "web", "-o", "yaml", "--show-managed-fields"]);
    for line in yaml
        .lines()
        .filter(|l| l.trim_start().starts_with("time: "))
    {
        let time = line
            .trim_start()
            .trim_start_matches("time: ")
            .trim_matches('"');
        assert!(
            time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
            "RFC 3339 in seconds: {line}"
        );
    }
    let expected = r#"  managedFields:
  - apiVersion: fleet.k0rdent.io/v1alpha1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata:
        f:labels:
          f:team: {}
      f:spec:
        f:config:
          f:region: {}
          f:workers: {}
        f:credential: {}
        f:template: {}
    manager: kubectl
    operation: Apply
    time: TIME
  - apiVersion: fleet.k0rdent.io/v1alpha1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata:
        f:labels:
          f:tier: {}
      f:spec:
        f:config:
          f:zone: {}
    manager: kubectl-patch
    operation: Update
    time: TIME"#;
    assert_eq!(
        managed_fields_block(&without_times(&yaml)),
        expected,
        "{yaml}"
    );
}

fn apply_server_side_removes_fields_it_alone_owned_and_keeps_shared_ones(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start_kubectl(backend, version) else {
        return;
    };
    let full = Cld::new("web")
        .label("team", "a")
        .label("tier", "gold")
        .config("region", "us-east-1")
        .config("workers", 2)
        .config("size", "small");
    kubectl_apply(&kubectl, &full.text(), &[]);
    // `ops` applies the same size: the two co-own it.
    let ops = Cld::partial("web").config("size", "small");
    let out = kubectl_apply(&kubectl, &ops.text(), &["--field-manager=ops"]);
    assert_eq!(
        out,
        "clusterdeployment.fleet.k0rdent.io/web serverside-applied"
    );
    // `kubectl-patch` adds a field of its own.
    let patch = r#"{"spec":{"config":{"zone":"b"}}}"#;
    kubectl.ok(&["patch", "cld", "web", "--type=merge", "-p", patch]);

    let fewer = Cld::new("web")
        .label("team", "a")
        .config("region", "us-east-1");
    kubectl_apply(&kubectl, &fewer.text(), &[]);
    let object = kubectl_get(&kubectl, &["cld", "web"]);
    assert_eq!(
        object["metadata"]["labels"],
        json!({"team": "a"}),
        "{object}"
    );
    assert_eq!(
        object["spec"]["config"],
        json!({"region": "us-east-1", "size": "small", "zone": "b"}),
        "workers (kubectl's alone) went; size (shared) and zone (an updater's) stayed"
    );
    assert_eq!(
        managers(&object),
        ["kubectl Apply", "kubectl-patch Update", "ops Apply"]
    );
    assert_eq!(
        fields_of(&object, "kubectl", "Apply"),
        json!({
            "f:metadata": {"f:labels": {"f:team": {}}},
            "f:spec": {"f:config": {"f:region": {}}, "f:credential": {}, "f:template": {}},
        })
    );
    assert_eq!(
        fields_of(&object, "ops", "Apply"),
        json!({"f:spec": {"f:config": {"f:size": {}}}})
    );

    // Once ops stops applying it, size is no one's and goes too.
    let nothing = Cld::partial("web").label("ops", "yes");
    kubectl_apply(&kubectl, &nothing.text(), &["--field-manager=ops"]);
    let object = kubectl_get(&kubectl, &["cld", "web"]);
    assert_eq!(
        object["spec"]["config"],
        json!({"region": "us-east-1", "zone": "b"})
    );
}

fn migrating_from_client_side_apply_hands_its_fields_to_the_server_side_applier(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start_kubectl(backend, version) else {
        return;
    };
    let config = Cld::new("old")
        .label("team", "a")
        .config("region", "us-east-1")
        .config("workers", 2);
    let out = kubectl.ok_with(&["apply", "-f", "-"], Some(&config.text()));
    assert_eq!(out.trim(), "clusterdeployment.fleet.k0rdent.io/old created");
    let client_side = kubectl_get(&kubectl, &["cld", "old"]);
    assert_eq!(managers(&client_side), ["kubectl-client-side-apply Update"]);
    assert!(client_side["metadata"]["annotations"][LAST_APPLIED].is_string());

    // kubectl applies, saves the annotation under `kubectl-last-applied`, then rewrites the
    // managed fields so that `kubectl` owns what `kubectl-client-side-apply` did, and
    // applies again.
    let out = kubectl_apply(&kubectl, &config.text(), &[]);
    assert_eq!(
        out,
        "clusterdeployment.fleet.k0rdent.io/old serverside-applied"
    );
    let migrated = kubectl_get(&kubectl, &["cld", "old"]);
    assert_eq!(
        managers(&migrated),
        ["kubectl Apply", "kubectl-last-applied Apply"],
        "{migrated}"
    );
    assert_eq!(
        fields_of(&migrated, "kubectl", "Apply"),
        team_region_workers_fields()
    );
    assert_eq!(
        fields_of(&migrated, "kubectl-last-applied", "Apply"),
        json!({"f:metadata": {"f:annotations": {format!("f:{LAST_APPLIED}"): {}}}})
    );
    // The annotation stays (its content: see the next test, lastAppliedUpdater).
    assert!(migrated["metadata"]["annotations"][LAST_APPLIED].is_string());
    assert_eq!(migrated["spec"], client_side["spec"]);

    // kubectl now owns workers alone: leaving it out removes it.
    let fewer = Cld::new("old")
        .label("team", "a")
        .config("region", "us-east-1");
    kubectl_apply(&kubectl, &fewer.text(), &[]);
    let object = kubectl_get(&kubectl, &["cld", "old"]);
    assert_eq!(object["spec"]["config"], json!({"region": "us-east-1"}));
    assert_eq!(
        managers(&object),
        ["kubectl Apply", "kubectl-last-applied Apply"]
    );
}

/// Upstream's `lastAppliedManager`: kubectl's first server-side apply may change fields the
/// client-side applier set (those still as `last-applied-configuration` says) without a
/// conflict; `lastAppliedUpdater` then keeps the annotation in step with what `kubectl`
/// applies (k8s.io/kubernetes `test/integration/apiserver/apply`
/// `TestUpgradeClientSideToServerSideApply`).
fn first_server_side_apply_after_client_side_apply_may_change_what_it_applied(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start_kubectl(backend, version) else {
        return;
    };
    let config = Cld::new("old")
        .label("team", "a")
        .config("region", "us-east-1");
    kubectl.ok_with(&["apply", "-f", "-"], Some(&config.text()));
    let changed = config.config("region", "eu-west-1");
    let out = kubectl.run(
        &["apply", "--server-side", "-f", "-"],
        Some(&changed.text()),
    );
    assert!(
        out.status.success(),
        "a change of a client-side applied field is no conflict for kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let object = kubectl_get(&kubectl, &["cld", "old"]);
    assert_eq!(object["spec"]["config"], json!({"region": "eu-west-1"}));
    assert_eq!(
        managers(&object),
        ["kubectl Apply", "kubectl-last-applied Apply"]
    );
    let annotation = object["metadata"]["annotations"][LAST_APPLIED]
        .as_str()
        .expect("the annotation is kept");
    let last: Value = serde_json::from_str(annotation).expect("the annotation is JSON");
    assert_eq!(
        last["spec"]["config"]["region"], "eu-west-1",
        "the server keeps the annotation in step with kubectl's apply: {annotation}"
    );
}

fn server_dry_run_apply_answers_the_result_and_stores_nothing(backend: Backend, version: &str) {
    let Some((_server, kubectl)) = start_kubectl(backend, version) else {
        return;
    };
    let config = Cld::new("web")
        .label("team", "a")
        .config("region", "us-east-1");
    kubectl_apply(&kubectl, &config.text(), &[]);
    let stored = kubectl_get(&kubectl, &["cld", "web"]);

    let changed = config.clone().config("region", "ap-south-1");
    let out = kubectl_apply(&kubectl, &changed.text(), &["--dry-run=server"]);
    assert_eq!(
        out,
        "clusterdeployment.fleet.k0rdent.io/web serverside-applied (server dry run)"
    );
    let answered = kubectl.ok_with(
        &[
            "apply",
            "--server-side",
            "-f",
            "-",
            "--dry-run=server",
            "-o",
            "json",
        ],
        Some(&changed.text()),
    );
    let answered: Value = serde_json::from_str(&answered).expect("JSON");
    assert_eq!(answered["spec"]["config"]["region"], "ap-south-1");
    assert_eq!(
        kubectl_get(&kubectl, &["cld", "web"]),
        stored,
        "a dry run changes nothing stored"
    );

    // kubectl diff --server-side is a dry-run apply.
    let diff = kubectl.run(&["diff", "--server-side", "-f", "-"], Some(&changed.text()));
    let shown = String::from_utf8_lossy(&diff.stdout);
    assert_eq!(diff.status.code(), Some(1), "differences: {shown}");
    assert!(
        shown.contains("\n-    region: us-east-1\n")
            && shown.contains("\n+    region: ap-south-1\n"),
        "{shown}"
    );
    assert!(!shown.contains("managedFields"), "{shown}");
    let same = kubectl.run(&["diff", "--server-side", "-f", "-"], Some(&config.text()));
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    assert!(same.stdout.is_empty());
    assert_eq!(kubectl_get(&kubectl, &["cld", "web"]), stored);

    let ghost = Cld::new("ghost").config("region", "us-east-1");
    let out = kubectl_apply(&kubectl, &ghost.text(), &["--dry-run=server"]);
    assert_eq!(
        out,
        "clusterdeployment.fleet.k0rdent.io/ghost serverside-applied (server dry run)"
    );
    let err = kubectl.fails(&["get", "cld", "ghost"]);
    assert_eq!(
        err.trim(),
        "Error from server (NotFound): clusterdeployments.fleet.k0rdent.io \"ghost\" not found"
    );
}

const RBAC: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: fleet-viewer
rules:
- apiGroups: [fleet.k0rdent.io]
  resources: [clusterdeployments]
  verbs: [VERBS]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: viewers
  namespace: default
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: fleet-viewer
subjects:
- kind: User
  name: alice
  apiGroup: rbac.authorization.k8s.io
";

fn rbac_kinds_apply_server_side_with_atomic_rules_and_subjects(backend: Backend, version: &str) {
    let Some((_server, kubectl)) = start_kubectl(backend, version) else {
        return;
    };
    let rbac = |verbs: &str| RBAC.replace("VERBS", verbs);
    let out = kubectl_apply(&kubectl, &rbac("get, list"), &[]);
    assert_eq!(
        out,
        "clusterrole.rbac.authorization.k8s.io/fleet-viewer serverside-applied\n\
         rolebinding.rbac.authorization.k8s.io/viewers serverside-applied"
    );
    let role = kubectl_get(&kubectl, &["clusterrole", "fleet-viewer"]);
    let binding = kubectl_get(&kubectl, &["rolebinding", "viewers"]);
    assert_eq!(managers(&role), ["kubectl Apply"]);
    assert_eq!(fields_of(&role, "kubectl", "Apply"), json!({"f:rules": {}}));
    assert_eq!(
        fields_of(&binding, "kubectl", "Apply"),
        json!({"f:roleRef": {}, "f:subjects": {}}),
        "roleRef is an atomic map, subjects an atomic list"
    );
    kubectl_apply(&kubectl, &rbac("get, list"), &[]);
    assert_eq!(
        rv(&kubectl_get(&kubectl, &["clusterrole", "fleet-viewer"])),
        rv(&role)
    );
    assert_eq!(
        rv(&kubectl_get(&kubectl, &["rolebinding", "viewers"])),
        rv(&binding)
    );

    // Changing one verb changes the atomic list: kubectl-patch takes all of `.rules`.
    let add = r#"[{"op":"add","path":"/rules/0/verbs/-","value":"watch"}]"#;
    let out = kubectl.ok(&[
        "patch",
        "clusterrole",
        "fleet-viewer",
        "--type=json",
        "-p",
        add,
    ]);
    assert_eq!(
        out.trim(),
        "clusterrole.rbac.authorization.k8s.io/fleet-viewer patched"
    );
    let patched = kubectl_get(&kubectl, &["clusterrole", "fleet-viewer"]);
    assert_eq!(managers(&patched), ["kubectl-patch Update"]);
    let err = kubectl.fails_with(
        &["apply", "--server-side", "-f", "-"],
        Some(&rbac("get, list")),
    );
    assert_eq!(
        err,
        format!(
            "error: Apply failed with 1 conflict: conflict with \"kubectl-patch\" using \
             rbac.authorization.k8s.io/v1: .rules\n{KUBECTL_CONFLICT_ADVICE}"
        )
    );

    // Forced, the applied list replaces the live one whole (no item merge).
    kubectl_apply(&kubectl, &rbac("get"), &["--force-conflicts"]);
    let forced = kubectl_get(&kubectl, &["clusterrole", "fleet-viewer"]);
    assert_eq!(
        forced["rules"],
        json!([{
            "apiGroups": ["fleet.k0rdent.io"],
            "resources": ["clusterdeployments"],
            "verbs": ["get"],
        }])
    );
    assert_eq!(managers(&forced), ["kubectl Apply"]);
}

for_each_backend_and_kubectl!(
    apply_server_side_creates_then_leaves_an_unchanged_object_alone_then_updates,
    apply_server_side_conflicts_on_a_field_kubectl_patch_changed_until_forced,
    get_show_managed_fields_prints_the_apply_and_update_entries,
    apply_server_side_removes_fields_it_alone_owned_and_keeps_shared_ones,
    migrating_from_client_side_apply_hands_its_fields_to_the_server_side_applier,
    first_server_side_apply_after_client_side_apply_may_change_what_it_applied,
    server_dry_run_apply_answers_the_result_and_stores_nothing,
    rbac_kinds_apply_server_side_with_atomic_rules_and_subjects,
);
