//! May this user do this? The authorizers kube-apiserver chains — `system:masters` always, then
//! the configured modes in order (RBAC over the objects this server stores, a delegated
//! SubjectAccessReview webhook, AlwaysAllow) — and the attributes they decide on
//! (k8s.io/apiserver `pkg/authorization/authorizer/interfaces.go`, `union/union.go`).

pub mod rbac;
pub mod webhook;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use registry::rbac::authorizer::{PolicyRule, RulesReview};

use crate::authentication::{User, MASTERS};

pub use rbac::RbacAuthorizer;
pub use webhook::WebhookAuthorizer;

pub use registry::authorizer::Attributes;

/// An authorizer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
    /// This authorizer does not decide; the next one is asked.
    NoOpinion,
}

/// A verdict with the reason given and, when the authorizer could not evaluate, the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reason: String,
    pub error: Option<String>,
}

impl Decision {
    pub fn allow(reason: impl Into<String>) -> Self {
        Decision {
            verdict: Verdict::Allow,
            reason: reason.into(),
            error: None,
        }
    }

    pub fn deny(reason: impl Into<String>) -> Self {
        Decision {
            verdict: Verdict::Deny,
            reason: reason.into(),
            error: None,
        }
    }

    pub fn no_opinion(reason: impl Into<String>) -> Self {
        Decision {
            verdict: Verdict::NoOpinion,
            reason: reason.into(),
            error: None,
        }
    }

    pub fn allowed(&self) -> bool {
        self.verdict == Verdict::Allow
    }
}

/// One authorization mode.
#[async_trait]
pub trait Authorizer: Send + Sync + Debug {
    /// The decision for one request.
    async fn authorize(&self, attributes: &Attributes) -> Decision;

    /// What `user` may do in `namespace` (empty: cluster-wide rules only), for
    /// SelfSubjectRulesReview; modes that cannot list rules say the answer is incomplete.
    fn rules_for(&self, _user: &User, _namespace: &str) -> RulesReview {
        RulesReview {
            incomplete: true,
            ..RulesReview::default()
        }
    }

    /// The rules `user` holds in `namespace` and the errors met resolving them (escalation
    /// checks); modes without rules hold none.
    fn rules_held(&self, _user: &User, _namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
        (Vec::new(), Vec::new())
    }

    /// The rules a role reference grants in `namespace`; `None` from modes that keep no roles.
    fn role_reference_rules(
        &self,
        _kind: &str,
        _name: &str,
        _namespace: &str,
    ) -> Option<Result<Vec<PolicyRule>, String>> {
        None
    }
}

/// Allows everything (`--authorization-mode=AlwaysAllow`).
#[derive(Debug)]
pub struct AlwaysAllow;

#[async_trait]
impl Authorizer for AlwaysAllow {
    async fn authorize(&self, _attributes: &Attributes) -> Decision {
        Decision::allow("")
    }

    fn rules_for(&self, _user: &User, _namespace: &str) -> RulesReview {
        use registry::rbac::authorizer::{NonResourceRule, ResourceRule};
        let all = vec!["*".to_owned()];
        RulesReview {
            resource_rules: vec![ResourceRule {
                verbs: all.clone(),
                api_groups: all.clone(),
                resources: all.clone(),
                resource_names: Vec::new(),
            }],
            non_resource_rules: vec![NonResourceRule {
                verbs: all.clone(),
                non_resource_urls: all,
            }],
            incomplete: false,
            evaluation_error: String::new(),
        }
    }
}

/// The configured modes in order, after the `system:masters` group which is always allowed
/// (kube-apiserver's privileged-group authorizer). The first Allow or Deny wins; reasons of
/// the modes without an opinion are joined.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    pub modes: Vec<Arc<dyn Authorizer>>,
}

#[async_trait]
impl Authorizer for Chain {
    async fn authorize(&self, attributes: &Attributes) -> Decision {
        if attributes.user.in_group(MASTERS) {
            return Decision::allow("");
        }
        let mut reasons = Vec::new();
        let mut errors = Vec::new();
        for mode in &self.modes {
            let decision = mode.authorize(attributes).await;
            match decision.verdict {
                Verdict::Allow | Verdict::Deny => return decision,
                Verdict::NoOpinion => {
                    if !decision.reason.is_empty() {
                        reasons.push(decision.reason);
                    }
                    errors.extend(decision.error);
                }
            }
        }
        Decision {
            verdict: Verdict::NoOpinion,
            reason: reasons.join("\n"),
            error: (!errors.is_empty()).then(|| errors.join(", ")),
        }
    }

    fn rules_held(&self, user: &User, namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
        let mut held = (Vec::new(), Vec::new());
        for mode in &self.modes {
            let (rules, errors) = mode.rules_held(user, namespace);
            held.0.extend(rules);
            held.1.extend(errors);
        }
        held
    }

    fn role_reference_rules(
        &self,
        kind: &str,
        name: &str,
        namespace: &str,
    ) -> Option<Result<Vec<PolicyRule>, String>> {
        self.modes
            .iter()
            .find_map(|mode| mode.role_reference_rules(kind, name, namespace))
    }

    fn rules_for(&self, user: &User, namespace: &str) -> RulesReview {
        // Masters may do everything (kube-apiserver's privileged-group rule resolver).
        let mut all = if user.in_group(MASTERS) {
            AlwaysAllow.rules_for(user, namespace)
        } else {
            RulesReview::default()
        };
        let mut errors = Vec::new();
        for mode in &self.modes {
            let rules = mode.rules_for(user, namespace);
            all.resource_rules.extend(rules.resource_rules);
            all.non_resource_rules.extend(rules.non_resource_rules);
            all.incomplete |= rules.incomplete;
            if !rules.evaluation_error.is_empty() {
                errors.push(rules.evaluation_error);
            }
        }
        all.evaluation_error = errors.join(", ");
        all
    }
}

/// The 403 for a request the chain did not allow, with kube-apiserver's message
/// (k8s.io/apiserver `pkg/endpoints/handlers/responsewriters/errors.go` `forbiddenMessage`).
pub fn forbidden(attributes: &Attributes, reason: &str) -> registry::ApiError {
    let user = &attributes.user.name;
    let mut message = if !attributes.resource_request {
        format!(
            "User {user:?} cannot {} path {:?}",
            attributes.verb, attributes.path
        )
    } else {
        let mut resource = attributes.resource.clone();
        if !attributes.subresource.is_empty() {
            resource = format!("{resource}/{}", attributes.subresource);
        }
        let scope = if attributes.namespace.is_empty() {
            "at the cluster scope".to_owned()
        } else {
            format!("in the namespace {:?}", attributes.namespace)
        };
        format!(
            "User {user:?} cannot {} resource {resource:?} in API group {:?} {scope}",
            attributes.verb, attributes.api_group
        )
    };
    if !reason.is_empty() {
        message = format!("{message}: {reason}");
    }
    let resource = registry::GroupResource::new(&attributes.api_group, &attributes.resource);
    registry::ApiError::forbidden(&resource, &attributes.name, &message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(user: &str, groups: &[&str]) -> Attributes {
        Attributes {
            user: User::new(user, groups.iter().map(|g| g.to_string()).collect()),
            verb: "get".into(),
            resource_request: true,
            namespace: "team-b".into(),
            api_group: "fleet.k0rdent.io".into(),
            api_version: "v1alpha1".into(),
            resource: "clusterdeployments".into(),
            name: "prod".into(),
            ..Attributes::default()
        }
    }

    #[derive(Debug)]
    struct Fixed(Decision);

    #[async_trait]
    impl Authorizer for Fixed {
        async fn authorize(&self, _attributes: &Attributes) -> Decision {
            self.0.clone()
        }
    }

    #[tokio::test]
    async fn masters_are_allowed_and_the_first_opinion_wins() {
        let chain = Chain {
            modes: vec![
                Arc::new(Fixed(Decision::no_opinion("RBAC: nothing"))),
                Arc::new(Fixed(Decision::deny("webhook says no"))),
                Arc::new(AlwaysAllow),
            ],
        };
        let masters = attributes("root", &["system:masters"]);
        assert!(chain.authorize(&masters).await.allowed());
        let alice = attributes("alice", &["team-a"]);
        assert_eq!(
            chain.authorize(&alice).await,
            Decision::deny("webhook says no")
        );
        let quiet = Chain {
            modes: vec![Arc::new(Fixed(Decision::no_opinion("RBAC: nothing")))],
        };
        assert_eq!(
            quiet.authorize(&alice).await,
            Decision::no_opinion("RBAC: nothing")
        );
    }

    #[test]
    fn forbidden_messages_read_like_kube_apiserver() {
        let alice = attributes("alice", &[]);
        let error = forbidden(&alice, "");
        assert_eq!(error.code(), 403);
        assert_eq!(
            error.status().message,
            "clusterdeployments.fleet.k0rdent.io \"prod\" is forbidden: User \"alice\" cannot get resource \"clusterdeployments\" in API group \"fleet.k0rdent.io\" in the namespace \"team-b\""
        );
        let mut list = alice.clone();
        list.verb = "list".into();
        list.name.clear();
        list.namespace.clear();
        assert_eq!(
            forbidden(&list, "RBAC: clusterrole.rbac.authorization.k8s.io \"x\" not found").status().message,
            "clusterdeployments.fleet.k0rdent.io is forbidden: User \"alice\" cannot list resource \"clusterdeployments\" in API group \"fleet.k0rdent.io\" at the cluster scope: RBAC: clusterrole.rbac.authorization.k8s.io \"x\" not found"
        );
        let path = Attributes {
            user: User::new("bob", vec![]),
            verb: "get".into(),
            path: "/metrics".into(),
            ..Attributes::default()
        };
        assert_eq!(
            forbidden(&path, "").status().message,
            "forbidden: User \"bob\" cannot get path \"/metrics\""
        );
    }
}
