//! How resources are SERVED: TLS and HTTP, request parsing, content negotiation, discovery,
//! health, one handler per verb, and `Status` errors.
//!
//! # Layout
//! - [`server`]: the HTTPS accept loop (HTTP/1.1 and HTTP/2), graceful shutdown.
//! - [`tls`]: the rustls configuration (ring provider, client certificates).
//! - [`filters`]: what runs before handlers: authentication, impersonation, authorization
//!   (and audit around them all).
//! - [`authentication`]: the authenticators (front proxy, x509, tokens, anonymous).
//! - [`authorization`]: the authorizers (system:masters, RBAC, webhook, AlwaysAllow).
//! - [`audit`]: the audit policy and log.
//! - [`protobuf`]: Kubernetes protobuf request bodies of the built-in kinds.
//! - [`request`]: what a path and method ask for.
//! - [`negotiation`]: `Accept` and `Content-Type`.
//! - [`discovery`]: `/api`, `/apis`, group and group-version documents, aggregated discovery.
//! - [`health`]: `/healthz`, `/livez`, `/readyz`.
//! - [`openapi`]: OpenAPI v2 and v3 documents from the registered schemas.
//! - `handlers`: one file per verb, for every registered resource.
//! - [`table`]: Tables and PartialObjectMetadata renderings.
//! - [`response`]: JSON bodies and `Status` errors.
//!
//! The request path: [`server::run`] → [`ApiServer::handle`] (log line, audit,
//! authentication, impersonation, authorization) →
//! health, discovery or `/version` → or `handlers::serve` → the verb's handler →
//! `registry::GenericStore` → `storage`.

pub mod audit;
pub mod authentication;
pub mod authorization;
pub mod discovery;
pub mod filters;
mod handlers;
pub mod health;
pub mod negotiation;
pub mod openapi;
pub mod protobuf;
pub mod request;
pub mod response;
pub mod server;
pub mod table;
pub mod tls;

pub use handlers::review::install as install_reviews;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use registry::{ApiError, Catalog, GenericStore};
use serde_json::json;

use crate::authentication::{Authentication, User};
use crate::authorization::Authorizer;
use crate::discovery::Discovery;
use crate::filters::Refusal;
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
    pub access: Access,
    /// Becomes true when the server starts shutting down: long-running requests end.
    shutdown: tokio::sync::watch::Sender<bool>,
}

/// Who may do what, and the record of it.
#[derive(Debug)]
pub struct Access {
    pub authentication: Arc<Authentication>,
    /// The configured authorization chain.
    pub authorizer: Arc<dyn Authorizer>,
    /// The audit log, when one is configured.
    pub audit: Option<Arc<audit::AuditLog>>,
}

impl ApiServer {
    pub fn new(catalog: Arc<Catalog>, store: GenericStore, access: Access) -> Self {
        ApiServer {
            access,
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

    /// Serves one request, audits it and logs it: verb, path, user, code, latency.
    pub async fn handle<B>(&self, req: Request<B>, connection: &Connection) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes, Error = hyper::Error> + Send + Sync + 'static,
    {
        let started = Instant::now();
        let received = SystemTime::now();
        let (method, path) = (req.method().clone(), req.uri().path().to_owned());
        let request_uri = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| path.clone());
        let audit_id = req
            .headers()
            .get("Audit-ID")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(registry::meta::new_uid);
        let (mut parts, body) = req.into_parts();
        let body = body.boxed();
        let query: Vec<(String, String)> = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let user_agent = header_text(&parts.headers, http::header::USER_AGENT).to_owned();
        let authenticated = filters::authentication::authenticate(
            &self.access.authentication,
            &path,
            &mut parts.headers,
            &connection.identity(),
        )
        .await;
        // The event starts with the authenticated user (before impersonation), as upstream's
        // filter order has it; requests refused by authentication are audited too.
        let requestor = match &authenticated {
            Ok(Some(user)) => user.clone(),
            _ => User::default(),
        };
        let asked = filters::authorization::attributes(&method, &path, &query, &requestor);
        let mut audit = self.access.audit.as_ref().and_then(|log| {
            let start = filters::audit::Start {
                audit_id: &audit_id,
                received,
                attributes: &asked,
                request_uri: &request_uri,
                user_agent: &user_agent,
                source_ip: connection.remote.ip().to_string(),
            };
            filters::audit::RequestAudit::start(log, start, authenticated.is_err())
        });
        let admitted = match authenticated {
            Err(e) => Err(Refusal::Status(e)),
            Ok(user) => self.admit(&mut parts, &query, user, audit.as_mut()).await,
        };
        let user_name = match &admitted {
            Ok(Some(user)) => user.name.clone(),
            _ if requestor.name.is_empty() => authentication::ANONYMOUS.into(),
            _ => requestor.name.clone(),
        };
        // The audit record reads the body ahead (it names the object of a create).
        let body = match (&mut audit, admitted.is_ok() && has_body(&method)) {
            (Some(audit), true) => read_ahead(body).await.map(|(bytes, rest)| {
                audit.request_body(&bytes, method == Method::PATCH);
                rest
            }),
            _ => Ok(body),
        };
        let response = match (admitted, body) {
            (Err(refusal), body) => {
                // The body is read and thrown away, so the connection can serve the next
                // request (hyper would otherwise close it, racing the client).
                let drained = match body {
                    Ok(body) => handlers::discard_body(body).await,
                    Err(_) => true,
                };
                let mut response = refusal.respond(&request_uri);
                if !drained {
                    response.headers_mut().insert(
                        http::header::CONNECTION,
                        http::HeaderValue::from_static("close"),
                    );
                }
                response
            }
            (Ok(_), Err(e)) => response::error(&e),
            (Ok(user), Ok(body)) => {
                let req = Request::from_parts(parts, body);
                self.route(req, query, user).await
            }
        };
        let response = with_audit_id(response, &audit_id);
        let response = match audit {
            Some(audit) => audit.finish(response, asked.verb == "watch").await,
            None => response,
        };
        // One line per request at debug, as kube-apiserver's httplog logs at -v=3.
        tracing::debug!(
            verb = %method,
            path = %path,
            user = %user_name,
            code = response.status().as_u16(),
            latency = %format_args!("{:.1?}", started.elapsed()),
            audit_id = %audit_id,
            "request"
        );
        response
    }

    /// Impersonation and authorization of an authenticated request: the user it acts as,
    /// `None` for public paths asked without credentials. The audit record learns the
    /// impersonated user and the decision.
    async fn admit(
        &self,
        parts: &mut http::request::Parts,
        query: &[(String, String)],
        user: Option<User>,
        mut audit: Option<&mut filters::audit::RequestAudit>,
    ) -> Result<Option<User>, Refusal> {
        let Some(user) = user else {
            return Ok(None);
        };
        let path = parts.uri.path().to_owned();
        let authorizer = self.access.authorizer.as_ref();
        let (user, original) =
            filters::impersonation::impersonate(authorizer, user, &mut parts.headers).await?;
        if let (Some(audit), Some(_)) = (audit.as_deref_mut(), &original) {
            audit.impersonated(&user);
        }
        if !authentication::is_public(&path) {
            let attributes = filters::authorization::attributes(&parts.method, &path, query, &user);
            let (decision, outcome) =
                filters::authorization::authorize(authorizer, &attributes).await;
            if let Some(audit) = audit {
                let allowed = if decision.allowed() {
                    "allow"
                } else {
                    "forbid"
                };
                audit.annotate("authorization.k8s.io/decision", allowed);
                let reason = match &decision.error {
                    Some(_) if !decision.allowed() => "internal error",
                    _ => decision.reason.as_str(),
                };
                audit.annotate("authorization.k8s.io/reason", reason);
            }
            outcome?;
        }
        Ok(Some(user))
    }

    async fn route(
        &self,
        req: Request<http_body_util::combinators::BoxBody<Bytes, hyper::Error>>,
        query: Vec<(String, String)>,
        user: Option<User>,
    ) -> Response<Body> {
        let path = req.uri().path().to_owned();
        if let Some(response) = self.health.respond(&path, &query).await {
            return response;
        }
        let Some(user) = user else {
            return response::error(&authentication::unauthorized());
        };
        let watch = request::watch_requested(&query);
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
            _ if !read_only => response::error(&ApiError::method_not_allowed_on_route()),
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

fn header_text(headers: &http::HeaderMap, name: http::header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn with_audit_id(mut response: Response<Body>, audit_id: &str) -> Response<Body> {
    if let Ok(value) = http::HeaderValue::from_str(audit_id) {
        response.headers_mut().insert("Audit-Id", value);
    }
    response
}

fn has_body(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

type RequestBody = http_body_util::combinators::BoxBody<Bytes, hyper::Error>;

/// Reads a request body ahead (for the audit log) and gives it back as a body, with the
/// handlers' size limit.
async fn read_ahead(body: RequestBody) -> Result<(Bytes, RequestBody), ApiError> {
    let bytes = handlers::read_body(body).await?;
    let again = http_body_util::Full::new(bytes.clone())
        .map_err(|never| match never {})
        .boxed();
    Ok((bytes, again))
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
