//! What happens to every request before a handler sees it: tower layers, one file each, in
//! kube-apiserver's order (k8s.io/apiserver `pkg/server/config.go`, `DefaultBuildHandlerChain`),
//! outermost first:
//!
//! 1. [`audit_id`]: the request's `Audit-ID` (the client's, or a new one), echoed on the
//!    response (tower-http's request-id layers);
//! 2. [`logging`]: one log line per request (tower-http's `TraceLayer`);
//! 3. [`panic`]: a panicking handler answers 500 (tower-http's `CatchPanicLayer`);
//! 4. request info: the request classified once into a [`RequestInfo`](crate::request::RequestInfo)
//!    in its extensions;
//! 5. [`compression`]: gzip for large whole bodies, when asked (tower-http's
//!    `CompressionLayer` with kube-apiserver's rule);
//! 6. [`authentication`]: the user, or 401;
//! 7. [`audit`]: the audit event around everything inside;
//! 8. [`impersonation`]: `Impersonate-*` headers, each authorized;
//! 9. [`authorization`]: the request's attributes decided by the authorizer chain, or 403.
//!
//! The filters of our own (6–9) are [`Filter`]s made layers by [`FilterLayer`]: each gets the
//! request and the rest of the chain ([`Next`]), and answers.

pub mod audit;
pub mod audit_id;
pub mod authentication;
pub mod authorization;
pub mod compression;
pub mod impersonation;
pub mod logging;
pub mod panic;
#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use registry::ApiError;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};

use crate::authentication::User;
use crate::request::body::RequestBody;
use crate::request::RequestInfo;
use crate::response::{self, Body};

/// A request inside the chain.
pub type HttpRequest = Request<RequestBody>;
/// The rest of the chain, as a filter calls it.
pub type Next = BoxCloneSyncService<HttpRequest, Response<Body>, Infallible>;

/// One step of the chain: it sees the request, and either answers it or passes it on with
/// [`pass`].
pub trait Filter: Clone + Send + Sync + 'static {
    fn filter(&self, req: HttpRequest, next: Next) -> impl Future<Output = Response<Body>> + Send;
}

/// A [`Filter`] as a `tower::Layer`.
#[derive(Debug, Clone)]
pub struct FilterLayer<F>(pub F);

impl<F, S> Layer<S> for FilterLayer<F>
where
    F: Filter,
    S: Service<HttpRequest, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    type Service = FilterService<F>;

    fn layer(&self, inner: S) -> FilterService<F> {
        FilterService {
            filter: self.0.clone(),
            next: BoxCloneSyncService::new(inner),
        }
    }
}

/// A [`Filter`] in front of the rest of the chain.
#[derive(Debug, Clone)]
pub struct FilterService<F> {
    filter: F,
    next: Next,
}

impl<F: Filter> Service<HttpRequest> for FilterService<F> {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Every service of the chain is always ready; `pass` calls the next one with oneshot.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: HttpRequest) -> Self::Future {
        let filter = self.filter.clone();
        let next = self.next.clone();
        Box::pin(async move { Ok(filter.filter(req, next).await) })
    }
}

/// Hands the request to the rest of the chain.
pub async fn pass(next: Next, req: HttpRequest) -> Response<Body> {
    match next.oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The user a request acts as, in its extensions once authenticated (the impersonated user
/// after impersonation); `None` for a public path asked without credentials.
#[derive(Debug, Clone)]
pub struct RequestUser(pub Option<User>);

/// The request's info: the request-info step put it there before any filter runs.
pub fn request_info(req: &HttpRequest) -> &RequestInfo {
    req.extensions()
        .get::<RequestInfo>()
        .expect("the request-info step runs before every filter")
}

/// The request's user, as authentication (and impersonation) left it.
pub fn request_user(req: &HttpRequest) -> Option<&User> {
    req.extensions()
        .get::<RequestUser>()
        .and_then(|u| u.0.as_ref())
}

/// Why a filter refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Answered with a `Status`.
    Status(ApiError),
    /// An internal error answered as kube-apiserver's `responsewriters.InternalError` does: a
    /// plain-text 500 (an authorizer that failed, a malformed impersonation).
    Internal(String),
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Refusal::Status(error)
    }
}

/// Refuses a request. The body is read and thrown away first, so the connection can serve
/// the next request (hyper would otherwise close it, racing the client); a body that cannot
/// be read closes the connection.
pub async fn refuse(req: HttpRequest, refusal: Refusal) -> Response<Body> {
    let uri = request_info(&req).uri.clone();
    let drained = crate::request::body::discard(req.into_body()).await;
    let mut response = refusal.respond(&uri);
    if !drained {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

impl Refusal {
    /// The response; `request_uri` is the path and query.
    pub fn respond(&self, request_uri: &str) -> Response<Body> {
        let mut response = match self {
            // As responsewriters.RespondWithError.
            Refusal::Status(error) => response::error(error),
            Refusal::Internal(error) => {
                // Go's http.Error after the sanitizer of responsewriters/errors.go.
                let text = format!("Internal Server Error: {request_uri:?}: {error}")
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;");
                response::with_type(
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain; charset=utf-8",
                    format!("{text}\n"),
                )
            }
        };
        response.headers_mut().insert(
            "X-Content-Type-Options",
            http::HeaderValue::from_static("nosniff"),
        );
        response
    }
}
