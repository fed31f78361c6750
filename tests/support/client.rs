//! kube-rs clients from kubeconfig files, raw requests through them, and the small API
//! helpers the tests share.

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

use super::{ALL_CLDS, API_VERSION, DEFAULT_CLDS};

/// Installs ring as rustls' process-wide provider (several are compiled in).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The kube-rs configuration of a kubeconfig file (its current context).
pub async fn config_from(kubeconfig: &Path) -> kube::Config {
    install_crypto();
    let file = Kubeconfig::read_from(kubeconfig)
        .unwrap_or_else(|e| panic!("reading {}: {e}", kubeconfig.display()));
    kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("loading {}: {e}", kubeconfig.display()))
}

/// A kube-rs client from a kubeconfig file.
pub async fn client_from(kubeconfig: &Path) -> kube::Client {
    kube::Client::try_from(config_from(kubeconfig).await).expect("a kube client")
}

/// A raw HTTP request, sent through a kube-rs client (its TLS and client certificate).
#[derive(Clone)]
pub struct Raw {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Raw {
    pub fn new(method: &'static str, path: &str) -> Self {
        Raw {
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    pub fn put(path: &str) -> Self {
        Self::new("PUT", path)
    }

    pub fn delete(path: &str) -> Self {
        Self::new("DELETE", path)
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    /// The body as is, without a `Content-Type`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, value: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(serde_json::to_vec(value).expect("JSON"))
    }

    pub async fn send(self, client: &kube::Client) -> Reply {
        // kube re-exports no `http`: take an `http::Request` from kube's request builder and
        // overwrite every part of it.
        let mut request = kube::core::Request::new("/")
            .list(&Default::default())
            .expect("an http request");
        *request.method_mut() = self.method.parse().expect("a method");
        *request.uri_mut() = self.path.parse().expect("a path");
        request.headers_mut().clear();
        for (name, value) in &self.headers {
            let value = value.parse().expect("a header value");
            request.headers_mut().append(*name, value);
        }
        *request.body_mut() = self.body;
        let response = client
            .send(request.map(kube::client::Body::from))
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e}", self.method, self.path));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.as_str().to_owned(), value)
            })
            .collect();
        let body = response
            .into_body()
            .collect_bytes()
            .await
            .expect("the response body")
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }
}

impl std::fmt::Debug for Raw {
    /// The method, path, headers and the start of the body (bodies can be megabytes).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 100;
        let head = String::from_utf8_lossy(&self.body[..self.body.len().min(SHOWN)]);
        let more = if self.body.len() > SHOWN { "…" } else { "" };
        write!(
            f,
            "{} {} {:?} body ({} bytes): {head}{more}",
            self.method,
            self.path,
            self.headers,
            self.body.len()
        )
    }
}

/// A response: status code, headers (names lower case), body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {}: the body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }
}

/// Asserts kube-apiserver's 401 exactly (k8s.io/apiserver `pkg/endpoints/handlers/
/// responsewriters/errors.go`, `Unauthorized`).
pub fn assert_unauthorized(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 401, "{what}: {}", reply.text());
    assert_eq!(
        reply.json(),
        serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Unauthorized", "reason": "Unauthorized", "code": 401,
        }),
        "{what}"
    );
}

/// `metadata.resourceVersion` of the list of every ClusterDeployment: the storage revision
/// seen through the API.
pub async fn list_revision(client: &kube::Client) -> String {
    let reply = Raw::get(ALL_CLDS).send(client).await;
    assert_eq!(reply.status, 200, "listing: {}", reply.text());
    let list = reply.json();
    list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_else(|| panic!("the list has a resourceVersion: {list}"))
        .to_owned()
}

/// A ClusterDeployment in namespace `default`.
pub fn cld(name: &str, template: &str) -> Value {
    serde_json::json!({
        "apiVersion": API_VERSION,
        "kind": "ClusterDeployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"template": template, "credential": "aws"},
    })
}

/// Creates `object` in `default` through the API and returns what the server answered.
pub async fn create(client: &kube::Client, object: &Value) -> Value {
    let reply = Raw::post(DEFAULT_CLDS).json(object).send(client).await;
    assert_eq!(reply.status, 201, "creating: {}", reply.text());
    reply.json()
}

/// The first value of the header `name` (in any case) among `headers`.
pub fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Sends `request` and expects the status `code`; the body as JSON.
pub async fn send_ok(client: &kube::Client, request: Raw, code: u16) -> Value {
    let what = format!("{request:?}");
    let reply = request.send(client).await;
    assert_eq!(reply.status, code, "{what}: {}", reply.text());
    reply.json()
}

/// Decodes standard base64 (kubeconfig `*-data` fields).
pub fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let value = ALPHABET
            .iter()
            .position(|a| *a == c)
            .unwrap_or_else(|| panic!("not base64: {c:?}")) as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

/// User and groups of the client certificate in a kubeconfig's first user.
pub fn kubeconfig_identity(kubeconfig: &Kubeconfig) -> (String, Vec<String>) {
    let auth = kubeconfig.auth_infos[0]
        .auth_info
        .as_ref()
        .expect("the user has credentials");
    let pem = base64_decode(
        auth.client_certificate_data
            .as_deref()
            .expect("client-certificate-data"),
    );
    let chain = certs::certificates_from_pem(&pem).expect("a PEM certificate");
    certs::identity_from_certificate(chain[0].as_ref()).expect("an identity")
}
