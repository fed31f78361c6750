//! A handler that panics answers 500, as kube-apiserver's `WithPanicRecovery`
//! (k8s.io/apiserver `pkg/server/filters/wrap.go`): Go's `http.Error` with upstream's text,
//! and the panic logged — tower-http's `CatchPanicLayer`. A panic inside a streamed body
//! (a watch) ends that stream only (`response::streaming`).

use std::any::Any;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use tower_http::catch_panic::{CatchPanicLayer, ResponseForPanic};

/// What upstream answers.
pub const MESSAGE: &str = "This request caused apiserver to panic. Look in the logs for details.";

pub fn layer() -> CatchPanicLayer<PanicResponse> {
    CatchPanicLayer::custom(PanicResponse)
}

/// The 500 of a panic.
#[derive(Debug, Clone, Copy)]
pub struct PanicResponse;

impl ResponseForPanic for PanicResponse {
    type ResponseBody = Full<Bytes>;

    fn response_for_panic(
        &mut self,
        panic: Box<dyn Any + Send + 'static>,
    ) -> Response<Full<Bytes>> {
        tracing::error!(panic = describe(panic.as_ref()), "apiserver panic'd");
        let mut response = Response::new(Full::from(format!("{MESSAGE}\n")));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(
            "X-Content-Type-Options",
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

/// The panic's message, when it has one.
pub fn describe(panic: &(dyn Any + Send)) -> &str {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text
    } else {
        "a panic without a message"
    }
}
