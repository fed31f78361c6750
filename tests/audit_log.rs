//! The audit log of `fleet-apiserver up --audit-log-path` (and `--audit-policy-file`): one
//! audit.k8s.io/v1 Event per JSON line and per recorded stage, as kube-apiserver writes them
//! (k8s.io/apiserver `pkg/apis/audit/v1/types.go`, `pkg/audit/request.go`,
//! `pkg/endpoints/filters/audit.go` and `authn_audit.go`, `pkg/audit/policy/checker.go`).
//! Requests go through kube-rs clients as the admin, as a user with a client certificate,
//! impersonated and without credentials; each is found in the log by its `Audit-Id` header.

mod support;
mod support_access;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{
    cld, client_from, Backend, Raw, Reply, TestServer, API_VERSION, DEFAULT_CLDS, GROUP, VERSION,
};
use support_access::{now_micros, AuditFile, Expected, USER_AGENT};

const ALICE_GROUPS: &[&str] = &["team-a", "system:authenticated"];
const ROLES: &str = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles";
const ROLE_BINDINGS: &str = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings";
const CREDENTIALS: &str = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/default/credentials";
const WATCH_A_SECOND: &str = "watch=true&timeoutSeconds=1";

/// `up` writing its audit log into a temp dir (returned first, so dropped last), following
/// `policy` when given.
fn start(policy: Option<&str>) -> Option<(tempfile::TempDir, TestServer, AuditFile)> {
    let dir = tempfile::tempdir().expect("a temp dir for the audit log");
    let log = dir.path().join("audit.log");
    let mut args = vec!["--audit-log-path".to_owned(), log.display().to_string()];
    if let Some(policy) = policy {
        let file = dir.path().join("policy.yaml");
        std::fs::write(&file, policy).expect("writing the policy");
        args.extend(["--audit-policy-file".to_owned(), file.display().to_string()]);
    }
    let server = TestServer::builder(Backend::Embedded).args(args).start()?;
    Some((dir, server, AuditFile::new(&log)))
}

/// Sends `raw` with the tests' user agent and checks the status code.
async fn send(client: &kube::Client, raw: Raw, code: u16) -> Reply {
    let shown = format!("{raw:?}");
    let reply = raw.header("user-agent", USER_AGENT).send(client).await;
    assert_eq!(reply.status, code, "{shown}: {}", reply.text());
    reply
}

fn clusterdeployment(name: &str) -> String {
    format!("{DEFAULT_CLDS}/{name}")
}

fn merge_patch(path: &str, patch: &Value) -> Raw {
    Raw::new("PATCH", path)
        .header("content-type", "application/merge-patch+json")
        .body(patch.to_string())
}

/// An `objectRef` in namespace `default`; without a name for an empty `name`.
fn object_ref(group: &str, version: &str, resource: &str, name: &str) -> Value {
    let mut reference = json!({
        "resource": resource, "namespace": "default", "apiGroup": group, "apiVersion": version,
    });
    if !name.is_empty() {
        reference["name"] = json!(name);
    }
    reference
}

fn cld_ref(name: &str) -> Value {
    object_ref(GROUP, VERSION, "clusterdeployments", name)
}

fn rbac_ref(resource: &str, name: &str) -> Value {
    object_ref("rbac.authorization.k8s.io", "v1", resource, name)
}

/// Lets group team-a read ClusterDeployments in `default`.
fn role() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "cd-reader", "namespace": "default"},
        "rules": [{"apiGroups": [GROUP], "resources": ["clusterdeployments"],
                   "verbs": ["get", "list", "watch"]}],
    })
}

fn role_binding() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "team-a-reads", "namespace": "default"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cd-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "team-a"}],
    })
}

/// GETs `path` as `client` until RBAC allows it (a new binding takes effect through a watch).
async fn get_once_allowed(client: &kube::Client, path: &str) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = Raw::get(path)
            .header("user-agent", USER_AGENT)
            .send(client)
            .await;
        if reply.status != 403 || Instant::now() > deadline {
            assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn without_a_policy_every_request_is_logged_at_metadata_when_received_and_complete() {
    let since = now_micros();
    let Some((_dir, server, log)) = start(None) else {
        return;
    };
    let admin = server.client().await;
    let alice = client_from(&server.kubeconfig_for("alice", &["team-a"])).await;
    let nobody = server.anonymous_client().await;
    let path = clusterdeployment("audit-a");
    let mut expected = Vec::new();

    // Creates name their object in the body only (see
    // `a_create_at_metadata_names_its_object_from_the_body`).
    let reply = send(&admin, Raw::post(ROLES).json(&role()), 201).await;
    expected.push(
        Expected::new("create role", &reply, ROLES, "create")
            .object(rbac_ref("roles", "cd-reader")),
    );
    let reply = send(&admin, Raw::post(ROLE_BINDINGS).json(&role_binding()), 201).await;
    expected.push(
        Expected::new("create rolebinding", &reply, ROLE_BINDINGS, "create")
            .object(rbac_ref("rolebindings", "team-a-reads")),
    );
    let object = cld("audit-a", "aws-standalone-1-33");
    let reply = send(&admin, Raw::post(DEFAULT_CLDS).json(&object), 201).await;
    expected
        .push(Expected::new("create", &reply, DEFAULT_CLDS, "create").object(cld_ref("audit-a")));

    // A client's own Audit-ID is kept, and echoed.
    let get = Raw::get(&path).header("Audit-ID", "client-chosen-audit-id");
    let reply = send(&admin, get, 200).await;
    assert_eq!(reply.header("audit-id"), Some("client-chosen-audit-id"));
    expected.push(Expected::new("get", &reply, &path, "get").object(cld_ref("audit-a")));

    let reply = send(&admin, Raw::get(DEFAULT_CLDS), 200).await;
    expected.push(Expected::new("list", &reply, DEFAULT_CLDS, "list").object(cld_ref("")));

    // A watch is long-running: ResponseStarted with the headers, ResponseComplete at the end.
    let watch = format!("{DEFAULT_CLDS}?{WATCH_A_SECOND}");
    let reply = send(&admin, Raw::get(&watch), 200).await;
    expected.push(
        Expected::new("watch", &reply, &watch, "watch")
            .object(cld_ref(""))
            .stages(&["RequestReceived", "ResponseStarted", "ResponseComplete"]),
    );

    let patch = json!({"metadata": {"labels": {"audited": "yes"}}});
    let reply = send(&admin, merge_patch(&path, &patch), 200).await;
    expected.push(Expected::new("patch", &reply, &path, "patch").object(cld_ref("audit-a")));

    let reply = get_once_allowed(&alice, &path).await;
    expected.push(
        Expected::new("get by alice", &reply, &path, "get")
            .user("alice", ALICE_GROUPS)
            .object(cld_ref("audit-a")),
    );

    // A 403: the Status answered, in the log.
    let reply = send(&alice, Raw::delete(&path), 403).await;
    assert_eq!(reply.json()["reason"], "Forbidden");
    expected.push(
        Expected::new("forbidden delete by alice", &reply, &path, "delete")
            .user("alice", ALICE_GROUPS)
            .object(cld_ref("audit-a")),
    );

    // The user is the one who asked; impersonatedUser is who the request acted as.
    let impersonated = Raw::get(&path)
        .header("Impersonate-User", "alice")
        .header("Impersonate-Group", "team-a");
    let reply = send(&admin, impersonated, 200).await;
    expected.push(
        Expected::new("get impersonating alice", &reply, &path, "get")
            .impersonating("alice", ALICE_GROUPS)
            .object(cld_ref("audit-a")),
    );

    // See `a_success_status_is_logged_with_the_http_code`.
    let reply = send(&admin, Raw::delete(&path), 200).await;
    expected.push(Expected::new("delete", &reply, &path, "delete").object(cld_ref("audit-a")));

    // See `a_request_without_credentials_is_logged_once_at_response_started`.
    let reply = send(&nobody, Raw::get(DEFAULT_CLDS), 401).await;
    assert_eq!(reply.json()["reason"], "Unauthorized");
    expected.push(
        Expected::new("list without credentials", &reply, DEFAULT_CLDS, "list")
            .without_credentials()
            .object(cld_ref(""))
            .stages(&["ResponseStarted"]),
    );

    for request in &expected {
        request.check(&log, since).await;
    }
    for event in log.events() {
        assert_eq!(
            event["level"], "Metadata",
            "no policy: Metadata for all: {event}"
        );
    }
}

#[tokio::test]
async fn a_create_at_metadata_names_its_object_from_the_body() {
    // Upstream's create handler passes the decoded object to `audit.LogRequestObject`, which
    // fills objectRef's blanks (name, uid, resourceVersion) from it at every level from
    // Metadata up, and keeps the body only from Request up.
    let since = now_micros();
    let Some((_dir, server, log)) = start(None) else {
        return;
    };
    let admin = server.client().await;
    let object = cld("named-by-body", "aws-standalone-1-33");
    let reply = send(&admin, Raw::post(DEFAULT_CLDS).json(&object), 201).await;
    Expected::new("create", &reply, DEFAULT_CLDS, "create")
        .object(cld_ref("named-by-body"))
        .check(&log, since)
        .await;
}

#[tokio::test]
async fn a_success_status_is_logged_with_the_http_code() {
    // A delete answers `Status{status: Success, details}` without a code. Upstream copies the
    // Status's bounded fields (`LogResponseObject`) and then the response writer sets the
    // HTTP code (`auditResponseWriter.processCode`), so the event has `code: 200`.
    let since = now_micros();
    let Some((_dir, server, log)) = start(None) else {
        return;
    };
    let admin = server.client().await;
    let object = cld("deleted", "aws-standalone-1-33");
    send(&admin, Raw::post(DEFAULT_CLDS).json(&object), 201).await;
    let path = clusterdeployment("deleted");
    let reply = send(&admin, Raw::delete(&path), 200).await;
    let expected = Expected::new("delete", &reply, &path, "delete").object(cld_ref("deleted"));
    let events = log.completed(&expected.audit_id).await;
    let status = &events[events.len() - 1]["responseStatus"];
    assert_eq!(status["code"], 200, "the HTTP code of a delete: {status}");
    expected.check(&log, since).await;
}

#[tokio::test]
async fn a_request_without_credentials_is_logged_once_at_response_started() {
    // Upstream records failed authentications in `WithFailedAuthenticationAudit`, outside the
    // audit filter: one event, at ResponseStarted, with no user and the Unauthorized Status.
    let since = now_micros();
    let Some((_dir, server, log)) = start(None) else {
        return;
    };
    let nobody = server.anonymous_client().await;
    let reply = send(&nobody, Raw::get(DEFAULT_CLDS), 401).await;
    let expected = Expected::new("list without credentials", &reply, DEFAULT_CLDS, "list")
        .without_credentials()
        .object(cld_ref(""))
        .stages(&["ResponseStarted"]);
    // Everything before a later request's last event is on disk once that event is.
    let admin = server.client().await;
    let later = send(&admin, Raw::get("/version"), 200).await;
    log.completed(later.header("audit-id").expect("an Audit-Id"))
        .await;
    let events = log.events_of(&expected.audit_id);
    let last = events.last().expect("the 401 is logged");
    assert_eq!(last["user"], json!({}), "{last}");
    assert_eq!(last["responseStatus"], expected.response_status(), "{last}");
    expected.check_events(&events, since);
}

#[tokio::test]
async fn a_forbidden_impersonated_request_still_names_the_impersonated_user() {
    // Upstream's impersonation filter calls `audit.LogImpersonatedUser` before authorization
    // runs, so a request the impersonated user may not make is logged with who it acted as.
    let since = now_micros();
    let Some((_dir, server, log)) = start(None) else {
        return;
    };
    let admin = server.client().await;
    let path = clusterdeployment("anything");
    let as_alice = Raw::get(&path)
        .header("Impersonate-User", "alice")
        .header("Impersonate-Group", "team-a");
    let reply = send(&admin, as_alice, 403).await;
    Expected::new("get impersonating alice", &reply, &path, "get")
        .impersonating("alice", ALICE_GROUPS)
        .object(cld_ref("anything"))
        .check(&log, since)
        .await;
}

const POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [bob]
- level: None
  userGroups: [quiet]
- level: None
  nonResourceURLs: [/version, /healthz*]
- level: None
  namespaces: [hushed]
  resources: [{group: fleet.k0rdent.io, resources: [clusterdeployments]}]
- level: Request
  verbs: [create]
  resources: [{group: rbac.authorization.k8s.io, resources: [roles]}]
- level: RequestResponse
  resources: [{group: fleet.k0rdent.io, resources: [clusterdeployments, credentials]}]
- level: Metadata
";

#[tokio::test]
async fn a_policy_sets_levels_and_stages_by_first_matching_rule() {
    let since = now_micros();
    let Some((_dir, server, log)) = start(Some(POLICY)) else {
        return;
    };
    let admin = server.client().await;
    let bob = client_from(&server.kubeconfig_for("bob", &[])).await;
    let carol = client_from(&server.kubeconfig_for("carol", &["quiet"])).await;
    let path = clusterdeployment("policy-a");
    let complete = ["ResponseComplete"];
    let mut expected = Vec::new();

    // RequestResponse: both bodies, as sent and as answered; RequestReceived omitted.
    let object = cld("policy-a", "aws-standalone-1-33");
    let reply = send(&admin, Raw::post(DEFAULT_CLDS).json(&object), 201).await;
    expected.push(
        Expected::new("create", &reply, DEFAULT_CLDS, "create")
            .object(cld_ref("policy-a"))
            .level("RequestResponse")
            .stages(&complete)
            .request_object(object)
            .response_object(reply.json()),
    );
    let reply = send(&admin, Raw::get(&path), 200).await;
    expected.push(
        Expected::new("get", &reply, &path, "get")
            .object(cld_ref("policy-a"))
            .level("RequestResponse")
            .stages(&complete)
            .response_object(reply.json()),
    );
    let patch = json!({"metadata": {"labels": {"audited": "yes"}}});
    let reply = send(&admin, merge_patch(&path, &patch), 200).await;
    expected.push(
        Expected::new("patch", &reply, &path, "patch")
            .object(cld_ref("policy-a"))
            .level("RequestResponse")
            .stages(&complete)
            .request_object(patch)
            .response_object(reply.json()),
    );
    // A watch streams: its events are no response object.
    let watch = format!("{DEFAULT_CLDS}?{WATCH_A_SECOND}");
    let reply = send(&admin, Raw::get(&watch), 200).await;
    expected.push(
        Expected::new("watch", &reply, &watch, "watch")
            .object(cld_ref(""))
            .level("RequestResponse")
            .stages(&["ResponseStarted", "ResponseComplete"]),
    );
    // The policy sees the user who asked, not the one impersonated: bob's rule does not
    // apply to the admin acting as bob.
    let as_bob = Raw::get(&path)
        .header("Impersonate-User", "bob")
        .header("Impersonate-Group", "system:masters");
    let reply = send(&admin, as_bob, 200).await;
    expected.push(
        Expected::new("get impersonating bob", &reply, &path, "get")
            .object(cld_ref("policy-a"))
            .impersonating("bob", &["system:masters", "system:authenticated"])
            .level("RequestResponse")
            .stages(&complete)
            .response_object(reply.json()),
    );

    // Request: the request body only.
    let reply = send(&admin, Raw::post(ROLES).json(&role()), 201).await;
    expected.push(
        Expected::new("create role", &reply, ROLES, "create")
            .object(rbac_ref("roles", "cd-reader"))
            .level("Request")
            .stages(&complete)
            .request_object(role()),
    );

    // Metadata, the last rule: no bodies, for writes as for reads.
    let reply = send(&admin, Raw::post(ROLE_BINDINGS).json(&role_binding()), 201).await;
    expected.push(
        Expected::new("create rolebinding", &reply, ROLE_BINDINGS, "create")
            .object(rbac_ref("rolebindings", "team-a-reads"))
            .stages(&complete),
    );
    let reply = send(&admin, Raw::get(ROLES), 200).await;
    expected.push(
        Expected::new("list roles", &reply, ROLES, "list")
            .object(rbac_ref("roles", ""))
            .stages(&complete),
    );
    let reply = send(&admin, Raw::get("/apis"), 200).await;
    expected.push(Expected::new("discovery", &reply, "/apis", "get").stages(&complete));

    // Level None: by user, by group, by non-resource URL (exact and prefix), by namespace.
    let mut unrecorded = vec![
        ("bob", send(&bob, Raw::get(&path), 403).await),
        (
            "carol of group quiet",
            send(&carol, Raw::get(DEFAULT_CLDS), 403).await,
        ),
        ("/version", send(&admin, Raw::get("/version"), 200).await),
        (
            "/healthz by /healthz*",
            send(&admin, Raw::get("/healthz"), 200).await,
        ),
    ];
    let hushed = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/hushed/clusterdeployments";
    let mut quiet_object = cld("quiet-a", "aws-standalone-1-33");
    quiet_object["metadata"]["namespace"] = json!("hushed");
    let reply = Raw::post(hushed)
        .json(&quiet_object)
        .header("user-agent", USER_AGENT)
        .send(&admin)
        .await;
    unrecorded.push(("namespace hushed", reply));

    for request in &expected {
        request.check(&log, since).await;
    }
    // Everything before a later request's last event is on disk once that event is.
    let version_path = "/apis/fleet.k0rdent.io/v1alpha1";
    let later = send(&admin, Raw::get(version_path), 200).await;
    Expected::new("a later request", &later, version_path, "get")
        .stages(&complete)
        .check(&log, since)
        .await;
    for (what, reply) in &unrecorded {
        let id = reply.header("audit-id").expect("an Audit-Id header");
        assert_eq!(log.events_of(id), Vec::<Value>::new(), "{what}: level None");
    }
    for event in log.events() {
        assert_ne!(event["stage"], "RequestReceived", "omitStages: {event}");
    }
}

#[tokio::test]
async fn credentials_are_never_logged_above_metadata_whatever_the_policy() {
    // The policy asks RequestResponse for credentials; the server caps them at Metadata:
    // the events have no bodies.
    let since = now_micros();
    let Some((_dir, server, log)) = start(Some(POLICY)) else {
        return;
    };
    let admin = server.client().await;
    let secret = "hunter2-must-not-be-logged";
    let credential = json!({
        "apiVersion": API_VERSION, "kind": "Credential",
        "metadata": {"name": "aws", "namespace": "default"},
        "spec": {
            "identityRef": {"apiVersion": "v1", "kind": "Secret", "name": "aws-keys"},
            "description": secret,
        },
    });
    let path = format!("{CREDENTIALS}/aws");
    let requests = [
        (
            "create",
            CREDENTIALS,
            Raw::post(CREDENTIALS).json(&credential),
        ),
        ("get", path.as_str(), Raw::get(&path)),
        ("patch", path.as_str(), merge_patch(&path, &credential)),
        ("list", CREDENTIALS, Raw::get(CREDENTIALS)),
    ];
    for (verb, uri, raw) in requests {
        let reply = raw.header("user-agent", USER_AGENT).send(&admin).await;
        assert!(reply.status < 300, "{verb}: {}", reply.text());
        // A create names the object in its body (see
        // `a_create_at_metadata_names_its_object_from_the_body`); a list names none.
        let name = if verb == "list" { "" } else { "aws" };
        Expected::new(&format!("{verb} credential"), &reply, uri, verb)
            .object(object_ref(GROUP, VERSION, "credentials", name))
            .stages(&["ResponseComplete"])
            .check(&log, since)
            .await;
    }
    assert!(
        !log.text().contains(secret),
        "a credential's content is never logged"
    );
}
