//! The bad-input matrix, on the embedded store and on etcd, through raw requests: each bad
//! request gets the Status (code, reason, message) kube-apiserver answers, and the storage
//! revision read through the API before and after proves that nothing was written. Also the
//! answers around the matrix: 401 without a client certificate, delete's Success status,
//! aggregated discovery with its ETag.

#[macro_use]
mod support;

use serde_json::{json, Value};
use support::{
    create, list_revision, Backend, Raw, Reply, TestServer, API_VERSION, DEFAULT_CLDS, STORED_VERBS,
};

const UNRECOGNIZED: &str =
    "the object provided is unrecognized (must be of type ClusterDeployment): ";
const NAME_RULES: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// What a refused request must answer.
#[derive(Debug)]
enum Message {
    Exact(String),
    /// Where the JSON parser's text differs from Go's, only the start is fixed.
    Prefix(String),
}

fn exact(text: impl Into<String>) -> Message {
    Message::Exact(text.into())
}

fn prefix(text: impl Into<String>) -> Message {
    Message::Prefix(text.into())
}

/// Sends `request`, asserts a failure `Status` with `code`, `reason` and `message`, and that
/// the storage revision did not move. Returns the Status.
async fn refused(
    client: &kube::Client,
    request: Raw,
    code: u16,
    reason: &str,
    message: Message,
) -> Value {
    refused_via(client, client, request, code, reason, message).await
}

/// Like [`refused`], sending `request` through `sender` and reading the revision through
/// `client`.
async fn refused_via(
    client: &kube::Client,
    sender: &kube::Client,
    request: Raw,
    code: u16,
    reason: &str,
    message: Message,
) -> Value {
    let case = format!("{request:?}");
    let before = list_revision(client).await;
    let reply = request.send(sender).await;
    let after = list_revision(client).await;
    assert_eq!(reply.status, code, "{case}: {}", reply.text());
    let status = reply.json();
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{case}"
    );
    assert_eq!(status["kind"], "Status", "{case}: {status}");
    assert_eq!(status["apiVersion"], "v1", "{case}: {status}");
    assert_eq!(status["status"], "Failure", "{case}: {status}");
    assert_eq!(status["code"], code, "{case}: {status}");
    assert_eq!(status["reason"], reason, "{case}: {status}");
    let text = status["message"].as_str().unwrap_or_default();
    match &message {
        Message::Exact(m) => assert_eq!(text, m, "{case}"),
        Message::Prefix(p) => assert!(text.starts_with(p.as_str()), "{case}: {text:?}"),
    }
    assert_eq!(before, after, "{case}: the storage revision moved");
    status
}

/// The object of most cases: valid but for what each case changes.
fn body() -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "ClusterDeployment",
        "metadata": {"name": "x", "namespace": "default"},
        "spec": {"template": "t1", "credential": "aws"},
    })
}

fn with(mut object: Value, pointer: &str, value: Value) -> Value {
    *object.pointer_mut(pointer).expect(pointer) = value;
    object
}

fn without(mut object: Value, parent: &str, key: &str) -> Value {
    object
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .expect(parent)
        .remove(key);
    object
}

async fn bad_creates_are_refused_and_write_nothing(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;
    // One object, so that the revision is not the empty store's.
    create(&client, &support::cld("existing", "t0")).await;

    refused(
        &client,
        Raw::post(DEFAULT_CLDS)
            .header("content-type", "application/json")
            .body(r#"{"apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "#),
        400,
        "BadRequest",
        prefix(format!(
            "{UNRECOGNIZED}couldn't get version/kind; json parse error: "
        )),
    )
    .await;

    // Through a client of its own: the server closes the connection after this 413 (most of
    // the body is unread) without saying `Connection: close`, so a pooled connection breaks.
    let mut huge = body();
    huge["spec"]["config"] = json!({"blob": "x".repeat(4 * 1024 * 1024)});
    refused_via(
        &client,
        &server.client().await,
        Raw::post(DEFAULT_CLDS).json(&huge),
        413,
        "RequestEntityTooLarge",
        exact("Request entity too large: limit is 3145728"),
    )
    .await;

    let status = refused(
        &client,
        Raw::post(DEFAULT_CLDS).json(&with(body(), "/metadata/name", "Bad_Name".into())),
        422,
        "Invalid",
        exact(format!(
            "ClusterDeployment.fleet.k0rdent.io \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": {NAME_RULES}"
        )),
    )
    .await;
    let details = &status["details"];
    assert_eq!(details["name"], "Bad_Name", "{status}");
    assert_eq!(details["group"], "fleet.k0rdent.io", "{status}");
    assert_eq!(details["kind"], "ClusterDeployment", "{status}");
    let causes = details["causes"].as_array().expect("causes");
    assert_eq!(causes.len(), 1, "{status}");
    assert_eq!(causes[0]["reason"], "FieldValueInvalid", "{status}");
    assert_eq!(causes[0]["field"], "metadata.name", "{status}");
    assert_eq!(
        causes[0]["message"],
        format!("Invalid value: \"Bad_Name\": {NAME_RULES}"),
        "{status}"
    );

    let status = refused(
        &client,
        Raw::post(DEFAULT_CLDS).json(&without(body(), "/metadata", "name")),
        422,
        "Invalid",
        exact(
            "ClusterDeployment.fleet.k0rdent.io \"\" is invalid: metadata.name: Required value: name or generateName is required",
        ),
    )
    .await;
    let cause = &status["details"]["causes"][0];
    assert_eq!(cause["reason"], "FieldValueRequired", "{status}");
    assert_eq!(cause["field"], "metadata.name", "{status}");

    refused(
        &client,
        Raw::post(DEFAULT_CLDS).json(&with(body(), "/metadata/namespace", "other".into())),
        400,
        "BadRequest",
        exact(
            "the namespace of the provided object does not match the namespace sent on the request",
        ),
    )
    .await;

    refused(
        &client,
        Raw::post(DEFAULT_CLDS).json(&with(body(), "/apiVersion", "fleet.k0rdent.io/v1".into())),
        400,
        "BadRequest",
        exact("the API version in the data (fleet.k0rdent.io/v1) does not match the expected API version (fleet.k0rdent.io/v1alpha1)"),
    )
    .await;

    let status = refused(
        &client,
        Raw::post(DEFAULT_CLDS).json(&with(body(), "/kind", "Credential".into())),
        422,
        "Invalid",
        exact("Credential.fleet.k0rdent.io \"x\" is invalid: kind: Invalid value: \"Credential\": must be ClusterDeployment"),
    )
    .await;
    let cause = &status["details"]["causes"][0];
    assert_eq!(cause["reason"], "FieldValueInvalid", "{status}");
    assert_eq!(cause["field"], "kind", "{status}");

    refused(
        &client,
        Raw::post(DEFAULT_CLDS).json(&without(body(), "", "kind")),
        400,
        "BadRequest",
        prefix(format!("{UNRECOGNIZED}Object 'Kind' is missing in '")),
    )
    .await;

    let valid = serde_json::to_vec(&body()).expect("JSON");
    refused(
        &client,
        Raw::post(DEFAULT_CLDS)
            .header("content-type", "text/plain")
            .body(valid.clone()),
        415,
        "UnsupportedMediaType",
        exact("the body of the request was in an unknown format - accepted media types include: application/json"),
    )
    .await;

    // The same body, correctly labelled, is accepted: the cases above failed for their one
    // defect only.
    let reply = Raw::post(DEFAULT_CLDS)
        .header("content-type", "application/json")
        .body(valid)
        .send(&client)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    // A body without a Content-Type is read as the first type the server accepts, JSON
    // (upstream's NegotiateInputSerializerForMediaType; `kubectl create --raw` sends none).
    let unlabelled =
        serde_json::to_vec(&with(body(), "/metadata/name", json!("unlabelled"))).expect("JSON");
    let reply = Raw::post(DEFAULT_CLDS).body(unlabelled).send(&client).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
}

async fn bad_updates_are_refused_and_write_nothing(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;
    let a = create(&client, &support::cld("a", "t1")).await;
    create(&client, &support::cld("b", "t1")).await;
    let url_a = format!("{DEFAULT_CLDS}/a");

    refused(
        &client,
        Raw::put(&url_a).json(&without(a.clone(), "/metadata", "resourceVersion")),
        422,
        "Invalid",
        exact("clusterdeployments.fleet.k0rdent.io \"a\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"),
    )
    .await;

    refused(
        &client,
        Raw::put(&url_a).json(&with(a.clone(), "/metadata/name", "b".into())),
        400,
        "BadRequest",
        exact("the name of the object (b) does not match the name on the URL (a)"),
    )
    .await;

    let stale_rv = a["metadata"]["resourceVersion"].as_str().expect("rv");
    let newer = with(a.clone(), "/spec/template", "t2".into());
    let reply = Raw::put(&url_a).json(&newer).send(&client).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    refused(
        &client,
        Raw::put(&url_a).json(&with(
            with(a.clone(), "/spec/template", "t3".into()),
            "/metadata/resourceVersion",
            stale_rv.into(),
        )),
        409,
        "Conflict",
        exact("Operation cannot be fulfilled on clusterdeployments.fleet.k0rdent.io \"a\": the object has been modified; please apply your changes to the latest version and try again"),
    )
    .await;

    refused(
        &client,
        Raw::put(&url_a)
            .header("content-type", "text/plain")
            .body(serde_json::to_vec(&a).expect("JSON")),
        415,
        "UnsupportedMediaType",
        exact("the body of the request was in an unknown format - accepted media types include: application/json"),
    )
    .await;

    let missing = refused(
        &client,
        Raw::delete(&format!("{DEFAULT_CLDS}/ghost")),
        404,
        "NotFound",
        exact("clusterdeployments.fleet.k0rdent.io \"ghost\" not found"),
    )
    .await;
    assert_eq!(
        missing["details"],
        json!({"name": "ghost", "group": "fleet.k0rdent.io", "kind": "clusterdeployments"})
    );

    // A delete that succeeds: a Success Status without a code, and the revision moves.
    let before = list_revision(&client).await;
    let reply = Raw::delete(&url_a).send(&client).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let status = reply.json();
    assert_eq!(status["kind"], "Status", "{status}");
    assert_eq!(status["apiVersion"], "v1", "{status}");
    assert_eq!(status["status"], "Success", "{status}");
    assert_eq!(
        status["details"],
        json!({
            "name": "a",
            "group": "fleet.k0rdent.io",
            "kind": "clusterdeployments",
            "uid": a["metadata"]["uid"],
        }),
        "{status}"
    );
    for absent in ["code", "reason", "message"] {
        assert!(status.get(absent).is_none(), "no {absent}: {status}");
    }
    assert_ne!(list_revision(&client).await, before, "a delete is a write");
    refused(
        &client,
        Raw::get(&url_a),
        404,
        "NotFound",
        exact("clusterdeployments.fleet.k0rdent.io \"a\" not found"),
    )
    .await;
}

/// Sends a request that must not reach storage and returns the reply, checking the revision.
async fn unwritten(client: &kube::Client, request: Raw) -> Reply {
    let before = list_revision(client).await;
    let reply = request.send(client).await;
    assert_eq!(
        list_revision(client).await,
        before,
        "the storage revision moved"
    );
    reply
}

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

async fn unknown_paths_and_media_types_are_refused(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;
    create(&client, &support::cld("existing", "t0")).await;

    let status = refused(
        &client,
        Raw::get("/apis/fleet.k0rdent.io/v1alpha1/nope"),
        404,
        "NotFound",
        exact("the server could not find the requested resource"),
    )
    .await;
    assert!(status.get("details").is_some(), "{status}");

    let reply = unwritten(&client, Raw::get("/apis/nope/v1/things")).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.text(), "404 page not found\n");
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{reply:?}"
    );

    refused(
        &client,
        Raw::get(&format!("{DEFAULT_CLDS}/existing")).header("accept", "application/yaml"),
        406,
        "NotAcceptable",
        exact("only the following media types are accepted: application/json"),
    )
    .await;
    refused(
        &client,
        Raw::post(DEFAULT_CLDS)
            .header("accept", "application/yaml")
            .json(&body()),
        406,
        "NotAcceptable",
        exact("only the following media types are accepted: application/json"),
    )
    .await;
    // q-values and wildcards: JSON is found when anything admits it.
    let reply = unwritten(
        &client,
        Raw::get(&format!("{DEFAULT_CLDS}/existing"))
            .header("accept", "application/yaml, application/*;q=0.5"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["metadata"]["name"], "existing");

    // Aggregated discovery, with its ETag and a 304 for a matching If-None-Match.
    let reply = unwritten(&client, Raw::get("/apis").header("accept", AGGREGATED)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some(AGGREGATED));
    let etag = reply.header("etag").expect("an ETag").to_owned();
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "{etag}"
    );
    assert_eq!(reply.header("vary"), Some("Accept"));
    let list = reply.json();
    assert_eq!(list["kind"], "APIGroupDiscoveryList", "{list}");
    assert_eq!(list["apiVersion"], "apidiscovery.k8s.io/v2", "{list}");
    let items = list["items"].as_array().expect("items");
    let mut groups: Vec<&str> = items
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap_or_default())
        .collect();
    groups.sort();
    assert_eq!(
        groups,
        [
            "authentication.k8s.io",
            "authorization.k8s.io",
            "fleet.k0rdent.io",
            "rbac.authorization.k8s.io"
        ],
        "{list}"
    );
    let fleet = items
        .iter()
        .find(|i| i["metadata"]["name"] == "fleet.k0rdent.io")
        .expect("the fleet group");
    let version = &fleet["versions"][0];
    assert_eq!(version["version"], "v1alpha1", "{list}");
    assert_eq!(version["freshness"], "Current", "{list}");
    let resources = version["resources"].as_array().expect("resources");
    let mut served: Vec<&str> = resources
        .iter()
        .map(|r| r["resource"].as_str().unwrap_or_default())
        .collect();
    served.sort();
    let mut wanted: Vec<&str> = FLEET_RESOURCES.iter().map(|r| r.0).collect();
    wanted.sort();
    assert_eq!(served, wanted, "{list}");
    for (plural, kind, scope, short_name, status) in FLEET_RESOURCES {
        let resource = resources
            .iter()
            .find(|r| r["resource"] == plural)
            .expect("listed");
        assert_eq!(
            resource["responseKind"],
            json!({"group": "fleet.k0rdent.io", "version": "v1alpha1", "kind": kind}),
            "{resource}"
        );
        assert_eq!(resource["scope"], scope, "{resource}");
        let singular = plural.strip_suffix('s').expect("a plural");
        assert_eq!(resource["singularResource"], singular, "{resource}");
        assert_eq!(resource["shortNames"], json!([short_name]), "{resource}");
        assert_eq!(resource["categories"], json!(["k0rdent"]), "{resource}");
        assert_eq!(resource["verbs"], json!(STORED_VERBS), "{resource}");
        let subresources = if status {
            json!([{
                "subresource": "status",
                "responseKind": resource["responseKind"],
                "verbs": ["get", "patch", "update"],
            }])
        } else {
            Value::Null
        };
        assert_eq!(resource["subresources"], subresources, "{resource}");
    }

    let reply = unwritten(
        &client,
        Raw::get("/apis")
            .header("accept", AGGREGATED)
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(reply.status, 304, "{}", reply.text());
    assert!(reply.body.is_empty(), "{}", reply.text());
    assert_eq!(reply.header("etag"), Some(etag.as_str()));
    let reply = unwritten(
        &client,
        Raw::get("/apis")
            .header("accept", AGGREGATED)
            .header("if-none-match", "\"something-else\""),
    )
    .await;
    assert_eq!(reply.status, 200, "a stale ETag gets the document");
}

/// The resources of fleet.k0rdent.io in aggregated discovery (docs/api.md): plural, kind,
/// scope, short name, and whether it has a `/status` subresource.
const FLEET_RESOURCES: [(&str, &str, &str, &str, bool); 6] = [
    (
        "clustertemplates",
        "ClusterTemplate",
        "Namespaced",
        "ctpl",
        true,
    ),
    (
        "clusterdeployments",
        "ClusterDeployment",
        "Namespaced",
        "cld",
        true,
    ),
    (
        "servicetemplates",
        "ServiceTemplate",
        "Namespaced",
        "stpl",
        true,
    ),
    (
        "multiclusterservices",
        "MultiClusterService",
        "Cluster",
        "mcs",
        true,
    ),
    ("credentials", "Credential", "Namespaced", "cred", true),
    ("pricelists", "PriceList", "Cluster", "pl", false),
];

async fn requests_without_a_client_certificate_are_unauthorized(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let admin = server.client().await;
    let anonymous = server.anonymous_client().await;
    create(&admin, &support::cld("existing", "t0")).await;

    for request in [
        Raw::get(support::ALL_CLDS),
        Raw::get(&format!("{DEFAULT_CLDS}/existing")),
        Raw::post(DEFAULT_CLDS).json(&body()),
        Raw::delete(&format!("{DEFAULT_CLDS}/existing")),
        Raw::get("/apis"),
        Raw::get("/version"),
    ] {
        let case = format!("{request:?}");
        let before = list_revision(&admin).await;
        let reply = request.send(&anonymous).await;
        assert_eq!(reply.status, 401, "{case}: {}", reply.text());
        let status = reply.json();
        assert_eq!(status["kind"], "Status", "{case}");
        assert_eq!(status["status"], "Failure", "{case}");
        assert_eq!(status["reason"], "Unauthorized", "{case}");
        assert_eq!(status["code"], 401, "{case}");
        assert_eq!(status["message"], "Unauthorized", "{case}");
        assert_eq!(
            list_revision(&admin).await,
            before,
            "{case}: a write happened"
        );
    }
    for health in ["/healthz", "/livez", "/readyz"] {
        let reply = Raw::get(health).send(&anonymous).await;
        assert_eq!(reply.status, 200, "{health}: {}", reply.text());
        assert_eq!(reply.text(), "ok", "{health}");
    }
    // The object survived the anonymous delete.
    let reply = Raw::get(&format!("{DEFAULT_CLDS}/existing"))
        .send(&admin)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

on_both_backends!(
    bad_creates_are_refused_and_write_nothing,
    bad_updates_are_refused_and_write_nothing,
    unknown_paths_and_media_types_are_refused,
    requests_without_a_client_certificate_are_unauthorized,
);
