//! The tenant matrix of issue #6 through kubectl 1.32 and 1.33, on the embedded store and on
//! etcd: a team editor (alice, group `team-a`, bound to `fleet:edit` in namespace `team-a`)
//! works in her namespace and gets kube-apiserver's exact 403 everywhere else; a user without
//! bindings only discovers; impersonation needs the `impersonate` verb; refused requests store
//! nothing (`../shared/docs/KUBERNETES-API.md` §8).
//!
//! kubectl reads before some writes, so the verb in the message is not always the command's:
//! `patch NAME` and `label` GET the object first, `get -w` and `delete --all` LIST first. The
//! watch and deletecollection verbs themselves are reached with `get --raw …?watch=true` and
//! `delete --raw`, and the patch verb with `patch -f` (which sends the PATCH at once).

#[macro_use]
mod support;
mod support_tenancy;

use std::time::Duration;

use support::Backend;
use support_tenancy::{
    cld_forbidden, cld_yaml, clds_path, listed_verbs, refused, rows, sorted, Tenants,
    BASIC_USER_RULES, ESCALATING_BINDING,
};

fn team_editor_creates_reads_watches_updates_patches_labels_and_deletes_in_her_namespace(
    backend: Backend,
    version: &str,
) {
    let Some(t) = Tenants::start(backend, version) else {
        return;
    };
    let alice = &t.alice;
    let out = alice.ok_with(
        &["create", "-f", "-"],
        Some(&cld_yaml("team-a", "prod", "aws")),
    );
    assert_eq!(
        out.trim(),
        "clusterdeployment.fleet.k0rdent.io/prod created"
    );
    let got = alice.ok(&["get", "cld", "prod", "-n", "team-a", "-o", "name"]);
    assert_eq!(got.trim(), "clusterdeployment.fleet.k0rdent.io/prod");
    let list = alice.ok(&["get", "cld", "-n", "team-a"]);
    let names: Vec<&str> = rows(&list).iter().skip(1).map(|row| row[0]).collect();
    assert_eq!(names, ["prod"], "{list}");

    // Watch: list, then watch from the list's resourceVersion, so every label written after
    // the list arrives as an event; the watch ends at the request timeout.
    let watched = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            alice.run(
                &[
                    "get",
                    "cld",
                    "-n",
                    "team-a",
                    "-w",
                    "--output-watch-events",
                    "--request-timeout=3s",
                ],
                None,
            )
        });
        for tick in 1..=4 {
            std::thread::sleep(Duration::from_millis(500));
            let tick = format!("tick={tick}");
            alice.ok(&["label", "cld", "prod", "-n", "team-a", &tick, "--overwrite"]);
        }
        watcher.join().expect("the watcher thread")
    });
    let events = String::from_utf8_lossy(&watched.stdout).into_owned();
    assert!(
        watched.status.success(),
        "get -w: {}\n{events}",
        String::from_utf8_lossy(&watched.stderr)
    );
    let events = rows(&events);
    assert_eq!(events[0][..2], ["EVENT", "NAME"], "{events:?}");
    assert_eq!(events[1][..2], ["ADDED", "prod"], "{events:?}");
    assert!(
        events.iter().any(|row| row[..2] == ["MODIFIED", "prod"]),
        "no MODIFIED event: {events:?}"
    );

    let out = alice.ok_with(
        &["replace", "-f", "-"],
        Some(&cld_yaml("team-a", "prod", "azure")),
    );
    assert_eq!(
        out.trim(),
        "clusterdeployment.fleet.k0rdent.io/prod replaced"
    );
    let out = alice.ok(&[
        "patch",
        "cld",
        "prod",
        "-n",
        "team-a",
        "--type=merge",
        "-p",
        r#"{"spec":{"config":{"region":"us-east-1"}}}"#,
    ]);
    assert_eq!(
        out.trim(),
        "clusterdeployment.fleet.k0rdent.io/prod patched"
    );
    let out = alice.ok(&["label", "cld", "prod", "-n", "team-a", "tier=gold"]);
    assert_eq!(
        out.trim(),
        "clusterdeployment.fleet.k0rdent.io/prod labeled"
    );
    let stored = alice.ok(&[
        "get",
        "cld",
        "prod",
        "-n",
        "team-a",
        "-o",
        "jsonpath={.spec.template} {.spec.config.region} {.metadata.labels.tier}",
    ]);
    assert_eq!(stored, "azure us-east-1 gold");

    let out = alice.ok(&["delete", "cld", "prod", "-n", "team-a"]);
    assert_eq!(
        out.trim(),
        "clusterdeployment.fleet.k0rdent.io \"prod\" deleted"
    );
    refused(
        alice,
        &["get", "cld", "prod", "-n", "team-a"],
        None,
        "Error from server (NotFound): clusterdeployments.fleet.k0rdent.io \"prod\" not found",
    );
    // deletecollection is part of fleet:edit too.
    for name in ["a", "b"] {
        alice.ok_with(
            &["create", "-f", "-"],
            Some(&cld_yaml("team-a", name, "aws")),
        );
    }
    alice.ok(&["delete", "--raw", &clds_path("team-a")]);
    assert_eq!(t.names("cld", "team-a"), "");
}

fn every_verb_in_another_teams_namespace_is_forbidden_with_kube_apiservers_message(
    backend: Backend,
    version: &str,
) {
    let Some(t) = Tenants::start(backend, version) else {
        return;
    };
    t.admin_creates("team-b", "prod");
    let before = t.stored("team-b", "prod");
    let alice = &t.alice;
    let denied = |verb: &str, name: Option<&str>| cld_forbidden("alice", verb, name, "team-b");
    assert_eq!(
        denied("get", Some("prod")),
        "Error from server (Forbidden): clusterdeployments.fleet.k0rdent.io \"prod\" is \
         forbidden: User \"alice\" cannot get resource \"clusterdeployments\" in API group \
         \"fleet.k0rdent.io\" in the namespace \"team-b\""
    );
    let prod = cld_yaml("team-b", "prod", "azure");
    let intruder = cld_yaml("team-b", "intruder", "aws");
    let merge = r#"{"spec":{"template":"azure"}}"#;
    let watch = format!("{}?watch=true", clds_path("team-b"));
    let cases: [(&[&str], Option<&str>, String); 12] = [
        (
            &["get", "cld", "prod", "-n", "team-b"],
            None,
            denied("get", Some("prod")),
        ),
        (&["get", "cld", "-n", "team-b"], None, denied("list", None)),
        // kubectl lists before it watches.
        (
            &["get", "cld", "-n", "team-b", "-w", "--request-timeout=2s"],
            None,
            denied("list", None),
        ),
        (&["get", "--raw", &watch], None, denied("watch", None)),
        (
            &["create", "-f", "-"],
            Some(&intruder),
            denied("create", None).replace(
                "(Forbidden): ",
                "(Forbidden): error when creating \"STDIN\": ",
            ),
        ),
        (
            &["replace", "-f", "-"],
            Some(&prod),
            denied("update", Some("prod")).replace(
                "(Forbidden): ",
                "(Forbidden): error when replacing \"STDIN\": ",
            ),
        ),
        // `patch NAME` reads the object first; `patch -f` sends the PATCH at once.
        (
            &[
                "patch",
                "cld",
                "prod",
                "-n",
                "team-b",
                "--type=merge",
                "-p",
                merge,
            ],
            None,
            denied("get", Some("prod")),
        ),
        (
            &["patch", "-f", "-", "--type=merge", "-p", merge],
            Some(&prod),
            denied("patch", Some("prod")),
        ),
        (
            &["label", "cld", "prod", "-n", "team-b", "tier=gold"],
            None,
            denied("get", Some("prod")),
        ),
        (
            &["delete", "cld", "prod", "-n", "team-b"],
            None,
            denied("delete", Some("prod")),
        ),
        // `delete --all` lists, then deletes one by one; `delete --raw` is the collection.
        (
            &["delete", "cld", "--all", "-n", "team-b"],
            None,
            denied("list", None),
        ),
        (
            &["delete", "--raw", &clds_path("team-b")],
            None,
            denied("deletecollection", None),
        ),
    ];
    for (args, stdin, expected) in &cases {
        refused(alice, args, *stdin, expected);
    }

    assert_eq!(
        t.stored("team-b", "prod"),
        before,
        "a refused request wrote"
    );
    assert_eq!(
        t.names("cld", "team-b").trim(),
        "clusterdeployment.fleet.k0rdent.io/prod"
    );
}

fn cluster_scope_and_rbac_writes_are_forbidden_to_a_team_editor(backend: Backend, version: &str) {
    let Some(t) = Tenants::start(backend, version) else {
        return;
    };
    t.admin_creates("team-a", "prod");
    t.admin_creates("team-b", "prod");
    let alice = &t.alice;
    refused(
        alice,
        &["get", "clusterroles"],
        None,
        "Error from server (Forbidden): clusterroles.rbac.authorization.k8s.io is forbidden: \
         User \"alice\" cannot list resource \"clusterroles\" in API group \
         \"rbac.authorization.k8s.io\" at the cluster scope",
    );
    refused(
        alice,
        &["get", "clusterrolebindings"],
        None,
        "Error from server (Forbidden): clusterrolebindings.rbac.authorization.k8s.io is \
         forbidden: User \"alice\" cannot list resource \"clusterrolebindings\" in API group \
         \"rbac.authorization.k8s.io\" at the cluster scope",
    );
    refused(
        alice,
        &["get", "clusterrole", "fleet:admin"],
        None,
        "Error from server (Forbidden): clusterroles.rbac.authorization.k8s.io \"fleet:admin\" \
         is forbidden: User \"alice\" cannot get resource \"clusterroles\" in API group \
         \"rbac.authorization.k8s.io\" at the cluster scope",
    );
    refused(
        alice,
        &["get", "cld", "-A"],
        None,
        "Error from server (Forbidden): clusterdeployments.fleet.k0rdent.io is forbidden: User \
         \"alice\" cannot list resource \"clusterdeployments\" in API group \
         \"fleet.k0rdent.io\" at the cluster scope",
    );

    // No escalation in her own namespace: fleet:edit does not write RBAC.
    let rolebindings_forbidden = "rolebindings.rbac.authorization.k8s.io is forbidden: User \
         \"alice\" cannot create resource \"rolebindings\" in API group \
         \"rbac.authorization.k8s.io\" in the namespace \"team-a\"";
    refused(
        alice,
        &[
            "create",
            "rolebinding",
            "team-a-admin",
            "--clusterrole=fleet:admin",
            "--group=team-a",
            "-n",
            "team-a",
        ],
        None,
        // kubectl wraps the typed client's error (create_rolebinding.go).
        &format!("error: failed to create rolebinding: {rolebindings_forbidden}"),
    );
    refused(
        alice,
        &["create", "-f", "-"],
        Some(ESCALATING_BINDING),
        &format!(
            "Error from server (Forbidden): error when creating \"STDIN\": \
             {rolebindings_forbidden}"
        ),
    );
    refused(
        alice,
        &[
            "create",
            "clusterrolebinding",
            "alice-admin",
            "--clusterrole=fleet:admin",
            "--user=alice",
        ],
        None,
        "error: failed to create clusterrolebinding: clusterrolebindings.rbac.authorization.k8s.io \
         is forbidden: User \"alice\" cannot create resource \"clusterrolebindings\" in API \
         group \"rbac.authorization.k8s.io\" at the cluster scope",
    );

    assert_eq!(
        t.names("rolebindings", "team-a").trim(),
        "rolebinding.rbac.authorization.k8s.io/team-a-edit"
    );
    refused(
        &t.admin,
        &["get", "clusterrolebinding", "alice-admin"],
        None,
        "Error from server (NotFound): clusterrolebindings.rbac.authorization.k8s.io \
         \"alice-admin\" not found",
    );
    // Still an editor of team-a only.
    alice.ok(&["get", "cld", "prod", "-n", "team-a"]);
    refused(
        alice,
        &["get", "cld", "prod", "-n", "team-b"],
        None,
        &cld_forbidden("alice", "get", Some("prod"), "team-b"),
    );
}

fn auth_can_i_and_whoami_report_the_team_editors_rights(backend: Backend, version: &str) {
    let Some(t) = Tenants::start(backend, version) else {
        return;
    };
    let alice = &t.alice;
    let out = alice.ok(&[
        "auth",
        "can-i",
        "create",
        "clusterdeployments",
        "-n",
        "team-a",
    ]);
    assert_eq!(out.trim(), "yes");
    let no = alice.run(
        &[
            "auth",
            "can-i",
            "create",
            "clusterdeployments",
            "-n",
            "team-b",
        ],
        None,
    );
    assert_eq!(no.status.code(), Some(1), "{no:?}");
    assert_eq!(String::from_utf8_lossy(&no.stdout).trim(), "no");
    let out = alice.ok(&["auth", "can-i", "delete", "cld/prod", "-n", "team-a"]);
    assert_eq!(out.trim(), "yes");
    let no = alice.run(
        &["auth", "can-i", "create", "rolebindings", "-n", "team-a"],
        None,
    );
    assert_eq!(no.status.code(), Some(1), "{no:?}");

    // Credentials are readable but not writable with fleet:edit; a SelfSubjectAccessReview
    // names their group. (`create -f` of a review validates against OpenAPI v2 in protobuf:
    // the review kinds have no PATCH operation in v3.)
    for (verb, allowed) in [("get", "true"), ("watch", "true"), ("create", "false")] {
        let review = format!(
            "apiVersion: authorization.k8s.io/v1\nkind: SelfSubjectAccessReview\nspec:\n  \
             resourceAttributes:\n    namespace: team-a\n    verb: {verb}\n    group: \
             fleet.k0rdent.io\n    resource: credentials\n"
        );
        let out = alice.ok_with(
            &["create", "-f", "-", "-o", "jsonpath={.status.allowed}"],
            Some(&review),
        );
        assert_eq!(out, allowed, "{verb} credentials");
    }

    let list = alice.ok(&["auth", "can-i", "--list", "-n", "team-a"]);
    let writable = sorted(&[
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
    ]);
    for kind in [
        "clusterdeployments",
        "clustertemplates",
        "servicetemplates",
        "multiclusterservices",
    ] {
        let resource = format!("{kind}.fleet.k0rdent.io");
        assert_eq!(
            listed_verbs(&list, &resource),
            Some(writable.clone()),
            "{list}"
        );
        let status = format!("{resource}/status");
        let read = sorted(&["get", "list", "watch"]);
        assert_eq!(listed_verbs(&list, &status), Some(read), "{list}");
    }
    for kind in ["credentials", "pricelists"] {
        let resource = format!("{kind}.fleet.k0rdent.io");
        let read = sorted(&["get", "list", "watch"]);
        assert_eq!(listed_verbs(&list, &resource), Some(read), "{list}");
    }
    // In team-b she holds only what every authenticated user holds (fleet:public-info-viewer).
    let elsewhere = alice.ok(&["auth", "can-i", "--list", "-n", "team-b"]);
    let fleet_rows: Vec<&str> = elsewhere
        .lines()
        .filter(|line| line.contains("fleet.k0rdent.io"))
        .map(|line| line.split_whitespace().next().unwrap_or_default())
        .collect();
    assert_eq!(fleet_rows, ["pricelists.fleet.k0rdent.io"], "{elsewhere}");

    let whoami = alice.ok(&["auth", "whoami"]);
    let whoami = rows(&whoami);
    assert_eq!(whoami[0], ["ATTRIBUTE", "VALUE"], "{whoami:?}");
    assert_eq!(whoami[1], ["Username", "alice"], "{whoami:?}");
    assert_eq!(
        whoami[2],
        ["Groups", "[team-a", "system:authenticated]"],
        "{whoami:?}"
    );
    // kube-apiserver 1.32+ names the client certificate (k8s.io/apiserver
    // `pkg/authentication/request/x509/x509.go`, `CommonNameUserConversion`).
    assert_eq!(whoami.len(), 4, "{whoami:?}");
    assert_eq!(
        whoami[3][..2],
        ["Extra:", "authentication.kubernetes.io/credential-id"],
        "{whoami:?}"
    );
    assert!(whoami[3][2].starts_with("[X509SHA256="), "{whoami:?}");
}

fn a_user_without_bindings_discovers_but_reads_nothing(backend: Backend, version: &str) {
    let Some(t) = Tenants::start(backend, version) else {
        return;
    };
    t.admin_creates("team-a", "prod");
    let carol = t.user("carol", &[]);
    let resources = carol.ok(&["api-resources"]);
    let cld = rows(&resources)
        .into_iter()
        .find(|row| row[0] == "clusterdeployments")
        .unwrap_or_else(|| panic!("no clusterdeployments in:\n{resources}"));
    assert_eq!(
        cld,
        [
            "clusterdeployments",
            "cld",
            "fleet.k0rdent.io/v1alpha1",
            "true",
            "ClusterDeployment"
        ]
    );
    refused(
        &carol,
        &["get", "cld", "-n", "team-a"],
        None,
        &cld_forbidden("carol", "list", None, "team-a"),
    );
    refused(
        &carol,
        &["get", "cld", "prod", "-n", "team-a"],
        None,
        &cld_forbidden("carol", "get", Some("prod"), "team-a"),
    );
    let out = carol.ok(&["auth", "can-i", "--list"]);
    assert_eq!(rows(&out), rows(BASIC_USER_RULES), "{out}");
    let out = carol.ok(&["auth", "can-i", "--list", "-n", "team-a"]);
    assert_eq!(rows(&out), rows(BASIC_USER_RULES), "{out}");
    let whoami = carol.ok(&["auth", "whoami"]);
    let whoami = rows(&whoami);
    assert_eq!(
        whoami[2],
        ["Groups", "[system:authenticated]"],
        "{whoami:?}"
    );
}

fn the_admin_impersonates_a_tenant_but_a_tenant_cannot_impersonate(
    backend: Backend,
    version: &str,
) {
    let Some(t) = Tenants::start(backend, version) else {
        return;
    };
    t.admin_creates("team-a", "prod");
    t.admin_creates("team-b", "prod");
    let before = t.stored("team-b", "prod");
    let as_alice = ["--as", "alice", "--as-group", "team-a"];
    let with = |args: &[&'static str]| -> Vec<&'static str> {
        args.iter().chain(as_alice.iter()).copied().collect()
    };

    let list = t
        .admin
        .ok(&with(&["get", "cld", "-n", "team-a", "-o", "name"]));
    assert_eq!(list.trim(), "clusterdeployment.fleet.k0rdent.io/prod");
    // Impersonation replaces the whole user: no credential of the admin's shows through.
    let whoami = t.admin.ok(&with(&["auth", "whoami"]));
    let whoami = rows(&whoami);
    assert_eq!(
        whoami[1..],
        [
            vec!["Username", "alice"],
            vec!["Groups", "[team-a", "system:authenticated]"]
        ],
        "{whoami:?}"
    );
    let out = t
        .admin
        .ok(&with(&["auth", "can-i", "create", "cld", "-n", "team-a"]));
    assert_eq!(out.trim(), "yes");
    // Impersonated, the admin has alice's rights only.
    refused(
        &t.admin,
        &with(&["delete", "cld", "prod", "-n", "team-b"]),
        None,
        &cld_forbidden("alice", "delete", Some("prod"), "team-b"),
    );

    let impersonating = |user: &str| {
        format!(
            "Error from server (Forbidden): users {user:?} is forbidden: User \"alice\" cannot \
             impersonate resource \"users\" in API group \"\" at the cluster scope"
        )
    };
    // kubectl's discovery client cannot read the Status of a refused discovery request (it
    // prints "Forbidden: unknown", as against kube-apiserver), so alice discovers first, as
    // herself, and the refused request is the resource request itself.
    t.alice.ok(&["get", "cld", "-n", "team-a"]);
    refused(
        &t.alice,
        &["get", "cld", "-n", "team-a", "--as", "bob"],
        None,
        &impersonating("bob"),
    );
    refused(
        &t.alice,
        &["delete", "cld", "prod", "-n", "team-b", "--as", "bob"],
        None,
        &impersonating("bob"),
    );
    // Not even herself with more groups.
    refused(
        &t.alice,
        &[
            "get",
            "cld",
            "-n",
            "team-b",
            "--as",
            "alice",
            "--as-group",
            "system:masters",
        ],
        None,
        &impersonating("alice"),
    );
    assert_eq!(
        t.stored("team-b", "prod"),
        before,
        "a refused request wrote"
    );
}

for_each_backend_and_kubectl!(
    team_editor_creates_reads_watches_updates_patches_labels_and_deletes_in_her_namespace,
    every_verb_in_another_teams_namespace_is_forbidden_with_kube_apiservers_message,
    cluster_scope_and_rbac_writes_are_forbidden_to_a_team_editor,
    auth_can_i_and_whoami_report_the_team_editors_rights,
    a_user_without_bindings_discovers_but_reads_nothing,
    the_admin_impersonates_a_tenant_but_a_tenant_cannot_impersonate,
);
