//! No privilege escalation through RBAC writes, with kubectl 1.33: a user who may create
//! RoleBindings can bind only roles whose permissions it holds (or may `bind`), and may create
//! Roles only within its own permissions (or with `escalate`) — kube-apiserver's messages.

mod support;

use support::{Backend, Kubectl, TestServer};

const VERSION: &str = "1.33";

fn escalation(kind: &str, name: &str, missing: &[&str]) -> String {
    format!(
        "{kind} \"{name}\" is forbidden: user \"alice\" (groups=[\"team-a\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{}",
        missing.join("\n")
    )
}

#[test]
fn bindings_and_roles_grant_only_what_their_writer_holds() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let Some(admin) = Kubectl::new(VERSION, &server.kubeconfig()) else {
        return;
    };
    let alice = Kubectl::new(VERSION, &server.kubeconfig_for("alice", &["team-a"])).unwrap();
    // alice manages the RoleBindings and Roles of team-a, and nothing else yet.
    admin.ok(&[
        "create",
        "role",
        "rbac-manager",
        "-n",
        "team-a",
        "--verb=create,get,list",
        "--resource=rolebindings.rbac.authorization.k8s.io,roles.rbac.authorization.k8s.io",
    ]);
    admin.ok(&[
        "create",
        "rolebinding",
        "alice-rbac",
        "--role=rbac-manager",
        "--user=alice",
        "-n",
        "team-a",
    ]);
    let wait_for = |what: &[&str]| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !alice.run(what, None).status.success() {
            assert!(
                std::time::Instant::now() < deadline,
                "alice never got {what:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait_for(&["get", "rolebindings", "-n", "team-a"]);

    // She may not hand out fleet:view, which she does not hold — except what every
    // authenticated user holds (fleet:public-info-viewer: price lists).
    let refused = alice.fails(&[
        "create",
        "rolebinding",
        "bob-view",
        "--clusterrole=fleet:view",
        "--user=bob",
        "-n",
        "team-a",
    ]);
    let view = [
        "clusterdeployments", "clusterdeployments/status", "clustertemplates", "clustertemplates/status",
        "credentials", "credentials/status", "fleetclusters", "fleetclusters/status", "fleetcosts",
        "fleetcosts/status", "fleetservices", "fleetservices/status", "multiclusterservices",
        "multiclusterservices/status", "pricelists/status", "servicetemplates",
        "servicetemplates/status",
    ]
    .map(|r| format!("{{APIGroups:[\"fleet.k0rdent.io\"], Resources:[\"{r}\"], Verbs:[\"get\" \"list\" \"watch\"]}}"));
    let view: Vec<&str> = view.iter().map(String::as_str).collect();
    assert_eq!(
        refused.trim(),
        format!(
            "error: failed to create rolebinding: {}",
            escalation("rolebindings.rbac.authorization.k8s.io", "bob-view", &view)
        )
    );

    // Once she holds fleet:edit, she may pass it (and fleet:view) on, but not fleet:admin.
    admin.ok(&[
        "create",
        "rolebinding",
        "alice-edit",
        "--clusterrole=fleet:edit",
        "--user=alice",
        "-n",
        "team-a",
    ]);
    wait_for(&["get", "cld", "-n", "team-a"]);
    alice.ok(&[
        "create",
        "rolebinding",
        "bob-edit",
        "--clusterrole=fleet:edit",
        "--user=bob",
        "-n",
        "team-a",
    ]);
    alice.ok(&[
        "create",
        "rolebinding",
        "bob-view",
        "--clusterrole=fleet:view",
        "--user=bob",
        "-n",
        "team-a",
    ]);
    let refused = alice.fails(&[
        "create",
        "rolebinding",
        "bob-admin",
        "--clusterrole=fleet:admin",
        "--user=bob",
        "-n",
        "team-a",
    ]);
    assert_eq!(
        refused.trim(),
        format!(
            "error: failed to create rolebinding: {}",
            escalation(
                "rolebindings.rbac.authorization.k8s.io",
                "bob-admin",
                &[
                    "{APIGroups:[\"fleet.k0rdent.io\"], Resources:[\"credentials\"], Verbs:[\"create\" \"delete\" \"deletecollection\" \"patch\" \"update\"]}",
                    "{APIGroups:[\"fleet.k0rdent.io\"], Resources:[\"pricelists\"], Verbs:[\"create\" \"delete\" \"deletecollection\" \"patch\" \"update\"]}",
                ]
            )
        )
    );
    // The same for a Role she writes herself.
    alice.ok(&[
        "create",
        "role",
        "cld-reader",
        "--verb=get,list",
        "--resource=clusterdeployments.fleet.k0rdent.io",
        "-n",
        "team-a",
    ]);
    let refused = alice.fails(&[
        "create",
        "role",
        "cred-writer",
        "--verb=create",
        "--resource=credentials.fleet.k0rdent.io",
        "-n",
        "team-a",
    ]);
    assert_eq!(
        refused.trim(),
        format!(
            "Error from server (Forbidden): {}",
            escalation(
                "roles.rbac.authorization.k8s.io",
                "cred-writer",
                &["{APIGroups:[\"fleet.k0rdent.io\"], Resources:[\"credentials\"], Verbs:[\"create\"]}"]
            )
        )
    );
    // `bind` on a role lets her bind it without holding it.
    admin.ok(&[
        "create",
        "role",
        "binder",
        "-n",
        "team-a",
        "--verb=bind",
        "--resource=clusterroles.rbac.authorization.k8s.io",
        "--resource-name=fleet:admin",
    ]);
    admin.ok(&[
        "create",
        "rolebinding",
        "alice-binder",
        "--role=binder",
        "--user=alice",
        "-n",
        "team-a",
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let bind = [
        "create",
        "rolebinding",
        "bob-admin",
        "--clusterrole=fleet:admin",
        "--user=bob",
        "-n",
        "team-a",
    ];
    while !alice.run(&bind, None).status.success() {
        assert!(std::time::Instant::now() < deadline, "bind never allowed");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // What was refused was never stored.
    let names = admin.ok(&["get", "rolebindings,roles", "-n", "team-a", "-o", "name"]);
    assert!(!names.contains("cred-writer"), "{names}");
    assert!(
        names.contains("rolebinding.rbac.authorization.k8s.io/bob-admin"),
        "{names}"
    );
}
