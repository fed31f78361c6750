//! Serving certificate rotation under `fleet-apiserver up`: the server re-reads
//! `DIR/pki/serving.crt` and `DIR/pki/serving.key` every second, as kube-apiserver's dynamic
//! serving certificate controller does (k8s.io/apiserver
//! `pkg/server/dynamiccertificates/dynamic_serving_content.go`). New connections get a new
//! pair once both files match; open connections keep working; a certificate whose key has not
//! arrived yet is never served.

mod support;
mod support_access;

use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use support::{Backend, Raw, TestServer, DEFAULT_CLDS};
use support_access::{replace_atomically, TlsConnection};

/// How long a new pair may take to be served (the server checks every second).
const ROTATION_WAIT: Duration = Duration::from_secs(10);

/// A new serving pair for 127.0.0.1 and localhost from the data directory's CA, and the DER of
/// its certificate.
fn issue_serving(server: &TestServer) -> (certs::CertifiedKey, CertificateDer<'static>) {
    let files = certs::Pki::new(server.data_dir()).files();
    let ca = certs::Ca::load(&files.ca_cert, &files.ca_key).expect("the CA of the data dir");
    let pair = ca
        .issue_serving(&["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("a serving certificate");
    let der = first_certificate(pair.cert_pem.as_bytes());
    (pair, der)
}

fn first_certificate(pem: &[u8]) -> CertificateDer<'static> {
    certs::certificates_from_pem(pem)
        .expect("a PEM certificate")
        .remove(0)
}

fn connect(server: &TestServer) -> TlsConnection {
    TlsConnection::open(server.url(), server.data_dir()).unwrap_or_else(|e| {
        panic!(
            "connecting to {}: {e}; stderr:\n{}",
            server.url(),
            server.stderr_tail()
        )
    })
}

/// Asserts that `GET path` on `connection` answers 200.
fn get_ok(connection: &mut TlsConnection, path: &str, what: &str) {
    let reply = connection
        .get(path)
        .unwrap_or_else(|e| panic!("{what}: GET {path}: {e}"));
    assert_eq!(reply.status, 200, "{what}: GET {path}: {}", reply.text());
}

/// Opens new connections until one is served `wanted`; panics after [`ROTATION_WAIT`].
async fn wait_until_served(server: &TestServer, wanted: &CertificateDer<'static>) -> TlsConnection {
    let deadline = Instant::now() + ROTATION_WAIT;
    loop {
        let connection = connect(server);
        if connection.served() == wanted {
            return connection;
        }
        if Instant::now() > deadline {
            panic!(
                "new connections do not get the new certificate within {ROTATION_WAIT:?}; \
                 stderr:\n{}",
                server.stderr_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `GET /version` through a kube-rs client made now (so on a connection of its own), which
/// verifies the server against the kubeconfig's CA.
async fn version_through_kube(server: &TestServer) {
    let client = server.client().await;
    let reply = Raw::get("/version").send(&client).await;
    assert_eq!(reply.status, 200, "GET /version: {}", reply.text());
    assert!(
        reply.json()["gitVersion"].is_string(),
        "a version: {}",
        reply.text()
    );
}

#[tokio::test]
async fn new_connections_get_the_rotated_certificate_and_open_ones_keep_working() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let files = certs::Pki::new(server.data_dir()).files();
    let mut open = connect(&server);
    let old = open.served().clone();
    let on_disk = std::fs::read(&files.serving_cert).expect("serving.crt");
    assert_eq!(
        old,
        first_certificate(&on_disk),
        "the server serves DIR/pki/serving.crt"
    );
    get_ok(&mut open, "/version", "before the rotation");

    let (pair, new) = issue_serving(&server);
    assert_ne!(new, old, "the new certificate differs from the old one");
    // Key first, then certificate: in between the files do not match, and must not be taken.
    replace_atomically(&files.serving_key, pair.key_pem.as_bytes());
    replace_atomically(&files.serving_cert, pair.cert_pem.as_bytes());

    let mut fresh = wait_until_served(&server, &new).await;
    get_ok(
        &mut fresh,
        "/version",
        "a connection made after the rotation",
    );
    get_ok(
        &mut fresh,
        DEFAULT_CLDS,
        "a connection made after the rotation",
    );
    version_through_kube(&server).await;
    // Every new connection gets the new certificate from now on.
    assert_eq!(connect(&server).served(), &new);

    // The connection opened before the rotation is still served, on its old handshake.
    get_ok(
        &mut open,
        "/version",
        "the connection opened before the rotation",
    );
    get_ok(
        &mut open,
        DEFAULT_CLDS,
        "the connection opened before the rotation",
    );
}

#[tokio::test]
async fn a_certificate_is_not_served_before_its_key_arrives() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let files = certs::Pki::new(server.data_dir()).files();
    let old = connect(&server).served().clone();
    let (pair, new) = issue_serving(&server);

    // Half of the pair: the new certificate next to the old key.
    replace_atomically(&files.serving_cert, pair.cert_pem.as_bytes());
    // Over several reload intervals the server keeps the old pair and stays healthy.
    let until = Instant::now() + Duration::from_millis(3_500);
    while Instant::now() < until {
        let mut connection = connect(&server);
        assert_eq!(
            connection.served(),
            &old,
            "a certificate without its key must not be served"
        );
        get_ok(&mut connection, "/readyz", "while the key is missing");
        get_ok(&mut connection, "/version", "while the key is missing");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    version_through_kube(&server).await;

    // The matching key completes the pair.
    replace_atomically(&files.serving_key, pair.key_pem.as_bytes());
    let mut fresh = wait_until_served(&server, &new).await;
    get_ok(&mut fresh, "/version", "after the key arrived");
    version_through_kube(&server).await;
}
