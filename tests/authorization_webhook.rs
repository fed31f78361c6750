//! Webhook mode: instance B asks instance A (RBAC mode) with SubjectAccessReviews over TLS,
//! and checks bearer tokens with A through TokenReview — the way an aggregated server
//! delegates to kube-apiserver. A RoleBinding change on A changes B's answers within the
//! cache TTL (10 s).

mod support;

use std::time::{Duration, Instant};

use support::{Backend, Kubectl, TestServer};

const VERSION: &str = "1.33";
/// The cache TTL of delegated answers, plus slack.
const WITHIN: Duration = Duration::from_secs(20);

/// Runs `check` until it returns true or `WITHIN` passes.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + WITHIN;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {WITHIN:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn forbidden_list(user: &str, namespace: &str) -> String {
    format!(
        "Error from server (Forbidden): clusterdeployments.fleet.k0rdent.io is forbidden: User \"{user}\" cannot list resource \"clusterdeployments\" in API group \"fleet.k0rdent.io\" in the namespace \"{namespace}\""
    )
}

#[test]
fn a_delegating_server_follows_the_rbac_of_the_server_it_asks() {
    let Some(a) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let authorization = a.kubeconfig();
    let Some(b) = TestServer::builder(Backend::Embedded)
        .args([
            "--authorization-mode",
            "Webhook",
            "--authorization-kubeconfig",
        ])
        .args([&authorization])
        .start()
    else {
        return;
    };
    let Some(admin_a) = Kubectl::new(VERSION, &a.kubeconfig()) else {
        return;
    };
    let Some(alice_b) = Kubectl::new(VERSION, &b.kubeconfig_for("alice", &["team-a"])) else {
        return;
    };
    let Some(admin_b) = Kubectl::new(VERSION, &b.kubeconfig()) else {
        return;
    };

    // B's own administrators are allowed without asking (system:masters).
    admin_b.ok(&["get", "cld", "-n", "team-a"]);
    // Discovery is allowed by A's system:discovery binding to system:authenticated.
    let resources = alice_b.ok(&[
        "api-resources",
        "--api-group=fleet.k0rdent.io",
        "-o",
        "name",
    ]);
    assert!(
        resources.contains("clusterdeployments.fleet.k0rdent.io"),
        "{resources}"
    );
    // Nothing binds alice on A yet.
    let refused = alice_b.fails(&["get", "cld", "-n", "team-a"]);
    assert_eq!(refused.trim(), forbidden_list("alice", "team-a"));
    let can_i = alice_b.run(
        &[
            "auth",
            "can-i",
            "list",
            "clusterdeployments",
            "-n",
            "team-a",
        ],
        None,
    );
    assert_eq!(can_i.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&can_i.stdout).trim(), "no");

    // A binding on A lets alice in on B once the cached "no" expires.
    admin_a.ok(&[
        "create",
        "rolebinding",
        "team-a-edit",
        "--clusterrole=fleet:edit",
        "--group=team-a",
        "-n",
        "team-a",
    ]);
    eventually("alice may list on B", || {
        alice_b
            .run(&["get", "cld", "-n", "team-a"], None)
            .status
            .success()
    });
    let manifest = std::fs::read_to_string("examples/clusterdeployment.yaml")
        .unwrap()
        .replace("namespace: default", "namespace: team-a");
    let created = alice_b.ok_with(&["create", "-f", "-", "-n", "team-a"], Some(&manifest));
    assert!(created.contains("created"), "{created}");
    // Still not in team-b.
    assert_eq!(
        alice_b.fails(&["get", "cld", "-n", "team-b"]).trim(),
        forbidden_list("alice", "team-b")
    );

    // Removing the binding on A takes alice's access on B away again.
    admin_a.ok(&["delete", "rolebinding", "team-a-edit", "-n", "team-a"]);
    eventually("alice is refused on B", || {
        !alice_b
            .run(&["get", "cld", "-n", "team-a"], None)
            .status
            .success()
    });
    assert_eq!(
        alice_b.fails(&["get", "cld", "-n", "team-a"]).trim(),
        forbidden_list("alice", "team-a")
    );
    // What alice created is still there.
    let names = admin_b.ok(&["get", "cld", "-n", "team-a", "-o", "name"]);
    assert!(
        names.contains("clusterdeployment.fleet.k0rdent.io/"),
        "{names}"
    );
}

#[test]
fn a_delegating_server_checks_bearer_tokens_with_the_server_it_asks() {
    // A knows bob's token; B does not, and asks A.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tokens.csv"),
        "bob-token,bob,1002,\"team-a\"\n",
    )
    .unwrap();
    let Some(a) = TestServer::builder(Backend::Embedded)
        .args(["--token-auth-file"])
        .args([dir.path().join("tokens.csv")])
        .start()
    else {
        return;
    };
    let Some(b) = TestServer::builder(Backend::Embedded)
        .args([
            "--authorization-mode",
            "Webhook",
            "--authorization-kubeconfig",
        ])
        .args([a.kubeconfig()])
        .args(["--authentication-kubeconfig"])
        .args([a.kubeconfig()])
        .start()
    else {
        return;
    };
    // A kubeconfig for B with bob's token and no client certificate.
    let admin = std::fs::read_to_string(b.kubeconfig()).unwrap();
    let bob = bearer_kubeconfig(&admin, "bob-token");
    let path = b.data_dir().join("bob.kubeconfig");
    std::fs::write(&path, bob).unwrap();
    let Some(bob_b) = Kubectl::new(VERSION, &path) else {
        return;
    };
    let whoami = bob_b.ok(&["auth", "whoami"]);
    assert!(whoami.contains("bob"), "{whoami}");
    assert!(whoami.contains("[team-a system:authenticated]"), "{whoami}");
    let wrong = std::fs::read_to_string(&path)
        .unwrap()
        .replace("bob-token", "nope");
    std::fs::write(&path, wrong).unwrap();
    let refused = bob_b.fails(&["get", "cld", "-n", "team-a"]);
    assert!(
        refused.contains(
            "error: You must be logged in to the server (the server has asked for the client to provide credentials)"
        ),
        "{refused}"
    );
}

/// The admin kubeconfig with its client certificate replaced by a bearer token.
fn bearer_kubeconfig(admin: &str, token: &str) -> String {
    let mut out = String::new();
    for line in admin.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("client-certificate-data:")
            || trimmed.starts_with("client-key-data:")
        {
            if trimmed.starts_with("client-certificate-data:") {
                let indent = &line[..line.len() - trimmed.len()];
                out.push_str(&format!("{indent}token: {token}\n"));
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
