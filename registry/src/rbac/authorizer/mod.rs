//! The RBAC authorizer: decides requests from the Roles, ClusterRoles and their bindings, kept in
//! an in-memory [`Policy`] by the server's watch.
//!
//! Reproduces kube-apiserver's `plugin/pkg/auth/authorizer/rbac/rbac.go` (decisions, reasons,
//! `RulesFor`), `pkg/registry/rbac/validation/rule.go` (`DefaultRuleResolver`: which bindings
//! apply to a user) and `pkg/apis/rbac/v1/evaluation_helpers.go` (rule matching). ClusterRole
//! aggregation (upstream `pkg/controller/clusterroleaggregation`, which overwrites `.rules`):
//! the index computes the aggregated rules itself, so decisions follow a label at once rather
//! than after the aggregation controller (`reconcilers/src/clusterroleaggregation.rs`) has
//! written them; both reach the same rules.
//!
//! # Layout
//! - this file: the request and answer types, the stored objects, and the index ([`Policy`]
//!   kept by upserts and removals);
//! - `evaluation`: decisions, the rules a user holds, rule matching, upstream's reasons;
//! - `aggregation`: the rules of aggregating ClusterRoles.

mod aggregation;
mod evaluation;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::authorizer::nullable;
pub use crate::authorizer::{Attributes, PolicyRule, User};
use crate::labelselector::LabelSelector;

/// Why a binding granted nothing, or why an object was not indexed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A binding refers to a Role that does not exist (upstream's lister `NotFound`).
    #[error("role.rbac.authorization.k8s.io {name:?} not found")]
    RoleNotFound { namespace: String, name: String },
    /// A binding refers to a ClusterRole that does not exist.
    #[error("clusterrole.rbac.authorization.k8s.io {name:?} not found")]
    ClusterRoleNotFound { name: String },
    /// A `roleRef.kind` other than Role or ClusterRole (`GetRoleReferenceRules`).
    #[error("unsupported role reference kind: {kind:?}")]
    UnsupportedRoleRefKind { kind: String },
    /// An object that does not decode as its kind; it grants nothing.
    #[error("cannot decode {plural} {name:?}")]
    Decode {
        plural: String,
        name: String,
        #[source]
        source: serde_json::Error,
    },
    /// A resource other than the four RBAC kinds.
    #[error("{0:?} is not an RBAC resource")]
    UnknownResource(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Who is asking: a borrowed view of the user's name and groups.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserRef<'a> {
    pub name: &'a str,
    pub groups: &'a [String],
}

impl<'a> From<&'a User> for UserRef<'a> {
    fn from(user: &'a User) -> Self {
        UserRef {
            name: &user.name,
            groups: &user.groups,
        }
    }
}

/// RBAC never denies: it allows, or has no opinion and says which roles it could not find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow { reason: String },
    NoOpinion { reason: String },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    pub fn reason(&self) -> &str {
        match self {
            Decision::Allow { reason } | Decision::NoOpinion { reason } => reason,
        }
    }
}

/// The status of a SelfSubjectRulesReview (`authorization.k8s.io/v1` SubjectRulesReviewStatus).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RulesReview {
    pub resource_rules: Vec<ResourceRule>,
    pub non_resource_rules: Vec<NonResourceRule>,
    pub incomplete: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub evaluation_error: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRule {
    pub verbs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NonResourceRule {
    pub verbs: Vec<String>,
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

/// The RBAC objects the authorizer evaluates, kept current by the server's watch.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Role rules by namespace, then name.
    roles: BTreeMap<String, BTreeMap<String, Vec<PolicyRule>>>,
    cluster_roles: BTreeMap<String, ClusterRole>,
    /// RoleBindings by namespace, then name.
    role_bindings: BTreeMap<String, BTreeMap<String, Binding>>,
    cluster_role_bindings: BTreeMap<String, Binding>,
    /// The rules of every aggregating ClusterRole, recomputed whenever a ClusterRole changes.
    aggregated: BTreeMap<String, Vec<PolicyRule>>,
    /// Aggregation waits for the end of a batch of changes ([`Policy::batch`]).
    deferred: bool,
}

impl Policy {
    /// Inserts or replaces an object of `plural` ("roles", "clusterroles", "rolebindings" or
    /// "clusterrolebindings") from its stored JSON. An object that does not decode replaces
    /// the previous one with nothing, and is logged.
    pub fn upsert(&mut self, plural: &str, object: &Value) {
        if let Err(error) = self.try_upsert(plural, object) {
            let error: &(dyn std::error::Error + 'static) = &error;
            tracing::warn!(error, "RBAC object not indexed");
        }
    }

    /// Removes the object of `plural` named `name` in `namespace` (None for cluster-scoped).
    pub fn remove(&mut self, plural: &str, namespace: Option<&str>, name: &str) {
        match Kind::from_plural(plural) {
            Ok(kind) => {
                self.take(kind, namespace.unwrap_or_default(), name);
                if kind == Kind::ClusterRole {
                    self.aggregate();
                }
            }
            Err(error) => tracing::warn!(%error, "RBAC object not removed"),
        }
    }

    fn try_upsert(&mut self, plural: &str, object: &Value) -> Result<()> {
        let kind = Kind::from_plural(plural)?;
        let metadata = &object["metadata"];
        let namespace = metadata["namespace"].as_str().unwrap_or_default();
        let name = metadata["name"].as_str().unwrap_or_default();
        self.take(kind, namespace, name);
        let inserted = self.insert(kind, object);
        if kind == Kind::ClusterRole {
            self.aggregate();
        }
        inserted.map_err(|source| Error::Decode {
            plural: plural.to_owned(),
            name: name.to_owned(),
            source,
        })
    }

    fn insert(&mut self, kind: Kind, object: &Value) -> serde_json::Result<()> {
        match kind {
            Kind::Role => {
                let role = RoleObject::deserialize(object)?;
                let meta = role.metadata;
                let namespace = self.roles.entry(meta.namespace).or_default();
                namespace.insert(meta.name, role.rules);
            }
            Kind::ClusterRole => {
                let role = RoleObject::deserialize(object)?;
                let name = role.metadata.name.clone();
                self.cluster_roles.insert(name, ClusterRole::from(role));
            }
            Kind::RoleBinding => {
                let binding = Binding::deserialize(object)?;
                let namespace = self.role_bindings.entry(binding.namespace.clone());
                namespace.or_default().insert(binding.name.clone(), binding);
            }
            Kind::ClusterRoleBinding => {
                let mut binding = Binding::deserialize(object)?;
                binding.namespace.clear();
                self.cluster_role_bindings
                    .insert(binding.name.clone(), binding);
            }
        }
        Ok(())
    }

    /// Drops an object without recomputing aggregation.
    fn take(&mut self, kind: Kind, namespace: &str, name: &str) {
        fn take_namespaced<T>(
            map: &mut BTreeMap<String, BTreeMap<String, T>>,
            ns: &str,
            name: &str,
        ) {
            if let Some(objects) = map.get_mut(ns) {
                objects.remove(name);
                if objects.is_empty() {
                    map.remove(ns);
                }
            }
        }
        match kind {
            Kind::Role => take_namespaced(&mut self.roles, namespace, name),
            Kind::RoleBinding => take_namespaced(&mut self.role_bindings, namespace, name),
            Kind::ClusterRole => {
                self.cluster_roles.remove(name);
            }
            Kind::ClusterRoleBinding => {
                self.cluster_role_bindings.remove(name);
            }
        }
    }

    /// Recomputes the rules of every aggregating ClusterRole as the upstream controller writes
    /// them: for each selector in order, the other ClusterRoles it matches by name, their rules
    /// appended unless already present. Aggregating roles may select one another (upstream's
    /// `admin` selects `edit`), so this iterates to the fixed point the controller reaches.
    /// Applies many changes and recomputes aggregation once at the end (a relist).
    pub fn batch(&mut self, changes: impl FnOnce(&mut Policy)) {
        self.deferred = true;
        changes(self);
        self.deferred = false;
        self.aggregate();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Role,
    ClusterRole,
    RoleBinding,
    ClusterRoleBinding,
}

impl Kind {
    fn from_plural(plural: &str) -> Result<Kind> {
        match plural {
            "roles" => Ok(Kind::Role),
            "clusterroles" => Ok(Kind::ClusterRole),
            "rolebindings" => Ok(Kind::RoleBinding),
            "clusterrolebindings" => Ok(Kind::ClusterRoleBinding),
            other => Err(Error::UnknownResource(other.to_owned())),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Metadata {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    namespace: String,
    #[serde(default, deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
}

/// A Role or ClusterRole as stored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleObject {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default, deserialize_with = "nullable")]
    rules: Vec<PolicyRule>,
    #[serde(default)]
    aggregation_rule: Option<AggregationRule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AggregationRule {
    #[serde(default, deserialize_with = "nullable")]
    cluster_role_selectors: Vec<Value>,
}

#[derive(Debug, Clone)]
struct ClusterRole {
    labels: BTreeMap<String, String>,
    rules: Vec<PolicyRule>,
    /// Set when the role aggregates; its own `rules` are then ignored (upstream overwrites
    /// them).
    selectors: Option<Vec<LabelSelector>>,
}

impl From<RoleObject> for ClusterRole {
    fn from(role: RoleObject) -> Self {
        let selectors = role.aggregation_rule.map(|rule| {
            let parsed: Option<Vec<LabelSelector>> =
                rule.cluster_role_selectors.iter().map(selector_of).collect();
            // Upstream's controller stops at a bad selector and writes nothing; this role then
            // aggregates nothing.
            parsed.unwrap_or_else(|| {
                tracing::warn!(role = %role.metadata.name, "aggregation rule ignored: a selector is not valid");
                Vec::new()
            })
        });
        ClusterRole {
            labels: role.metadata.labels,
            rules: role.rules,
            selectors,
        }
    }
}

/// A RoleBinding, or a ClusterRoleBinding with an empty `namespace`.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "StoredBinding")]
struct Binding {
    name: String,
    namespace: String,
    subjects: Vec<Subject>,
    role_ref: RoleRef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredBinding {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default, deserialize_with = "nullable")]
    subjects: Vec<Subject>,
    #[serde(default)]
    role_ref: RoleRef,
}

impl From<StoredBinding> for Binding {
    fn from(stored: StoredBinding) -> Self {
        Binding {
            name: stored.metadata.name,
            namespace: stored.metadata.namespace,
            subjects: stored.subjects,
            role_ref: stored.role_ref,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RoleRef {
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Subject {
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    namespace: String,
}

/// A stored selector ready to match (`metav1.LabelSelectorAsSelector`), `None` when it is not
/// a valid one; an empty selector selects every ClusterRole.
fn selector_of(value: &Value) -> Option<LabelSelector> {
    if !crate::labelselector::validate(value, "clusterRoleSelectors").is_empty() {
        return None;
    }
    // Valid, so only strings, maps and lists of them: `null` members mean absent.
    fn without_nulls(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), without_nulls(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
            other => other.clone(),
        }
    }
    serde_json::from_value(without_nulls(value)).ok()
}

#[cfg(test)]
mod tests;
