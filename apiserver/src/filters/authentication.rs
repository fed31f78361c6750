//! The authentication filter: the user of every request but the public health paths, or 401
//! (k8s.io/apiserver `pkg/endpoints/filters/authentication.go`). The authenticators are in
//! [`crate::authentication`].

use http::HeaderMap;
use registry::ApiError;

use crate::authentication::{is_public, unauthorized, Authentication, User};
use crate::tls::PeerIdentity;

/// The user of a request; `Ok(None)` only for public paths without credentials.
pub async fn authenticate(
    authentication: &Authentication,
    path: &str,
    headers: &mut HeaderMap,
    peer: &PeerIdentity,
) -> Result<Option<User>, ApiError> {
    match authentication.authenticate(headers, peer).await {
        Ok(Some(user)) => Ok(Some(user)),
        Ok(None) | Err(_) if is_public(path) => Ok(None),
        Ok(None) => Err(unauthorized()),
        Err(e) => Err(e),
    }
}
