//! MultiClusterService: services for every ClusterDeployment whose labels match a selector,
//! with a priority, a sync mode, ordering after other MultiClusterServices and batched
//! rollouts. What `kubectl explain mcs` shows (doc comments become field docs) and what
//! controllers read and write.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use serde_json::{Map, Value};

use crate::labelselector::LabelSelector;

/// `spec.templateNamespace` when none is given.
pub const DEFAULT_TEMPLATE_NAMESPACE: &str = "k0rdent-system";
/// `spec.priority` when none is given.
pub const DEFAULT_PRIORITY: i64 = 100;

/// Services for every cluster whose labels match `clusterSelector`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultiClusterServiceSpec {
    /// The ClusterDeployments (in any namespace) that get the services, by their labels.
    /// Required; `{}` selects every cluster.
    pub cluster_selector: LabelSelector,
    /// Namespace of the ServiceTemplates that `services` name. Defaults to
    /// `k0rdent-system`.
    #[serde(default = "default_template_namespace")]
    pub template_namespace: String,
    /// The services installed on every matching cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    /// Which object wins when several install a service of the same name on a cluster:
    /// the higher priority (from 1 to 2147483646). Defaults to 100.
    #[serde(default = "default_priority")]
    pub priority: i64,
    /// How services are kept on the clusters: `OneTime` installs them once and leaves them
    /// alone; `Continuous` (the default) re-applies them whenever the spec changes;
    /// `ContinuousWithDriftDetection` also puts back what someone changed on a cluster;
    /// `DryRun` only reports what would change.
    #[serde(default)]
    pub sync_mode: SyncMode,
    /// Names of other MultiClusterServices whose services must be Deployed on a cluster
    /// before this one's are installed there. Not itself, directly or through others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// How many matching clusters are updated at once.
    #[serde(default)]
    pub rollout: Rollout,
}

fn default_template_namespace() -> String {
    DEFAULT_TEMPLATE_NAMESPACE.into()
}

fn default_priority() -> i64 {
    DEFAULT_PRIORITY
}

/// A service installed on every matching cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// Name of the service, unique within `services` (a DNS-1123 label; the Helm release
    /// name).
    pub name: String,
    /// Name of the ServiceTemplate, in `templateNamespace`, the service is installed from.
    pub template: String,
    /// Namespace of the child cluster the service is installed in (a DNS-1123 label).
    /// Defaults to the service's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Values for the template (its `valuesSchema` says which; a controller checks them and
    /// reports violations in the TemplatesReady condition).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub values: Map<String, Value>,
    /// Names of other services of this list that must be Deployed on a cluster before this
    /// one is installed there. No service may depend on itself, directly or through others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// How services are kept on the clusters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SyncMode {
    /// Installed once, then left alone.
    OneTime,
    /// Re-applied whenever the spec changes.
    #[default]
    Continuous,
    /// Re-applied on spec changes and whenever a cluster drifts from it.
    ContinuousWithDriftDetection,
    /// Nothing is installed; the status says what would change.
    DryRun,
}

/// A batched rollout over the matching clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    /// Most clusters updated at once: a count (at least 1, e.g. `2`) or a percentage of the
    /// matching clusters from `"1%"` to `"100%"` (e.g. `"25%"`, rounded up to at least one
    /// cluster). Defaults to `"100%"`: every cluster at once.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-int-or-string" = true))]
    pub max_update: IntOrPercent,
    /// Stop updating further clusters once an update failed on one. Defaults to true.
    #[serde(default = "default_stop_on_failure")]
    pub stop_on_failure: bool,
}

fn default_stop_on_failure() -> bool {
    true
}

impl Default for Rollout {
    fn default() -> Self {
        Rollout {
            max_update: IntOrPercent::default(),
            stop_on_failure: true,
        }
    }
}

/// A count or a percentage (`"25%"`), as Kubernetes' `IntOrString`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IntOrPercent {
    Count(i64),
    Percent(String),
}

impl Default for IntOrPercent {
    fn default() -> Self {
        IntOrPercent::Percent("100%".into())
    }
}

/// What controllers observed of the matching clusters (written only through `/status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultiClusterServiceStatus {
    /// Every ClusterDeployment the selector matches, with the state of this object's
    /// services on it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matching_clusters: Vec<MatchingCluster>,
    /// The latest observations (`Ready`: every matching cluster has every service
    /// Deployed; `TemplatesReady`, `DependenciesReady`, `Progressing`), at most one per
    /// type, shaped like Kubernetes' `metav1.Condition`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub observed_generation: i64,
}

/// One matching cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchingCluster {
    /// Namespace of the ClusterDeployment.
    pub namespace: String,
    /// Name of the ClusterDeployment.
    pub name: String,
    /// Where this object's services are on the cluster.
    pub state: ClusterState,
    /// Why, for humans.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Where a MultiClusterService's services are on one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ClusterState {
    /// Waiting for the cluster, a rollout batch or the MultiClusterServices it depends on.
    Pending,
    /// Being installed or upgraded.
    Provisioning,
    /// Every service installed and healthy.
    Deployed,
    /// An installation failed; `message` says why.
    Failed,
    /// Being removed (the cluster no longer matches, or the object is being deleted).
    Deleting,
}

/// One observation, shaped like Kubernetes' `metav1.Condition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// What is observed.
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether it holds.
    pub status: ConditionStatus,
    /// Why, in CamelCase.
    pub reason: String,
    /// Why, for humans.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The `metadata.generation` this condition was set for.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub observed_generation: i64,
    /// When `status` last changed (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: String,
}

/// Whether a condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    /// It holds.
    True,
    /// It does not hold.
    False,
    /// It cannot be told yet.
    Unknown,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}
