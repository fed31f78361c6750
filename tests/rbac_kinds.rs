//! The built-in rbac.authorization.k8s.io/v1 kinds through kubectl 1.32 and 1.33: declarative
//! apply (which uses strategic merge patch for built-in kinds), plain `kubectl patch`,
//! upstream's validation and immutable roleRef, and server-side columns. kubectl's imperative
//! `create role|rolebinding …` (protobuf bodies) are exercised in `tests/tenancy.rs`.

mod support;

use support::{Backend, Kubectl, TestServer};

fn start(version: &str) -> Option<(TestServer, Kubectl)> {
    let server = TestServer::start(Backend::Embedded)?;
    let kubectl = Kubectl::new(version, &server.kubeconfig())?;
    Some((server, kubectl))
}

const ROLE: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: editor
  namespace: default
rules:
- apiGroups: [fleet.k0rdent.io]
  resources: [clusterdeployments]
  verbs: [VERBS]
";

const BINDING: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: editors
  namespace: default
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: ROLE
subjects:
- kind: User
  name: alice
- kind: Group
  name: team-a
- kind: ServiceAccount
  name: bot
  namespace: default
";

fn apply_patch_validate_and_print(version: &str) {
    let Some((_server, kubectl)) = start(version) else {
        return;
    };
    let role = |verbs: &str| ROLE.replace("VERBS", verbs);
    let out = kubectl.ok_with(&["apply", "-f", "-"], Some(&role("get")));
    assert_eq!(out.trim(), "role.rbac.authorization.k8s.io/editor created");
    let out = kubectl.ok_with(&["apply", "-f", "-"], Some(&role("get")));
    assert_eq!(
        out.trim(),
        "role.rbac.authorization.k8s.io/editor unchanged"
    );
    // The second apply of a changed role is a strategic merge patch.
    let out = kubectl.ok_with(&["apply", "-f", "-"], Some(&role("get, list")));
    assert_eq!(
        out.trim(),
        "role.rbac.authorization.k8s.io/editor configured"
    );
    let verbs = kubectl.ok(&["get", "role", "editor", "-o", "jsonpath={.rules[0].verbs}"]);
    assert_eq!(verbs, r#"["get","list"]"#);
    // Plain `kubectl patch` is strategic merge on a built-in kind.
    let out = kubectl.ok(&[
        "patch",
        "role",
        "editor",
        "-p",
        r#"{"metadata":{"labels":{"tier":"gold"}}}"#,
    ]);
    assert_eq!(out.trim(), "role.rbac.authorization.k8s.io/editor patched");
    let out = kubectl.ok(&["get", "roles", "--show-labels"]);
    assert!(out.contains("tier=gold"), "{out}");
    assert!(
        out.lines()
            .next()
            .unwrap_or_default()
            .contains("CREATED AT"),
        "{out}"
    );

    // Validation as upstream: a resource rule without verbs or api groups.
    let bad = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: bad, namespace: default}\nrules:\n- resources: [clusterdeployments]\n";
    let err = kubectl.fails_with(&["create", "-f", "-"], Some(bad));
    assert!(
        err.contains("rules[0].verbs: Required value: verbs must contain at least one value"),
        "{err}"
    );
    assert!(
        err.contains(
            "rules[0].apiGroups: Required value: resource rules must supply at least one api group"
        ),
        "{err}"
    );

    // Bindings: columns, and roleRef cannot change.
    let out = kubectl.ok_with(
        &["apply", "-f", "-"],
        Some(&BINDING.replace("ROLE", "editor")),
    );
    assert_eq!(
        out.trim(),
        "rolebinding.rbac.authorization.k8s.io/editors created"
    );
    let wide = kubectl.ok(&["get", "rolebinding", "editors", "-o", "wide"]);
    let header: Vec<&str> = wide
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"],
        "{wide}"
    );
    assert!(
        wide.contains("Role/editor")
            && wide.contains("alice")
            && wide.contains("team-a")
            && wide.contains("default/bot"),
        "{wide}"
    );
    let err = kubectl.fails_with(
        &["apply", "-f", "-"],
        Some(&BINDING.replace("ROLE", "other")),
    );
    assert!(err.contains("cannot change roleRef"), "{err}");
    // Names are path segments: colons are fine, as in system:basic-user.
    let colon = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: \"team:view\"}\nrules:\n- nonResourceURLs: [/healthz]\n  verbs: [get]\n";
    let out = kubectl.ok_with(&["apply", "-f", "-"], Some(colon));
    assert_eq!(
        out.trim(),
        "clusterrole.rbac.authorization.k8s.io/team:view created"
    );
}

#[test]
fn kubectl_1_32_applies_patches_validates_and_prints_rbac_kinds() {
    apply_patch_validate_and_print("1.32");
}

#[test]
fn kubectl_1_33_applies_patches_validates_and_prints_rbac_kinds() {
    apply_patch_validate_and_print("1.33");
}
