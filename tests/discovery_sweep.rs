//! A discovery-driven sweep against `fleet-apiserver up`, on the embedded store and on etcd:
//! read `/api` and `/apis` (plain and aggregated, which must agree) and every group-version's
//! `APIResourceList`; then, for EVERY resource and subresource listed, send a real request
//! for EVERY advertised verb and expect it to work, and expect 405 for the verbs that are not
//! advertised (`../shared/docs/KUBERNETES-API.md` §1: verbs must be truthful).

#[macro_use]
mod support;
mod support_discovery;
mod support_everyday;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use support::{Backend, Raw, Reply, TestServer, STORED_VERBS};
use support_discovery::{self as discovery, fleet};
use support_everyday::{event_types, patch, watch_events};

/// The aggregated discovery media type.
const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
/// The namespace fixtures of namespaced resources go to.
const NAMESPACE: &str = "default";
/// Every verb of a collection and its objects.
const RESOURCE_VERBS: &[&str] = &STORED_VERBS;
/// Every verb a subresource could have.
const SUBRESOURCE_VERBS: &[&str] = &["create", "delete", "get", "patch", "update"];

/// A resource as discovery lists it.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    group: String,
    version: String,
    plural: String,
    kind: String,
    namespaced: bool,
    verbs: Vec<String>,
    /// Subresource name → verbs.
    subresources: BTreeMap<String, Vec<String>>,
}

impl Found {
    fn collection(&self) -> String {
        let prefix = discovery::prefix(&self.group, &self.version);
        if self.namespaced {
            format!("{prefix}/namespaces/{NAMESPACE}/{}", self.plural)
        } else {
            format!("{prefix}/{}", self.plural)
        }
    }

    fn object(&self, name: &str) -> String {
        format!("{}/{name}", self.collection())
    }

    fn advertises(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// A new object of this kind with `labels` (reviews have neither name nor labels).
    fn fixture(&self, name: &str, labels: Value) -> Value {
        let namespace = if self.namespaced { NAMESPACE } else { "" };
        let metadata = json!({"name": name, "labels": labels});
        let (group, version, kind) = (&self.group, &self.version, &self.kind);
        discovery::fixture(group, version, kind, namespace, metadata)
            .unwrap_or_else(|| panic!("no fixture for {kind}: add one to support_discovery"))
    }
}

fn strings(value: &Value) -> Vec<String> {
    let mut out: Vec<String> = value
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().expect("a string").to_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

async fn json_at(client: &kube::Client, path: &str, accept: Option<&str>) -> Value {
    let mut request = Raw::get(path);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let reply = request.send(client).await;
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
    reply.json()
}

/// Every resource of the plain documents: `/api`, `/api/<v>`, `/apis`, `/apis/<g>/<v>`.
async fn plain_discovery(client: &kube::Client) -> Vec<Found> {
    let legacy = json_at(client, "/api", None).await;
    assert_eq!(legacy["kind"], "APIVersions", "{legacy}");
    let groups = json_at(client, "/apis", None).await;
    assert_eq!(groups["kind"], "APIGroupList", "{groups}");
    for group in groups["groups"].as_array().expect("groups") {
        let name = group["name"].as_str().expect("a group name");
        let document = json_at(client, &format!("/apis/{name}"), None).await;
        assert_eq!(document["kind"], "APIGroup", "{document}");
        assert_eq!(document["versions"], group["versions"], "{document}");
    }
    let mut found = Vec::new();
    for (group, version) in discovery::group_versions(&legacy, &groups) {
        let list = json_at(client, &discovery::prefix(&group, &version), None).await;
        assert_eq!(list["kind"], "APIResourceList", "{list}");
        let mut main: Vec<Found> = Vec::new();
        for entry in discovery::listed(&group, &version, &list) {
            let mut sorted = entry.verbs.clone();
            sorted.sort_unstable();
            assert_eq!(entry.verbs, sorted, "verbs are sorted: {entry:?}");
            match entry.split() {
                (_, None) => main.push(Found {
                    group: entry.group,
                    version: entry.version,
                    plural: entry.name,
                    kind: entry.kind,
                    namespaced: entry.namespaced,
                    verbs: entry.verbs,
                    subresources: BTreeMap::new(),
                }),
                (parent, Some(sub)) => {
                    let parent = main
                        .iter_mut()
                        .find(|f| f.plural == parent)
                        .unwrap_or_else(|| panic!("{} follows its resource: {list}", entry.name));
                    parent
                        .subresources
                        .insert(sub.to_owned(), entry.verbs.clone());
                }
            }
        }
        found.extend(main);
    }
    found
}

/// Every resource of the aggregated documents of `/api` and `/apis`.
async fn aggregated_discovery(client: &kube::Client) -> Vec<Found> {
    let mut found = Vec::new();
    for root in ["/api", "/apis"] {
        let reply = Raw::get(root)
            .header("accept", AGGREGATED)
            .send(client)
            .await;
        assert_eq!(reply.status, 200, "{root}: {}", reply.text());
        assert_eq!(reply.header("content-type"), Some(AGGREGATED), "{root}");
        let document = reply.json();
        assert_eq!(document["kind"], "APIGroupDiscoveryList", "{document}");
        for group in document["items"].as_array().expect("items") {
            let group_name = group["metadata"]["name"].as_str().unwrap_or_default();
            for version in group["versions"].as_array().expect("versions") {
                let version_name = version["version"].as_str().expect("a version");
                assert_eq!(version["freshness"], "Current", "{version}");
                for r in version["resources"].as_array().expect("resources") {
                    let subresources = r["subresources"]
                        .as_array()
                        .map(|subs| {
                            subs.iter()
                                .map(|s| {
                                    let name = s["subresource"].as_str().expect("a name");
                                    (name.to_owned(), strings(&s["verbs"]))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    found.push(Found {
                        group: group_name.to_owned(),
                        version: version_name.to_owned(),
                        plural: r["resource"].as_str().expect("a resource").to_owned(),
                        kind: r["responseKind"]["kind"]
                            .as_str()
                            .expect("a kind")
                            .to_owned(),
                        namespaced: r["scope"] == "Namespaced",
                        verbs: strings(&r["verbs"]),
                        subresources,
                    });
                }
            }
        }
    }
    found
}

/// The request of `verb` on a resource's collection or its object `name`.
fn resource_request(found: &Found, verb: &str, name: &str, body: &Value) -> Raw {
    match verb {
        "get" => Raw::get(&found.object(name)),
        "list" => Raw::get(&found.collection()),
        "watch" => Raw::get(&format!(
            "{}?watch=true&timeoutSeconds=1",
            found.collection()
        )),
        "create" => Raw::post(&found.collection()).json(body),
        "update" => Raw::put(&found.object(name)).json(body),
        "patch" => patch(&found.object(name), "application/merge-patch+json", body),
        "delete" => Raw::delete(&found.object(name)),
        "deletecollection" => Raw::delete(&found.collection()),
        other => panic!("no request for verb {other}"),
    }
}

/// The request of `verb` on subresource `sub` of object `name`.
fn subresource_request(found: &Found, sub: &str, verb: &str, name: &str, body: &Value) -> Raw {
    let path = format!("{}/{sub}", found.object(name));
    match verb {
        "get" => Raw::get(&path),
        "create" => Raw::post(&path).json(body),
        "update" => Raw::put(&path).json(body),
        "patch" => patch(&path, "application/merge-patch+json", body),
        "delete" => Raw::delete(&path),
        other => panic!("no request for verb {other} of a subresource"),
    }
}

fn expect(reply: &Reply, code: u16, what: &str) -> Value {
    assert_eq!(reply.status, code, "{what}: {}", reply.text());
    if reply.body.is_empty() {
        Value::Null
    } else {
        reply.json()
    }
}

fn expect_not_allowed(reply: &Reply, what: &str) {
    let status = expect(reply, 405, what);
    assert_eq!(status["kind"], "Status", "{what}: {status}");
    assert_eq!(status["reason"], "MethodNotAllowed", "{what}: {status}");
}

/// Exercises every verb of one resource (and its subresources).
async fn sweep(client: &kube::Client, found: &Found) {
    let what = |verb: &str| format!("{verb} {}.{}", found.plural, found.group);
    let name = "sweep-a";
    let fixture = found.fixture(name, json!({"sweep": "main"}));

    for verb in RESOURCE_VERBS.iter().filter(|v| !found.advertises(v)) {
        let reply = resource_request(found, verb, name, &fixture)
            .send(client)
            .await;
        expect_not_allowed(&reply, &format!("{} (not advertised)", what(verb)));
    }
    if found.verbs == ["create"] {
        // A review: answered, not stored.
        let answered = expect(
            &resource_request(found, "create", name, &fixture)
                .send(client)
                .await,
            201,
            &what("create"),
        );
        assert_eq!(answered["kind"], found.kind.as_str(), "{answered}");
        assert!(answered["status"].is_object(), "{answered}");
        return;
    }
    if !found.advertises("create") {
        // A read-only resource: only its collection verbs can be exercised without objects.
        for verb in ["list", "watch"].iter().filter(|v| found.advertises(v)) {
            let reply = resource_request(found, verb, name, &fixture)
                .send(client)
                .await;
            expect(&reply, 200, &what(verb));
        }
        return;
    }

    let created = expect(
        &resource_request(found, "create", name, &fixture)
            .send(client)
            .await,
        201,
        &what("create"),
    );
    assert_eq!(created["metadata"]["name"], name, "{created}");
    assert_eq!(created["kind"], found.kind.as_str(), "{created}");

    if found.advertises("get") {
        let got = expect(
            &resource_request(found, "get", name, &Value::Null)
                .send(client)
                .await,
            200,
            &what("get"),
        );
        assert_eq!(got["metadata"]["uid"], created["metadata"]["uid"]);
    }
    if found.advertises("list") {
        let list = expect(
            &resource_request(found, "list", name, &Value::Null)
                .send(client)
                .await,
            200,
            &what("list"),
        );
        assert_eq!(list["kind"], format!("{}List", found.kind), "{list}");
        let names: Vec<&str> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["metadata"]["name"].as_str().expect("a name"))
            .collect();
        assert!(names.contains(&name), "{list}");
    }
    if found.advertises("watch") {
        let reply = resource_request(found, "watch", name, &Value::Null)
            .send(client)
            .await;
        let events = watch_events(&reply);
        assert!(
            event_types(&events).contains(&"ADDED")
                && events
                    .iter()
                    .any(|e| e["object"]["metadata"]["name"] == name),
            "{}: {events:?}",
            what("watch")
        );
    }
    if found.advertises("update") {
        let mut changed = created.clone();
        changed["metadata"]["labels"]["updated"] = json!("yes");
        let updated = expect(
            &resource_request(found, "update", name, &changed)
                .send(client)
                .await,
            200,
            &what("update"),
        );
        assert_eq!(updated["metadata"]["labels"]["updated"], "yes", "{updated}");
    }
    if found.advertises("patch") {
        let body = json!({"metadata": {"labels": {"patched": "merge"}}});
        let patched = expect(
            &resource_request(found, "patch", name, &body)
                .send(client)
                .await,
            200,
            &what("patch (merge)"),
        );
        assert_eq!(patched["metadata"]["labels"]["patched"], "merge");
        let json_patch =
            json!([{"op": "replace", "path": "/metadata/labels/patched", "value": "json"}]);
        let reply = patch(
            &found.object(name),
            "application/json-patch+json",
            &json_patch,
        )
        .send(client)
        .await;
        let patched = expect(&reply, 200, &what("patch (json)"));
        assert_eq!(patched["metadata"]["labels"]["patched"], "json");
    }

    for (sub, verbs) in &found.subresources {
        sweep_subresource(client, found, sub, verbs, name).await;
    }

    if found.advertises("delete") {
        let reply = resource_request(found, "delete", name, &Value::Null)
            .send(client)
            .await;
        expect(&reply, 200, &what("delete"));
        let gone = Raw::get(&found.object(name)).send(client).await;
        assert_eq!(gone.status, 404, "deleted: {}", gone.text());
    }
    if found.advertises("deletecollection") {
        for (name, group) in [("sweep-b", "dc"), ("sweep-c", "dc"), ("sweep-d", "kept")] {
            let fixture = found.fixture(name, json!({"sweep": group}));
            let reply = Raw::post(&found.collection())
                .json(&fixture)
                .send(client)
                .await;
            expect(&reply, 201, &what("create"));
        }
        let reply = Raw::delete(&format!("{}?labelSelector=sweep%3Ddc", found.collection()))
            .send(client)
            .await;
        let deleted = expect(&reply, 200, &what("deletecollection"));
        assert_eq!(deleted["kind"], format!("{}List", found.kind), "{deleted}");
        let list = json_at(client, &found.collection(), None).await;
        // Only the sweep's objects (the bootstrap policy is there too).
        let left: Vec<&str> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|i| !i["metadata"]["labels"]["sweep"].is_null())
            .map(|i| i["metadata"]["name"].as_str().expect("a name"))
            .collect();
        assert_eq!(left, ["sweep-d"], "the selector chose what went: {list}");
    }
}

async fn sweep_subresource(
    client: &kube::Client,
    found: &Found,
    sub: &str,
    verbs: &[String],
    name: &str,
) {
    let what = |verb: &str| format!("{verb} {}/{sub}.{}", found.plural, found.group);
    let advertised = |verb: &str| verbs.iter().any(|v| v == verb);
    for verb in SUBRESOURCE_VERBS.iter().filter(|v| !advertised(v)) {
        let current = json_at(client, &found.object(name), None).await;
        let reply = subresource_request(found, sub, verb, name, &current)
            .send(client)
            .await;
        expect_not_allowed(&reply, &format!("{} (not advertised)", what(verb)));
    }
    if advertised("get") {
        let reply = subresource_request(found, sub, "get", name, &Value::Null)
            .send(client)
            .await;
        let got = expect(&reply, 200, &what("get"));
        assert_eq!(got["metadata"]["name"], name, "{got}");
    }
    // What a write of the subresource changes: `.status` for status (a valid one of the kind,
    // told apart by its note), nothing otherwise.
    let status = |note: &str| (sub == "status").then(|| fleet::status(&found.kind, note));
    if advertised("update") {
        let mut body = json_at(client, &found.object(name), None).await;
        let written = status("updated");
        if let Some(status) = &written {
            body["status"] = status.clone();
        }
        let reply = subresource_request(found, sub, "update", name, &body)
            .send(client)
            .await;
        let updated = expect(&reply, 200, &what("update"));
        if let Some(status) = &written {
            assert_eq!(updated["status"], *status, "{updated}");
        }
    }
    if advertised("patch") {
        let written = status("patched");
        let body = match &written {
            Some(status) => json!({"status": status}),
            None => json!({}),
        };
        let reply = subresource_request(found, sub, "patch", name, &body)
            .send(client)
            .await;
        let patched = expect(&reply, 200, &what("patch"));
        if let Some(status) = &written {
            assert_eq!(patched["status"], *status, "{patched}");
            let stored = json_at(client, &found.object(name), None).await;
            assert_eq!(stored["status"], *status, "{stored}");
        }
    }
}

async fn every_advertised_verb_of_every_discovered_resource_works(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;
    let plain = plain_discovery(&client).await;
    let aggregated = aggregated_discovery(&client).await;
    assert_eq!(
        plain, aggregated,
        "plain and aggregated discovery list the same resources and verbs"
    );
    assert!(
        plain.iter().any(|f| f.kind == "ClusterDeployment"),
        "{plain:?}"
    );
    for found in &plain {
        for verb in &found.verbs {
            assert!(
                RESOURCE_VERBS.contains(&verb.as_str()),
                "{}: a verb the sweep does not know: {verb}",
                found.plural
            );
        }
        for (sub, verbs) in &found.subresources {
            for verb in verbs {
                assert!(
                    SUBRESOURCE_VERBS.contains(&verb.as_str()),
                    "{}/{sub}: a verb the sweep does not know: {verb}",
                    found.plural
                );
            }
        }
        sweep(&client, found).await;
    }
}

on_both_backends!(every_advertised_verb_of_every_discovered_resource_works);
