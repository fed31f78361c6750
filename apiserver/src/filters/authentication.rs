//! The authentication filter: the user of every request but the public health paths, or 401
//! (k8s.io/apiserver `pkg/endpoints/filters/authentication.go`); a refused request is audited
//! as upstream's `WithFailedAuthenticationAudit` does. The authenticators are in
//! [`crate::authentication`].

use std::sync::Arc;

use http::{HeaderMap, Response};
use registry::authorizer::CONTROLLER_MANAGER;
use registry::ApiError;

use super::audit::RequestAudit;
use super::{logging, pass, refuse, request_info, Filter, HttpRequest, Next, Refusal, RequestUser};
use crate::audit::AuditLog;
use crate::authentication::{is_public, unauthorized, Authentication, User, ANONYMOUS};
use crate::response::Body;
use crate::server::Connection;
use crate::tls::PeerIdentity;

/// The user of a request made in process (`crate::inprocess`): only this crate creates one.
#[derive(Debug, Clone)]
pub struct InProcess(User);

impl InProcess {
    pub(crate) fn new(user: User) -> InProcess {
        InProcess(user)
    }
}

/// Puts the request's [`RequestUser`] in its extensions, or answers 401.
#[derive(Debug, Clone)]
pub struct Authenticate {
    pub authentication: Arc<Authentication>,
    /// Where refused requests are audited.
    pub audit: Option<Arc<AuditLog>>,
}

impl Filter for Authenticate {
    async fn filter(&self, mut req: HttpRequest, next: Next) -> Response<Body> {
        if let Some(InProcess(user)) = req.extensions().get::<InProcess>().cloned() {
            logging::record_user(&user.name);
            req.extensions_mut().insert(RequestUser(Some(user)));
            return pass(next, req).await;
        }
        let peer = req
            .extensions()
            .get::<Connection>()
            .map(Connection::identity)
            .unwrap_or_default();
        let path = request_info(&req).path.clone();
        match authenticate(&self.authentication, &path, req.headers_mut(), &peer).await {
            Ok(user) => {
                logging::record_user(user.as_ref().map_or(ANONYMOUS, |u| u.name.as_str()));
                req.extensions_mut().insert(RequestUser(user));
                pass(next, req).await
            }
            Err(e) => {
                logging::record_user(ANONYMOUS);
                let audit = self
                    .audit
                    .as_ref()
                    .and_then(|log| RequestAudit::start(log, &req, &User::default(), true));
                let watch = request_info(&req).is_watch();
                let response = refuse(req, Refusal::Status(e)).await;
                match audit {
                    Some(audit) => audit.finish(response, watch).await,
                    None => response,
                }
            }
        }
    }
}

/// The user of a request from the network; `Ok(None)` only for public paths without
/// credentials. The in-process controllers' user is no such user, whatever vouches for it.
pub async fn authenticate(
    authentication: &Authentication,
    path: &str,
    headers: &mut HeaderMap,
    peer: &PeerIdentity,
) -> Result<Option<User>, ApiError> {
    match authentication.authenticate(headers, peer).await {
        Ok(Some(user)) if user.name == CONTROLLER_MANAGER => {
            tracing::warn!(user = %user.name, "a request from the network claimed the in-process controllers' user");
            Err(unauthorized())
        }
        Ok(Some(user)) => Ok(Some(user)),
        Ok(None) | Err(_) if is_public(path) => Ok(None),
        Ok(None) => Err(unauthorized()),
        Err(e) => Err(e),
    }
}
