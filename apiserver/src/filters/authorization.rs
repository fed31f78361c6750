//! The authorization filter: the attributes of a request (its [`RequestInfo`](crate::request::RequestInfo)
//! and user), decided by the configured chain; 403 with kube-apiserver's message when not
//! allowed, 500 when no authorizer could decide because of an error
//! (k8s.io/apiserver `pkg/endpoints/filters/authorization.go`).

use std::sync::Arc;

use http::Response;

use super::audit::AuditRecord;
use super::{pass, refuse, request_info, request_user, Filter, HttpRequest, Next, Refusal};
use crate::authentication::is_public;
use crate::authorization::{forbidden, Attributes, Authorizer, Decision};
use crate::response::Body;

/// Lets a request through when the authorizer chain allows its attributes.
#[derive(Debug, Clone)]
pub struct Authorize {
    pub authorizer: Arc<dyn Authorizer>,
}

impl Filter for Authorize {
    async fn filter(&self, req: HttpRequest, next: Next) -> Response<Body> {
        let info = request_info(&req);
        let Some(user) = request_user(&req).filter(|_| !is_public(&info.path)) else {
            return pass(next, req).await;
        };
        let attributes = info.attributes(user);
        let (decision, outcome) = authorize(self.authorizer.as_ref(), &attributes).await;
        if let Some(audit) = req.extensions().get::<AuditRecord>() {
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
        match outcome {
            Ok(()) => pass(next, req).await,
            Err(refusal) => refuse(req, refusal).await,
        }
    }
}

/// The chain's decision, and what it means for the request: `Ok`, a 403, or a plain 500
/// when an authorizer failed and none allowed.
pub async fn authorize(
    authorizer: &dyn Authorizer,
    attributes: &Attributes,
) -> (Decision, Result<(), Refusal>) {
    let decision = authorizer.authorize(attributes).await;
    let outcome = if decision.allowed() {
        Ok(())
    } else if let Some(error) = &decision.error {
        Err(Refusal::Internal(error.clone()))
    } else {
        Err(Refusal::Status(forbidden(attributes, &decision.reason)))
    };
    (decision, outcome)
}
