//! ClusterTemplate: how to build a cluster — provider, Kubernetes version, a Helm chart or
//! inline manifests producing Cluster API objects, the JSON Schema of a ClusterDeployment's
//! `config`, and the templates it may be upgraded to. Its status is [`TemplateStatus`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::templatesource::TemplateSource;
pub use super::templatesource::TemplateStatus;

/// The desired state of a ClusterTemplate. Immutable once created.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterTemplateSpec {
    /// The infrastructure provider the template builds clusters on: aws, azure, gcp, vsphere,
    /// openstack, or sim (the built-in simulated provider). Any DNS-1123 label is accepted;
    /// unknown providers get a warning.
    pub provider: String,
    /// The Kubernetes version of the clusters it builds, `vMAJOR.MINOR.PATCH` (e.g. `v1.33.1`).
    pub kubernetes_version: String,
    /// Where the Cluster API objects come from: a Helm chart, installed with the
    /// ClusterDeployment's `config` as values, or inline manifests rendered from `cluster`
    /// (name, namespace, labels of the ClusterDeployment) and `config`. Exactly one of `helm`
    /// or `inline`.
    pub source: TemplateSource,
    /// A JSON Schema (the dialect of Helm's values.schema.json: draft-07 unless `$schema`
    /// says otherwise) that a ClusterDeployment's `config` must satisfy. Checked against the
    /// meta-schema on create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_schema: Option<Map<String, Value>>,
    /// Names of the ClusterTemplates (in the same namespace) a ClusterDeployment using this
    /// template may switch to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upgrade_to: Vec<String>,
}
