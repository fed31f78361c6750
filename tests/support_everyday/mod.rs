//! Fixtures of the everyday-client suites (`everyday_kubectl`, `kube_runtime`,
//! `python_client`, `discovery_sweep`, `negotiation`): object builders, raw writes, and watch
//! bodies split into events.

// Each test crate includes this module and uses only part of it.
#![allow(dead_code, unused_macros)]

use serde_json::{json, Value};

use crate::support::{Raw, Reply, API_VERSION, DEFAULT_CLDS};

/// The media type kubectl get asks for.
pub const KUBECTL_TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
/// A v1 Table and nothing else.
pub const TABLE_V1: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";
/// PartialObjectMetadata (objects and watch events), as client-go's metadata client asks.
pub const METADATA: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
/// PartialObjectMetadataList (lists).
pub const METADATA_LIST: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
/// The annotation of the bookmark that ends a watch-list's initial events.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";
/// The 415 message of a strategic merge patch on a fleet kind.
pub const UNSUPPORTED_PATCH: &str = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/// The path of a ClusterDeployment in `default`.
pub fn object_path(name: &str) -> String {
    format!("{DEFAULT_CLDS}/{name}")
}

/// A ClusterDeployment in `default` with these labels and spec.
pub fn cld_with(name: &str, labels: Value, spec: Value) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "ClusterDeployment",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": spec,
    })
}

/// A PATCH request of `content_type`.
pub fn patch(path: &str, content_type: &str, body: &Value) -> Raw {
    Raw::new("PATCH", path)
        .header("content-type", content_type)
        .body(serde_json::to_vec(body).expect("JSON"))
}

/// Sends a merge patch and asserts 200; returns the object.
pub async fn merge_patch(client: &kube::Client, path: &str, body: &Value) -> Value {
    let reply = patch(path, "application/merge-patch+json", body)
        .send(client)
        .await;
    assert_eq!(reply.status, 200, "merge patch of {path}: {}", reply.text());
    reply.json()
}

/// Reads an object; asserts 200.
pub async fn get(client: &kube::Client, path: &str) -> Value {
    let reply = Raw::get(path).send(client).await;
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
    reply.json()
}

/// The status code of a GET (200 or 404, typically).
pub async fn status_of(client: &kube::Client, path: &str) -> u16 {
    Raw::get(path).send(client).await.status
}

/// `metadata.resourceVersion` as a number.
pub fn revision(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or_else(|| panic!("a numeric resourceVersion: {obj}"))
}

/// The events of a finished watch response, one JSON object per line.
pub fn watch_events(reply: &Reply) -> Vec<Value> {
    assert_eq!(reply.status, 200, "watch: {}", reply.text());
    reply
        .text()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a watch event is JSON ({e}): {line}"))
        })
        .collect()
}

/// Every `Warning` header of a response.
pub fn warnings(reply: &Reply) -> Vec<String> {
    reply
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("warning"))
        .map(|(_, v)| v.clone())
        .collect()
}

/// The `type`s of watch events, in order.
pub fn event_types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().expect("an event type"))
        .collect()
}
