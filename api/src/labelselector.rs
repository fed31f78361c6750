//! `metav1.LabelSelector`, as objects carry it (a MultiClusterService's `clusterSelector`, a
//! ClusterRole's `aggregationRule`), and what matching it means
//! (`metav1.LabelSelectorAsSelector`). The server validates it (`registry::labelselector`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Labels a cluster must carry to be selected. `matchLabels` and `matchExpressions` are
/// ANDed; an empty selector (`{}`) selects every cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels a cluster must have, with exactly these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Requirements on labels, all of which must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// A requirement on one label key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LabelSelectorRequirement {
    /// The label key (a qualified name such as `env` or `k0rdent.io/region`).
    pub key: String,
    /// How the key relates to `values`: `In` and `NotIn` need at least one value; `Exists`
    /// and `DoesNotExist` take none.
    pub operator: Operator,
    /// The values for `In` and `NotIn`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// The operators of a label selector requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Operator {
    /// The label's value is one of `values`.
    In,
    /// The label is missing or its value is none of `values`.
    NotIn,
    /// The label is present, whatever its value.
    Exists,
    /// The label is missing.
    DoesNotExist,
}

impl LabelSelector {
    /// Whether `labels` satisfy the selector (`{}` matches everything).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let labels_match = self
            .match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v));
        labels_match && self.match_expressions.iter().all(|r| r.matches(labels))
    }
}

impl LabelSelectorRequirement {
    /// Whether `labels` satisfy this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        let listed = value.is_some_and(|v| self.values.contains(v));
        match self.operator {
            Operator::In => listed,
            Operator::NotIn => !listed,
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_match_like_kubernetes_label_selectors() {
        let selector: LabelSelector = serde_json::from_value(json!({
            "matchLabels": {"env": "prod"},
            "matchExpressions": [
                {"key": "region", "operator": "NotIn", "values": ["cn"]},
                {"key": "gpu", "operator": "Exists"}
            ]
        }))
        .unwrap();
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        assert!(selector.matches(&labels(&[("env", "prod"), ("gpu", "t4")])));
        assert!(!selector.matches(&labels(&[("env", "prod"), ("gpu", "t4"), ("region", "cn")])));
        assert!(!selector.matches(&labels(&[("env", "dev"), ("gpu", "t4")])));
        assert!(LabelSelector::default().matches(&labels(&[])));
    }
}
