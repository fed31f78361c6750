//! Bearer tokens checked by another server: a `TokenReview` (authentication.k8s.io/v1) posted
//! to the host cluster, answers cached for a short time (k8s.io/apiserver
//! `pkg/authentication/authenticatorfactory/delegating.go`, `plugin/pkg/authenticator/token/webhook`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::User;

/// How long an answer (yes or no) is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(10);
/// The most answers kept.
const CACHE_ENTRIES: usize = 8192;
/// How long a review may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A review that did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum TokenReviewError {
    /// The request failed.
    #[error("posting the TokenReview")]
    Request(#[source] kube::Error),
    /// The request took too long.
    #[error("the TokenReview timed out after {0:?}")]
    Timeout(Duration),
}

/// A review's answer (the user, or none) and when it was given.
type Answer = (Instant, Option<User>);

/// Reviews tokens with a Kubernetes API server.
pub struct TokenReviewer {
    client: kube::Client,
    audiences: Vec<String>,
    /// Answers by the digest of their token, with when they were given.
    cache: Mutex<HashMap<[u8; 32], Answer>>,
}

impl std::fmt::Debug for TokenReviewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenReviewer")
            .field("audiences", &self.audiences)
            .finish()
    }
}

impl TokenReviewer {
    pub fn new(client: kube::Client, audiences: Vec<String>) -> Self {
        TokenReviewer {
            client,
            audiences,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The user of `token`, `None` when the server says it is not authenticated.
    pub async fn authenticate(&self, token: &str) -> Result<Option<User>, TokenReviewError> {
        // Keyed by a digest: tokens are not kept in memory longer than needed.
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(answer) = self.cached(&key) {
            return Ok(answer);
        }
        let mut spec = json!({"token": token});
        if !self.audiences.is_empty() {
            spec["audiences"] = json!(self.audiences);
        }
        let body = json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": spec,
        });
        let request = http::Request::post("/apis/authentication.k8s.io/v1/tokenreviews")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&body).unwrap_or_default())
            .map_err(|e| TokenReviewError::Request(kube::Error::HttpError(e)))?;
        let review: Value = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| TokenReviewError::Timeout(TIMEOUT))?
            .map_err(TokenReviewError::Request)?;
        let answer = user_of(&review);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: expired answers go when the cache is full, and everything if that is not
        // enough (many different clients' keys within one TTL).
        if cache.len() >= CACHE_ENTRIES {
            cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(key, (Instant::now(), answer.clone()));
        Ok(answer)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Option<User>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(key)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, answer)| answer.clone())
    }
}

/// The user of an answered TokenReview, `None` unless `status.authenticated`.
fn user_of(review: &Value) -> Option<User> {
    let status = &review["status"];
    if status["authenticated"] != Value::Bool(true) {
        return None;
    }
    let user = &status["user"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    Some(User {
        name: user["username"].as_str()?.to_owned(),
        uid: user["uid"].as_str().unwrap_or_default().to_owned(),
        groups: strings(&user["groups"]),
        extra: user["extra"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), strings(v))).collect())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_users() {
        let review = json!({"status": {"authenticated": true, "user": {
            "username": "alice", "uid": "42", "groups": ["team-a"], "extra": {"scopes": ["x"]}}}});
        let user = user_of(&review).unwrap();
        assert_eq!(user.name, "alice");
        assert_eq!(user.uid, "42");
        assert_eq!(user.groups, ["team-a"]);
        assert_eq!(user.extra["scopes"], ["x"]);
        assert_eq!(user_of(&json!({"status": {"authenticated": false}})), None);
        assert_eq!(user_of(&json!({"status": {"error": "bad token"}})), None);
    }
}
