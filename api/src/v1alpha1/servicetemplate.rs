//! ServiceTemplate: a beach-head service installed on child clusters — a Helm chart or inline
//! manifests, its version, and the JSON Schema of the `values` it is given. Its status is
//! [`TemplateStatus`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::templatesource::TemplateSource;
pub use super::templatesource::TemplateStatus;

/// The desired state of a ServiceTemplate. Immutable once created.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTemplateSpec {
    /// Where the service's objects come from: a Helm chart, installed on the child cluster
    /// with the service's `values`, or inline manifests rendering Kubernetes objects for the
    /// child cluster from `cluster` (name, namespace, labels of the ClusterDeployment) and
    /// `values`. Exactly one of `helm` or `inline`.
    pub source: TemplateSource,
    /// The version of the service this template installs, a semantic version (e.g. `4.12.0`
    /// or `v1.16.2`); shown in FleetService rows.
    pub version: String,
    /// A JSON Schema (the dialect of Helm's values.schema.json: draft-07 unless `$schema`
    /// says otherwise) that the `values` given to this service must satisfy. Checked against
    /// the meta-schema on create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_schema: Option<Map<String, Value>>,
}
