//! Waiting and deleting with kubectl: `wait` for a condition at the current generation and
//! for deletion, finalizers holding a delete, and cascading deletion (foreground, orphan,
//! background) through the garbage collector.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{cld_yaml, create, json, jsonpath, start, stderr, stdout};
use crate::support::{Backend, Kubectl};

/// A merge patch of the status subresource setting one Ready condition.
fn ready_condition(observed_generation: &str) -> String {
    format!(
        r#"{{"status":{{"conditions":[{{"type":"Ready","status":"True","reason":"Provisioned","message":"ready","lastTransitionTime":"2025-01-01T00:00:00Z","observedGeneration":{observed_generation}}}]}}}}"#
    )
}

pub(crate) fn wait_for_ready_needs_a_condition_observed_at_the_current_generation(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    create(&kubectl, &cld_yaml("web", "t1", ""));
    kubectl.ok(&[
        "patch",
        "cld",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"template":"t2"}}"#,
    ]);
    let generation = jsonpath(&kubectl, "web", "{.metadata.generation}");
    assert_eq!(generation, "2");

    let stale = kubectl.ok(&[
        "patch",
        "cld",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        &ready_condition("1"),
    ]);
    assert_eq!(
        stale.trim(),
        "clusterdeployment.fleet.k0rdent.io/web patched"
    );
    assert_eq!(
        jsonpath(
            &kubectl,
            "web",
            "{.status.conditions[0].type} {.metadata.generation}"
        ),
        "Ready 2",
        "a status write leaves generation alone"
    );
    let early = kubectl.run(
        &["wait", "--for=condition=Ready", "cld/web", "--timeout=2s"],
        None,
    );
    assert!(
        !early.status.success(),
        "a condition observed at an older generation does not count: {}",
        stdout(&early)
    );
    assert!(stderr(&early).contains("timed out"), "{}", stderr(&early));

    kubectl.ok(&[
        "patch",
        "cld",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        &ready_condition(&generation),
    ]);
    let met = kubectl.ok(&["wait", "--for=condition=Ready", "cld/web", "--timeout=30s"]);
    assert_eq!(
        met.trim(),
        "clusterdeployment.fleet.k0rdent.io/web condition met"
    );
    let jsonpath_wait = kubectl.ok(&[
        "wait",
        "--for=jsonpath={.status.conditions[0].reason}=Provisioned",
        "cld/web",
        "--timeout=30s",
    ]);
    assert_eq!(
        jsonpath_wait.trim(),
        "clusterdeployment.fleet.k0rdent.io/web condition met"
    );
}

pub(crate) fn finalizers_hold_deletion_and_wait_for_delete_ends_when_the_last_goes(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    create(
        &kubectl,
        &cld_yaml("web", "t1", "  finalizers:\n  - example.com/hold\n"),
    );
    let deleted = kubectl.ok(&["delete", "cld", "web", "--wait=false"]);
    assert_eq!(
        deleted.trim(),
        "clusterdeployment.fleet.k0rdent.io \"web\" deleted"
    );
    let meta = json(&jsonpath(&kubectl, "web", "{.metadata}"));
    assert!(
        meta["deletionTimestamp"].is_string(),
        "still there, marked: {meta}"
    );
    assert_eq!(meta["finalizers"], json!(["example.com/hold"]), "{meta}");
    assert_eq!(meta["deletionGracePeriodSeconds"], 0, "{meta}");

    let refused = kubectl.fails(&[
        "patch",
        "cld",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/metadata/finalizers/-","value":"x/y"}]"#,
    ]);
    assert!(
        refused.contains(
            r#"metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"x/y"}"#
        ),
        "{refused}"
    );
    assert!(refused.contains("is invalid"), "{refused}");

    std::thread::scope(|scope| {
        let remover = scope.spawn(|| {
            std::thread::sleep(Duration::from_secs(1));
            kubectl.ok(&[
                "patch",
                "cld",
                "web",
                "--type=json",
                "-p",
                r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
            ])
        });
        let waited = kubectl.ok(&["wait", "--for=delete", "cld/web", "--timeout=30s"]);
        assert_eq!(
            waited.trim(),
            "clusterdeployment.fleet.k0rdent.io/web condition met"
        );
        let removed = remover.join().expect("the finalizer remover");
        assert_eq!(
            removed.trim(),
            "clusterdeployment.fleet.k0rdent.io/web patched"
        );
    });
    let gone = kubectl.fails(&["get", "cld", "web"]);
    assert!(gone.contains("NotFound"), "{gone}");
}

/// Creates a dependent of `owner` (by uid) named `name`, blocking the owner's foreground
/// deletion (`blockOwnerDeletion: true`, as controllers set it).
fn create_dependent(kubectl: &Kubectl, owner: &str, name: &str) {
    let uid = jsonpath(kubectl, owner, "{.metadata.uid}");
    let reference = format!(
        "  ownerReferences:\n  - apiVersion: fleet.k0rdent.io/v1alpha1\n    kind: ClusterDeployment\n    name: {owner}\n    uid: {uid}\n    blockOwnerDeletion: true\n"
    );
    create(kubectl, &cld_yaml(name, "t1", &reference));
}

fn names(kubectl: &Kubectl) -> Vec<String> {
    let out = kubectl.ok(&["get", "cld", "-o", "jsonpath={.items[*].metadata.name}"]);
    out.split_whitespace().map(str::to_owned).collect()
}

pub(crate) fn cascading_delete_removes_dependents_in_the_foreground_and_orphans_keep_them(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    create(&kubectl, &cld_yaml("owner", "t1", ""));
    create_dependent(&kubectl, "owner", "dep-1");
    create_dependent(&kubectl, "owner", "dep-2");
    create(&kubectl, &cld_yaml("bystander", "t1", ""));
    // kubectl waits until the owner is gone, which happens after its dependents.
    let out = kubectl.ok(&["delete", "cld", "owner", "--cascade=foreground"]);
    assert_eq!(
        out.trim(),
        "clusterdeployment.fleet.k0rdent.io \"owner\" deleted"
    );
    assert_eq!(names(&kubectl), ["bystander"]);

    create(&kubectl, &cld_yaml("parent", "t1", ""));
    create_dependent(&kubectl, "parent", "child");
    let out = kubectl.ok(&["delete", "cld", "parent", "--cascade=orphan"]);
    assert_eq!(
        out.trim(),
        "clusterdeployment.fleet.k0rdent.io \"parent\" deleted"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while names(&kubectl).contains(&"parent".to_owned()) {
        assert!(Instant::now() < deadline, "the orphaning delete ends");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(names(&kubectl), ["bystander", "child"]);
    assert_eq!(
        jsonpath(&kubectl, "child", "{.metadata.ownerReferences}"),
        "",
        "the orphan lost its reference"
    );

    // Background (the default): the owner goes at once, the dependent right after.
    create(&kubectl, &cld_yaml("leader", "t1", ""));
    create_dependent(&kubectl, "leader", "follower");
    kubectl.ok(&["delete", "cld", "leader"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while names(&kubectl).contains(&"follower".to_owned()) {
        assert!(
            Instant::now() < deadline,
            "the garbage collector deletes the dependent"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(names(&kubectl), ["bystander", "child"]);
}
