//! Who is asking: the user of a verified client certificate (CN = user, O = groups), as
//! kube-apiserver's x509 authenticator reads it. Anonymous requests are refused with 401,
//! except on health paths.

use registry::ApiError;
use rustls_pki_types::CertificateDer;

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
}

/// The group every authenticated user is in.
pub const AUTHENTICATED: &str = "system:authenticated";

/// The user of a connection whose client certificate chain rustls verified against the
/// client CA; `None` without a certificate.
pub fn from_certificates(chain: &[CertificateDer<'static>]) -> Result<Option<User>, ApiError> {
    let Some(leaf) = chain.first() else {
        return Ok(None);
    };
    let (name, mut groups) =
        certs::identity_from_certificate(leaf.as_ref()).map_err(|_| unauthorized())?;
    if !groups.iter().any(|g| g == AUTHENTICATED) {
        groups.push(AUTHENTICATED.into());
    }
    Ok(Some(User { name, groups }))
}

/// 401 for a request without credentials.
pub fn unauthorized() -> ApiError {
    ApiError::new(401, "Unauthorized", "Unauthorized")
}

/// Paths answered without authentication, so that probes work with anonymous access off.
pub fn is_public(path: &str) -> bool {
    ["/healthz", "/livez", "/readyz"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}
