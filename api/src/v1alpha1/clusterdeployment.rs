//! The ClusterDeployment API types: what `kubectl explain cld` shows (doc comments become
//! field docs) and what controllers read and write. Optional fields are `Option`s described
//! by their inner type (`schemars(with)`): Kubernetes schemas leave optional fields out of
//! `required` instead of making them nullable.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A wanted cluster: the ClusterTemplate that builds it, the Credential it is built with, the
/// template's config values, and the services installed on it. Its labels are what
/// MultiClusterService `clusterSelector`s match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDeploymentSpec {
    /// Name of the ClusterTemplate, in the same namespace, the cluster is built from. It may
    /// be named before it exists. Once set it may only change to one of the templates listed
    /// in the current template's `upgradeTo` (an upgrade).
    pub template: String,
    /// Name of the Credential, in the same namespace, the cluster is built with.
    pub credential: String,
    /// Values for the template, checked against the template's `configSchema` on every
    /// change (when the template exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Map<String, Value>")]
    pub config: Option<Map<String, Value>>,
    /// Beach-head services installed on the cluster once it is up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    /// Render and validate the template's objects without creating anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub dry_run: Option<bool>,
    /// Stop reconciling the cluster and its services until unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub paused: Option<bool>,
}

/// A service installed on the cluster: a ServiceTemplate with values, in a namespace of the
/// cluster, after the services it depends on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// Name of the service, unique within the cluster (a DNS-1123 label).
    pub name: String,
    /// Name of the ServiceTemplate, in the same namespace as the ClusterDeployment.
    pub template: String,
    /// Namespace of the child cluster the service is installed in (a DNS-1123 label).
    /// Defaults to the service's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub namespace: Option<String>,
    /// Values for the template, checked against its `valuesSchema`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Map<String, Value>")]
    pub values: Option<Map<String, Value>>,
    /// Names of other services of this cluster that must be Deployed before this one is
    /// installed. No service may depend on itself, directly or through others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// What controllers observed of the cluster (written only through `/status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDeploymentStatus {
    /// The latest observations of the cluster, at most one per type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<Condition>")]
    pub conditions: Option<Vec<Condition>>,
    /// Where the cluster is in its life.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Phase")]
    pub phase: Option<Phase>,
    /// Kubernetes version the control plane runs (`vMAJOR.MINOR.PATCH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub kubernetes_version: Option<String>,
    /// Ready and desired control-plane machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "MachineCounts")]
    pub control_plane: Option<MachineCounts>,
    /// Ready and desired worker machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "MachineCounts")]
    pub workers: Option<MachineCounts>,
    /// Templates `spec.template` may change to (the current template's `upgradeTo` that
    /// exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>")]
    pub available_upgrades: Option<Vec<String>>,
    /// State of each service of `spec.services`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<ServiceStatus>")]
    pub services: Option<Vec<ServiceStatus>>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    #[schemars(with = "i64")]
    pub observed_generation: Option<i64>,
}

/// One observation of the cluster, shaped like Kubernetes' `metav1.Condition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// What is observed.
    #[serde(rename = "type")]
    pub type_: ConditionType,
    /// Whether it holds.
    pub status: ConditionStatus,
    /// Why, in CamelCase (e.g. `TemplateNotFound`); REASON of `kubectl get cld` for Ready.
    pub reason: String,
    /// Why, for humans; MESSAGE of `kubectl get cld -o wide` for Ready.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The `metadata.generation` this condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    #[schemars(with = "i64")]
    pub observed_generation: Option<i64>,
    /// When `status` last changed (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: String,
}

/// The observations a ClusterDeployment reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ConditionType {
    /// The cluster is up with every service Deployed (the summary).
    Ready,
    /// The ClusterTemplate exists and is valid, and `config` satisfies its schema.
    TemplateReady,
    /// The Credential exists and its identity is usable.
    CredentialReady,
    /// The provider's infrastructure (network, load balancer) is ready.
    InfrastructureReady,
    /// Every desired control-plane machine is ready.
    ControlPlaneReady,
    /// Every desired worker machine is ready.
    WorkersReady,
    /// Every service of `spec.services` is Deployed.
    ServicesReady,
    /// The cluster is being deleted.
    Deleting,
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

/// Where a cluster is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Phase {
    /// Waiting for its template, credential or a controller.
    Pending,
    /// Being built.
    Provisioning,
    /// Built and running.
    Provisioned,
    /// Moving to another template.
    Upgrading,
    /// Being torn down.
    Deleting,
    /// Stuck; the Ready condition says why.
    Failed,
}

/// Ready and desired machine counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MachineCounts {
    /// Machines that are ready.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub ready: i64,
    /// Machines wanted.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub desired: i64,
}

/// The state of one service on the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    /// Name of the service in `spec.services`.
    pub name: String,
    /// Where its installation is.
    pub state: ServiceState,
    /// Why, for humans.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Where the installation of a service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ServiceState {
    /// Waiting for the cluster or for the services it depends on.
    Pending,
    /// Being installed or upgraded.
    Provisioning,
    /// Installed and healthy.
    Deployed,
    /// Installation failed; `message` says why.
    Failed,
    /// Being removed.
    Deleting,
}
