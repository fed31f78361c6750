//! What gzip does to a large LIST: 10,000 ClusterDeployments listed through the server's
//! filter chain (in process, embedded store) with and without `Accept-Encoding: gzip`, as
//! kubectl and client-go always ask. Prints bytes, median time and the ratios.
//!
//! `cargo bench -p apiserver --bench compression` (`BENCH_SCALE=0.1` for 1,000 objects).

use std::sync::Arc;
use std::time::{Duration, Instant};

use apiserver::authentication::Authentication;
use apiserver::authorization::Chain;
use apiserver::server::Connection;
use apiserver::tls::PeerIdentity;
use apiserver::{Access, ApiServer};
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use registry::{Catalog, GenericStore};
use serde_json::json;
use storage::{Codec, EmbeddedOptions, EmbeddedStore};

/// Objects at `BENCH_SCALE=1`.
const OBJECTS: f64 = 10_000.0;
/// Lists per encoding; the median is reported.
const ROUNDS: usize = 7;
/// Concurrent creators.
const WRITERS: usize = 16;
const CLDS: &str = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/default/clusterdeployments";

type Body = http_body_util::combinators::BoxBody<Bytes, hyper::Error>;

fn request(
    method: Method,
    uri: &str,
    gzip: bool,
    body: Option<serde_json::Value>,
) -> Request<Body> {
    let bytes = body
        .map(|b| serde_json::to_vec(&b).unwrap())
        .unwrap_or_default();
    let mut builder = Request::builder().method(method).uri(uri);
    if gzip {
        builder = builder.header("Accept-Encoding", "gzip");
    }
    builder
        .header("Content-Type", "application/json")
        .body(
            Full::new(Bytes::from(bytes))
                .map_err(|never| match never {})
                .boxed(),
        )
        .unwrap()
}

/// A ClusterDeployment like examples/clusterdeployment.yaml: labels, config, two services.
fn cluster(i: usize) -> serde_json::Value {
    json!({
        "apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "ClusterDeployment",
        "metadata": {"name": format!("cluster-{i:05}"), "labels": {"env": "prod", "team": format!("team-{}", i % 20)}},
        "spec": {
            "template": "aws-standalone-1-33", "credential": "aws-eu",
            "config": {"region": "eu-central-1", "controlPlaneNumber": 3, "workersNumber": 5,
                       "controlPlane": {"instanceType": "m5.large"}, "worker": {"instanceType": "m5.xlarge"}},
            "services": [
                {"name": "cert-manager", "template": "cert-manager-1-16-2", "values": {"crds": {"enabled": true}}},
                {"name": "ingress-nginx", "template": "ingress-nginx-4-12-0", "dependsOn": ["cert-manager"]}
            ]
        }
    })
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::main]
async fn main() {
    let scale: f64 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let objects = (OBJECTS * scale).max(1.0) as usize;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap());
    let catalog = Arc::new(Catalog::new());
    registry::fleet::install(&catalog).unwrap();
    let access = Access {
        authentication: Arc::new(Authentication::x509_only()),
        authorizer: Arc::new(Chain::default()),
        audit: None,
    };
    let server = Arc::new(ApiServer::new(
        catalog,
        GenericStore::new(store, Codec::plain(), "/registry"),
        access,
    ));
    let admin = PeerIdentity {
        client: Some(("admin".into(), vec!["system:masters".into()])),
        ..PeerIdentity::default()
    };
    let connection = Connection::fixed("127.0.0.1:1".parse().unwrap(), admin);

    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (server, connection) = (server.clone(), connection.clone());
        writers.push(tokio::spawn(async move {
            for i in (w..objects).step_by(WRITERS) {
                let req = request(Method::POST, CLDS, false, Some(cluster(i)));
                let response = server.handle(req, &connection).await;
                assert_eq!(response.status().as_u16(), 201);
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    println!(
        "{objects} ClusterDeployments created in {:.1?}",
        started.elapsed()
    );

    println!("{:<22} {:>12} {:>12}", "LIST", "bytes", "median");
    let mut figures = Vec::new();
    for (name, gzip) in [("identity", false), ("Accept-Encoding: gzip", true)] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let req = request(Method::GET, CLDS, gzip, None);
            let response = server.handle(req, &connection).await;
            assert_eq!(response.status().as_u16(), 200);
            let encoded = response.headers().get("content-encoding").is_some();
            assert_eq!(encoded, gzip, "gzip exactly when asked");
            bytes = response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .len();
            times.push(started.elapsed());
        }
        let median = median(times);
        println!("{name:<22} {bytes:>12} {:>12}", format!("{median:.1?}"));
        figures.push((bytes, median));
    }
    let (plain, gzipped) = (figures[0], figures[1]);
    println!(
        "gzip/identity: bytes {:.3}, time {:.2}",
        gzipped.0 as f64 / plain.0 as f64,
        gzipped.1.as_secs_f64() / plain.1.as_secs_f64()
    );
}
