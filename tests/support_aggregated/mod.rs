//! Fixtures of the aggregated-mode tests: a fake host kube-apiserver ([`FakeHost`]) that
//! publishes ConfigMap `kube-system/extension-apiserver-authentication` and answers
//! TokenReviews, the ConfigMap's data as kube-apiserver writes it ([`Published`]),
//! `fleet-apiserver up --authentication-kubeconfig` pointed at it, and callers that open a new
//! TLS connection per request ([`Caller`]).

pub mod caller;
pub mod fake_host;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use certs::Ca;
use serde_json::{json, Value};

use crate::support::http1::Request;
use crate::support::{Backend, Reply, TestServer, SELF_SUBJECT_REVIEWS};

pub use caller::Caller;
pub use fake_host::{FakeHost, Logged, HOST_TOKEN};

/// The data of ConfigMap `extension-apiserver-authentication` as kube-apiserver writes it:
/// PEM bundles, and header settings as JSON arrays of strings.
#[derive(Debug, Clone, Default)]
pub struct Published {
    data: BTreeMap<String, String>,
}

impl Published {
    /// Front-proxy settings with kube-apiserver's conventional headers (and a UID header, which
    /// `up`'s flag defaults do not have), trusting certificates of `ca` named `allowed_names`.
    pub fn front_proxy(ca: &Ca, allowed_names: &[&str]) -> Self {
        Published::default()
            .set("requestheader-client-ca-file", ca.cert_pem())
            .list("requestheader-allowed-names", allowed_names)
            .list("requestheader-username-headers", &["X-Remote-User"])
            .list("requestheader-uid-headers", &["X-Remote-Uid"])
            .list("requestheader-group-headers", &["X-Remote-Group"])
            .list("requestheader-extra-headers-prefix", &["X-Remote-Extra-"])
    }

    /// The host cluster's client CA (`client-ca-file`).
    pub fn client_ca(self, ca: &Ca) -> Self {
        self.set("client-ca-file", ca.cert_pem())
    }

    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.data.insert(key.to_owned(), value.to_owned());
        self
    }

    fn list(self, key: &str, values: &[&str]) -> Self {
        self.set(key, &json!(values).to_string())
    }

    pub fn data(&self) -> BTreeMap<String, String> {
        self.data.clone()
    }
}

/// `fleet-apiserver up` on the embedded store, authenticating through `host` (its kubeconfig
/// and nothing else: no `--requestheader-client-ca-file`).
pub fn start_server(host: &FakeHost) -> TestServer {
    TestServer::builder(Backend::Embedded)
        .args(["--authentication-kubeconfig"])
        .args([host.kubeconfig()])
        .start()
        .expect("the embedded backend runs everywhere")
}

/// A SelfSubjectReview carrying `headers`.
pub fn self_subject_review(headers: &[(&str, &str)]) -> Request {
    let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    Request::post_json(SELF_SUBJECT_REVIEWS, &review).headers(headers)
}

/// `status.userInfo` of a SelfSubjectReview answer, or why there is none.
pub fn user_info(response: &Reply) -> Result<Value, String> {
    if response.status != 201 {
        return Err(format!("HTTP {}: {}", response.status, response.text()));
    }
    let review = response.json();
    if review["kind"] != "SelfSubjectReview" {
        return Err(format!("not a SelfSubjectReview: {review}"));
    }
    Ok(review["status"]["userInfo"].clone())
}

/// Calls `check` every 100 ms until it returns `Ok`; panics with its last error after
/// `within`.
pub fn eventually<T>(
    within: Duration,
    what: &str,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        match check() {
            Ok(value) => return value,
            Err(e) if Instant::now() > deadline => panic!("{what}: not within {within:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}
