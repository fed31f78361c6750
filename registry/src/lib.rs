//! What the resources ARE and what each verb MEANS: resource definitions, per-kind strategies,
//! the generic store over `storage`, and the errors clients see.
//!
//! # Layout
//! - [`resource`]: a resource's definition (names, scope, schema, columns, fields).
//! - [`strategy`]: the per-kind hooks, in the order the generic store calls them.
//! - [`catalog`]: the registered resources (also at run time, for schema-less kinds).
//! - [`generic`]: every verb written once over `storage`; [`list`] and [`watch`] with
//!   Kubernetes' paging, resourceVersion, selector and bookmark semantics.
//! - [`delete`]: deletion with preconditions, propagation and finalizers.
//! - [`selector`]: label and field selectors; [`labelselector`]: `metav1.LabelSelector` in
//!   objects; [`jsonpath`]: paths of columns and fields.
//! - [`errors`]: [`ApiError`] and the `metav1.Status` it becomes (upstream's
//!   `pkg/api/errors`), the one mapping of storage errors.
//! - [`field`]: field validation errors; [`meta`]: object metadata helpers; [`time`]: times
//!   as the API prints them;
//!   [`objectmeta`]: validation of `metadata` on create and update.
//! - [`pruning`]: unknown fields against a schema (`fieldValidation`, pruning);
//!   [`duplicates`]: repeated keys of request bodies; [`structural`]: structural schemas
//!   from Rust types.
//! - [`admission`]: checks against other objects, after a kind's own validation; write guards.
//! - [`authorizer`]: the user, the attributes of a request, the rules a user holds — what
//!   every authorizer, the audit policy and the write guards share.
//! - [`fieldmanager`]: server-side apply and managed fields.
//! - [`strategic`]: strategic merge patch for built-in kinds.
//! - [`rbac`]: the built-in rbac.authorization.k8s.io/v1 kinds (stored and served), their
//!   authorizer index, escalation checks and bootstrap policy.
//! - [`fleet`]: the fleet.k0rdent.io group, one folder per kind: definitions and strategies
//!   over the types of `fleet_api`.

pub mod admission;
pub mod authorizer;
pub mod catalog;
pub mod delete;
pub mod duplicates;
pub mod errors;
pub mod field;
pub mod fieldmanager;
pub mod fleet;
pub mod generic;
pub mod jsonpath;
pub mod labelselector;
pub mod list;
pub mod meta;
pub mod objectmeta;
pub mod pruning;
pub mod rbac;
pub mod resource;
pub mod selector;
pub mod strategic;
pub mod strategy;
pub mod structural;
pub mod time;
pub mod watch;

pub use catalog::Catalog;
pub use delete::{DeleteOptions, Deleted, Preconditions, Propagation};
pub use errors::{ApiError, Status};
pub use generic::{DecodedFrom, GenericStore, Subresource, WriteOptions, Written};
pub use list::{ListRequest, ObjectList, ReadAt};
pub use pruning::FieldValidation;
pub use resource::{GroupResource, Resource, ResourceDefinition, Scope, Verbs};
pub use strategy::{SchemalessStrategy, Strategy};
