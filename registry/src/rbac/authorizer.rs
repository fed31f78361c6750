//! The RBAC authorizer: decides requests from the Roles, ClusterRoles and their bindings, kept in
//! an in-memory [`Policy`] by the server's watch.
//!
//! Reproduces kube-apiserver's `plugin/pkg/auth/authorizer/rbac/rbac.go` (decisions, reasons,
//! `RulesFor`), `pkg/registry/rbac/validation/rule.go` (`DefaultRuleResolver`: which bindings
//! apply to a user) and `pkg/apis/rbac/v1/evaluation_helpers.go` (rule matching). ClusterRole
//! aggregation (upstream `pkg/controller/clusterroleaggregation`, which overwrites `.rules`):
//! the index computes the aggregated rules, so decisions follow at once, and
//! [`Policy::aggregations`] hands them to the server's aggregation controller
//! (`apiserver/src/authorization/rbac.rs`), which writes them into the aggregating roles.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

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

/// Who is asking: the authenticated user's name and groups.
#[derive(Debug, Clone, Copy)]
pub struct UserRef<'a> {
    pub name: &'a str,
    pub groups: &'a [String],
}

/// One request, as kube-apiserver's `authorizer.Attributes`.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    pub user: UserRef<'a>,
    pub verb: &'a str,
    /// A request for a resource (`api_group`, `resource`, …) rather than for `path`.
    pub resource_request: bool,
    /// Empty for cluster-scoped and all-namespace requests.
    pub namespace: &'a str,
    pub api_group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub name: &'a str,
    /// The URL path of a non-resource request.
    pub path: &'a str,
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

    /// The decision for one request (`RBACAuthorizer.Authorize`): allowed by the first rule
    /// that matches, else no opinion with the errors met on the way as `RBAC: <aggregate>`.
    pub fn authorize(&self, request: &Attributes<'_>) -> Decision {
        // Upstream's non-resource requests carry no namespace, so only ClusterRoleBindings apply.
        let namespace = if request.resource_request {
            request.namespace
        } else {
            ""
        };
        let mut errors = Vec::new();
        for grant in self.grants(request.user, namespace) {
            match grant {
                Ok(grant) if grant.rules.iter().any(|rule| rule.allows(request)) => {
                    let reason = format!("RBAC: allowed by {grant}");
                    return Decision::Allow { reason };
                }
                Ok(_) => {}
                Err(error) => errors.push(error),
            }
        }
        tracing::debug!(
            user = request.user.name,
            groups = ?request.user.groups,
            verb = request.verb,
            resource = request.resource,
            path = request.path,
            namespace,
            "RBAC: no rules authorize the request"
        );
        let reason = if errors.is_empty() {
            String::new()
        } else {
            format!("RBAC: {}", aggregate(&errors))
        };
        Decision::NoOpinion { reason }
    }

    /// What `user` may do in `namespace` (`RBACAuthorizer.RulesFor`, SelfSubjectRulesReview):
    /// the rules of the ClusterRoleBindings and, for a non-empty namespace, of that namespace's
    /// RoleBindings. As upstream, roles that are missing show in `evaluation_error` while
    /// `incomplete` stays false, and non-resource rules reached through a RoleBinding are
    /// listed although `authorize` never applies them.
    pub fn rules_for(&self, user: &UserRef<'_>, namespace: &str) -> RulesReview {
        let mut review = RulesReview::default();
        let mut errors = Vec::new();
        for grant in self.grants(*user, namespace) {
            match grant {
                Ok(grant) => grant.rules.iter().for_each(|rule| review.add(rule)),
                Err(error) => errors.push(error),
            }
        }
        if !errors.is_empty() {
            review.evaluation_error = aggregate(&errors);
        }
        review
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

    fn aggregate(&mut self) {
        if self.deferred {
            return;
        }
        let mut current: BTreeMap<String, Vec<PolicyRule>> = self
            .cluster_roles
            .iter()
            .filter(|(_, role)| role.selectors.is_some())
            .map(|(name, _)| (name.clone(), Vec::new()))
            .collect();
        // Each round reaches one role further along the selection graph; one more to settle.
        for _ in 0..current.len() + 2 {
            let next: BTreeMap<_, _> = current
                .keys()
                .map(|name| (name.clone(), self.aggregated_rules(name, &current)))
                .collect();
            if next == current {
                break;
            }
            current = next;
        }
        self.aggregated = current;
    }

    fn aggregated_rules(
        &self,
        name: &str,
        current: &BTreeMap<String, Vec<PolicyRule>>,
    ) -> Vec<PolicyRule> {
        let selectors = self.cluster_roles[name].selectors.as_deref();
        let mut rules: Vec<PolicyRule> = Vec::new();
        for selector in selectors.unwrap_or_default() {
            for (other, role) in &self.cluster_roles {
                if other == name || !selector.matches(&role.labels) {
                    continue;
                }
                for rule in current.get(other).unwrap_or(&role.rules) {
                    if !rules.contains(rule) {
                        rules.push(rule.clone());
                    }
                }
            }
        }
        rules
    }

    /// The rules every aggregating ClusterRole gathers from the roles its selectors match,
    /// by name: what the aggregation controller writes into their `rules`.
    pub fn aggregations(&self) -> impl Iterator<Item = (&str, &[PolicyRule])> {
        self.aggregated
            .iter()
            .map(|(name, rules)| (name.as_str(), rules.as_slice()))
    }

    /// The rules `user` holds in `namespace` ("" for cluster-wide only) and the errors met
    /// resolving roles (`DefaultRuleResolver.RulesFor`, what escalation checks compare with).
    pub fn rules_held(
        &self,
        user: &UserRef<'_>,
        namespace: &str,
    ) -> (Vec<PolicyRule>, Vec<String>) {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for grant in self.grants(*user, namespace) {
            match grant {
                Ok(grant) => rules.extend(grant.rules.iter().cloned()),
                Err(error) => errors.push(error.to_string()),
            }
        }
        (rules, errors)
    }

    /// The rules a role reference of `kind` ("Role" or "ClusterRole") and `name` grants in
    /// `namespace` (`GetRoleReferenceRules`), aggregation included.
    pub fn role_reference_rules(
        &self,
        kind: &str,
        name: &str,
        namespace: &str,
    ) -> Result<Vec<PolicyRule>> {
        let role_ref = RoleRef {
            kind: kind.to_owned(),
            name: name.to_owned(),
        };
        self.role_ref_rules(&role_ref, namespace)
            .map(<[PolicyRule]>::to_vec)
    }

    /// A ClusterRole's rules: its own, or what it aggregates.
    fn cluster_role_rules(&self, name: &str) -> Option<&[PolicyRule]> {
        let role = self.cluster_roles.get(name)?;
        Some(self.aggregated.get(name).unwrap_or(&role.rules))
    }

    /// `GetRoleReferenceRules`: the rules a binding in `namespace` ("" for a
    /// ClusterRoleBinding) refers to.
    fn role_ref_rules(&self, role_ref: &RoleRef, namespace: &str) -> Result<&[PolicyRule]> {
        let name = &role_ref.name;
        match role_ref.kind.as_str() {
            "Role" => self
                .roles
                .get(namespace)
                .and_then(|roles| roles.get(name))
                .map(Vec::as_slice)
                .ok_or_else(|| Error::RoleNotFound {
                    namespace: namespace.to_owned(),
                    name: name.clone(),
                }),
            "ClusterRole" => self
                .cluster_role_rules(name)
                .ok_or_else(|| Error::ClusterRoleNotFound { name: name.clone() }),
            other => Err(Error::UnsupportedRoleRefKind {
                kind: other.to_owned(),
            }),
        }
    }

    /// `VisitRulesFor`: every ClusterRoleBinding and then, for a non-empty namespace, every
    /// RoleBinding of that namespace that applies to `user`, with its role's rules or the
    /// error resolving the role.
    fn grants<'s>(
        &'s self,
        user: UserRef<'s>,
        namespace: &'s str,
    ) -> impl Iterator<Item = Result<Grant<'s>>> + 's {
        let local = Some(namespace)
            .filter(|ns| !ns.is_empty())
            .and_then(|ns| self.role_bindings.get(ns))
            .into_iter()
            .flat_map(BTreeMap::values);
        let bindings = self.cluster_role_bindings.values().chain(local);
        bindings.filter_map(move |binding| {
            let subject = binding.subject_for(user)?;
            let rules = self.role_ref_rules(&binding.role_ref, &binding.namespace);
            Some(rules.map(|rules| Grant {
                binding,
                subject,
                rules,
            }))
        })
    }
}

/// `utilerrors.NewAggregate(errors).Error()`: a repeated message once; one message alone,
/// several as `[a, b]`.
fn aggregate(errors: &[Error]) -> String {
    let mut messages: Vec<String> = Vec::new();
    for message in errors.iter().map(ToString::to_string) {
        if !messages.contains(&message) {
            messages.push(message);
        }
    }
    match messages.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

impl RulesReview {
    /// Upstream lists a rule with resources as a resource rule and one with URLs as a
    /// non-resource rule (validation keeps them apart).
    fn add(&mut self, rule: &PolicyRule) {
        if !rule.resources.is_empty() {
            self.resource_rules.push(ResourceRule {
                verbs: rule.verbs.clone(),
                api_groups: rule.api_groups.clone(),
                resources: rule.resources.clone(),
                resource_names: rule.resource_names.clone(),
            });
        }
        if !rule.non_resource_urls.is_empty() {
            self.non_resource_rules.push(NonResourceRule {
                verbs: rule.verbs.clone(),
                non_resource_urls: rule.non_resource_urls.clone(),
            });
        }
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

/// A JSON `null` reads as the empty value, as Go decodes it.
fn nullable<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
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

/// `rbacv1.PolicyRule` (serialized as upstream: `verbs` always, the rest when not empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(default, deserialize_with = "nullable")]
    pub verbs: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub api_groups: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resource_names: Vec<String>,
    #[serde(
        rename = "nonResourceURLs",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_resource_urls: Vec<String>,
}

impl PolicyRule {
    /// `RuleAllows`.
    fn allows(&self, request: &Attributes<'_>) -> bool {
        let verb = self.verbs.iter().any(|v| v == "*" || v == request.verb);
        if !request.resource_request {
            return verb && self.non_resource_url_matches(request.path);
        }
        verb && self
            .api_groups
            .iter()
            .any(|g| g == "*" || g == request.api_group)
            && self.resource_matches(request.resource, request.subresource)
            && (self.resource_names.is_empty()
                || self.resource_names.iter().any(|n| n == request.name))
    }

    /// `ResourceMatches`: `*`, the exact `resource` or `resource/subresource`, or
    /// `*/subresource`.
    fn resource_matches(&self, resource: &str, subresource: &str) -> bool {
        self.resources.iter().any(|rule| {
            if rule == "*" {
                return true;
            }
            if subresource.is_empty() {
                return rule == resource;
            }
            let combined = rule
                .strip_prefix(resource)
                .and_then(|rest| rest.strip_prefix('/'));
            combined == Some(subresource) || rule.strip_prefix("*/") == Some(subresource)
        })
    }

    /// `NonResourceURLMatches`: `*`, the exact path, or a prefix ending in `*`.
    fn non_resource_url_matches(&self, path: &str) -> bool {
        self.non_resource_urls.iter().any(|rule| {
            rule == "*"
                || rule == path
                || (rule.ends_with('*') && path.starts_with(rule.trim_end_matches('*')))
        })
    }
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

impl Binding {
    /// `appliesTo`: the first subject that is `user`.
    fn subject_for(&self, user: UserRef<'_>) -> Option<&Subject> {
        self.subjects
            .iter()
            .find(|subject| subject.applies_to(user, &self.namespace))
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

impl Subject {
    /// `appliesToUser`; a ServiceAccount without a namespace is in the binding's.
    fn applies_to(&self, user: UserRef<'_>, binding_namespace: &str) -> bool {
        match self.kind.as_str() {
            "User" => user.name == self.name,
            "Group" => user.groups.contains(&self.name),
            "ServiceAccount" => {
                let namespace = self.service_account_namespace(binding_namespace);
                !namespace.is_empty()
                    && user
                        .name
                        .strip_prefix("system:serviceaccount:")
                        .and_then(|rest| rest.strip_prefix(namespace))
                        .and_then(|rest| rest.strip_prefix(':'))
                        == Some(self.name.as_str())
            }
            _ => false,
        }
    }

    fn service_account_namespace<'a>(&'a self, binding_namespace: &'a str) -> &'a str {
        if self.namespace.is_empty() {
            binding_namespace
        } else {
            &self.namespace
        }
    }
}

/// One binding that applies to a user, with its role's rules.
#[derive(Debug, Clone, Copy)]
struct Grant<'p> {
    binding: &'p Binding,
    subject: &'p Subject,
    rules: &'p [PolicyRule],
}

/// Upstream's `clusterRoleBindingDescriber` and `roleBindingDescriber` (with
/// `describeSubject`, which prints a ServiceAccount as `name/namespace`).
impl fmt::Display for Grant<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let binding = self.binding;
        if binding.namespace.is_empty() {
            write!(f, "ClusterRoleBinding {:?}", binding.name)?;
        } else {
            let qualified = format!("{}/{}", binding.name, binding.namespace);
            write!(f, "RoleBinding {qualified:?}")?;
        }
        let role = &binding.role_ref;
        write!(f, " of {} {:?} to ", role.kind, role.name)?;
        let subject = self.subject;
        if subject.kind == "ServiceAccount" {
            let namespace = subject.service_account_namespace(&binding.namespace);
            let qualified = format!("{}/{namespace}", subject.name);
            write!(f, "{} {qualified:?}", subject.kind)
        } else {
            write!(f, "{} {:?}", subject.kind, subject.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Value {
        json!({"verbs": verbs, "apiGroups": groups, "resources": resources})
    }

    fn role(namespace: &str, name: &str, rules: Value) -> Value {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": name, "namespace": namespace}, "rules": rules})
    }

    fn cluster_role(name: &str, labels: Value, rules: Value) -> Value {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": name, "labels": labels}, "rules": rules})
    }

    /// An aggregating ClusterRole whose own rule (delete secrets) must be ignored.
    fn aggregating(name: &str, labels: Value, selectors: Value) -> Value {
        let own = json!([rule(&["delete"], &[""], &["secrets"])]);
        let mut role = cluster_role(name, labels, own);
        role["aggregationRule"] = json!({ "clusterRoleSelectors": selectors });
        role
    }

    /// `User:alice`, `Group:ops`, `ServiceAccount:ci/builder` or `ServiceAccount:deployer`.
    fn subject(spec: &str) -> Value {
        let (kind, name) = spec.split_once(':').unwrap();
        match (kind, name.split_once('/')) {
            ("ServiceAccount", Some((ns, name))) => {
                json!({"kind": kind, "name": name, "namespace": ns})
            }
            ("ServiceAccount", None) => json!({"kind": kind, "name": name}),
            _ => json!({"kind": kind, "apiGroup": "rbac.authorization.k8s.io", "name": name}),
        }
    }

    /// A ClusterRoleBinding for `None`, else a RoleBinding in that namespace, of `Kind/name`.
    fn bind(policy: &mut Policy, namespace: Option<&str>, name: &str, role: &str, to: &str) {
        let (kind, role_name) = role.split_once('/').unwrap();
        let mut object = json!({"metadata": {"name": name}, "subjects": [subject(to)],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role_name}});
        let plural = match namespace {
            Some(ns) => {
                object["metadata"]["namespace"] = json!(ns);
                "rolebindings"
            }
            None => "clusterrolebindings",
        };
        policy.upsert(plural, &object);
    }

    fn fixture() -> Policy {
        let mut p = Policy::default();
        let core = &[""][..];
        let named = json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
                            "resourceNames": ["app-config"]}]);
        let urls = json!([{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/logs/*"]}]);
        let status = json!([
            rule(&["get"], core, &["*/status"]),
            rule(&["update"], &["apps"], &["deployments/scale"])
        ]);
        let no_labels = json!({});
        for (name, rules) in [
            (
                "pod-reader",
                json!([rule(&["get", "list"], core, &["pods"])]),
            ),
            ("all", json!([rule(&["*"], &["*"], &["*"])])),
            ("healthz", urls),
            ("status", status),
            ("named", named),
        ] {
            p.upsert(
                "clusterroles",
                &cluster_role(name, no_labels.clone(), rules),
            );
        }
        let to_monitoring = json!({"aggregate-to-monitoring": "true"});
        let metrics = json!([rule(&["get"], core, &["nodes/metrics"])]);
        p.upsert(
            "clusterroles",
            &cluster_role("node-metrics", to_monitoring.clone(), metrics),
        );
        let selectors = json!([{ "matchLabels": to_monitoring }]);
        p.upsert(
            "clusterroles",
            &aggregating("monitoring", no_labels, selectors),
        );
        let secrets = json!([rule(&["get"], core, &["secrets"])]);
        p.upsert("roles", &role("ns1", "secret-reader", secrets));
        #[rustfmt::skip] // one binding a line
        let bindings = [
            (None, "alice-pod-reader", "ClusterRole/pod-reader", "User:alice"),
            (None, "ops-all", "ClusterRole/all", "Group:ops"),
            (None, "public-healthz", "ClusterRole/healthz", "Group:system:authenticated"),
            (None, "ci-status", "ClusterRole/status", "ServiceAccount:ci/builder"),
            (None, "monitors", "ClusterRole/monitoring", "Group:monitors"),
            (None, "broken", "ClusterRole/missing", "User:mallory"),
            (Some("ns1"), "bob-secrets", "Role/secret-reader", "User:bob"),
            (Some("ns1"), "bob-named", "ClusterRole/named", "User:bob"),
            (Some("ns1"), "carol-healthz", "ClusterRole/healthz", "User:carol"),
            (Some("ns1"), "deployer-reads-pods", "ClusterRole/pod-reader", "ServiceAccount:deployer"),
            (Some("ns2"), "mallory-a", "Role/nope", "User:mallory"),
            (Some("ns2"), "mallory-b", "Role/nope", "User:mallory"),
            (Some("ns2"), "dave-secrets", "Role/secret-reader", "User:dave"),
        ];
        for (namespace, name, role, to) in bindings {
            bind(&mut p, namespace, name, role, to);
        }
        p
    }

    /// Decides `request` — `VERB /path` or `VERB resource[.group][/subresource] [named N] [in NS]`
    /// — for `user` in `groups`.
    fn decide(policy: &Policy, user: &str, groups: &[&str], request: &str) -> Decision {
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        let words: Vec<&str> = request.split(' ').collect();
        let after = |key: &str| {
            let at = words.iter().position(|w| *w == key);
            at.map_or("", |i| words[i + 1])
        };
        let target = words[1];
        let (resource, subresource) = target.split_once('/').unwrap_or((target, ""));
        let (resource, api_group) = resource.split_once('.').unwrap_or((resource, ""));
        let resource_request = !target.starts_with('/');
        let (resource, path) = if resource_request {
            (resource, "")
        } else {
            ("", target)
        };
        policy.authorize(&Attributes {
            user: UserRef {
                name: user,
                groups: &groups,
            },
            verb: words[0],
            resource_request,
            namespace: after("in"),
            api_group,
            resource,
            subresource,
            name: after("named"),
            path,
        })
    }

    /// `reason` is the expected reason; allowed exactly when it says so.
    fn check(policy: &Policy, user: &str, groups: &[&str], request: &str, reason: &str) {
        let decision = decide(policy, user, groups, request);
        let expected = (reason.starts_with("RBAC: allowed by "), reason);
        let about = format!("{user} {groups:?}: {request}");
        assert_eq!(
            (decision.is_allowed(), decision.reason()),
            expected,
            "{about}"
        );
    }

    const ALICE: &str = r#"RBAC: allowed by ClusterRoleBinding "alice-pod-reader" of ClusterRole "pod-reader" to User "alice""#;
    const OPS: &str =
        r#"RBAC: allowed by ClusterRoleBinding "ops-all" of ClusterRole "all" to Group "ops""#;
    const HEALTHZ: &str = r#"RBAC: allowed by ClusterRoleBinding "public-healthz" of ClusterRole "healthz" to Group "system:authenticated""#;
    const BUILDER: &str = r#"RBAC: allowed by ClusterRoleBinding "ci-status" of ClusterRole "status" to ServiceAccount "builder/ci""#;
    const BOB_SECRETS: &str =
        r#"RBAC: allowed by RoleBinding "bob-secrets/ns1" of Role "secret-reader" to User "bob""#;
    const BOB_NAMED: &str =
        r#"RBAC: allowed by RoleBinding "bob-named/ns1" of ClusterRole "named" to User "bob""#;
    const DEPLOYER: &str = r#"RBAC: allowed by RoleBinding "deployer-reads-pods/ns1" of ClusterRole "pod-reader" to ServiceAccount "deployer/ns1""#;
    const MONITORS: &str = r#"RBAC: allowed by ClusterRoleBinding "monitors" of ClusterRole "monitoring" to Group "monitors""#;
    const MISSING: &str = r#"RBAC: clusterrole.rbac.authorization.k8s.io "missing" not found"#;
    const MISSING_TWO: &str = r#"RBAC: [clusterrole.rbac.authorization.k8s.io "missing" not found, role.rbac.authorization.k8s.io "nope" not found]"#;
    const NO_SECRET_READER: &str =
        r#"RBAC: role.rbac.authorization.k8s.io "secret-reader" not found"#;

    #[test]
    fn requests_are_decided_by_the_bindings_that_apply_with_upstreams_reasons() {
        let policy = fixture();
        let (ops, authenticated, monitors) = (
            &["ops"][..],
            &["system:authenticated"][..],
            &["monitors"][..],
        );
        let builder = "system:serviceaccount:ci:builder";
        // (what it shows, user, groups, request, reason)
        #[rustfmt::skip] // one case a line: the table reads as a table
        let cases: &[(&str, &str, &[&str], &str, &str)] = &[
            ("a ClusterRoleBinding grants in a namespace", "alice", &[], "get pods in ns1", ALICE),
            ("a ClusterRoleBinding grants cluster-wide", "alice", &[], "list pods", ALICE),
            ("another verb is not granted", "alice", &[], "delete pods in ns1", ""),
            ("another API group is not granted", "alice", &[], "get pods.apps in ns1", ""),
            ("a resource does not cover its subresources", "alice", &[], "get pods/log in ns1", ""),
            ("another resource is not granted", "alice", &[], "get services in ns1", ""),
            ("a User subject is not a group", "ops", &[], "get pods in ns1", ""),
            ("wildcards grant any verb, group and resource", "erin", ops, "escalate deployments.apps/scale in ns1", OPS),
            ("resource wildcards grant no URL", "erin", ops, "get /healthz", ""),
            ("a group is granted a URL", "erin", authenticated, "get /healthz", HEALTHZ),
            ("a URL ending in * is a prefix", "erin", authenticated, "get /logs/kubelet.log", HEALTHZ),
            ("the prefix keeps its slash", "erin", authenticated, "get /logsx", ""),
            ("a URL's verb must match", "erin", authenticated, "post /healthz", ""),
            ("*/status grants every status", builder, &[], "get pods/status in ns1", BUILDER),
            ("resource/subresource grants that subresource", builder, &[], "update deployments.apps/scale in ns1", BUILDER),
            ("*/status grants no main resource", builder, &[], "get pods in ns1", ""),
            ("a service account is in its namespace", "system:serviceaccount:other:builder", &[], "get pods/status in ns1", ""),
            ("a RoleBinding grants its Role in its namespace", "bob", &[], "get secrets in ns1", BOB_SECRETS),
            ("a RoleBinding grants nothing in another namespace", "bob", &[], "get secrets in ns2", ""),
            ("a RoleBinding grants nothing cluster-wide", "bob", &[], "get secrets", ""),
            ("a RoleBinding grants a ClusterRole in its namespace", "bob", &[], "get configmaps named app-config in ns1", BOB_NAMED),
            ("a ClusterRole bound locally grants nothing elsewhere", "bob", &[], "get configmaps named app-config in ns2", ""),
            ("resourceNames leave other names out", "bob", &[], "get configmaps named other in ns1", ""),
            ("resourceNames leave unnamed requests out", "bob", &[], "list configmaps in ns1", ""),
            ("a RoleBinding grants no URL", "carol", &[], "get /healthz", ""),
            ("a RoleBinding grants no URL even given a namespace", "carol", &[], "get /healthz in ns1", ""),
            ("a service account subject defaults to the binding's namespace", "system:serviceaccount:ns1:deployer", &[], "get pods in ns1", DEPLOYER),
            ("that service account is no other", "system:serviceaccount:ns2:deployer", &[], "get pods in ns2", ""),
            ("a missing ClusterRole is the reason", "mallory", &[], "get pods in ns1", MISSING),
            ("missing roles aggregate, each message once", "mallory", &[], "get pods in ns2", MISSING_TWO),
            ("a Role is looked up in the binding's namespace", "dave", &[], "get secrets in ns2", NO_SECRET_READER),
            ("a missing role does not stop an allow", "mallory", ops, "get pods in ns2", OPS),
            ("nobody gets nothing and no reason", "nobody", &[], "get pods in ns1", ""),
            ("an aggregating ClusterRole grants what it selects", "u", monitors, "get nodes/metrics", MONITORS),
            ("an aggregating ClusterRole's own rules are ignored", "u", monitors, "delete secrets in ns1", ""),
        ];
        for (about, user, groups, request, reason) in cases {
            let decision = decide(&policy, user, groups, request);
            let expected = (reason.starts_with("RBAC: allowed by "), *reason);
            assert_eq!(
                (decision.is_allowed(), decision.reason()),
                expected,
                "{about}"
            );
        }
    }

    /// The resource rules of a user in group `monitors`, as `verbs resources`.
    fn monitors_rules(policy: &Policy) -> Vec<String> {
        let groups = ["monitors".to_owned()];
        let review = policy.rules_for(
            &UserRef {
                name: "u",
                groups: &groups,
            },
            "",
        );
        let rules = review.resource_rules.iter();
        rules
            .map(|r| format!("{} {}", r.verbs.join(","), r.resources.join(",")))
            .collect()
    }

    fn labelled(name: &str, value: &str, resource: &str) -> Value {
        let rules = json!([rule(&["get"], &[""], &[resource])]);
        cluster_role(name, json!({ "monitoring": value }), rules)
    }

    #[test]
    fn aggregated_rules_follow_labels_roles_and_nesting() {
        let mut p = Policy::default();
        let selectors = json!([{"matchLabels": {"monitoring": "true"}}]);
        p.upsert(
            "clusterroles",
            &aggregating("monitoring", json!({"monitoring": "true"}), selectors),
        );
        p.upsert("clusterroles", &labelled("b-metrics", "true", "nodes"));
        p.upsert("clusterroles", &labelled("a-metrics", "true", "services"));
        p.upsert("clusterroles", &labelled("c-duplicate", "true", "services"));
        p.upsert("clusterroles", &labelled("other", "false", "secrets"));
        bind(
            &mut p,
            None,
            "monitors",
            "ClusterRole/monitoring",
            "Group:monitors",
        );
        let by_name_once_not_itself = ["get services", "get nodes"];
        assert_eq!(monitors_rules(&p), by_name_once_not_itself);

        p.upsert("clusterroles", &labelled("b-metrics", "false", "nodes"));
        assert_eq!(monitors_rules(&p), ["get services"], "a label taken away");
        p.upsert("clusterroles", &labelled("other", "true", "secrets"));
        assert_eq!(
            monitors_rules(&p),
            ["get services", "get secrets"],
            "a label given"
        );
        p.remove("clusterroles", None, "a-metrics");
        assert_eq!(
            monitors_rules(&p),
            ["get services", "get secrets"],
            "the duplicate stays"
        );
        p.remove("clusterroles", None, "c-duplicate");
        assert_eq!(monitors_rules(&p), ["get secrets"], "roles removed");

        // An aggregating role selected by another passes on what it aggregates; `{}` selects all.
        let selectors = json!([{"matchLabels": {"monitoring": "true"}}, {}]);
        p.upsert("clusterroles", &aggregating("admin", json!({}), selectors));
        bind(
            &mut p,
            None,
            "monitors",
            "ClusterRole/admin",
            "Group:monitors",
        );
        assert_eq!(monitors_rules(&p), ["get secrets", "get nodes"]);

        p.remove("clusterroles", None, "admin");
        assert!(
            monitors_rules(&p).is_empty(),
            "a missing role grants nothing"
        );
        let groups = ["monitors".to_owned()];
        let review = p.rules_for(
            &UserRef {
                name: "u",
                groups: &groups,
            },
            "",
        );
        let error = r#"clusterrole.rbac.authorization.k8s.io "admin" not found"#;
        assert_eq!(
            (review.incomplete, review.evaluation_error.as_str()),
            (false, error)
        );
    }

    #[test]
    fn aggregation_selectors_support_every_operator() {
        let mut p = Policy::default();
        let selectors = json!([
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["gold", "silver"]},
                                  {"key": "legacy", "operator": "DoesNotExist"}]},
            {"matchLabels": {"team": "a"},
             "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]},
                                  {"key": "owner", "operator": "Exists"}]},
        ]);
        p.upsert("clusterroles", &aggregating("picky", json!({}), selectors));
        let roles = [
            ("gold", json!({"tier": "gold"})),
            ("gold-legacy", json!({"tier": "gold", "legacy": "yes"})),
            ("bronze", json!({"tier": "bronze"})),
            ("team-a", json!({"team": "a", "owner": "x"})),
            (
                "team-a-prod",
                json!({"team": "a", "owner": "x", "env": "prod"}),
            ),
            ("team-a-unowned", json!({"team": "a", "env": "dev"})),
        ];
        for (name, labels) in roles {
            let rules = json!([rule(&["get"], &[""], &[name])]);
            p.upsert("clusterroles", &cluster_role(name, labels, rules));
        }
        bind(
            &mut p,
            None,
            "monitors",
            "ClusterRole/picky",
            "Group:monitors",
        );
        assert_eq!(monitors_rules(&p), ["get gold", "get team-a"]);

        let bad = json!([{"matchExpressions": [{"key": "tier", "operator": "Matches", "values": ["gold"]}]}, {}]);
        p.upsert("clusterroles", &aggregating("picky", json!({}), bad));
        assert!(
            monitors_rules(&p).is_empty(),
            "a bad selector aggregates nothing"
        );
    }

    #[test]
    fn rules_review_lists_cluster_and_namespace_grants_as_upstream_json() {
        let mut p = fixture();
        bind(
            &mut p,
            None,
            "bob-pods",
            "ClusterRole/pod-reader",
            "User:bob",
        );
        bind(&mut p, Some("ns1"), "bob-missing", "Role/gone", "User:bob");
        let groups = ["system:authenticated".to_owned()];
        let review = p.rules_for(
            &UserRef {
                name: "bob",
                groups: &groups,
            },
            "ns1",
        );
        assert_eq!(
            serde_json::to_value(&review).unwrap(),
            json!({
                "resourceRules": [
                    {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]},
                    {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
                     "resourceNames": ["app-config"]},
                    {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]},
                ],
                "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/logs/*"]}],
                "incomplete": false,
                "evaluationError": "role.rbac.authorization.k8s.io \"gone\" not found",
            })
        );
        let cluster_wide = p.rules_for(
            &UserRef {
                name: "bob",
                groups: &[],
            },
            "",
        );
        assert_eq!(
            serde_json::to_value(&cluster_wide).unwrap(),
            json!({"resourceRules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}],
                   "nonResourceRules": [], "incomplete": false})
        );
    }

    #[test]
    fn removed_and_undecodable_objects_grant_nothing() {
        let mut p = fixture();
        check(&p, "alice", &[], "get pods in ns1", ALICE);
        p.remove("clusterrolebindings", None, "alice-pod-reader");
        check(&p, "alice", &[], "get pods in ns1", "");

        check(&p, "bob", &[], "get secrets in ns1", BOB_SECRETS);
        let broken =
            json!({"metadata": {"name": "secret-reader", "namespace": "ns1"}, "rules": "x"});
        p.upsert("roles", &broken);
        let gone = r#"RBAC: role.rbac.authorization.k8s.io "secret-reader" not found"#;
        check(&p, "bob", &[], "get secrets in ns1", gone);
        p.remove("rolebindings", Some("ns1"), "bob-secrets");
        check(&p, "bob", &[], "get secrets in ns1", "");
    }
}
