//! authentication.k8s.io/v1 messages: SelfSubjectReview, TokenReview (without their `status`).
//!
//! Field numbers from k8s.io/api `authentication/v1/generated.proto`; JSON from its `types.go`.

use prost::Message;

use super::meta::{self, ObjectMeta};
use super::{Fields, Object, Result};

/// The group version of these kinds.
pub(super) const GROUP_VERSION: &str = "authentication.k8s.io/v1";

/// `SelfSubjectReview`: only metadata, as the whole review is its status.
#[derive(Clone, PartialEq, Message)]
pub(super) struct SelfSubjectReview {
    #[prost(message, optional, tag = "1")]
    pub(super) metadata: Option<ObjectMeta>,
}

impl Object for SelfSubjectReview {
    fn into_fields(self) -> Result<Fields> {
        Ok(Fields::default().object("metadata", meta::metadata(self.metadata)?))
    }
}

/// `TokenReview`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct TokenReview {
    #[prost(message, optional, tag = "1")]
    pub(super) metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    pub(super) spec: Option<TokenReviewSpec>,
}

/// `TokenReviewSpec`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct TokenReviewSpec {
    #[prost(string, optional, tag = "1")]
    pub(super) token: Option<String>,
    #[prost(string, repeated, tag = "2")]
    pub(super) audiences: Vec<String>,
}

impl Object for TokenReview {
    fn into_fields(self) -> Result<Fields> {
        let spec = self.spec.unwrap_or_default();
        Ok(Fields::default()
            .object("metadata", meta::metadata(self.metadata)?)
            .object(
                "spec",
                Fields::default()
                    .string("token", spec.token)
                    .list("audiences", spec.audiences),
            ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{decode, envelope, some};
    use super::*;

    #[test]
    fn self_subject_review_is_its_metadata() {
        let review = SelfSubjectReview {
            metadata: Some(ObjectMeta {
                creation_timestamp: Some(meta::Time::default()),
                ..ObjectMeta::default()
            }),
        };
        let body = envelope(GROUP_VERSION, "SelfSubjectReview", &review);
        assert_eq!(
            decode(&body).unwrap(),
            json!({"apiVersion": GROUP_VERSION, "kind": "SelfSubjectReview", "metadata": {}})
        );
    }

    #[test]
    fn token_review_writes_token_and_audiences() {
        let review = TokenReview {
            metadata: None,
            spec: Some(TokenReviewSpec {
                token: some("t0k3n"),
                audiences: vec!["api".into()],
            }),
        };
        let body = envelope(GROUP_VERSION, "TokenReview", &review);
        assert_eq!(
            decode(&body).unwrap(),
            json!({
                "apiVersion": GROUP_VERSION, "kind": "TokenReview", "metadata": {},
                "spec": {"token": "t0k3n", "audiences": ["api"]},
            })
        );
    }
}
