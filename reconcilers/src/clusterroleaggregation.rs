//! ClusterRole aggregation, as kube-controller-manager's `clusterroleaggregation` controller
//! (kubernetes `pkg/controller/clusterroleaggregation`): an aggregating ClusterRole's `rules`
//! become, for each of its `clusterRoleSelectors` in order, the rules of the other ClusterRoles
//! the selector matches (by name), each rule once — written with server-side apply by the
//! controller's field manager, forced. Any ClusterRole change looks at every aggregating one
//! again; roles that aggregate aggregating roles settle over successive rounds, as upstream.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use kube::api::{Patch, PatchParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::runtime::{Reconcile, Runtime};

/// The field manager of aggregated rules (upstream's controller name).
pub const MANAGER: &str = "clusterrole-aggregation-controller";

/// Why an aggregating role was not written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A selector of the aggregation rule is not a valid label selector.
    #[error("clusterrole {role:?}: invalid clusterRoleSelector")]
    Selector {
        role: String,
        #[source]
        source: kube::core::ParseExpressionError,
    },
    /// Writing the aggregated rules failed.
    #[error("clusterrole {role:?}: writing the aggregated rules")]
    Write {
        role: String,
        #[source]
        source: kube::Error,
    },
}

/// Installs the controller.
pub fn install(runtime: &mut Runtime) {
    runtime.controller("clusterrole-aggregation", |client| {
        let api = Api::<ClusterRole>::all(client.clone());
        // Every change of any ClusterRole may change what an aggregating one gathers.
        let changes = watcher(api.clone(), watcher::Config::default())
            .default_backoff()
            .filter_map(|event| std::future::ready(event.ok().map(|_| ())));
        let controller =
            Controller::new(api.clone(), watcher::Config::default()).reconcile_all_on(changes);
        let roles = controller.store();
        (controller, Aggregation { api, roles })
    });
}

/// Writes aggregated rules into the aggregating ClusterRoles.
struct Aggregation {
    api: Api<ClusterRole>,
    /// Every ClusterRole, as the controller's watch last saw them.
    roles: Store<ClusterRole>,
}

impl Reconcile<ClusterRole> for Aggregation {
    type Error = Error;

    async fn reconcile(&self, role: Arc<ClusterRole>) -> Result<Action, Error> {
        let Some(rule) = &role.aggregation_rule else {
            return Ok(Action::await_change());
        };
        let mut roles = self.roles.state();
        roles.sort_by_key(|role| role.name_any());
        let name = role.name_any();
        let mut wanted: Vec<PolicyRule> = Vec::new();
        for selector in rule.cluster_role_selectors.iter().flatten() {
            let selector =
                Selector::try_from(selector.clone()).map_err(|source| Error::Selector {
                    role: name.clone(),
                    source,
                })?;
            let selected = roles
                .iter()
                .filter(|other| other.name_any() != name && selector.matches(other.labels()));
            for rule in selected.flat_map(|other| other.rules.iter().flatten()) {
                if !wanted.iter().any(|w| same_rule(w, rule)) {
                    wanted.push(rule.clone());
                }
            }
        }
        let current = role.rules.as_deref().unwrap_or_default();
        if current.len() == wanted.len()
            && current.iter().zip(&wanted).all(|(a, b)| same_rule(a, b))
        {
            return Ok(Action::await_change());
        }
        let applied = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": wanted,
        });
        self.api
            .patch(
                &name,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(applied),
            )
            .await
            .map_err(|source| Error::Write {
                role: name.clone(),
                source,
            })?;
        tracing::info!(clusterrole = %name, "aggregated rules");
        Ok(Action::await_change())
    }
}

/// Rules equal as apimachinery's `equality.Semantic` compares them: a missing list is an
/// empty one.
fn same_rule(a: &PolicyRule, b: &PolicyRule) -> bool {
    fn list(field: &Option<Vec<String>>) -> &[String] {
        field.as_deref().unwrap_or_default()
    }
    a.verbs == b.verbs
        && list(&a.api_groups) == list(&b.api_groups)
        && list(&a.resources) == list(&b.resources)
        && list(&a.resource_names) == list(&b.resource_names)
        && list(&a.non_resource_urls) == list(&b.non_resource_urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_lists_are_the_same_rule() {
        let missing = PolicyRule {
            verbs: vec!["get".into()],
            resources: Some(vec!["pods".into()]),
            ..PolicyRule::default()
        };
        let empty = PolicyRule {
            api_groups: Some(vec![]),
            resource_names: Some(vec![]),
            ..missing.clone()
        };
        assert!(same_rule(&missing, &empty));
        let other = PolicyRule {
            api_groups: Some(vec!["apps".into()]),
            ..missing.clone()
        };
        assert!(!same_rule(&missing, &other));
    }
}
