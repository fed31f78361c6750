//! The per-kind behaviour the generic store calls, like k8s.io/apiserver's
//! `pkg/registry/rest/create.go` and `update.go` strategies.
//!
//! Order of the hooks (the generic store is the only caller):
//!
//! create: metadata is set by the store (name from `generateName`, uid, creationTimestamp,
//! generation 1; `.status` dropped when the kind has a status subresource) →
//! [`Strategy::prepare_for_create`] → [`Strategy::default`] → [`Strategy::validate_name`] and
//! [`Strategy::validate`] → [`Strategy::warnings_on_create`] → stored.
//!
//! update (main endpoint): immutable metadata copied from the old object, `.status` kept from
//! the old object when the kind has a status subresource → [`Strategy::prepare_for_update`] →
//! [`Strategy::default`] → [`Strategy::validate`] and [`Strategy::validate_update`] →
//! [`Strategy::warnings_on_update`] → generation bumped when anything outside metadata and
//! status changed → stored (nothing is written when nothing changed).
//!
//! update of `/status`: everything but `.status` copied from the old object →
//! [`Strategy::validate_status_update`] → stored.
//!
//! After validation (create and main-resource updates) the kind's [`Strategy::admission`]
//! checks, which may read other objects, add their errors to the same 422. Before all of it,
//! on create and update (after the stored object is read), the kind's
//! [`Strategy::write_guard`] may refuse the writer (403).
//!
//! Only `prepare_*` and `default` may change the object. Strategies never invent `.status`:
//! status is written by controllers through `/status`.

use serde_json::Value;

use crate::admission::{Admission, WriteGuard};
use crate::field::FieldError;
use crate::meta;

/// How one kind behaves on writes. Every method has a default that suits a schema-less,
/// CRD-like kind.
pub trait Strategy: Send + Sync + 'static {
    /// Clears or sets fields of a new object before validation.
    fn prepare_for_create(&self, _obj: &mut Value) {}

    /// Adjusts `new` from `old` before validation of an update.
    fn prepare_for_update(&self, _new: &mut Value, _old: &Value) {}

    /// Fills in defaults (on create and update).
    fn default(&self, _obj: &mut Value) {}

    /// Checks a name: a DNS-1123 subdomain by default, as for CRDs. Returns the problems.
    fn validate_name(&self, name: &str) -> Vec<String> {
        meta::dns1123_subdomain_problems(name)
    }

    /// Checks an object about to be created or updated.
    fn validate(&self, _obj: &Value) -> Vec<FieldError> {
        Vec::new()
    }

    /// Checks what an update changes (immutable fields and allowed transitions).
    fn validate_update(&self, _new: &Value, _old: &Value) -> Vec<FieldError> {
        Vec::new()
    }

    /// Checks an update through `/status`.
    fn validate_status_update(&self, _new: &Value, _old: &Value) -> Vec<FieldError> {
        Vec::new()
    }

    /// Warnings for the client (`Warning: 299` headers) on create.
    fn warnings_on_create(&self, _obj: &Value) -> Vec<String> {
        Vec::new()
    }

    /// Warnings for the client on update.
    fn warnings_on_update(&self, _new: &Value, _old: &Value) -> Vec<String> {
        Vec::new()
    }

    /// Checks against other objects ([`crate::admission`]), run after `validate` and
    /// `validate_update`.
    fn admission(&self) -> Option<&dyn Admission> {
        None
    }

    /// The check of a writer's authority over what it writes (RBAC's escalation check), run
    /// before everything above on writes that name a writer.
    fn write_guard(&self) -> Option<&dyn WriteGuard> {
        None
    }
}

/// The strategy of schema-less kinds: every default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SchemalessStrategy;

impl Strategy for SchemalessStrategy {}
