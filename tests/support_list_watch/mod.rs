//! Fixtures of the list and watch tests, on top of `tests/support`: `up` with a short
//! compaction interval or a fixed port ([`Up`]), an HTTP/1.1 client that reads a watch event
//! by event ([`Http1`]), and helpers to write ClusterDeployments in any namespace and read
//! lists and Status errors.

// Each test crate includes this module and uses only part of it.
#![allow(dead_code, unused_imports)]

mod http1;
mod kubectl_watch;
mod up;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{Raw, Reply, ALL_CLDS, API_VERSION};

pub use http1::{Ending, Head, Http1, Next, WatchReply, WatchStream};
pub use kubectl_watch::KubectlWatch;
pub use up::{reserve_port, Up, UpBuilder};

/// How long an event the test caused may take to arrive.
pub const EVENT_WAIT: Duration = Duration::from_secs(10);

/// The collection of ClusterDeployments in `namespace`, or in every namespace for `None`.
pub fn collection(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("/apis/fleet.k0rdent.io/v1alpha1/namespaces/{ns}/clusterdeployments"),
        None => ALL_CLDS.to_owned(),
    }
}

/// `collection(namespace)` with `query` (already encoded) appended.
pub fn with_query(namespace: Option<&str>, query: &str) -> String {
    let path = collection(namespace);
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved characters).
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A ClusterDeployment with `labels`.
pub fn clusterdeployment(namespace: &str, name: &str, labels: &[(&str, &str)]) -> Value {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    json!({
        "apiVersion": API_VERSION,
        "kind": "ClusterDeployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"template": "aws-standalone-1-0", "credential": "aws"},
    })
}

/// Creates a ClusterDeployment; returns what the server answered.
pub async fn create_in(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    labels: &[(&str, &str)],
) -> Value {
    let object = clusterdeployment(namespace, name, labels);
    let reply = Raw::post(&collection(Some(namespace)))
        .json(&object)
        .send(client)
        .await;
    assert_eq!(
        reply.status,
        201,
        "creating {namespace}/{name}: {}",
        reply.text()
    );
    reply.json()
}

/// Merge-patches a ClusterDeployment; returns what the server answered.
pub async fn patch_in(client: &kube::Client, namespace: &str, name: &str, patch: Value) -> Value {
    let path = format!("{}/{name}", collection(Some(namespace)));
    let reply = Raw::new("PATCH", &path)
        .header("content-type", "application/merge-patch+json")
        .body(serde_json::to_vec(&patch).expect("JSON"))
        .send(client)
        .await;
    assert_eq!(
        reply.status,
        200,
        "patching {namespace}/{name}: {}",
        reply.text()
    );
    reply.json()
}

/// Sets `spec.template` (a MODIFIED event for watchers).
pub async fn retemplate(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    template: &str,
) -> Value {
    patch_in(
        client,
        namespace,
        name,
        json!({"spec": {"template": template}}),
    )
    .await
}

/// Sets (or with `None` removes) one label.
pub async fn relabel(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    key: &str,
    value: Option<&str>,
) -> Value {
    patch_in(
        client,
        namespace,
        name,
        json!({"metadata": {"labels": {key: value}}}),
    )
    .await
}

/// Deletes a ClusterDeployment.
pub async fn delete_in(client: &kube::Client, namespace: &str, name: &str) {
    let path = format!("{}/{name}", collection(Some(namespace)));
    let reply = Raw::delete(&path).send(client).await;
    assert_eq!(
        reply.status,
        200,
        "deleting {namespace}/{name}: {}",
        reply.text()
    );
}

/// `GET path`, asserting 200; the JSON body.
pub async fn get_ok(client: &kube::Client, path: &str) -> Value {
    let reply = Raw::get(path).send(client).await;
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
    reply.json()
}

/// `metadata.resourceVersion` of an object, list or bookmark, as a number.
pub fn revision(object: &Value) -> i64 {
    let rv = object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_else(|| panic!("no metadata.resourceVersion in {object}"));
    rv.parse()
        .unwrap_or_else(|e| panic!("resourceVersion {rv:?} is not a number ({e})"))
}

/// The current revision: the resourceVersion of a list of every namespace.
pub async fn current_revision(client: &kube::Client) -> i64 {
    revision(&get_ok(client, ALL_CLDS).await)
}

/// The names of a list's items, in order.
pub fn names(list: &Value) -> Vec<String> {
    items(list)
        .iter()
        .map(|item| {
            item["metadata"]["name"]
                .as_str()
                .expect("a name")
                .to_owned()
        })
        .collect()
}

/// `namespace/name` of a list's items, in order.
pub fn keys(list: &Value) -> Vec<String> {
    items(list).iter().map(key).collect()
}

/// `namespace/name` of an object.
pub fn key(object: &Value) -> String {
    let meta = &object["metadata"];
    format!(
        "{}/{}",
        meta["namespace"].as_str().unwrap_or_default(),
        meta["name"].as_str().unwrap_or_default()
    )
}

/// A list's items; panics when `items` is not an array.
pub fn items(list: &Value) -> &Vec<Value> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items is not an array: {list}"))
}

/// Checks that `body` is a Failure Status with `code`, `reason` and `message`.
pub fn assert_status(status: u16, body: &Value, code: u16, reason: &str, message: &str) {
    assert_eq!(status, code, "HTTP status; body: {body}");
    assert_eq!(body["kind"], "Status", "{body}");
    assert_eq!(body["apiVersion"], "v1", "{body}");
    assert_eq!(body["status"], "Failure", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["reason"], reason, "{body}");
    assert_eq!(body["message"], message, "{body}");
}

/// Like [`assert_status`] for a reply of the kube-rs raw helper.
pub fn assert_reply(reply: &Reply, code: u16, reason: &str, message: &str) {
    assert_status(reply.status, &reply.json(), code, reason, message);
}

/// Writes to `filler/compaction-filler` until a list at exactly `revision` is 410 Expired:
/// the server's compactor (started with a short `--etcd-compaction-interval`) has compacted
/// past it. Panics after 30 s.
pub async fn wait_until_compacted(client: &kube::Client, revision: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let probe = with_query(
        Some("filler"),
        &format!("resourceVersion={revision}&resourceVersionMatch=Exact"),
    );
    let mut writes = 0;
    loop {
        if writes == 0 {
            create_in(client, "filler", "compaction-filler", &[]).await;
        } else {
            retemplate(client, "filler", "compaction-filler", &format!("t{writes}")).await;
        }
        writes += 1;
        let reply = Raw::get(&probe).send(client).await;
        match reply.status {
            410 => return,
            200 => {}
            other => panic!("listing at revision {revision}: {other} {}", reply.text()),
        }
        assert!(
            Instant::now() < deadline,
            "revision {revision} was not compacted within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}
