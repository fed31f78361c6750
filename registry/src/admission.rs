//! Checks that read other objects — a ClusterDeployment's config against the schema of the
//! ClusterTemplate it names, an upgrade against the template's allowed targets — the part of
//! kube-apiserver's validating admission a strategy cannot do alone. They run after the
//! strategy's own validation, on create and on updates of the main resource (not `/status`),
//! and their errors are 422 causes like the strategy's.

use async_trait::async_trait;
use serde_json::Value;

use crate::field::FieldError;
use crate::generic::GenericStore;

/// What an admission check gets: the store to read from and the write being checked.
#[derive(Debug)]
pub struct Request<'a> {
    pub store: &'a GenericStore,
    /// The namespace of the object (`None` for cluster-scoped kinds).
    pub namespace: Option<&'a str>,
    /// The object as it would be stored.
    pub new: &'a Value,
    /// The stored object on update, `None` on create.
    pub old: Option<&'a Value>,
}

/// A check against other objects. Reads go to storage directly (current state); a missing
/// object is not an error unless the kind says so.
#[async_trait]
pub trait Admission: Send + Sync {
    async fn admit(&self, request: &Request<'_>) -> Vec<FieldError>;
}
