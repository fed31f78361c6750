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
//! - [`inprocess`]: a `kube::Client` served in process, for the server's own controllers.
//! - [`openapi`]: OpenAPI v2 and v3 documents from the registered schemas.
//! - `handlers`: one file per verb, for every registered resource.
//! - [`table`]: Tables and PartialObjectMetadata renderings.
//! - [`response`]: JSON bodies and `Status` errors.
//!
//! The request path: [`server::run`] → [`ApiServer::service`] (the [`filters`] as tower
//! layers: audit ID, log line, panic recovery, request info, compression, authentication,
//! audit, impersonation, authorization) → health, OpenAPI, discovery or `/version`, or
//! `handlers::serve` → the verb's handler → `registry::GenericStore` → `storage`.

pub mod audit;
pub mod authentication;
pub mod authorization;
pub mod discovery;
pub mod filters;
mod handlers;
pub mod health;
pub mod inprocess;
pub mod negotiation;
pub mod openapi;
pub mod protobuf;
pub mod request;
pub mod response;
pub mod server;
pub mod table;
pub mod tls;

pub use handlers::review::install as install_reviews;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use registry::{ApiError, Catalog, GenericStore};
use serde_json::json;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};

use crate::authentication::Authentication;
use crate::authorization::Authorizer;
use crate::discovery::Discovery;
use crate::filters::audit::{Audit, AuditRecord};
use crate::filters::audit_id::{MakeAuditId, AUDIT_ID};
use crate::filters::authentication::Authenticate;
use crate::filters::authorization::Authorize;
use crate::filters::impersonation::Impersonate;
use crate::filters::{FilterLayer, HttpRequest, RequestUser};
use crate::health::Health;
use crate::openapi::OpenApi;
use crate::request::body::{BodyError, BoxError, RequestBody};
use crate::request::{RequestInfo, Target};
use crate::response::Body;
use crate::server::Connection;

/// The body of every response the server sends (whatever the layers made of it).
pub type ServedBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

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

    /// The filter chain in front of [`ApiServer::serve`], as a tower service (see
    /// [`filters`] for the order). Requests carry their [`Connection`] in their extensions.
    pub fn service<B>(
        self: &Arc<Self>,
    ) -> BoxCloneSyncService<Request<B>, Response<ServedBody>, Infallible>
    where
        B: hyper::body::Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        let access = &self.access;
        let chain = ServiceBuilder::new()
            .map_request(|req: Request<B>| {
                filters::audit_id::drop_unusable(
                    req.map(|body| body.map_err(|e| BodyError(e.into())).boxed()),
                )
            })
            .layer(SetRequestIdLayer::new(AUDIT_ID, MakeAuditId))
            .layer(PropagateRequestIdLayer::new(AUDIT_ID))
            .layer(filters::logging::layer())
            .layer(filters::panic::layer())
            .map_request(|mut req: HttpRequest| {
                let info = RequestInfo::read(req.method(), req.uri());
                req.extensions_mut().insert(info);
                req
            })
            .layer(filters::compression::layer())
            .layer(FilterLayer(Authenticate {
                authentication: access.authentication.clone(),
                audit: access.audit.clone(),
            }))
            .layer(FilterLayer(Audit {
                log: access.audit.clone(),
            }))
            .layer(FilterLayer(Impersonate {
                authorizer: access.authorizer.clone(),
            }))
            .layer(FilterLayer(Authorize {
                authorizer: access.authorizer.clone(),
            }))
            .service(Endpoint(self.clone()))
            .map_response(|response: Response<_>| response.map(ServedBody::new));
        BoxCloneSyncService::new(chain)
    }

    /// Serves one request through the filter chain (in-process callers and tests; the server
    /// builds the chain once).
    pub async fn handle<B>(
        self: &Arc<Self>,
        mut req: Request<B>,
        connection: &Connection,
    ) -> Response<ServedBody>
    where
        B: hyper::body::Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        req.extensions_mut().insert(connection.clone());
        match self.service().oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    /// Serves a request the filters let through: health, OpenAPI, discovery, `/version`, or a
    /// resource's handler.
    async fn serve(&self, mut req: HttpRequest) -> Response<Body> {
        let Some(info) = req.extensions_mut().remove::<RequestInfo>() else {
            return response::error(&ApiError::internal("the request was not classified"));
        };
        let user = req
            .extensions_mut()
            .remove::<RequestUser>()
            .and_then(|u| u.0);
        // The audit record reads the body ahead (it names the object of a create).
        if let Some(audit) = req.extensions().get::<AuditRecord>().cloned() {
            if has_body(&info.method) {
                let (parts, body) = req.into_parts();
                match read_ahead(body).await {
                    Ok((bytes, rest)) => {
                        audit.request_body(&bytes, info.method == Method::PATCH);
                        req = Request::from_parts(parts, rest);
                    }
                    Err(e) => return response::error(&e),
                }
            }
        }
        let RequestInfo {
            path,
            query,
            target,
            ..
        } = info;
        if let Some(response) = self.health.respond(&path, &query).await {
            return response;
        }
        let Some(user) = user else {
            return response::error(&authentication::unauthorized());
        };
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

/// The innermost service of the chain: [`ApiServer::serve`].
#[derive(Debug, Clone)]
struct Endpoint(Arc<ApiServer>);

impl tower::Service<HttpRequest> for Endpoint {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response<Body>, Infallible>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: HttpRequest) -> Self::Future {
        let server = self.0.clone();
        Box::pin(async move { Ok(server.serve(req).await) })
    }
}

fn has_body(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Reads a request body ahead (for the audit log) and gives it back as a body, with the
/// handlers' size limit.
async fn read_ahead(body: RequestBody) -> Result<(Bytes, RequestBody), ApiError> {
    let bytes = request::body::read_bytes(body).await?;
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
