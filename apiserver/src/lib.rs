//! How resources are SERVED: TLS and HTTP, request parsing, content negotiation, discovery,
//! health, one handler per verb, and `Status` errors.
//!
//! # Layout
//! - [`server`]: the HTTPS accept loop (HTTP/1.1 and HTTP/2), graceful shutdown.
//! - [`tls`]: the rustls configuration (ring provider, client certificates).
//! - [`filters`]: what runs before handlers (authentication).
//! - [`request`]: what a path and method ask for.
//! - [`negotiation`]: `Accept` and `Content-Type`.
//! - [`discovery`]: `/api`, `/apis`, group and group-version documents, aggregated discovery.
//! - [`health`]: `/healthz`, `/livez`, `/readyz`.
//! - [`openapi`]: OpenAPI v2 and v3 documents from the registered schemas.
//! - `handlers`: one file per verb, for every registered resource.
//! - [`table`]: Tables and PartialObjectMetadata renderings.
//! - [`response`]: JSON bodies and `Status` errors.
//!
//! The request path: [`server::run`] → [`ApiServer::handle`] (log line, authentication) →
//! health, discovery or `/version` → or `handlers::serve` → the verb's handler →
//! `registry::GenericStore` → `storage`.

pub mod discovery;
pub mod filters;
mod handlers;
pub mod health;
pub mod negotiation;
pub mod openapi;
pub mod request;
pub mod response;
pub mod server;
pub mod table;
pub mod tls;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use registry::{ApiError, Catalog, GenericStore};
use serde_json::json;

use crate::discovery::Discovery;
use crate::filters::authentication::{self, User};
use crate::health::Health;
use crate::openapi::OpenApi;
use crate::request::Target;
use crate::response::Body;
use crate::server::Connection;

/// The version this server reports at `/version`: the Kubernetes API level it implements,
/// with the product's own version as build metadata.
pub const KUBERNETES_MINOR: &str = "33";

/// Everything requests are served from.
#[derive(Debug)]
pub struct ApiServer {
    pub catalog: Arc<Catalog>,
    pub store: GenericStore,
    pub discovery: Discovery,
    pub openapi: OpenApi,
    pub health: Health,
    /// Becomes true when the server starts shutting down: long-running requests end.
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl ApiServer {
    pub fn new(catalog: Arc<Catalog>, store: GenericStore) -> Self {
        ApiServer {
            discovery: Discovery::new(catalog.clone()),
            openapi: OpenApi::new(catalog.clone()),
            health: Health::new(store.storage().clone()),
            shutdown: tokio::sync::watch::Sender::new(false),
            catalog,
            store,
        }
    }

    /// Starts shutting down: readiness fails and watches end.
    pub fn begin_shutdown(&self) {
        self.health.mark_shutting_down();
        self.shutdown.send_replace(true);
    }

    /// Changes to true when the server starts shutting down.
    pub fn shutdown_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Serves one request and logs it: verb, path, user, code, latency.
    pub async fn handle<B>(&self, req: Request<B>, connection: &Connection) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes, Error = hyper::Error> + Send + Sync + 'static,
    {
        let started = Instant::now();
        let (method, path) = (req.method().clone(), req.uri().path().to_owned());
        let user = authentication::from_certificates(&connection.peer_certificates);
        let user_name = match &user {
            Ok(Some(u)) => u.name.clone(),
            _ => "system:anonymous".into(),
        };
        let audit_id = req
            .headers()
            .get("Audit-ID")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(registry::meta::new_uid);
        let mut response = match user {
            Err(e) => response::error(&e),
            Ok(user) => self.route(req.map(|b| b.boxed()), user).await,
        };
        if let Ok(value) = http::HeaderValue::from_str(&audit_id) {
            response.headers_mut().insert("Audit-Id", value);
        }
        tracing::info!(
            verb = %method,
            path = %path,
            user = %user_name,
            code = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            audit_id = %audit_id,
            "request"
        );
        response
    }

    async fn route(
        &self,
        req: Request<http_body_util::combinators::BoxBody<Bytes, hyper::Error>>,
        user: Option<User>,
    ) -> Response<Body> {
        let path = req.uri().path().to_owned();
        let query: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        if let Some(response) = self.health.respond(&path, &query).await {
            return response;
        }
        let Some(user) = user else {
            return response::error(&authentication::unauthorized());
        };
        let watch = query
            .iter()
            .any(|(k, v)| k == "watch" && matches!(v.as_str(), "true" | "1"));
        let target = request::classify(req.method(), &path, watch);
        let read_only = matches!(*req.method(), Method::GET | Method::HEAD);
        if read_only {
            if let Some(response) = self.openapi.respond(&path, &query, req.headers()) {
                return response;
            }
        }
        match target {
            Target::Resource(resource_request) => {
                let (parts, body) = req.into_parts();
                handlers::serve(self, resource_request, parts, body, query, user)
                    .await
                    .unwrap_or_else(|e| response::error(&e))
            }
            _ if !read_only => response::error(&ApiError::new(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )),
            Target::Root { legacy } => self.discovery.root(legacy, req.headers()),
            Target::Group(group) => self.discovery.group(&group),
            Target::GroupVersion { group, version } => {
                self.discovery.group_version(&group, &version)
            }
            Target::NonResource if path == "/version" => {
                response::json(StatusCode::OK, &version_info())
            }
            Target::NonResource => response::not_found_text(),
        }
    }
}

/// The architecture as Go names it (`GOARCH`), which clients parse from `/version`.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn version_info() -> serde_json::Value {
    json!({
        "major": "1",
        "minor": KUBERNETES_MINOR,
        "gitVersion": format!("v1.{KUBERNETES_MINOR}.0+fleet-apiserver.{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    })
}
