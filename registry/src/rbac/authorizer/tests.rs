use super::*;
use serde_json::json;

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Value {
    json!({"verbs": verbs, "apiGroups": groups, "resources": resources})
}

fn role(namespace: &str, name: &str, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
           "metadata": {"name": name, "namespace": namespace}, "rules": rules})
}

fn cluster_role(name: &str, labels: Value, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
           "metadata": {"name": name, "labels": labels}, "rules": rules})
}

/// An aggregating ClusterRole whose own rule (delete secrets) must be ignored.
fn aggregating(name: &str, labels: Value, selectors: Value) -> Value {
    let own = json!([rule(&["delete"], &[""], &["secrets"])]);
    let mut role = cluster_role(name, labels, own);
    role["aggregationRule"] = json!({ "clusterRoleSelectors": selectors });
    role
}

/// `User:alice`, `Group:ops`, `ServiceAccount:ci/builder` or `ServiceAccount:deployer`.
fn subject(spec: &str) -> Value {
    let (kind, name) = spec.split_once(':').unwrap();
    match (kind, name.split_once('/')) {
        ("ServiceAccount", Some((ns, name))) => {
            json!({"kind": kind, "name": name, "namespace": ns})
        }
        ("ServiceAccount", None) => json!({"kind": kind, "name": name}),
        _ => json!({"kind": kind, "apiGroup": "rbac.authorization.k8s.io", "name": name}),
    }
}

/// A ClusterRoleBinding for `None`, else a RoleBinding in that namespace, of `Kind/name`.
fn bind(policy: &mut Policy, namespace: Option<&str>, name: &str, role: &str, to: &str) {
    let (kind, role_name) = role.split_once('/').unwrap();
    let mut object = json!({"metadata": {"name": name}, "subjects": [subject(to)],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role_name}});
    let plural = match namespace {
        Some(ns) => {
            object["metadata"]["namespace"] = json!(ns);
            "rolebindings"
        }
        None => "clusterrolebindings",
    };
    policy.upsert(plural, &object);
}

fn fixture() -> Policy {
    let mut p = Policy::default();
    let core = &[""][..];
    let named = json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
                        "resourceNames": ["app-config"]}]);
    let urls = json!([{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/logs/*"]}]);
    let status = json!([
        rule(&["get"], core, &["*/status"]),
        rule(&["update"], &["apps"], &["deployments/scale"])
    ]);
    let no_labels = json!({});
    for (name, rules) in [
        (
            "pod-reader",
            json!([rule(&["get", "list"], core, &["pods"])]),
        ),
        ("all", json!([rule(&["*"], &["*"], &["*"])])),
        ("healthz", urls),
        ("status", status),
        ("named", named),
    ] {
        p.upsert(
            "clusterroles",
            &cluster_role(name, no_labels.clone(), rules),
        );
    }
    let to_monitoring = json!({"aggregate-to-monitoring": "true"});
    let metrics = json!([rule(&["get"], core, &["nodes/metrics"])]);
    p.upsert(
        "clusterroles",
        &cluster_role("node-metrics", to_monitoring.clone(), metrics),
    );
    let selectors = json!([{ "matchLabels": to_monitoring }]);
    p.upsert(
        "clusterroles",
        &aggregating("monitoring", no_labels, selectors),
    );
    let secrets = json!([rule(&["get"], core, &["secrets"])]);
    p.upsert("roles", &role("ns1", "secret-reader", secrets));
    #[rustfmt::skip] // one binding a line
    let bindings = [
        (None, "alice-pod-reader", "ClusterRole/pod-reader", "User:alice"),
        (None, "ops-all", "ClusterRole/all", "Group:ops"),
        (None, "public-healthz", "ClusterRole/healthz", "Group:system:authenticated"),
        (None, "ci-status", "ClusterRole/status", "ServiceAccount:ci/builder"),
        (None, "monitors", "ClusterRole/monitoring", "Group:monitors"),
        (None, "broken", "ClusterRole/missing", "User:mallory"),
        (Some("ns1"), "bob-secrets", "Role/secret-reader", "User:bob"),
        (Some("ns1"), "bob-named", "ClusterRole/named", "User:bob"),
        (Some("ns1"), "carol-healthz", "ClusterRole/healthz", "User:carol"),
        (Some("ns1"), "deployer-reads-pods", "ClusterRole/pod-reader", "ServiceAccount:deployer"),
        (Some("ns2"), "mallory-a", "Role/nope", "User:mallory"),
        (Some("ns2"), "mallory-b", "Role/nope", "User:mallory"),
        (Some("ns2"), "dave-secrets", "Role/secret-reader", "User:dave"),
    ];
    for (namespace, name, role, to) in bindings {
        bind(&mut p, namespace, name, role, to);
    }
    p
}

/// Decides `request` — `VERB /path` or `VERB resource[.group][/subresource] [named N] [in NS]`
/// — for `user` in `groups`.
fn decide(policy: &Policy, user: &str, groups: &[&str], request: &str) -> Decision {
    let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    let words: Vec<&str> = request.split(' ').collect();
    let after = |key: &str| {
        let at = words.iter().position(|w| *w == key);
        at.map_or("", |i| words[i + 1])
    };
    let target = words[1];
    let (resource, subresource) = target.split_once('/').unwrap_or((target, ""));
    let (resource, api_group) = resource.split_once('.').unwrap_or((resource, ""));
    let resource_request = !target.starts_with('/');
    let (resource, path) = if resource_request {
        (resource, "")
    } else {
        ("", target)
    };
    policy.authorize(&Attributes {
        user: User::new(user, groups),
        verb: words[0].into(),
        resource_request,
        namespace: after("in").into(),
        api_group: api_group.into(),
        api_version: String::new(),
        resource: resource.into(),
        subresource: subresource.into(),
        name: after("named").into(),
        path: path.into(),
    })
}

/// `reason` is the expected reason; allowed exactly when it says so.
fn check(policy: &Policy, user: &str, groups: &[&str], request: &str, reason: &str) {
    let decision = decide(policy, user, groups, request);
    let expected = (reason.starts_with("RBAC: allowed by "), reason);
    let about = format!("{user} {groups:?}: {request}");
    assert_eq!(
        (decision.is_allowed(), decision.reason()),
        expected,
        "{about}"
    );
}

const ALICE: &str = r#"RBAC: allowed by ClusterRoleBinding "alice-pod-reader" of ClusterRole "pod-reader" to User "alice""#;
const OPS: &str =
    r#"RBAC: allowed by ClusterRoleBinding "ops-all" of ClusterRole "all" to Group "ops""#;
const HEALTHZ: &str = r#"RBAC: allowed by ClusterRoleBinding "public-healthz" of ClusterRole "healthz" to Group "system:authenticated""#;
const BUILDER: &str = r#"RBAC: allowed by ClusterRoleBinding "ci-status" of ClusterRole "status" to ServiceAccount "builder/ci""#;
const BOB_SECRETS: &str =
    r#"RBAC: allowed by RoleBinding "bob-secrets/ns1" of Role "secret-reader" to User "bob""#;
const BOB_NAMED: &str =
    r#"RBAC: allowed by RoleBinding "bob-named/ns1" of ClusterRole "named" to User "bob""#;
const DEPLOYER: &str = r#"RBAC: allowed by RoleBinding "deployer-reads-pods/ns1" of ClusterRole "pod-reader" to ServiceAccount "deployer/ns1""#;
const MONITORS: &str = r#"RBAC: allowed by ClusterRoleBinding "monitors" of ClusterRole "monitoring" to Group "monitors""#;
const MISSING: &str = r#"RBAC: clusterrole.rbac.authorization.k8s.io "missing" not found"#;
const MISSING_TWO: &str = r#"RBAC: [clusterrole.rbac.authorization.k8s.io "missing" not found, role.rbac.authorization.k8s.io "nope" not found]"#;
const NO_SECRET_READER: &str = r#"RBAC: role.rbac.authorization.k8s.io "secret-reader" not found"#;

#[test]
fn requests_are_decided_by_the_bindings_that_apply_with_upstreams_reasons() {
    let policy = fixture();
    let (ops, authenticated, monitors) = (
        &["ops"][..],
        &["system:authenticated"][..],
        &["monitors"][..],
    );
    let builder = "system:serviceaccount:ci:builder";
    // (what it shows, user, groups, request, reason)
    #[rustfmt::skip] // one case a line: the table reads as a table
    let cases: &[(&str, &str, &[&str], &str, &str)] = &[
        ("a ClusterRoleBinding grants in a namespace", "alice", &[], "get pods in ns1", ALICE),
        ("a ClusterRoleBinding grants cluster-wide", "alice", &[], "list pods", ALICE),
        ("another verb is not granted", "alice", &[], "delete pods in ns1", ""),
        ("another API group is not granted", "alice", &[], "get pods.apps in ns1", ""),
        ("a resource does not cover its subresources", "alice", &[], "get pods/log in ns1", ""),
        ("another resource is not granted", "alice", &[], "get services in ns1", ""),
        ("a User subject is not a group", "ops", &[], "get pods in ns1", ""),
        ("wildcards grant any verb, group and resource", "erin", ops, "escalate deployments.apps/scale in ns1", OPS),
        ("resource wildcards grant no URL", "erin", ops, "get /healthz", ""),
        ("a group is granted a URL", "erin", authenticated, "get /healthz", HEALTHZ),
        ("a URL ending in * is a prefix", "erin", authenticated, "get /logs/kubelet.log", HEALTHZ),
        ("the prefix keeps its slash", "erin", authenticated, "get /logsx", ""),
        ("a URL's verb must match", "erin", authenticated, "post /healthz", ""),
        ("*/status grants every status", builder, &[], "get pods/status in ns1", BUILDER),
        ("resource/subresource grants that subresource", builder, &[], "update deployments.apps/scale in ns1", BUILDER),
        ("*/status grants no main resource", builder, &[], "get pods in ns1", ""),
        ("a service account is in its namespace", "system:serviceaccount:other:builder", &[], "get pods/status in ns1", ""),
        ("a RoleBinding grants its Role in its namespace", "bob", &[], "get secrets in ns1", BOB_SECRETS),
        ("a RoleBinding grants nothing in another namespace", "bob", &[], "get secrets in ns2", ""),
        ("a RoleBinding grants nothing cluster-wide", "bob", &[], "get secrets", ""),
        ("a RoleBinding grants a ClusterRole in its namespace", "bob", &[], "get configmaps named app-config in ns1", BOB_NAMED),
        ("a ClusterRole bound locally grants nothing elsewhere", "bob", &[], "get configmaps named app-config in ns2", ""),
        ("resourceNames leave other names out", "bob", &[], "get configmaps named other in ns1", ""),
        ("resourceNames leave unnamed requests out", "bob", &[], "list configmaps in ns1", ""),
        ("a RoleBinding grants no URL", "carol", &[], "get /healthz", ""),
        ("a RoleBinding grants no URL even given a namespace", "carol", &[], "get /healthz in ns1", ""),
        ("a service account subject defaults to the binding's namespace", "system:serviceaccount:ns1:deployer", &[], "get pods in ns1", DEPLOYER),
        ("that service account is no other", "system:serviceaccount:ns2:deployer", &[], "get pods in ns2", ""),
        ("a missing ClusterRole is the reason", "mallory", &[], "get pods in ns1", MISSING),
        ("missing roles aggregate, each message once", "mallory", &[], "get pods in ns2", MISSING_TWO),
        ("a Role is looked up in the binding's namespace", "dave", &[], "get secrets in ns2", NO_SECRET_READER),
        ("a missing role does not stop an allow", "mallory", ops, "get pods in ns2", OPS),
        ("nobody gets nothing and no reason", "nobody", &[], "get pods in ns1", ""),
        ("an aggregating ClusterRole grants what it selects", "u", monitors, "get nodes/metrics", MONITORS),
        ("an aggregating ClusterRole's own rules are ignored", "u", monitors, "delete secrets in ns1", ""),
    ];
    for (about, user, groups, request, reason) in cases {
        let decision = decide(&policy, user, groups, request);
        let expected = (reason.starts_with("RBAC: allowed by "), *reason);
        assert_eq!(
            (decision.is_allowed(), decision.reason()),
            expected,
            "{about}"
        );
    }
}

/// The resource rules of a user in group `monitors`, as `verbs resources`.
fn monitors_rules(policy: &Policy) -> Vec<String> {
    let groups = ["monitors".to_owned()];
    let review = policy.rules_for(&User::new("u", groups.to_vec()), "");
    let rules = review.resource_rules.iter();
    rules
        .map(|r| format!("{} {}", r.verbs.join(","), r.resources.join(",")))
        .collect()
}

fn labelled(name: &str, value: &str, resource: &str) -> Value {
    let rules = json!([rule(&["get"], &[""], &[resource])]);
    cluster_role(name, json!({ "monitoring": value }), rules)
}

#[test]
fn aggregated_rules_follow_labels_roles_and_nesting() {
    let mut p = Policy::default();
    let selectors = json!([{"matchLabels": {"monitoring": "true"}}]);
    p.upsert(
        "clusterroles",
        &aggregating("monitoring", json!({"monitoring": "true"}), selectors),
    );
    p.upsert("clusterroles", &labelled("b-metrics", "true", "nodes"));
    p.upsert("clusterroles", &labelled("a-metrics", "true", "services"));
    p.upsert("clusterroles", &labelled("c-duplicate", "true", "services"));
    p.upsert("clusterroles", &labelled("other", "false", "secrets"));
    bind(
        &mut p,
        None,
        "monitors",
        "ClusterRole/monitoring",
        "Group:monitors",
    );
    let by_name_once_not_itself = ["get services", "get nodes"];
    assert_eq!(monitors_rules(&p), by_name_once_not_itself);

    p.upsert("clusterroles", &labelled("b-metrics", "false", "nodes"));
    assert_eq!(monitors_rules(&p), ["get services"], "a label taken away");
    p.upsert("clusterroles", &labelled("other", "true", "secrets"));
    assert_eq!(
        monitors_rules(&p),
        ["get services", "get secrets"],
        "a label given"
    );
    p.remove("clusterroles", None, "a-metrics");
    assert_eq!(
        monitors_rules(&p),
        ["get services", "get secrets"],
        "the duplicate stays"
    );
    p.remove("clusterroles", None, "c-duplicate");
    assert_eq!(monitors_rules(&p), ["get secrets"], "roles removed");

    // An aggregating role selected by another passes on what it aggregates; `{}` selects all.
    let selectors = json!([{"matchLabels": {"monitoring": "true"}}, {}]);
    p.upsert("clusterroles", &aggregating("admin", json!({}), selectors));
    bind(
        &mut p,
        None,
        "monitors",
        "ClusterRole/admin",
        "Group:monitors",
    );
    assert_eq!(monitors_rules(&p), ["get secrets", "get nodes"]);

    p.remove("clusterroles", None, "admin");
    assert!(
        monitors_rules(&p).is_empty(),
        "a missing role grants nothing"
    );
    let groups = ["monitors".to_owned()];
    let review = p.rules_for(&User::new("u", groups.to_vec()), "");
    let error = r#"clusterrole.rbac.authorization.k8s.io "admin" not found"#;
    assert_eq!(
        (review.incomplete, review.evaluation_error.as_str()),
        (false, error)
    );
}

#[test]
fn aggregation_selectors_support_every_operator() {
    let mut p = Policy::default();
    let selectors = json!([
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["gold", "silver"]},
                              {"key": "legacy", "operator": "DoesNotExist"}]},
        {"matchLabels": {"team": "a"},
         "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]},
                              {"key": "owner", "operator": "Exists"}]},
    ]);
    p.upsert("clusterroles", &aggregating("picky", json!({}), selectors));
    let roles = [
        ("gold", json!({"tier": "gold"})),
        ("gold-legacy", json!({"tier": "gold", "legacy": "yes"})),
        ("bronze", json!({"tier": "bronze"})),
        ("team-a", json!({"team": "a", "owner": "x"})),
        (
            "team-a-prod",
            json!({"team": "a", "owner": "x", "env": "prod"}),
        ),
        ("team-a-unowned", json!({"team": "a", "env": "dev"})),
    ];
    for (name, labels) in roles {
        let rules = json!([rule(&["get"], &[""], &[name])]);
        p.upsert("clusterroles", &cluster_role(name, labels, rules));
    }
    bind(
        &mut p,
        None,
        "monitors",
        "ClusterRole/picky",
        "Group:monitors",
    );
    assert_eq!(monitors_rules(&p), ["get gold", "get team-a"]);

    let bad = json!([{"matchExpressions": [{"key": "tier", "operator": "Matches", "values": ["gold"]}]}, {}]);
    p.upsert("clusterroles", &aggregating("picky", json!({}), bad));
    assert!(
        monitors_rules(&p).is_empty(),
        "a bad selector aggregates nothing"
    );
}

#[test]
fn rules_review_lists_cluster_and_namespace_grants_as_upstream_json() {
    let mut p = fixture();
    bind(
        &mut p,
        None,
        "bob-pods",
        "ClusterRole/pod-reader",
        "User:bob",
    );
    bind(&mut p, Some("ns1"), "bob-missing", "Role/gone", "User:bob");
    let groups = ["system:authenticated".to_owned()];
    let review = p.rules_for(&User::new("bob", groups.to_vec()), "ns1");
    assert_eq!(
        serde_json::to_value(&review).unwrap(),
        json!({
            "resourceRules": [
                {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]},
                {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
                 "resourceNames": ["app-config"]},
                {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]},
            ],
            "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/logs/*"]}],
            "incomplete": false,
            "evaluationError": "role.rbac.authorization.k8s.io \"gone\" not found",
        })
    );
    let cluster_wide = p.rules_for(&User::new("bob", [].to_vec()), "");
    assert_eq!(
        serde_json::to_value(&cluster_wide).unwrap(),
        json!({"resourceRules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}],
               "nonResourceRules": [], "incomplete": false})
    );
}

#[test]
fn removed_and_undecodable_objects_grant_nothing() {
    let mut p = fixture();
    check(&p, "alice", &[], "get pods in ns1", ALICE);
    p.remove("clusterrolebindings", None, "alice-pod-reader");
    check(&p, "alice", &[], "get pods in ns1", "");

    check(&p, "bob", &[], "get secrets in ns1", BOB_SECRETS);
    let broken = json!({"metadata": {"name": "secret-reader", "namespace": "ns1"}, "rules": "x"});
    p.upsert("roles", &broken);
    let gone = r#"RBAC: role.rbac.authorization.k8s.io "secret-reader" not found"#;
    check(&p, "bob", &[], "get secrets in ns1", gone);
    p.remove("rolebindings", Some("ns1"), "bob-secrets");
    check(&p, "bob", &[], "get secrets in ns1", "");
}
