//! The Webhook mode: asks another server with a `SubjectAccessReview` (authorization.k8s.io/v1),
//! as aggregated servers delegate to kube-apiserver; allowed and denied answers are cached for
//! a short time (k8s.io/apiserver `pkg/authorization/authorizerfactory/delegating.go`,
//! `plugin/pkg/authorizer/webhook/webhook.go`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{Attributes, Authorizer, Decision, Verdict};

/// How long an allowed or denied answer is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(10);
/// The most answers kept.
const CACHE_ENTRIES: usize = 8192;
/// How long a review may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Delegates decisions to a Kubernetes API server.
pub struct WebhookAuthorizer {
    client: kube::Client,
    cache: Mutex<HashMap<String, (Instant, Decision)>>,
}

impl std::fmt::Debug for WebhookAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookAuthorizer").finish()
    }
}

impl WebhookAuthorizer {
    pub fn new(client: kube::Client) -> Self {
        WebhookAuthorizer {
            client,
            cache: Mutex::new(HashMap::new()),
        }
    }

    async fn review(&self, spec: &Value) -> Result<Value, String> {
        let body = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": spec,
        });
        let request = http::Request::post("/apis/authorization.k8s.io/v1/subjectaccessreviews")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&body).unwrap_or_default())
            .map_err(|e| e.to_string())?;
        tokio::time::timeout(TIMEOUT, self.client.request::<Value>(request))
            .await
            .map_err(|_| format!("the SubjectAccessReview timed out after {TIMEOUT:?}"))?
            .map_err(|e| format!("posting the SubjectAccessReview: {e}"))
    }
}

/// The `spec` of the SubjectAccessReview for a request.
pub fn review_spec(a: &Attributes) -> Value {
    let mut spec = Map::new();
    spec.insert("user".into(), json!(a.user.name));
    if !a.user.uid.is_empty() {
        spec.insert("uid".into(), json!(a.user.uid));
    }
    if !a.user.groups.is_empty() {
        spec.insert("groups".into(), json!(a.user.groups));
    }
    if !a.user.extra.is_empty() {
        spec.insert("extra".into(), json!(a.user.extra));
    }
    if a.resource_request {
        let mut attributes = Map::new();
        for (key, value) in [
            ("namespace", &a.namespace),
            ("verb", &a.verb),
            ("group", &a.api_group),
            ("version", &a.api_version),
            ("resource", &a.resource),
            ("subresource", &a.subresource),
            ("name", &a.name),
        ] {
            if !value.is_empty() {
                attributes.insert(key.into(), json!(value));
            }
        }
        spec.insert("resourceAttributes".into(), Value::Object(attributes));
    } else {
        spec.insert(
            "nonResourceAttributes".into(),
            json!({"path": a.path, "verb": a.verb}),
        );
    }
    Value::Object(spec)
}

/// The decision a SubjectAccessReview answer carries.
fn decision_of(review: &Value) -> Decision {
    let status = &review["status"];
    let reason = status["reason"].as_str().unwrap_or_default();
    if status["allowed"] == Value::Bool(true) {
        Decision::allow(reason)
    } else if status["denied"] == Value::Bool(true) {
        Decision::deny(reason)
    } else {
        Decision::no_opinion(reason)
    }
}

#[async_trait]
impl Authorizer for WebhookAuthorizer {
    async fn authorize(&self, attributes: &Attributes) -> Decision {
        let spec = review_spec(attributes);
        let key = spec.to_string();
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, decision)) = cache.get(&key) {
                if at.elapsed() < CACHE_TTL {
                    return decision.clone();
                }
            }
        }
        match self.review(&spec).await {
            Ok(review) => {
                let decision = decision_of(&review);
                let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                // Bounded: expired answers go when the cache is full, and everything if that is not
                // enough (many different clients' keys within one TTL).
                if cache.len() >= CACHE_ENTRIES {
                    cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
                    if cache.len() >= CACHE_ENTRIES {
                        cache.clear();
                    }
                }
                cache.insert(key, (Instant::now(), decision.clone()));
                decision
            }
            // Not cached: the next request asks again.
            Err(error) => Decision {
                verdict: Verdict::NoOpinion,
                reason: String::new(),
                error: Some(error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authentication::User;

    #[test]
    fn specs_carry_the_user_and_the_request() {
        let a = Attributes {
            user: User::new("alice", vec!["team-a".into()]),
            verb: "list".into(),
            resource_request: true,
            namespace: "team-a".into(),
            api_group: "fleet.k0rdent.io".into(),
            api_version: "v1alpha1".into(),
            resource: "clusterdeployments".into(),
            ..Attributes::default()
        };
        assert_eq!(
            review_spec(&a),
            json!({"user": "alice", "groups": ["team-a"], "resourceAttributes": {
                "namespace": "team-a", "verb": "list", "group": "fleet.k0rdent.io",
                "version": "v1alpha1", "resource": "clusterdeployments"}})
        );
        let path = Attributes {
            user: User::new("bob", vec![]),
            verb: "get".into(),
            path: "/version".into(),
            ..Attributes::default()
        };
        assert_eq!(
            review_spec(&path),
            json!({"user": "bob", "nonResourceAttributes": {"path": "/version", "verb": "get"}})
        );
    }

    #[test]
    fn answers_become_decisions() {
        assert!(decision_of(&json!({"status": {"allowed": true}})).allowed());
        assert_eq!(
            decision_of(&json!({"status": {"allowed": false, "denied": true, "reason": "no"}})),
            Decision::deny("no")
        );
        assert_eq!(
            decision_of(&json!({"status": {"allowed": false}})).verdict,
            Verdict::NoOpinion
        );
    }
}
