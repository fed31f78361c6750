//! Who is asking: the authenticators kube-apiserver and aggregated servers chain, tried in
//! kube-apiserver's order — front-proxy request headers, x509 client certificates, bearer
//! tokens (static token file, then delegated TokenReview) — then anonymous when enabled.
//!
//! Upstream: k8s.io/apiserver `pkg/authentication/request/union/union.go`,
//! `pkg/authentication/authenticatorfactory/delegating.go`, `pkg/kubeapiserver/authenticator`.

pub mod extension;
pub mod request_header;
pub mod token_file;
pub mod token_review;

use std::sync::{Arc, RwLock};

use http::HeaderMap;
use registry::ApiError;

use crate::tls::PeerIdentity;

pub use registry::authorizer::{User, ANONYMOUS, AUTHENTICATED, MASTERS, UNAUTHENTICATED};
pub use request_header::RequestHeaderConfig;
pub use token_file::TokenFile;
pub use token_review::TokenReviewer;

/// The extra attribute naming the credential a user authenticated with.
pub const CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";

/// How requests are authenticated.
#[derive(Debug, Default)]
pub struct Authentication {
    /// Front-proxy headers, trusted on connections whose certificate the request-header CA
    /// verified (reloadable: from flags or the host cluster's ConfigMap).
    pub request_header: RwLock<Option<Arc<RequestHeaderConfig>>>,
    /// Whether client certificates of the client CA authenticate (CN = user, O = groups).
    pub x509: bool,
    /// Bearer tokens of a static token file.
    pub token_file: Option<TokenFile>,
    /// Bearer tokens checked by TokenReview against another server.
    pub token_review: Option<TokenReviewer>,
    /// Whether unauthenticated requests proceed as `system:anonymous`.
    pub anonymous: bool,
}

/// 401 for a request without valid credentials.
pub fn unauthorized() -> ApiError {
    ApiError::new(401, "Unauthorized", "Unauthorized")
}

/// Paths answered without authentication, so that probes work with anonymous access off.
pub fn is_public(path: &str) -> bool {
    ["/healthz", "/livez", "/readyz"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

impl Authentication {
    /// Only client certificates (in-process tests and the simplest setups).
    pub fn x509_only() -> Self {
        Authentication {
            x509: true,
            ..Authentication::default()
        }
    }

    pub fn set_request_header(&self, config: Option<RequestHeaderConfig>) {
        *self
            .request_header
            .write()
            .unwrap_or_else(|p| p.into_inner()) = config.map(Arc::new);
    }

    /// The user of a request. Headers used for authentication are removed (the front-proxy
    /// headers always, so nothing downstream can mistake them for the truth; `Authorization`
    /// once read). `Ok(None)`: no credentials and anonymous access off. An error: credentials
    /// were presented and are not valid (401 even with anonymous access on).
    pub async fn authenticate(
        &self,
        headers: &mut HeaderMap,
        peer: &PeerIdentity,
    ) -> Result<Option<User>, ApiError> {
        let request_header = self
            .request_header
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let from_proxy = request_header
            .as_ref()
            .and_then(|config| config.authenticate(headers, peer));
        if let Some(config) = &request_header {
            config.clear(headers);
        }
        if let Some(user) = from_proxy {
            return Ok(Some(user.with_authenticated_group()));
        }
        let mut failed = false;
        if self.x509 {
            if let Some((name, groups)) = &peer.client {
                let mut user = User::new(name, groups.clone());
                user.extra
                    .insert(CREDENTIAL_ID.into(), vec![peer.credential_id.clone()]);
                return Ok(Some(user.with_authenticated_group()));
            }
        }
        // A certificate the client CA does not vouch for is an error of the x509
        // authenticator (a front-proxy certificate without its user header included): 401
        // unless a token succeeds, never anonymous — as kube-apiserver's union of
        // authenticators decides.
        failed |= peer.presented;
        if let Some(token) = bearer_token(headers) {
            headers.remove(http::header::AUTHORIZATION);
            if let Some(user) = self
                .token_file
                .as_ref()
                .and_then(|f| f.authenticate(&token))
            {
                return Ok(Some(user.with_authenticated_group()));
            }
            if let Some(reviewer) = &self.token_review {
                match reviewer.authenticate(&token).await {
                    Ok(Some(user)) => return Ok(Some(user.with_authenticated_group())),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "token review failed"),
                }
            }
            failed = true;
        }
        if failed {
            return Err(unauthorized());
        }
        Ok(self.anonymous.then(User::anonymous))
    }
}

/// The key of an extra attribute from a header name's suffix (already lowercase): `%`-escapes
/// decoded as Go's `url.PathUnescape`, the key kept as it is when it is not validly escaped
/// (upstream's `unescapeExtraKey`, for front-proxy and impersonation headers alike).
pub fn unescape_extra_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            match key
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => return key.to_owned(),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| key.to_owned())
}

/// The token of `Authorization: Bearer <token>` (k8s.io/apiserver
/// `pkg/authentication/request/bearertoken`): the scheme is matched case-insensitively, the
/// token is the second space-separated part; an empty one (`Bearer` and two spaces) is no
/// token, not a bad one.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let mut parts = value.splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer_client(name: &str, groups: &[&str]) -> PeerIdentity {
        PeerIdentity {
            client: Some((name.into(), groups.iter().map(|g| g.to_string()).collect())),
            ..PeerIdentity::default()
        }
    }

    #[tokio::test]
    async fn client_certificates_name_the_user_and_groups() {
        let auth = Authentication::x509_only();
        let user = auth
            .authenticate(&mut HeaderMap::new(), &peer_client("alice", &["team-a"]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.name, "alice");
        assert_eq!(user.groups, ["team-a", AUTHENTICATED]);
        assert!(user.extra.contains_key(CREDENTIAL_ID));
    }

    #[tokio::test]
    async fn no_credentials_is_anonymous_only_when_enabled() {
        let mut auth = Authentication::x509_only();
        let none = PeerIdentity::default();
        assert_eq!(
            auth.authenticate(&mut HeaderMap::new(), &none).await,
            Ok(None)
        );
        auth.anonymous = true;
        let user = auth
            .authenticate(&mut HeaderMap::new(), &none)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.name, ANONYMOUS);
        assert_eq!(user.groups, [UNAUTHENTICATED]);
    }

    #[tokio::test]
    async fn bad_credentials_are_refused_even_with_anonymous_access() {
        let auth = Authentication {
            anonymous: true,
            x509: true,
            ..Authentication::default()
        };
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer nope".parse().unwrap());
        let refused = auth
            .authenticate(&mut headers, &PeerIdentity::default())
            .await;
        assert_eq!(refused.unwrap_err().code(), 401);
        let unverified = PeerIdentity {
            presented: true,
            ..PeerIdentity::default()
        };
        let refused = auth.authenticate(&mut HeaderMap::new(), &unverified).await;
        assert_eq!(refused.unwrap_err().code(), 401);
    }

    #[test]
    fn bearer_tokens_are_read_like_upstream() {
        let token = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("authorization", value.parse().unwrap());
            bearer_token(&headers)
        };
        assert_eq!(token("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(token("bearer abc").as_deref(), Some("abc"));
        assert_eq!(token("Bearer "), None);
        assert_eq!(token("Bearer  abc"), None);
        assert_eq!(token("Bearer a b").as_deref(), Some("a"));
        assert_eq!(token("Basic abc"), None);
    }
}
