//! Decisions: which bindings apply to a user, whether their rules allow a request, the rules
//! a user holds, and upstream's reasons (`rbac.go`, `rule.go`, `evaluation_helpers.go`).

use std::fmt;

use super::*;

impl Policy {
    /// The decision for one request (`RBACAuthorizer.Authorize`): allowed by the first rule
    /// that matches, else no opinion with the errors met on the way as `RBAC: <aggregate>`.
    pub fn authorize(&self, request: &Attributes) -> Decision {
        // Upstream's non-resource requests carry no namespace, so only ClusterRoleBindings apply.
        let namespace = if request.resource_request {
            request.namespace.as_str()
        } else {
            ""
        };
        let mut errors = Vec::new();
        for grant in self.grants(UserRef::from(&request.user), namespace) {
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
    pub fn rules_for(&self, user: &User, namespace: &str) -> RulesReview {
        let mut review = RulesReview::default();
        let mut errors = Vec::new();
        for grant in self.grants(user.into(), namespace) {
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

    /// The rules `user` holds in `namespace` ("" for cluster-wide only) and the errors met
    /// resolving roles (`DefaultRuleResolver.RulesFor`, what escalation checks compare with).
    pub fn rules_held(&self, user: &User, namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for grant in self.grants(user.into(), namespace) {
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

impl PolicyRule {
    /// `RuleAllows`.
    fn allows(&self, request: &Attributes) -> bool {
        let verb = self.verbs.iter().any(|v| v == "*" || *v == request.verb);
        if !request.resource_request {
            return verb && self.non_resource_url_matches(&request.path);
        }
        verb && self
            .api_groups
            .iter()
            .any(|g| g == "*" || *g == request.api_group)
            && self.resource_matches(&request.resource, &request.subresource)
            && (self.resource_names.is_empty() || self.resource_names.contains(&request.name))
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

impl Binding {
    /// `appliesTo`: the first subject that is `user`.
    fn subject_for(&self, user: UserRef<'_>) -> Option<&Subject> {
        self.subjects
            .iter()
            .find(|subject| subject.applies_to(user, &self.namespace))
    }
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
