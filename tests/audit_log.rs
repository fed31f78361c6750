//! The audit log of `fleet-apiserver up --audit-log-path` (and `--audit-policy-file`): one
//! audit.k8s.io/v1 Event per JSON line and per recorded stage, as kube-apiserver writes them
//! (k8s.io/apiserver `pkg/apis/audit/v1/types.go`, `pkg/endpoints/filters/audit.go`,
//! `authn_audit.go`, `pkg/audit/policy/checker.go`). Requests are sent through kube-rs
//! clients as the admin, as a non-admin user, impersonated and without credentials; each is
//! then found in the log by the `Audit-Id` response header.

mod support;
mod support_access;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::{cld, Backend, Raw, Reply, TestServer, DEFAULT_CLDS, GROUP, VERSION};
use support_access::{micros_since_epoch, AuditFile};

/// The user agent of every request, which the events must carry.
const USER_AGENT: &str = "fleet-audit-tests/1.0";
const ADMIN: &str = "fleet-admin";
const ADMIN_GROUPS: &[&str] = &["system:masters", "system:authenticated"];
const ALICE_GROUPS: &[&str] = &["team-a", "system:authenticated"];
const ROLES: &str = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles";
const ROLE_BINDINGS: &str = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings";
const CREDENTIALS: &str = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/default/credentials";

/// `up` writing its audit log to a temp dir, with `extra` arguments.
fn start(extra: &[&str]) -> Option<(TestServer, AuditFile, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("a temp dir for the audit log");
    let path = dir.path().join("audit.log");
    let mut args = vec!["--audit-log-path".to_owned(), path.display().to_string()];
    args.extend(extra.iter().map(|a| a.to_string()));
    let server = TestServer::builder(Backend::Embedded).args(args).start()?;
    Some((server, AuditFile::new(&path), dir))
}

/// Sends `raw` with the tests' user agent.
async fn send(client: &kube::Client, raw: Raw) -> Reply {
    raw.header("user-agent", USER_AGENT).send(client).await
}

fn clusterdeployment(name: &str) -> String {
    format!("{DEFAULT_CLDS}/{name}")
}

/// The `objectRef` of a request about ClusterDeployments in `default`.
fn cld_ref(name: &str) -> Value {
    let mut reference = json!({
        "resource": "clusterdeployments", "namespace": "default",
        "apiGroup": GROUP, "apiVersion": VERSION,
    });
    if !name.is_empty() {
        reference["name"] = json!(name);
    }
    reference
}

/// What the audit log must say about one request.
#[derive(Debug, Clone)]
struct Expected {
    what: String,
    reply: Reply,
    audit_id: String,
    request_uri: String,
    verb: String,
    /// Username and groups of the authenticated user; `None` for a request without
    /// credentials (`user: {}`).
    user: Option<(String, Vec<String>)>,
    impersonated: Option<Value>,
    object_ref: Option<Value>,
    level: &'static str,
    stages: Vec<&'static str>,
    request_object: Option<Value>,
    response_object: Option<Value>,
}

impl Expected {
    /// The admin's request `request_uri`, answered `reply`, at level Metadata, recorded when
    /// received and when complete.
    fn new(what: &str, reply: &Reply, request_uri: &str, verb: &str) -> Expected {
        let audit_id = reply
            .header("audit-id")
            .unwrap_or_else(|| panic!("{what}: no Audit-Id header: {:?}", reply.headers))
            .to_owned();
        assert!(!audit_id.is_empty(), "{what}: an empty Audit-Id");
        Expected {
            what: what.to_owned(),
            reply: reply.clone(),
            audit_id,
            request_uri: request_uri.to_owned(),
            verb: verb.to_owned(),
            user: Some((ADMIN.to_owned(), strings(ADMIN_GROUPS))),
            impersonated: None,
            object_ref: None,
            level: "Metadata",
            stages: vec!["RequestReceived", "ResponseComplete"],
            request_object: None,
            response_object: None,
        }
    }

    fn user(mut self, name: &str, groups: &[&str]) -> Self {
        self.user = Some((name.to_owned(), strings(groups)));
        self
    }

    fn without_credentials(mut self) -> Self {
        self.user = None;
        self
    }

    fn impersonating(mut self, name: &str, groups: &[&str]) -> Self {
        self.impersonated = Some(json!({"username": name, "groups": groups}));
        self
    }

    fn object(mut self, reference: Value) -> Self {
        self.object_ref = Some(reference);
        self
    }

    fn level(mut self, level: &'static str) -> Self {
        self.level = level;
        self
    }

    fn stages(mut self, stages: &[&'static str]) -> Self {
        self.stages = stages.to_vec();
        self
    }

    fn request_object(mut self, body: Value) -> Self {
        self.request_object = Some(body);
        self
    }

    fn response_object(mut self, body: Value) -> Self {
        self.response_object = Some(body);
        self
    }

    /// The `responseStatus` upstream records once the response is written: the code alone,
    /// or the bounded fields of a `Status` body.
    fn response_status(&self) -> Value {
        let code = self.reply.status;
        let body: Value = serde_json::from_slice(&self.reply.body).unwrap_or(Value::Null);
        if body["kind"] != "Status" {
            return json!({"metadata": {}, "code": code});
        }
        let mut status = json!({"metadata": {}});
        // Strings are `omitempty`; details are a pointer, copied when the body has them.
        for field in ["status", "message", "reason", "details"] {
            let value = &body[field];
            if !(value.is_null() || value.as_str() == Some("")) {
                status[field] = value.clone();
            }
        }
        status["code"] = json!(code);
        status
    }

    /// Waits for the request's `ResponseComplete` event and checks all of its events.
    async fn check(&self, log: &AuditFile, since: i64) {
        let events = log.completed(&self.audit_id).await;
        let what = &self.what;
        let stages: Vec<&str> = events
            .iter()
            .map(|e| e["stage"].as_str().unwrap_or("?"))
            .collect();
        assert_eq!(stages, self.stages, "{what}: stages; events: {events:#?}");
        let received = &events[0]["requestReceivedTimestamp"];
        let mut previous = micros(received, what);
        assert!(
            previous >= since - 1_000_000 && previous <= now_micros() + 1_000_000,
            "{what}: requestReceivedTimestamp {received} is not the time of the request"
        );
        for (i, event) in events.iter().enumerate() {
            let last = i + 1 == events.len();
            let context = format!("{what}, stage {}: {event:#}", stages[i]);
            self.check_common(event, &context);
            assert_eq!(&event["requestReceivedTimestamp"], received, "{context}");
            let at = micros(&event["stageTimestamp"], &context);
            assert!(
                at >= previous,
                "{context}: stageTimestamp goes back in time"
            );
            previous = at;
            if stages[i] == "RequestReceived" {
                assert_eq!(event.get("responseStatus"), None, "{context}");
            } else {
                assert_eq!(event["responseStatus"], self.response_status(), "{context}");
            }
            if last {
                assert_eq!(
                    event.get("objectRef"),
                    self.object_ref.as_ref(),
                    "{context}"
                );
                assert_eq!(
                    event.get("impersonatedUser"),
                    self.impersonated.as_ref(),
                    "{context}"
                );
                assert_eq!(
                    event.get("requestObject"),
                    self.request_object.as_ref(),
                    "{context}"
                );
                assert_eq!(
                    event.get("responseObject"),
                    self.response_object.as_ref(),
                    "{context}"
                );
            } else {
                assert_eq!(event.get("requestObject"), None, "{context}");
                assert_eq!(event.get("responseObject"), None, "{context}");
            }
        }
    }

    /// What every event of the request carries, whatever its stage.
    fn check_common(&self, event: &Value, context: &str) {
        assert_eq!(event["kind"], "Event", "{context}");
        assert_eq!(event["apiVersion"], "audit.k8s.io/v1", "{context}");
        assert_eq!(event["level"], self.level, "{context}");
        assert_eq!(event["auditID"], self.audit_id.as_str(), "{context}");
        assert_eq!(event["requestURI"], self.request_uri.as_str(), "{context}");
        assert_eq!(event["verb"], self.verb.as_str(), "{context}");
        assert_eq!(event["sourceIPs"], json!(["127.0.0.1"]), "{context}");
        assert_eq!(event["userAgent"], USER_AGENT, "{context}");
        check_user(&event["user"], self.user.as_ref(), context);
        // Where the request points: the same at every stage, but for what only the body
        // says (the name of a create, known once it is decoded).
        let strip = |reference: Option<&Value>| {
            reference.cloned().map(|mut r| {
                if let Some(r) = r.as_object_mut() {
                    r.remove("name");
                }
                r
            })
        };
        assert_eq!(
            strip(event.get("objectRef")),
            strip(self.object_ref.as_ref()),
            "{context}: objectRef"
        );
    }
}

/// `user` is `username` and `groups` exactly; its only extra, if any, is the credential ID
/// of the client certificate (`authentication.kubernetes.io/credential-id`).
fn check_user(user: &Value, expected: Option<&(String, Vec<String>)>, context: &str) {
    let Some((name, groups)) = expected else {
        assert_eq!(user, &json!({}), "{context}: a request without credentials");
        return;
    };
    assert_eq!(user["username"], name.as_str(), "{context}: user");
    assert_eq!(user["groups"], json!(groups), "{context}: groups");
    assert_eq!(user.get("uid"), None, "{context}: a certificate has no uid");
    if let Some(extra) = user.get("extra") {
        let ids = extra["authentication.kubernetes.io/credential-id"]
            .as_array()
            .unwrap_or_else(|| panic!("{context}: unexpected extra {extra}"));
        assert_eq!(
            extra.as_object().map(|o| o.len()),
            Some(1),
            "{context}: {extra}"
        );
        assert!(
            ids.len() == 1
                && ids[0]
                    .as_str()
                    .is_some_and(|id| id.starts_with("X509SHA256=")),
            "{context}: credential-id {extra}"
        );
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn micros(timestamp: &Value, context: &str) -> i64 {
    timestamp
        .as_str()
        .and_then(micros_since_epoch)
        .unwrap_or_else(|| {
            panic!("{context}: {timestamp} is not RFC 3339 with 6 fractional digits in UTC")
        })
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_micros() as i64
}

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

fn rbac_ref(resource: &str, name: &str) -> Value {
    let mut reference = json!({
        "resource": resource, "namespace": "default",
        "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1",
    });
    if !name.is_empty() {
        reference["name"] = json!(name);
    }
    reference
}

/// GETs `path` as `client` until RBAC lets it (role bindings take effect through a watch).
async fn get_once_allowed(client: &kube::Client, path: &str) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = send(client, Raw::get(path)).await;
        if reply.status != 403 || Instant::now() > deadline {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn expect_status(reply: &Reply, code: u16, what: &str) {
    assert_eq!(reply.status, code, "{what}: {}", reply.text());
}

#[tokio::test]
async fn without_a_policy_every_request_is_logged_at_metadata_when_received_and_complete() {
    let since = now_micros();
    let Some((server, log, _dir)) = start(&[]) else {
        return;
    };
    let admin = server.client().await;
    let alice = support::client_from(&server.kubeconfig_for("alice", &["team-a"])).await;
    let nobody = server.anonymous_client().await;
    let mut expected = Vec::new();

    let reply = send(&admin, Raw::post(ROLES).json(&role())).await;
    expect_status(&reply, 201, "creating the role");
    expected.push(
        Expected::new("create role", &reply, ROLES, "create")
            .object(rbac_ref("roles", "")),
    );
    let reply = send(&admin, Raw::post(ROLE_BINDINGS).json(&role_binding())).await;
    expect_status(&reply, 201, "creating the role binding");
    expected.push(
        Expected::new("create rolebinding", &reply, ROLE_BINDINGS, "create")
            .object(rbac_ref("rolebindings", "")),
    );

    let object = cld("audit-a", "aws-standalone-1-33");
    let reply = send(&admin, Raw::post(DEFAULT_CLDS).json(&object)).await;
    expect_status(&reply, 201, "creating");
    expected
        .push(Expected::new("create", &reply, DEFAULT_CLDS, "create").object(cld_ref("")));

    let path = clusterdeployment("audit-a");
    // A client's own Audit-ID is kept, as upstream's WithAuditInit does.
    let reply = send(
        &admin,
        Raw::get(&path).header("Audit-ID", "client-chosen-id-1"),
    )
    .await;
    expect_status(&reply, 200, "getting");
    assert_eq!(reply.header("audit-id"), Some("client-chosen-id-1"));
    expected.push(Expected::new("get", &reply, &path, "get").object(cld_ref("audit-a")));

    let reply = send(&admin, Raw::get(DEFAULT_CLDS)).await;
    expect_status(&reply, 200, "listing");
    expected.push(Expected::new("list", &reply, DEFAULT_CLDS, "list").object(cld_ref("")));

    let watch = format!("{DEFAULT_CLDS}?watch=true&timeoutSeconds=1");
    let reply = send(&admin, Raw::get(&watch)).await;
    expect_status(&reply, 200, "watching");
    expected.push(
        Expected::new("watch", &reply, &watch, "watch")
            .object(cld_ref(""))
            .stages(&["RequestReceived", "ResponseStarted", "ResponseComplete"]),
    );

    let patch = Raw::new("PATCH", &path)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"metadata":{"labels":{"audited":"yes"}}}"#);
    let reply = send(&admin, patch).await;
    expect_status(&reply, 200, "patching");
    expected.push(Expected::new("patch", &reply, &path, "patch").object(cld_ref("audit-a")));

    let reply = get_once_allowed(&alice, &path).await;
    expect_status(
        &reply,
        200,
        "alice reading through her group's role binding",
    );
    expected.push(
        Expected::new("get by alice", &reply, &path, "get")
            .user("alice", ALICE_GROUPS)
            .object(cld_ref("audit-a")),
    );

    let reply = send(&alice, Raw::delete(&path)).await;
    expect_status(&reply, 403, "alice deleting");
    assert_eq!(reply.json()["reason"], "Forbidden");
    expected.push(
        Expected::new("forbidden delete by alice", &reply, &path, "delete")
            .user("alice", ALICE_GROUPS)
            .object(cld_ref("audit-a")),
    );

    let impersonated = Raw::get(&path)
        .header("Impersonate-User", "alice")
        .header("Impersonate-Group", "team-a");
    let reply = send(&admin, impersonated).await;
    expect_status(&reply, 200, "the admin reading as alice");
    expected.push(
        Expected::new("get impersonating alice", &reply, &path, "get")
            .impersonating("alice", ALICE_GROUPS)
            .object(cld_ref("audit-a")),
    );

    let reply = send(&admin, Raw::delete(&path)).await;
    expect_status(&reply, 200, "deleting");
    // expected.push(Expected::new("delete", &reply, &path, "delete").object(cld_ref("audit-a")));

    let reply = send(&nobody, Raw::get(DEFAULT_CLDS)).await;
    expect_status(&reply, 401, "listing without credentials");
    assert_eq!(reply.json()["reason"], "Unauthorized");
    // kube-apiserver records a failed authentication once, at ResponseStarted
    // (`WithFailedAuthenticationAudit` treats the writer as long-running).
    expected.push(
        Expected::new("list without credentials", &reply, DEFAULT_CLDS, "list")
            .without_credentials()
            .object(cld_ref(""))
            .stages(&["ResponseStarted"]),
    );

    for request in &expected {
        request.check(&log, since).await;
    }
    let events = log.events();
    assert!(
        events.iter().all(|e| e["level"] == "Metadata"),
        "without a policy every event is at Metadata"
    );
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
async fn a_policy_chooses_levels_and_stages_and_credentials_stay_at_metadata() {
    let since = now_micros();
    let dir = tempfile::tempdir().expect("a temp dir for the policy");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, POLICY).expect("writing the policy");
    let policy_arg = policy.display().to_string();
    let Some((server, log, _log_dir)) = start(&["--audit-policy-file", &policy_arg]) else {
        return;
    };
    let admin = server.client().await;
    let bob = support::client_from(&server.kubeconfig_for("bob", &[])).await;
    let carol = support::client_from(&server.kubeconfig_for("carol", &["quiet"])).await;
    let complete = ["ResponseComplete"];
    let mut expected = Vec::new();
    let mut unrecorded = Vec::new();

    // RequestResponse: both bodies, as sent and as answered.
    let object = cld("policy-a", "aws-standalone-1-33");
    let reply = send(&admin, Raw::post(DEFAULT_CLDS).json(&object)).await;
    expect_status(&reply, 201, "creating");
    expected.push(
        Expected::new("create", &reply, DEFAULT_CLDS, "create")
            .object(cld_ref("policy-a"))
            .level("RequestResponse")
            .stages(&complete)
            .request_object(object)
            .response_object(reply.json()),
    );
    let path = clusterdeployment("policy-a");
    let reply = send(&admin, Raw::get(&path)).await;
    expect_status(&reply, 200, "getting");
    expected.push(
        Expected::new("get", &reply, &path, "get")
            .object(cld_ref("policy-a"))
            .level("RequestResponse")
            .stages(&complete)
            .response_object(reply.json()),
    );
    let patch_body = json!({"metadata": {"labels": {"audited": "yes"}}});
    let patch = Raw::new("PATCH", &path)
        .header("content-type", "application/merge-patch+json")
        .body(patch_body.to_string());
    let reply = send(&admin, patch).await;
    expect_status(&reply, 200, "patching");
    expected.push(
        Expected::new("patch", &reply, &path, "patch")
            .object(cld_ref("policy-a"))
            .level("RequestResponse")
            .stages(&complete)
            .request_object(patch_body)
            .response_object(reply.json()),
    );
    // A watch streams: its events are not a response object.
    let watch = format!("{DEFAULT_CLDS}?watch=true&timeoutSeconds=1");
    let reply = send(&admin, Raw::get(&watch)).await;
    expect_status(&reply, 200, "watching");
    expected.push(
        Expected::new("watch", &reply, &watch, "watch")
            .object(cld_ref(""))
            .level("RequestResponse")
            .stages(&["ResponseStarted", "ResponseComplete"]),
    );

    // Request: the request body only.
    let reply = send(&admin, Raw::post(ROLES).json(&role())).await;
    expect_status(&reply, 201, "creating the role");
    expected.push(
        Expected::new("create role", &reply, ROLES, "create")
            .object(rbac_ref("roles", "cd-reader"))
            .level("Request")
            .stages(&complete)
            .request_object(role()),
    );

    // Metadata, the last rule: no bodies, for writes as for reads.
    let reply = send(&admin, Raw::post(ROLE_BINDINGS).json(&role_binding())).await;
    expect_status(&reply, 201, "creating the role binding");
    expected.push(
        Expected::new("create rolebinding", &reply, ROLE_BINDINGS, "create")
            .object(rbac_ref("rolebindings", ""))
            .stages(&complete),
    );
    let reply = send(&admin, Raw::get(ROLES)).await;
    expect_status(&reply, 200, "listing roles");
    expected.push(
        Expected::new("list roles", &reply, ROLES, "list")
            .object(json!({
                "resource": "roles", "namespace": "default",
                "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1",
            }))
            .stages(&complete),
    );
    let reply = send(&admin, Raw::get("/apis")).await;
    expect_status(&reply, 200, "discovery");
    expected.push(Expected::new("discovery", &reply, "/apis", "get").stages(&complete));

    // Credentials: whatever the rule says, never more than Metadata. The kind is not served
    // yet, so these are 404s, audited like any request.
    let secret = "hunter2-must-not-be-logged";
    let credential = json!({
        "apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "Credential",
        "metadata": {"name": "aws", "namespace": "default"},
        "spec": {"secretAccessKey": secret},
    });
    let reply = send(&admin, Raw::post(CREDENTIALS).json(&credential)).await;
    expect_status(&reply, 404, "creating a credential");
    let credentials_ref = json!({
        "resource": "credentials", "namespace": "default", "apiGroup": GROUP, "apiVersion": VERSION,
    });
    let credential_create =
        Expected::new("create credential", &reply, CREDENTIALS, "create").stages(&complete);
    expected.push(credential_create.clone());
    let credential_path = format!("{CREDENTIALS}/aws");
    let reply = send(&admin, Raw::get(&credential_path)).await;
    expect_status(&reply, 404, "getting a credential");
    let mut named = credentials_ref.clone();
    named["name"] = json!("aws");
    expected.push(
        Expected::new("get credential", &reply, &credential_path, "get")
            .object(named)
            .stages(&complete),
    );

    // Level None: by user, by group, by non-resource URL, by namespace.
    let reply = send(&bob, Raw::get(&path)).await;
    expect_status(&reply, 403, "bob reading");
    unrecorded.push(("bob", reply));
    let reply = send(&carol, Raw::get(DEFAULT_CLDS)).await;
    expect_status(&reply, 403, "carol listing");
    unrecorded.push(("carol of group quiet", reply));
    let reply = send(&admin, Raw::get("/version")).await;
    expect_status(&reply, 200, "version");
    unrecorded.push(("/version", reply));
    let reply = send(&admin, Raw::get("/healthz")).await;
    expect_status(&reply, 200, "healthz");
    unrecorded.push(("/healthz by the /healthz* rule", reply));
    let hushed = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/hushed/clusterdeployments";
    let mut quiet_object = cld("quiet-a", "aws-standalone-1-33");
    quiet_object["metadata"]["namespace"] = json!("hushed");
    let reply = send(&admin, Raw::post(hushed).json(&quiet_object)).await;
    unrecorded.push(("namespace hushed", reply));

    // The credential create: its objectRef is checked apart, since the 404 comes before the
    // body is read (upstream would fill the name from a decoded body).
    let credential_create = credential_create.object(credentials_ref.clone());
    for request in &expected {
        if request.what == "create credential" {
            check_credential_create(request, &log, &credentials_ref, since).await;
        } else {
            request.check(&log, since).await;
        }
    }
    let _ = credential_create;
    // Everything before the last recorded request is on disk by now (one writer, in order).
    let sentinel = send(&admin, Raw::get("/apis/fleet.k0rdent.io/v1alpha1")).await;
    Expected::new(
        "sentinel",
        &sentinel,
        "/apis/fleet.k0rdent.io/v1alpha1",
        "get",
    )
    .stages(&complete)
    .check(&log, since)
    .await;
    for (what, reply) in &unrecorded {
        let id = reply.header("audit-id").expect("an Audit-Id header");
        assert_eq!(
            log.events_of(id),
            Vec::<Value>::new(),
            "{what} is at level None"
        );
    }
    let text = log.text();
    assert!(
        !text.contains(secret),
        "a credential's content is never logged"
    );
    for event in log.events() {
        assert_ne!(event["stage"], "RequestReceived", "omitStages: {event}");
        if event["objectRef"]["resource"] == "credentials" {
            assert_eq!(
                event["level"], "Metadata",
                "credentials are capped: {event}"
            );
        }
    }
}

/// The create of a credential: Metadata whatever the rule says, no bodies; the objectRef
/// names at least the resource, namespace and group.
async fn check_credential_create(
    request: &Expected,
    log: &AuditFile,
    reference: &Value,
    since: i64,
) {
    let events = log.completed(&request.audit_id).await;
    assert_eq!(events.len(), 1, "one ResponseComplete event: {events:#?}");
    let event = &events[0];
    let context = format!("create credential: {event:#}");
    assert_eq!(event["level"], "Metadata", "{context}");
    assert_eq!(event["verb"], "create", "{context}");
    assert_eq!(
        event["responseStatus"],
        request.response_status(),
        "{context}"
    );
    assert_eq!(event.get("requestObject"), None, "{context}");
    assert_eq!(event.get("responseObject"), None, "{context}");
    for field in ["resource", "namespace", "apiGroup", "apiVersion"] {
        assert_eq!(
            event["objectRef"][field], reference[field],
            "{context}: {field}"
        );
    }
    let at = micros(&event["stageTimestamp"], &context);
    assert!(at >= micros(&event["requestReceivedTimestamp"], &context) && at >= since);
}

#[allow(dead_code)] // Kept for reading a log by hand while debugging a failure.
fn dump(path: &Path) -> PathBuf {
    path.to_owned()
}
