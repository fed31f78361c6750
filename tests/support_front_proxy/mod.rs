//! Fixtures of the front-proxy and token tests: CAs written to files, kube clients presenting
//! their certificates, identities sent as kube-apiserver's aggregator sends them
//! (`X-Remote-*` headers), SelfSubjectReview, and the exact 403 Status bodies
//! (k8s.io/apiserver `pkg/endpoints/handlers/responsewriters/errors.go`; the 401 is
//! `support::assert_unauthorized`).

pub mod sweep;

use std::path::{Path, PathBuf};

use certs::{Ca, CertifiedKey};
use serde_json::{json, Value};

use crate::support::{base64_decode, client_from, Raw, Reply, TestServer, SELF_SUBJECT_REVIEWS};

/// The CN of the client certificate kube-apiserver's aggregator presents.
pub const PROXY_CN: &str = "front-proxy-client";

/// A CA whose certificate is written to a file (for `--requestheader-client-ca-file`); the
/// file lives as long as the value.
#[derive(Debug)]
pub struct TestCa {
    ca: Ca,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestCa {
    pub fn generate(common_name: &str) -> Self {
        let ca = Ca::generate(common_name).expect("a CA");
        let dir = tempfile::tempdir().expect("a temp dir for the CA");
        let file = dir.path().join("ca.crt");
        std::fs::write(&file, ca.cert_pem()).expect("writing the CA certificate");
        TestCa {
            ca,
            file,
            _dir: dir,
        }
    }

    /// The PEM file of the CA certificate.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// A client certificate with CN `common_name` and no O.
    pub fn issue(&self, common_name: &str) -> CertifiedKey {
        self.ca
            .issue_client(common_name, &[])
            .expect("a client certificate")
    }
}

/// A kube client that trusts the server's CA (from the admin kubeconfig) and presents
/// `certificate`, through a kubeconfig written under the server's data directory.
pub async fn client_presenting(
    server: &TestServer,
    name: &str,
    certificate: &CertifiedKey,
) -> kube::Client {
    let admin = kube::config::Kubeconfig::read_from(server.kubeconfig()).expect("the kubeconfig");
    let cluster = admin.clusters[0].cluster.as_ref().expect("a cluster");
    let ca = cluster
        .certificate_authority_data
        .as_deref()
        .expect("certificate-authority-data");
    let ca_pem = String::from_utf8(base64_decode(ca)).expect("a PEM CA");
    let path = server.data_dir().join(format!("{name}.kubeconfig"));
    certs::Kubeconfig {
        cluster: "fleet",
        context: name,
        user: name,
        server: server.url(),
        ca_pem: &ca_pem,
        client_cert_pem: &certificate.cert_pem,
        client_key_pem: &certificate.key_pem,
    }
    .write(&path)
    .expect("writing a kubeconfig");
    client_from(&path).await
}

/// A user as a front proxy names it: one `X-Remote-User`, `X-Remote-Uid`, repeated
/// `X-Remote-Group`, and `X-Remote-Extra-<key>` headers (header names lower case, as `http`
/// wants them).
#[derive(Debug, Clone, Default)]
pub struct Proxied {
    headers: Vec<(&'static str, String)>,
}

impl Proxied {
    pub fn user(name: &str) -> Self {
        Proxied::default().header("x-remote-user", name)
    }

    /// No user header: only groups or extras (which alone name nobody).
    pub fn nobody() -> Self {
        Proxied::default()
    }

    pub fn uid(self, uid: &str) -> Self {
        self.header("x-remote-uid", uid)
    }

    pub fn group(self, group: &str) -> Self {
        self.header("x-remote-group", group)
    }

    /// `header` is the whole name, e.g. `x-remote-extra-scopes`.
    pub fn header(mut self, header: &'static str, value: &str) -> Self {
        self.headers.push((header, value.to_owned()));
        self
    }

    /// `request` with these headers.
    pub fn on(&self, request: Raw) -> Raw {
        self.headers.iter().fold(request, |request, (name, value)| {
            request.header(name, value)
        })
    }
}

/// POSTs a SelfSubjectReview.
pub fn self_subject_review() -> Raw {
    Raw::post(SELF_SUBJECT_REVIEWS).json(&json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "SelfSubjectReview",
    }))
}

/// `status.userInfo` of a SelfSubjectReview answer (201).
pub fn user_info(reply: &Reply, what: &str) -> Value {
    assert_eq!(reply.status, 201, "{what}: {}", reply.text());
    let review = reply.json();
    assert_eq!(review["kind"], "SelfSubjectReview", "{what}: {review}");
    review["status"]["userInfo"].clone()
}

/// What a request was refused: the resource and name of a resource request, or none.
#[derive(Debug, Clone, Default)]
pub struct Refused<'a> {
    pub group: &'a str,
    pub resource: &'a str,
    pub name: &'a str,
}

/// Asserts a 403 with `message` and the details of `refused` (`apierrors.NewForbidden`).
pub fn assert_forbidden(reply: &Reply, refused: &Refused<'_>, message: &str, what: &str) {
    assert_eq!(reply.status, 403, "{what}: {}", reply.text());
    let mut details = json!({});
    for (field, value) in [
        ("name", refused.name),
        ("group", refused.group),
        ("kind", refused.resource),
    ] {
        if !value.is_empty() {
            details[field] = json!(value);
        }
    }
    assert_eq!(
        reply.json(),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": "Forbidden", "details": details, "code": 403,
        }),
        "{what}"
    );
}

/// Asserts the 403 of a non-resource request: `forbidden: User "<user>" cannot <verb> path
/// "<path>"`.
pub fn assert_path_forbidden(reply: &Reply, user: &str, verb: &str, path: &str) {
    let message = format!("forbidden: User {user:?} cannot {verb} path {path:?}");
    assert_forbidden(
        reply,
        &Refused::default(),
        &message,
        &format!("{verb} {path}"),
    );
}
