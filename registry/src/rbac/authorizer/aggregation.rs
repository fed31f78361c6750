//! ClusterRole aggregation: the rules each aggregating ClusterRole gathers from the roles its
//! selectors match, recomputed when a ClusterRole changes (upstream
//! `pkg/controller/clusterroleaggregation`).

use super::*;

impl Policy {
    pub(super) fn aggregate(&mut self) {
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
}
