//! Checks that read other objects — a ClusterDeployment's config against the schema of the
//! ClusterTemplate it names, an upgrade against the template's allowed targets — the part of
//! kube-apiserver's validating admission a strategy cannot do alone. They run after the
//! strategy's own validation, on create and on updates of the main resource (not `/status`),
//! and their errors are 422 causes like the strategy's.

use async_trait::async_trait;
use serde_json::Value;

use crate::authorizer::PolicyRule;
use crate::errors::Result;
use crate::field::FieldError;
use crate::generic::GenericStore;
use crate::resource::{GroupResource, ResourceDefinition};

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

/// Who writes, as the authorizer sees them: what a kind's [`WriteGuard`] may ask about the
/// writer (the server implements it over its authorizer chain for the request's user).
/// In-process writers (garbage collector, bootstrap, controllers) write without one.
#[async_trait]
pub trait Writer: Send + Sync + std::fmt::Debug {
    /// The user's name.
    fn name(&self) -> &str;
    /// The user's groups.
    fn groups(&self) -> &[String];
    /// `system:masters`: authority over everything.
    fn is_superuser(&self) -> bool;
    /// Whether the writer may `verb` the object `name` of `resource` in `namespace` (""
    /// cluster-wide), e.g. `escalate` a role or `bind` one.
    async fn may(&self, verb: &str, resource: &GroupResource, name: &str, namespace: &str) -> bool;
    /// The rules the writer holds in `namespace`, and the errors met resolving them.
    fn rules_held(&self, namespace: &str) -> (Vec<PolicyRule>, Vec<String>);
    /// The rules a role reference grants in `namespace`; `None` where no authorizer keeps
    /// roles.
    fn role_reference_rules(
        &self,
        kind: &str,
        name: &str,
        namespace: &str,
    ) -> Option<std::result::Result<Vec<PolicyRule>, String>>;
}

/// A write as a [`WriteGuard`] sees it.
#[derive(Debug)]
pub struct Guarded<'a> {
    pub def: &'a ResourceDefinition,
    /// The namespace of the object (`None` for cluster-scoped kinds).
    pub namespace: Option<&'a str>,
    /// The object as sent (after decoding, before defaulting and validation).
    pub new: &'a Value,
    /// The stored object on update, read in the same read-modify-write; `None` on create.
    pub old: Option<&'a Value>,
    pub writer: &'a dyn Writer,
}

/// A check of the writer's authority over what it writes, run by the generic store before
/// validation, inside its read-modify-write (kube-apiserver's policy-based RBAC storage):
/// an error refuses the write (403).
#[async_trait]
pub trait WriteGuard: Send + Sync {
    async fn check(&self, write: &Guarded<'_>) -> Result<()>;
}
