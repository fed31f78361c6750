//! ClusterRole aggregation, as kube-controller-manager's `clusterroleaggregation` controller
//! does it (standalone servers have no controller manager): an aggregating ClusterRole's
//! `rules` become the union of the roles its selectors match, and follow them; and labelling a
//! role into an aggregation is an escalation check like any other RBAC write.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Backend, Kubectl, TestServer};

const VERSION: &str = "1.33";

fn rules_of(kubectl: &Kubectl, role: &str) -> Value {
    let out = kubectl.ok(&["get", "clusterrole", role, "-o", "json"]);
    let role: Value = serde_json::from_str(&out).expect("JSON");
    role["rules"].clone()
}

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn aggregating_roles_gather_and_follow_the_rules_of_the_roles_they_select() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let Some(admin) = Kubectl::new(VERSION, &server.kubeconfig()) else {
        return;
    };
    let aggregating = "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {example.com/aggregate-to-monitoring: \"true\"}
rules: []
";
    admin.ok_with(&["apply", "-f", "-"], Some(aggregating));
    admin.ok(&[
        "create",
        "clusterrole",
        "cld-reader",
        "--verb=get,list",
        "--resource=clusterdeployments.fleet.k0rdent.io",
    ]);
    admin.ok(&[
        "label",
        "clusterrole",
        "cld-reader",
        "example.com/aggregate-to-monitoring=true",
    ]);
    let reader = serde_json::json!([{
        "apiGroups": ["fleet.k0rdent.io"], "resources": ["clusterdeployments"], "verbs": ["get", "list"],
    }]);
    eventually("the reader's rules are aggregated", || {
        rules_of(&admin, "monitoring") == reader
    });
    // The aggregated role grants them: a binding to it lets bob list.
    admin.ok(&[
        "create",
        "clusterrolebinding",
        "bob-monitoring",
        "--clusterrole=monitoring",
        "--user=bob",
    ]);
    let bob = Kubectl::new(VERSION, &server.kubeconfig_for("bob", &[])).unwrap();
    eventually("bob may list", || {
        bob.run(&["get", "cld", "-A"], None).status.success()
    });
    // Another selected role adds its rules; removing the label takes the first away.
    admin.ok(&[
        "create",
        "clusterrole",
        "mcs-reader",
        "--verb=get",
        "--resource=multiclusterservices.fleet.k0rdent.io",
    ]);
    admin.ok(&[
        "label",
        "clusterrole",
        "mcs-reader",
        "example.com/aggregate-to-monitoring=true",
    ]);
    admin.ok(&[
        "label",
        "clusterrole",
        "cld-reader",
        "example.com/aggregate-to-monitoring-",
    ]);
    let mcs = serde_json::json!([{
        "apiGroups": ["fleet.k0rdent.io"], "resources": ["multiclusterservices"], "verbs": ["get"],
    }]);
    eventually("the aggregation follows the labels", || {
        rules_of(&admin, "monitoring") == mcs
    });
    eventually("bob may no longer list", || {
        !bob.run(&["get", "cld", "-A"], None).status.success()
    });
    let managers = admin.ok(&[
        "get",
        "clusterrole",
        "monitoring",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ]);
    assert!(
        managers.contains("clusterrole-aggregation-controller"),
        "{managers}"
    );
}

#[test]
fn labelling_a_role_into_an_aggregation_needs_its_permissions() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let Some(admin) = Kubectl::new(VERSION, &server.kubeconfig()) else {
        return;
    };
    // alice may label ClusterRoles, and holds fleet:view, but not credentials writes.
    admin.ok(&[
        "create",
        "clusterrole",
        "role-labeller",
        "--verb=get,list,patch,update",
        "--resource=clusterroles.rbac.authorization.k8s.io",
    ]);
    admin.ok(&[
        "create",
        "clusterrolebinding",
        "alice-labeller",
        "--clusterrole=role-labeller",
        "--user=alice",
    ]);
    admin.ok(&[
        "create",
        "clusterrolebinding",
        "alice-view",
        "--clusterrole=fleet:view",
        "--user=alice",
    ]);
    let alice = Kubectl::new(VERSION, &server.kubeconfig_for("alice", &[])).unwrap();
    eventually("alice may list clusterroles", || {
        alice.run(&["get", "clusterroles"], None).status.success()
    });
    // fleet:admin feeds the host cluster's `admin` role through this label: alice may not
    // relabel it into something she is bound to.
    let refused = alice.fails(&["label", "clusterrole", "fleet:admin", "team=alice"]);
    assert!(
        refused.contains("clusterroles.rbac.authorization.k8s.io \"fleet:admin\" is forbidden: user \"alice\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:"),
        "{refused}"
    );
    // A role whose permissions she holds she may label.
    admin.ok(&[
        "create",
        "clusterrole",
        "small",
        "--verb=get",
        "--resource=clusterdeployments.fleet.k0rdent.io",
    ]);
    alice.ok(&["label", "clusterrole", "small", "team=alice"]);
}
