//! The request's audit ID, as k8s.io/apiserver's `WithAuditInit`: the client's `Audit-ID`
//! header when it sends a usable one, a new UUID otherwise, in the request (where the
//! audit filter and the log line read it) and echoed on every response (`Audit-Id`) —
//! tower-http's request-id layers.

use http::{HeaderName, HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// The header, in both directions.
pub const AUDIT_ID: HeaderName = HeaderName::from_static("audit-id");

/// Drops an `Audit-ID` the server would not use: empty (upstream's `len(auditID) == 0`) or
/// not text, so that [`MakeAuditId`] makes one.
pub fn drop_unusable<B>(mut req: Request<B>) -> Request<B> {
    let unusable = req
        .headers()
        .get(&AUDIT_ID)
        .is_some_and(|v| v.is_empty() || v.to_str().is_err());
    if unusable {
        req.headers_mut().remove(&AUDIT_ID);
    }
    req
}

/// A new audit ID: a random UUID, as upstream's.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeAuditId;

impl MakeRequestId for MakeAuditId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&registry::meta::new_uid())
            .ok()
            .map(RequestId::new)
    }
}

/// The request's audit ID (set by the layers before any filter runs).
pub fn of<B>(req: &Request<B>) -> &str {
    req.extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
}
