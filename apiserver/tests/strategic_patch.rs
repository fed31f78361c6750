//! Strategic merge patch through the real request path (`ApiServer::handle`, no network):
//! it works on a built-in kind — merge keys and strategies from its schema — and is refused
//! with 415 on a custom kind, each 415 listing exactly the patch types that kind accepts.

use std::sync::Arc;

use apiserver::authentication::Authentication;
use apiserver::authorization::Chain;
use apiserver::server::Connection;
use apiserver::tls::PeerIdentity;
use apiserver::{Access, ApiServer};
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use registry::{Catalog, GenericStore, ResourceDefinition, SchemalessStrategy, Scope};
use serde_json::{json, Value};
use storage::{Codec, EmbeddedOptions, EmbeddedStore};

/// A built-in-like kind: containers merge by `name`, args are replaced.
fn widgets() -> ResourceDefinition {
    let mut def =
        ResourceDefinition::new("example.io", "v1", "Widget", "widgets", Scope::Namespaced);
    def.strategic_merge_patch = true;
    def.schema = Some(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "containers": {
                        "type": "array",
                        "x-kubernetes-patch-merge-key": "name",
                        "x-kubernetes-patch-strategy": "merge",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "image": {"type": "string"},
                                "args": {"type": "array", "items": {"type": "string"}}
                            }
                        }
                    }
                }
            }
        }
    }));
    def
}

struct Fixture {
    server: Arc<ApiServer>,
    connection: Connection,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap());
        let catalog = Arc::new(Catalog::new());
        registry::fleet::install(&catalog).unwrap();
        catalog
            .register(widgets(), Arc::new(SchemalessStrategy))
            .unwrap();
        let generic = GenericStore::new(store, Codec::plain(), "/registry");
        // An administrator's client certificate (system:masters may do everything).
        let identity = PeerIdentity {
            client: Some(("admin".into(), vec!["system:masters".into()])),
            ..PeerIdentity::default()
        };
        let access = Access {
            authentication: Arc::new(Authentication::x509_only()),
            authorizer: Arc::new(Chain::default()),
            audit: None,
        };
        Fixture {
            server: Arc::new(ApiServer::new(catalog, generic, access)),
            connection: Connection::fixed("127.0.0.1:1".parse().unwrap(), identity),
            _dir: dir,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Value,
    ) -> (u16, Value) {
        let bytes = Bytes::from(serde_json::to_vec(&body).unwrap());
        let body = Full::new(bytes)
            .map_err(|never: std::convert::Infallible| -> hyper::Error { match never {} });
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .body(body)
            .unwrap();
        let response = self.server.handle(request, &self.connection).await;
        let code = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

const WIDGETS: &str = "/apis/example.io/v1/namespaces/default/widgets";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategic_merge_patch_merges_lists_by_their_merge_key_on_built_in_kinds() {
    let f = Fixture::new();
    let widget = json!({
        "apiVersion": "example.io/v1", "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"containers": [
            {"name": "app", "image": "app:1", "args": ["--a"]},
            {"name": "sidecar", "image": "side:1"}
        ]}
    });
    let (code, _) = f
        .send(Method::POST, WIDGETS, "application/json", widget)
        .await;
    assert_eq!(code, 201);
    let patch =
        json!({"spec": {"containers": [{"name": "app", "image": "app:2", "args": ["--b"]}]}});
    let (code, patched) = f
        .send(
            Method::PATCH,
            &format!("{WIDGETS}/w"),
            "application/strategic-merge-patch+json",
            patch,
        )
        .await;
    assert_eq!(code, 200, "{patched}");
    assert_eq!(
        patched["spec"]["containers"],
        json!([
            {"name": "app", "image": "app:2", "args": ["--b"]},
            {"name": "sidecar", "image": "side:1"}
        ])
    );
    // The same patch as a merge patch replaces the whole list.
    let patch = json!({"spec": {"containers": [{"name": "app", "image": "app:3"}]}});
    let (_, merged) = f
        .send(
            Method::PATCH,
            &format!("{WIDGETS}/w"),
            "application/merge-patch+json",
            patch,
        )
        .await;
    assert_eq!(
        merged["spec"]["containers"],
        json!([{"name": "app", "image": "app:3"}])
    );
    // A patch may not change the type.
    let retype = json!([{"op": "replace", "path": "/kind", "value": "Gadget"}]);
    let (code, status) = f
        .send(
            Method::PATCH,
            &format!("{WIDGETS}/w"),
            "application/json-patch+json",
            retype,
        )
        .await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(
        status["message"],
        "Gadget.example.io \"w\" is invalid: kind: Invalid value: \"Gadget\": must be Widget"
    );
    // A directive that does not exist is refused.
    let bad = json!({"spec": {"containers": [{"name": "app", "$patch": "bogus"}]}});
    let (code, status) = f
        .send(
            Method::PATCH,
            &format!("{WIDGETS}/w"),
            "application/strategic-merge-patch+json",
            bad,
        )
        .await;
    assert_eq!(code, 422, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_patch_types_list_exactly_what_each_kind_accepts() {
    let f = Fixture::new();
    let (code, status) = f
        .send(
            Method::PATCH,
            &format!("{WIDGETS}/w"),
            "application/yaml",
            json!({}),
        )
        .await;
    assert_eq!(code, 415);
    assert_eq!(
        status["message"],
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"
    );
    let cld = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/default/clusterdeployments/x";
    let (code, status) = f
        .send(
            Method::PATCH,
            cld,
            "application/strategic-merge-patch+json",
            json!({}),
        )
        .await;
    assert_eq!(code, 415);
    assert_eq!(
        status["message"],
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_declares_strategic_merge_patch_only_for_built_in_kinds() {
    let f = Fixture::new();
    let content_types = |doc: &Value, path: &str| -> Vec<String> {
        let content = &doc["paths"][path]["patch"]["requestBody"]["content"];
        let mut types: Vec<String> = content.as_object().unwrap().keys().cloned().collect();
        types.sort();
        types
    };
    let (code, widgets) = f
        .send(
            Method::GET,
            "/openapi/v3/apis/example.io/v1",
            "application/json",
            Value::Null,
        )
        .await;
    assert_eq!(code, 200);
    let widget_types = content_types(
        &widgets,
        "/apis/example.io/v1/namespaces/{namespace}/widgets/{name}",
    );
    assert!(
        widget_types
            .iter()
            .any(|t| t == "application/strategic-merge-patch+json"),
        "{widget_types:?}"
    );
    let (_, fleet) = f
        .send(
            Method::GET,
            "/openapi/v3/apis/fleet.k0rdent.io/v1alpha1",
            "application/json",
            Value::Null,
        )
        .await;
    let fleet_types = content_types(
        &fleet,
        "/apis/fleet.k0rdent.io/v1alpha1/namespaces/{namespace}/clusterdeployments/{name}",
    );
    assert_eq!(
        fleet_types,
        [
            "application/apply-patch+yaml",
            "application/json-patch+json",
            "application/merge-patch+json"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_manager_is_checked_and_force_needs_an_apply_patch() {
    let f = Fixture::new();
    let widget =
        json!({"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w"}});
    let long = "m".repeat(129);
    let (code, status) = f
        .send(
            Method::POST,
            &format!("{WIDGETS}?fieldManager={long}"),
            "application/json",
            widget.clone(),
        )
        .await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(
        status["message"],
        "CreateOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long: may not be more than 128 bytes"
    );
    let (code, _) = f
        .send(
            Method::POST,
            &format!("{WIDGETS}?fieldManager=kubectl-create"),
            "application/json",
            widget,
        )
        .await;
    assert_eq!(code, 201);
    let (code, status) = f
        .send(
            Method::PATCH,
            &format!("{WIDGETS}/w?force=true"),
            "application/merge-patch+json",
            json!({"metadata": {"labels": {"a": "b"}}}),
        )
        .await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(
        status["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch"
    );
}
