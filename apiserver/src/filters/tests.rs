//! The filter chain in process: every request classified once, a panicking handler answering
//! upstream's 500, large whole bodies gzipped when asked, the audit ID echoed.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use registry::{Catalog, GenericStore, ResourceDefinition, Scope, Strategy};
use serde_json::{json, Value};
use storage::{Codec, EmbeddedOptions, EmbeddedStore};

use crate::authentication::Authentication;
use crate::authorization::Chain;
use crate::request::tests::CLASSIFIED;
use crate::server::Connection;
use crate::tls::PeerIdentity;
use crate::{Access, ApiServer, ServedBody};

/// A kind whose validation panics: a handler bug, as far as the chain can tell.
struct Panics;

impl Strategy for Panics {
    fn validate(&self, _: &Value) -> Vec<registry::field::FieldError> {
        panic!("a bug in a strategy");
    }
}

struct Fixture {
    server: Arc<ApiServer>,
    admin: Connection,
    nobody: Connection,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap());
        let catalog = Arc::new(Catalog::new());
        registry::fleet::install(&catalog).unwrap();
        let def = ResourceDefinition::new("example.io", "v1", "Bug", "bugs", Scope::Cluster);
        catalog.register(def, Arc::new(Panics)).unwrap();
        let access = Access {
            authentication: Arc::new(Authentication::x509_only()),
            authorizer: Arc::new(Chain::default()),
            audit: None,
        };
        let generic = GenericStore::new(store, Codec::plain(), "/registry");
        let admin = PeerIdentity {
            client: Some(("admin".into(), vec!["system:masters".into()])),
            ..PeerIdentity::default()
        };
        let remote = "127.0.0.1:1".parse().unwrap();
        Fixture {
            server: Arc::new(ApiServer::new(catalog, generic, access)),
            admin: Connection::fixed(remote, admin),
            nobody: Connection::fixed(remote, PeerIdentity::default()),
            _dir: dir,
        }
    }

    async fn send(
        &self,
        connection: &Connection,
        request: http::request::Builder,
        body: Option<Value>,
    ) -> Response<ServedBody> {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let body = Full::new(Bytes::from(bytes))
            .map_err(|never: std::convert::Infallible| -> hyper::Error { match never {} });
        let request = request
            .header("content-type", "application/json")
            .body(body)
            .unwrap();
        self.server.handle(request, connection).await
    }
}

async fn bytes_of(response: Response<ServedBody>) -> Bytes {
    response.into_body().collect().await.unwrap().to_bytes()
}

fn get(uri: &str) -> http::request::Builder {
    Request::builder().method(Method::GET).uri(uri)
}

const CLDS: &str = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/default/clusterdeployments";

#[tokio::test]
async fn every_request_is_classified_once() {
    let f = Fixture::new();
    let cld = json!({
        "apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "ClusterDeployment",
        "metadata": {"name": "a"}, "spec": {"template": "t", "credential": "c"}
    });
    let impersonating = get(CLDS).header("Impersonate-User", "alice");
    let requests = [
        (
            &f.admin,
            Request::builder().method(Method::POST).uri(CLDS),
            Some(cld),
        ),
        (&f.admin, get(&format!("{CLDS}/a")), None),
        (
            &f.admin,
            get(&format!("{CLDS}?limit=1&fieldSelector=metadata.name%3Da")),
            None,
        ),
        (&f.admin, impersonating, None),
        (&f.admin, get("/apis/fleet.k0rdent.io/v1alpha1"), None),
        (&f.admin, get("/version"), None),
        (&f.nobody, get("/readyz"), None),
        (&f.nobody, get(CLDS), None),
        (
            &f.admin,
            Request::builder()
                .method(Method::DELETE)
                .uri(format!("{CLDS}/a")),
            None,
        ),
    ];
    let mut codes = Vec::new();
    for (connection, request, body) in requests {
        let before = CLASSIFIED.with(|n| n.get());
        let response = f.send(connection, request, body).await;
        codes.push(response.status().as_u16());
        assert_eq!(CLASSIFIED.with(|n| n.get()) - before, 1, "{codes:?}");
    }
    assert_eq!(codes, [201, 200, 200, 403, 200, 200, 200, 401, 200]);
}

#[tokio::test]
async fn a_panicking_handler_answers_500_as_kube_apiserver() {
    let f = Fixture::new();
    let bug = json!({"apiVersion": "example.io/v1", "kind": "Bug", "metadata": {"name": "x"}});
    let post = Request::builder()
        .method(Method::POST)
        .uri("/apis/example.io/v1/bugs")
        .header("Audit-ID", "req-1");
    let response = f.send(&f.admin, post, Some(bug)).await;
    assert_eq!(response.status().as_u16(), 500);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["audit-id"], "req-1",
        "the panic's answer keeps the audit ID"
    );
    assert_eq!(
        bytes_of(response).await,
        "This request caused apiserver to panic. Look in the logs for details.\n"
    );
    // The server goes on serving.
    let response = f
        .send(&f.admin, get("/apis/example.io/v1/bugs"), None)
        .await;
    assert_eq!(response.status().as_u16(), 200);
}

/// A PriceList of `n` instance types (about 90 bytes each in JSON).
fn price_list(n: usize) -> Value {
    let types: Vec<Value> = (0..n)
        .map(|i| json!({"provider": "aws", "region": "us-east-1", "name": format!("m{i}.large"), "hourly": "0.096"}))
        .collect();
    json!({
        "apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "PriceList",
        "metadata": {"name": format!("p{n}")},
        "spec": {"currency": "USD", "instanceTypes": types}
    })
}

#[tokio::test]
async fn large_whole_bodies_are_gzipped_when_asked() {
    let f = Fixture::new();
    const PRICELISTS: &str = "/apis/fleet.k0rdent.io/v1alpha1/pricelists";
    for n in [10, 2000] {
        let post = Request::builder().method(Method::POST).uri(PRICELISTS);
        let created = f.send(&f.admin, post, Some(price_list(n))).await;
        assert_eq!(created.status().as_u16(), 201);
    }
    let large = format!("{PRICELISTS}/p2000");
    let plain = f.send(&f.admin, get(&large), None).await;
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = bytes_of(plain).await;
    assert!(plain.len() > 128 * 1024, "{}", plain.len());

    let asked = get(&large).header("Accept-Encoding", "gzip");
    let gzipped = f.send(&f.admin, asked, None).await;
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    assert_eq!(gzipped.headers()["vary"], "accept-encoding");
    let gzipped = bytes_of(gzipped).await;
    assert_eq!(&gzipped[..2], [0x1f, 0x8b], "gzip's magic number");
    assert!(
        gzipped.len() * 10 < plain.len(),
        "{} of {}",
        gzipped.len(),
        plain.len()
    );

    // A list is sent in pieces of known length: gzipped as well.
    let list = get(PRICELISTS).header("Accept-Encoding", "gzip");
    let list = f.send(&f.admin, list, None).await;
    assert_eq!(list.headers()["content-encoding"], "gzip");

    // Small bodies, and streams, are sent as they are.
    let small = get(&format!("{PRICELISTS}/p10")).header("Accept-Encoding", "gzip");
    let small = f.send(&f.admin, small, None).await;
    assert!(small.headers().get("content-encoding").is_none());
    let watch =
        get(&format!("{PRICELISTS}?watch=true&timeoutSeconds=1")).header("Accept-Encoding", "gzip");
    let watch = f.send(&f.admin, watch, None).await;
    assert!(watch.headers().get("content-encoding").is_none());
    let events = bytes_of(watch).await;
    assert!(events.len() > 128 * 1024, "both objects as ADDED events");
}

#[tokio::test]
async fn lists_longer_than_a_storage_page_are_streamed_whole() {
    let f = Fixture::new();
    let total = 1100;
    for i in 0..total {
        let object = json!({
            "apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "ClusterDeployment",
            "metadata": {"name": format!("c-{i:04}")}, "spec": {"template": "t", "credential": "c"}
        });
        let post = Request::builder().method(Method::POST).uri(CLDS);
        assert_eq!(
            f.send(&f.admin, post, Some(object)).await.status().as_u16(),
            201
        );
    }
    let streamed = f.send(&f.admin, get(CLDS), None).await;
    assert_eq!(streamed.status().as_u16(), 200);
    assert_eq!(streamed.headers()["content-type"], "application/json");
    assert_eq!(
        hyper::body::Body::size_hint(streamed.body()).exact(),
        None,
        "streamed, not built"
    );
    let list: Value = serde_json::from_slice(&bytes_of(streamed).await).unwrap();
    assert_eq!(list["kind"], "ClusterDeploymentList");
    assert_eq!(list["items"].as_array().unwrap().len(), total);
    assert_eq!(list["items"][total - 1]["metadata"]["name"], "c-1099");
    assert!(
        list["metadata"]["resourceVersion"].is_string(),
        "{}",
        list["metadata"]
    );

    let page = f
        .send(&f.admin, get(&format!("{CLDS}?limit=1050")), None)
        .await;
    let page: Value = serde_json::from_slice(&bytes_of(page).await).unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1050);
    assert_eq!(page["metadata"]["remainingItemCount"], 50);
    let token = page["metadata"]["continue"].as_str().unwrap();
    let rest = f
        .send(&f.admin, get(&format!("{CLDS}?continue={token}")), None)
        .await;
    let rest: Value = serde_json::from_slice(&bytes_of(rest).await).unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 50);

    let metadata = get(CLDS).header(
        "Accept",
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
    );
    let metadata = f.send(&f.admin, metadata, None).await;
    let metadata: Value = serde_json::from_slice(&bytes_of(metadata).await).unwrap();
    assert_eq!(metadata["kind"], "PartialObjectMetadataList");
    assert_eq!(metadata["items"].as_array().unwrap().len(), total);
    assert!(metadata["items"][0].get("spec").is_none());

    let gzipped = f
        .send(&f.admin, get(CLDS).header("Accept-Encoding", "gzip"), None)
        .await;
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
}
