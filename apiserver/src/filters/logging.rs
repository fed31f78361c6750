//! One log line per request at debug, as kube-apiserver's httplog logs at `-v=3`: verb, path,
//! user, code, latency, audit ID — tower-http's `TraceLayer`, with a span per request that the
//! authentication and impersonation filters fill with the user.

use std::time::Duration;

use http::{Request, Response};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{MakeSpan, OnResponse, TraceLayer};
use tracing::Span;

/// The layer: a span per request, a line per response, nothing else (no line at the start,
/// per chunk, at the end of a stream, or for 5xx beyond the response line).
pub type Layer =
    TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan, (), ResponseLine, (), (), ()>;

pub fn layer() -> Layer {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(())
        .on_response(ResponseLine)
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

/// Records the user a request acts as in its span (authentication, then impersonation).
pub fn record_user(name: &str) {
    Span::current().record("user", tracing::field::display(name));
}

/// The span of a request: `request{verb path audit_id user}`.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &Request<B>) -> Span {
        tracing::debug_span!(
            "request",
            verb = %req.method(),
            path = %req.uri().path(),
            audit_id = %super::audit_id::of(req),
            user = tracing::field::Empty,
        )
    }
}

/// The line of a response: code and latency, in the request's span.
#[derive(Debug, Clone, Copy)]
pub struct ResponseLine;

impl<B> OnResponse<B> for ResponseLine {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        tracing::debug!(
            parent: span,
            code = response.status().as_u16(),
            latency = %format_args!("{latency:.1?}"),
            "request"
        );
    }
}
