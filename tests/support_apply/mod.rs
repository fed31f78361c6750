//! Fixtures of the server-side apply suite (`tests/server_side_apply.rs`): a builder of
//! ClusterDeployment apply configurations, apply requests, readers of
//! `metadata.managedFields`, and the discovery walk of every patchable kind (`sweep`).
//! `kubectl.rs` and `refusals.rs` next to this file are test modules of the suite itself
//! (declared there with `#[path]`), not fixtures.

// The suite uses only part of these helpers in each test.
#![allow(dead_code)]

pub mod sweep;

use serde_json::{json, Map, Value};

use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;

use crate::support::{
    Backend, Kubectl, Raw, Reply, TestServer, API_VERSION, DEFAULT_CLDS, GROUP, VERSION,
};

/// The media type of an apply patch.
pub const APPLY_PATCH: &str = "application/apply-patch+yaml";
/// A v1 Table and nothing else.
pub const TABLE_V1: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";
/// PartialObjectMetadata, as client-go's metadata client asks.
pub const METADATA: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
/// The annotation of client-side apply.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What kubectl prints after the server's message when an apply conflicts
/// (k8s.io/kubectl `pkg/cmd/apply/apply.go`).
pub const KUBECTL_CONFLICT_ADVICE: &str =
    "Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `--force-conflicts` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts
";

/// A server on `backend` and an admin kube-rs client.
pub async fn start(backend: Backend) -> Option<(TestServer, kube::Client)> {
    let server = TestServer::start(backend)?;
    let client = server.client().await;
    Some((server, client))
}

/// ClusterDeployments of `default` as dynamic objects.
pub fn clds(client: &kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(GROUP, VERSION, "ClusterDeployment");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "clusterdeployments");
    Api::namespaced_with(client.clone(), "default", &resource)
}

/// The path of ClusterDeployment `name` in `default`.
pub fn cld_path(name: &str) -> String {
    format!("{DEFAULT_CLDS}/{name}")
}

/// An apply configuration of a ClusterDeployment in `default`: the fields one manager sets.
#[derive(Debug, Clone)]
pub struct Cld {
    name: String,
    labels: Map<String, Value>,
    spec: Map<String, Value>,
    config: Map<String, Value>,
    status: Option<Value>,
}

impl Cld {
    /// A complete configuration: template `aws-standalone-1`, credential `aws`, no labels,
    /// no config.
    pub fn new(name: &str) -> Self {
        Self::partial(name)
            .spec("template", "aws-standalone-1")
            .spec("credential", "aws")
    }

    /// A configuration with no spec field (a second manager's share of the object).
    pub fn partial(name: &str) -> Self {
        Cld {
            name: name.to_owned(),
            labels: Map::new(),
            spec: Map::new(),
            config: Map::new(),
            status: None,
        }
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.to_owned(), json!(value));
        self
    }

    pub fn spec(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.spec.insert(key.to_owned(), value.into());
        self
    }

    /// A key of `spec.config`.
    pub fn config(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.config.insert(key.to_owned(), value.into());
        self
    }

    pub fn status(mut self, status: Value) -> Self {
        self.status = Some(status);
        self
    }

    pub fn json(&self) -> Value {
        let mut metadata = json!({"name": self.name, "namespace": "default"});
        if !self.labels.is_empty() {
            metadata["labels"] = Value::Object(self.labels.clone());
        }
        let mut object = json!({
            "apiVersion": API_VERSION,
            "kind": "ClusterDeployment",
            "metadata": metadata,
        });
        let mut spec = self.spec.clone();
        if !self.config.is_empty() {
            spec.insert("config".to_owned(), Value::Object(self.config.clone()));
        }
        if !spec.is_empty() {
            object["spec"] = Value::Object(spec);
        }
        if let Some(status) = &self.status {
            object["status"] = status.clone();
        }
        object
    }

    /// The configuration as kubectl reads it from stdin (JSON is YAML).
    pub fn text(&self) -> String {
        serde_json::to_string_pretty(&self.json()).expect("JSON")
    }
}

/// `PATCH path` with an apply patch of `body` (JSON, which is YAML) and `query` (e.g.
/// `fieldManager=a&force=true`; empty for none).
pub fn apply_request(path: &str, query: &str, body: &Value) -> Raw {
    apply_text(path, query, &serde_json::to_string(body).expect("JSON"))
}

/// `PATCH path` with an apply patch of `text` (YAML or JSON) and `query`.
pub fn apply_text(path: &str, query: &str, text: &str) -> Raw {
    let path = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    Raw::new("PATCH", &path)
        .header("content-type", APPLY_PATCH)
        .body(text.as_bytes().to_vec())
}

/// Applies `body` as `manager`; asserts `code` and returns the body.
pub async fn apply_as(
    client: &kube::Client,
    path: &str,
    manager: &str,
    body: &Value,
    code: u16,
) -> Value {
    let reply = apply_request(path, &format!("fieldManager={manager}"), body)
        .send(client)
        .await;
    expect(&reply, code, &format!("apply of {path} by {manager}"))
}

/// A PATCH of `content_type` (merge or JSON patch) with `query`.
pub fn patch_request(path: &str, query: &str, content_type: &str, body: &Value) -> Raw {
    let path = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    Raw::new("PATCH", &path)
        .header("content-type", content_type)
        .body(serde_json::to_vec(body).expect("JSON"))
}

/// Asserts the status code and returns the JSON body (`Null` when empty).
pub fn expect(reply: &Reply, code: u16, what: &str) -> Value {
    assert_eq!(reply.status, code, "{what}: {}", reply.text());
    if reply.body.is_empty() {
        Value::Null
    } else {
        reply.json()
    }
}

/// Reads an object; asserts 200.
pub async fn get(client: &kube::Client, path: &str) -> Value {
    let reply = Raw::get(path).send(client).await;
    expect(&reply, 200, &format!("GET {path}"))
}

/// `metadata.resourceVersion`.
pub fn rv(object: &Value) -> String {
    object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_else(|| panic!("a resourceVersion: {object}"))
        .to_owned()
}

/// The entries of `metadata.managedFields` (none when absent).
pub fn entries(object: &Value) -> Vec<Value> {
    object["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Each entry as `manager operation[ subresource]`, sorted. Panics when the entries are not
/// in upstream's order (`sortEncodedManagedFields`: Apply before Update, then oldest first,
/// no time counting as the epoch, then manager), which depends on the seconds of writes.
pub fn managers(object: &Value) -> Vec<String> {
    let list = entries(object);
    let key = |e: &Value| {
        (
            e["operation"].as_str().unwrap_or("").to_owned(),
            e["time"].as_str().unwrap_or("").to_owned(),
            e["manager"].as_str().unwrap_or("").to_owned(),
        )
    };
    let keys: Vec<_> = list.iter().map(key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "managedFields in upstream's order: {object}");
    let mut names: Vec<String> = list
        .iter()
        .map(|e| {
            let mut line = format!(
                "{} {}",
                e["manager"].as_str().unwrap_or("?"),
                e["operation"].as_str().unwrap_or("?")
            );
            if let Some(sub) = e["subresource"].as_str().filter(|s| !s.is_empty()) {
                line.push(' ');
                line.push_str(sub);
            }
            line
        })
        .collect();
    names.sort();
    names
}

/// `fieldsV1` of the main-resource entry of `manager` with `operation`; panics when absent.
pub fn fields_of(object: &Value, manager: &str, operation: &str) -> Value {
    entries(object)
        .into_iter()
        .find(|e| {
            e["manager"] == manager
                && e["operation"] == operation
                && e["subresource"].as_str().unwrap_or("").is_empty()
        })
        .map(|e| e["fieldsV1"].clone())
        .unwrap_or_else(|| panic!("no {manager} {operation} entry: {object}"))
}

/// `kubectl get <what> -o json --show-managed-fields`.
pub fn kubectl_get(kubectl: &Kubectl, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-o", "json", "--show-managed-fields"]);
    let out = kubectl.ok(&args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl get is JSON ({e}): {out}"))
}

/// `kubectl apply --server-side -f -` of `text` plus `extra` flags; asserts success and
/// returns stdout, trimmed.
pub fn kubectl_apply(kubectl: &Kubectl, text: &str, extra: &[&str]) -> String {
    let mut args = vec!["apply", "--server-side", "-f", "-"];
    args.extend_from_slice(extra);
    kubectl.ok_with(&args, Some(text)).trim().to_owned()
}

/// `time: "…"` lines of YAML as `time: TIME`.
pub fn without_times(yaml: &str) -> String {
    yaml.lines()
        .map(|line| match line.find("time: ") {
            Some(at) if line.trim_start().starts_with("time: ") => {
                format!("{}time: TIME", &line[..at])
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `managedFields:` block of `kubectl get -o yaml` (up to the next key of `metadata`).
pub fn managed_fields_block(yaml: &str) -> String {
    let mut block = Vec::new();
    let mut inside = false;
    for line in yaml.lines() {
        if line == "  managedFields:" {
            inside = true;
        } else if inside
            && line.starts_with("  ")
            && !line.starts_with("   ")
            && !line.starts_with("  -")
        {
            break;
        }
        if inside {
            block.push(line);
        }
    }
    block.join("\n")
}
