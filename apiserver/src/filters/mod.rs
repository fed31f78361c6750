//! What happens to every request before a handler sees it, in this order: authentication,
//! impersonation, authorization (audit records the outcome around them).

pub mod audit;
pub mod authentication;
pub mod authorization;
pub mod impersonation;

use http::Response;
use registry::ApiError;

use crate::response::{self, Body};

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

impl Refusal {
    /// The response; `request_uri` is the path and query.
    pub fn respond(&self, request_uri: &str) -> Response<Body> {
        match self {
            Refusal::Status(error) => {
                // As responsewriters.RespondWithError.
                let mut response = response::error(error);
                response.headers_mut().insert(
                    "X-Content-Type-Options",
                    http::HeaderValue::from_static("nosniff"),
                );
                response
            }
            Refusal::Internal(error) => {
                // Go's http.Error after the sanitizer of responsewriters/errors.go.
                let text = format!("Internal Server Error: {request_uri:?}: {error}")
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;");
                let mut response = response::with_type(
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain; charset=utf-8",
                    format!("{text}\n"),
                );
                response.headers_mut().insert(
                    "X-Content-Type-Options",
                    http::HeaderValue::from_static("nosniff"),
                );
                response
            }
        }
    }
}
