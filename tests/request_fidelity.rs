//! Requests kube-apiserver 1.33 answers in a particular way, on both backends: duplicate JSON
//! fields under `fieldValidation` (handlers/rest.go `transformDecodeError`, handlers/patch.go,
//! sigs.k8s.io/json's paths), methods a path does not serve (the custom resource handler's
//! `name must be provided` and 415; go-restful's 405 for built-in kinds), and request heads
//! over Go's 1 MiB limit (431); gzip of large whole bodies, read by kubectl. Every refused
//! request leaves the store as it was.

#[macro_use]
mod support;
mod support_discovery;

use std::io::BufReader;
use std::time::Duration;

use serde_json::{json, Value};
use support::http1::{self, Unframed};
use support::{cld, create, send_ok, Backend, Kubectl, Raw, Reply, TestServer, DEFAULT_CLDS};
use support_discovery::{self as discovery, Listed};

/// The ClusterRoles collection, a built-in kind's.
const CLUSTER_ROLES: &str = "/apis/rbac.authorization.k8s.io/v1/clusterroles";

fn status_of(reply: &Reply, code: u16, reason: &str, message: &str, what: &str) -> Value {
    assert_eq!(reply.status, code, "{what}: {}", reply.text());
    let status = reply.json();
    assert_eq!(status["kind"], "Status", "{what}: {status}");
    assert_eq!(status["reason"], reason, "{what}: {status}");
    assert_eq!(status["message"], message, "{what}: {status}");
    assert_eq!(status["code"], code, "{what}: {status}");
    status
}

fn warnings(reply: &Reply) -> Vec<&str> {
    reply
        .headers
        .iter()
        .filter(|(name, _)| name == "warning")
        .map(|(_, value)| value.as_str())
        .collect()
}

async fn get_status(client: &kube::Client, path: &str) -> u16 {
    Raw::get(path).send(client).await.status
}

/// A ClusterDeployment's JSON with `metadata.name` twice ("dup-a", then "dup-b") and an
/// unknown field, as a client that writes its own JSON might send it.
const DUPLICATED: &str = r#"{"apiVersion":"fleet.k0rdent.io/v1alpha1","kind":"ClusterDeployment",
    "metadata":{"name":"dup-a","name":"dup-b","namespace":"default"},
    "spec":{"template":"t","credential":"aws","bogus":1,"template":"t2"}}"#;

async fn duplicate_fields_are_strict_errors_and_warnings(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;
    let strict = Raw::post(&format!("{DEFAULT_CLDS}?fieldValidation=Strict"))
        .header("Content-Type", "application/json")
        .body(DUPLICATED)
        .send(&client)
        .await;
    let status = status_of(
        &strict,
        400,
        "BadRequest",
        r#"ClusterDeployment in version "v1alpha1" cannot be handled as a ClusterDeployment: strict decoding error: duplicate field "metadata.name", duplicate field "spec.template", unknown field "spec.bogus""#,
        "strict create",
    );
    assert!(status.get("details").is_none(), "{status}");
    for name in ["dup-a", "dup-b"] {
        let path = format!("{DEFAULT_CLDS}/{name}");
        assert_eq!(get_status(&client, &path).await, 404, "nothing stored");
    }

    // Warn (also the default): stored, the last value wins, one warning per error.
    for query in ["?fieldValidation=Warn", ""] {
        let warned = Raw::post(&format!("{DEFAULT_CLDS}{query}"))
            .header("Content-Type", "application/json")
            .body(DUPLICATED)
            .send(&client)
            .await;
        assert_eq!(warned.status, 201, "{query}: {}", warned.text());
        let created = warned.json();
        assert_eq!(created["metadata"]["name"], "dup-b", "{created}");
        assert_eq!(created["spec"]["template"], "t2", "{created}");
        assert_eq!(
            warnings(&warned),
            [
                r#"299 - "duplicate field \"metadata.name\"""#,
                r#"299 - "duplicate field \"spec.template\"""#,
                r#"299 - "unknown field \"spec.bogus\"""#,
            ],
            "{query}"
        );
        let deleted = Raw::delete(&format!("{DEFAULT_CLDS}/dup-b"))
            .send(&client)
            .await;
        assert_eq!(deleted.status, 200, "{}", deleted.text());
    }
    let ignored = Raw::post(&format!("{DEFAULT_CLDS}?fieldValidation=Ignore"))
        .header("Content-Type", "application/json")
        .body(DUPLICATED)
        .send(&client)
        .await;
    assert_eq!(ignored.status, 201, "{}", ignored.text());
    assert!(warnings(&ignored).is_empty(), "{:?}", ignored.headers);

    // PUT decodes the same way.
    let stored = Raw::get(&format!("{DEFAULT_CLDS}/dup-b"))
        .send(&client)
        .await
        .json();
    let version = stored["metadata"]["resourceVersion"].as_str().unwrap();
    let body = format!(
        r#"{{"apiVersion":"fleet.k0rdent.io/v1alpha1","kind":"ClusterDeployment","metadata":{{"name":"dup-b","namespace":"default","resourceVersion":"{version}","labels":{{"a":"1","a":"2"}}}},"spec":{{"template":"t","credential":"aws"}}}}"#
    );
    let put = Raw::put(&format!("{DEFAULT_CLDS}/dup-b?fieldValidation=Strict"))
        .header("Content-Type", "application/json")
        .body(body)
        .send(&client)
        .await;
    status_of(
        &put,
        400,
        "BadRequest",
        r#"ClusterDeployment in version "v1alpha1" cannot be handled as a ClusterDeployment: strict decoding error: duplicate field "metadata.labels.a""#,
        "strict update",
    );

    // A merge patch's duplicates are 422 on `patch`, quoting the patched object.
    let patch = Raw::new(
        "PATCH",
        &format!("{DEFAULT_CLDS}/dup-b?fieldValidation=Strict"),
    )
    .header("Content-Type", "application/merge-patch+json")
    .body(r#"{"spec":{"credential":"a","credential":"b"}}"#)
    .send(&client)
    .await;
    assert_eq!(patch.status, 422, "{}", patch.text());
    let status = patch.json();
    assert_eq!(status["reason"], "Invalid", "{status}");
    let message = status["message"].as_str().unwrap();
    assert!(
        message.starts_with(r#" "" is invalid: patch: Invalid value: "{\"apiVersion\":\"fleet.k0rdent.io/v1alpha1\","#),
        "{message}"
    );
    assert!(
        message.ends_with(r#"": strict decoding error: duplicate field "spec.credential""#),
        "{message}"
    );
    let causes = status["details"]["causes"].as_array().unwrap();
    assert_eq!(causes.len(), 1, "{status}");
    assert_eq!(causes[0]["field"], "patch", "{status}");
    assert_eq!(causes[0]["reason"], "FieldValueInvalid", "{status}");
    assert!(status["details"].get("name").is_none(), "{status}");
    assert!(status["details"].get("kind").is_none(), "{status}");

    // A JSON patch's duplicates name the operation, prefixed.
    let json_patch = Raw::new(
        "PATCH",
        &format!("{DEFAULT_CLDS}/dup-b?fieldValidation=Warn"),
    )
    .header("Content-Type", "application/json-patch+json")
    .body(r#"[{"op":"replace","path":"/spec/credential","path":"/spec/credential","value":"c"}]"#)
    .send(&client)
    .await;
    assert_eq!(json_patch.status, 200, "{}", json_patch.text());
    assert_eq!(
        warnings(&json_patch),
        [r#"299 - "json patch duplicate field \"[0].path\"""#]
    );

    // The refused writes left the object as it was before the JSON patch.
    let now = Raw::get(&format!("{DEFAULT_CLDS}/dup-b"))
        .send(&client)
        .await
        .json();
    assert_eq!(now["spec"]["credential"], "c", "{now}");
    assert!(now["metadata"].get("labels").is_none(), "{now}");
}

/// `kubectl create --raw` sends a file's bytes as they are: the strict answer reaches
/// kubectl's user.
fn kubectl_create_raw_with_duplicates_is_refused(backend: Backend, version: &str) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let Some(kubectl) = Kubectl::new(version, &server.kubeconfig()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("duplicated.json");
    std::fs::write(&file, DUPLICATED).unwrap();
    let refused = kubectl.fails(&[
        "create",
        "--raw",
        &format!("{DEFAULT_CLDS}?fieldValidation=Strict"),
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        refused.trim(),
        r#"Error from server (BadRequest): ClusterDeployment in version "v1alpha1" cannot be handled as a ClusterDeployment: strict decoding error: duplicate field "metadata.name", duplicate field "spec.template", unknown field "spec.bogus""#
    );
    let listed = kubectl.ok(&["get", "cld", "-o", "name"]);
    assert_eq!(listed.trim(), "", "nothing stored");
}

/// A PriceList of 2,000 instance types: over 128 KiB of JSON.
fn large_price_list() -> Value {
    let types: Vec<Value> = (0..2000)
        .map(|i| json!({"provider": "aws", "region": "us-east-1", "name": format!("m{i}.large"), "hourly": "0.096"}))
        .collect();
    json!({
        "apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "PriceList",
        "metadata": {"name": "large"},
        "spec": {"currency": "USD", "instanceTypes": types}
    })
}

/// kube-apiserver gzips whole bodies over 128 KiB for clients that accept it (kubectl always
/// does) and sends everything else as it is (responsewriters/writers.go).
fn kubectl_reads_gzipped_lists(backend: Backend, version: &str) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let Some(kubectl) = Kubectl::new(version, &server.kubeconfig()) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = runtime.block_on(server.client());
    const PRICELISTS: &str = "/apis/fleet.k0rdent.io/v1alpha1/pricelists";
    let post = Raw::post(PRICELISTS).json(&large_price_list());
    runtime.block_on(send_ok(&client, post, 201));
    let gzipped = runtime.block_on(
        Raw::get(PRICELISTS)
            .header("Accept-Encoding", "gzip")
            .send(&client),
    );
    assert_eq!(gzipped.status, 200);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert_eq!(gzipped.header("vary"), Some("accept-encoding"));
    assert_eq!(&gzipped.body[..2], [0x1f, 0x8b]);
    let plain = runtime.block_on(Raw::get(PRICELISTS).send(&client));
    assert_eq!(plain.header("content-encoding"), None);
    assert!(plain.body.len() > 10 * gzipped.body.len());

    let listed: Value = serde_json::from_str(&kubectl.ok(&["get", "pricelists", "-o", "json"]))
        .expect("kubectl's JSON");
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "large"]);
    assert_eq!(listed["items"][1]["spec"], large_price_list()["spec"]);
    let table = kubectl.ok(&["get", "pricelist", "large"]);
    assert!(table.contains("2000"), "{table}");
}

async fn methods_a_path_does_not_serve(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;
    create(&client, &cld("web", "t")).await;
    let before = Raw::get(DEFAULT_CLDS).send(&client).await.json();

    // A custom resource's collection: update and patch need a name (400); a patch of another
    // type is 415 first.
    let put = Raw::put(DEFAULT_CLDS)
        .json(&cld("web", "t2"))
        .send(&client)
        .await;
    let status = status_of(&put, 400, "BadRequest", "name must be provided", "PUT");
    assert!(status.get("details").is_none(), "{status}");
    let patch = Raw::new("PATCH", DEFAULT_CLDS)
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"spec":{"template":"t2"}}"#)
        .send(&client)
        .await;
    status_of(&patch, 400, "BadRequest", "name must be provided", "PATCH");
    let unsupported = Raw::new("PATCH", DEFAULT_CLDS)
        .header("Content-Type", "text/plain")
        .body("x")
        .send(&client)
        .await;
    status_of(
        &unsupported,
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        "PATCH text/plain",
    );
    // POST to an object's path creates the object the body names (the path's name is not
    // read, as the custom resource handler's create).
    let posted = Raw::post(&format!("{DEFAULT_CLDS}/anything"))
        .json(&cld("posted", "t"))
        .send(&client)
        .await;
    assert_eq!(posted.status, 201, "{}", posted.text());
    assert_eq!(posted.json()["metadata"]["name"], "posted");
    assert_eq!(
        get_status(&client, &format!("{DEFAULT_CLDS}/anything")).await,
        404
    );
    let web = Raw::get(&format!("{DEFAULT_CLDS}/web"))
        .send(&client)
        .await
        .json();
    assert_eq!(
        web["metadata"]["resourceVersion"], before["items"][0]["metadata"]["resourceVersion"],
        "the refused writes changed nothing"
    );

    // A built-in kind's routes: 405 with empty details, as go-restful routes answer.
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "fidelity"},
        "rules": [],
    });
    for (method, path) in [
        ("PUT", CLUSTER_ROLES.to_owned()),
        ("PATCH", CLUSTER_ROLES.to_owned()),
        ("POST", format!("{CLUSTER_ROLES}/fidelity")),
    ] {
        let reply = Raw::new(method, &path)
            .header("Content-Type", "application/merge-patch+json")
            .json(&role)
            .send(&client)
            .await;
        let status = status_of(
            &reply,
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            &format!("{method} {path}"),
        );
        assert_eq!(status["details"], json!({}), "{method} {path}: {status}");
        assert!(reply.header("allow").is_none(), "{:?}", reply.headers);
    }
    assert_eq!(
        get_status(&client, &format!("{CLUSTER_ROLES}/fidelity")).await,
        404
    );
}

/// For every kind discovery lists with create and get: a strict create with a duplicated
/// `metadata.name` is refused with the kind's own words, and nothing is stored; a PUT of its
/// collection and a POST to an object path answer as upstream serves that kind — 400 `name
/// must be provided` and a create for custom resources, go-restful's 405 for built-in kinds.
async fn every_kind_decodes_strictly_and_answers_unserved_methods_as_upstream(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;
    let listed = discovery::walk(async |path: &str| send_ok(&client, Raw::get(path), 200).await);
    let kinds: Vec<Listed> = listed
        .await
        .into_iter()
        .filter(|l| l.split().1.is_none() && l.advertises("create") && l.advertises("get"))
        .collect();
    assert!(kinds.len() >= 10, "{kinds:?}");
    for kind in &kinds {
        let built_in = kind.group == "rbac.authorization.k8s.io";
        let namespace = if kind.namespaced { "default" } else { "" };
        let fixture = |name: &str| {
            discovery::fixture(
                &kind.group,
                &kind.version,
                &kind.kind,
                namespace,
                json!({"name": name}),
            )
            .unwrap_or_else(|| panic!("no fixture of {}", kind.kind))
        };
        let collection = discovery::collection(
            &kind.group,
            &kind.version,
            &kind.name,
            kind.namespaced.then_some("default"),
        );
        let what = format!("{}.{}", kind.name, kind.group);

        // {"metadata":{"name":"dup-a","name":"dup-b",...}}: the body's text with the name twice.
        let text = fixture("dup-a").to_string().replacen(
            r#""name":"dup-a""#,
            r#""name":"dup-a","name":"dup-b""#,
            1,
        );
        let strict = Raw::post(&format!("{collection}?fieldValidation=Strict"))
            .header("Content-Type", "application/json")
            .body(text)
            .send(&client)
            .await;
        status_of(
            &strict,
            400,
            "BadRequest",
            &format!(
                r#"{kind} in version "{version}" cannot be handled as a {kind}: strict decoding error: duplicate field "metadata.name""#,
                kind = kind.kind,
                version = kind.version,
            ),
            &what,
        );
        for name in ["dup-a", "dup-b"] {
            assert_eq!(
                get_status(&client, &format!("{collection}/{name}")).await,
                404,
                "{what}"
            );
        }

        let put = Raw::put(&collection)
            .json(&fixture("put"))
            .send(&client)
            .await;
        let posted = Raw::post(&format!("{collection}/elsewhere"))
            .json(&fixture("posted"))
            .send(&client)
            .await;
        if built_in {
            for reply in [&put, &posted] {
                let status = status_of(
                    reply,
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                    &what,
                );
                assert_eq!(status["details"], json!({}), "{what}");
            }
            assert_eq!(
                get_status(&client, &format!("{collection}/posted")).await,
                404
            );
        } else {
            status_of(&put, 400, "BadRequest", "name must be provided", &what);
            assert_eq!(posted.status, 201, "{what}: {}", posted.text());
            assert_eq!(
                get_status(&client, &format!("{collection}/posted")).await,
                200
            );
        }
        assert_eq!(
            get_status(&client, &format!("{collection}/put")).await,
            404,
            "{what}"
        );
        assert_eq!(
            get_status(&client, &format!("{collection}/elsewhere")).await,
            404
        );
    }
}

/// Sends `GET /version` with one header of `size` bytes on a new HTTP/1.1 connection as the
/// admin: the status, and whether the server closed the connection.
fn get_with_header_of(server: &TestServer, size: usize) -> (u16, Option<String>) {
    let client = http1::Client::admin(server.url(), server.data_dir());
    let mut tls = client
        .connect(Duration::from_secs(20))
        .expect("a connection");
    let request = http1::Request::get("/version").header("X-Padding", &"a".repeat(size));
    // The server may answer and close before all is sent (as Go's server does at its limit).
    let _ = request.write_to(&mut tls, client.addr(), "request-fidelity");
    let mut reader = BufReader::new(tls);
    let reply = http1::read_response(&mut reader, Unframed::UntilClose).expect("an answer");
    (reply.status, reply.header("connection").map(str::to_owned))
}

async fn request_heads_over_a_mebibyte_are_431(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    // Go's server reads a request head of up to 1 MiB (+4 KiB): so does this one.
    let (status, _) = get_with_header_of(&server, 1000 * 1024);
    assert_eq!(status, 200, "a 1000 KiB header is within the limit");
    let (status, connection) = get_with_header_of(&server, 2 * 1024 * 1024);
    assert_eq!(status, 431, "a 2 MiB header is over it");
    assert_eq!(connection.as_deref(), Some("close"));
    // The server still serves.
    let client = server.client().await;
    assert_eq!(get_status(&client, "/version").await, 200);
}

on_both_backends!(
    duplicate_fields_are_strict_errors_and_warnings,
    every_kind_decodes_strictly_and_answers_unserved_methods_as_upstream,
    methods_a_path_does_not_serve,
    request_heads_over_a_mebibyte_are_431,
);

#[test]
fn kubectl_1_32_create_raw_with_duplicates_is_refused() {
    kubectl_create_raw_with_duplicates_is_refused(Backend::Embedded, "1.32");
}

#[test]
fn kubectl_1_33_create_raw_with_duplicates_is_refused() {
    kubectl_create_raw_with_duplicates_is_refused(Backend::Etcd, "1.33");
}

#[test]
fn kubectl_1_32_reads_gzipped_lists() {
    kubectl_reads_gzipped_lists(Backend::Etcd, "1.32");
}

#[test]
fn kubectl_1_33_reads_gzipped_lists() {
    kubectl_reads_gzipped_lists(Backend::Embedded, "1.33");
}
