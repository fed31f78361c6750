//! What ClusterTemplates and ServiceTemplates share: the `source` union (a Helm chart or
//! inline minijinja manifests) and the template status.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a template's objects come from: exactly one of a Helm chart (`helm`) or manifests
/// written inline as a minijinja template (`inline`).
// The members are published as plain objects (`schemars(with)`) rather than
// `anyOf [$ref, null]`, so that the schema stays structural.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSource {
    /// A Helm chart pulled from a chart repository. Exactly one of `helm` or `inline` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "HelmSource")]
    pub helm: Option<HelmSource>,
    /// Manifests written inline as a minijinja template. Exactly one of `helm` or `inline` is
    /// set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "InlineSource")]
    pub inline: Option<InlineSource>,
}

/// A Helm chart: installed with the template's values (a ClusterTemplate's `config`, a
/// service's `values`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmSource {
    /// The chart name in the repository, e.g. `aws-standalone-cp`.
    pub chart: String,
    /// The exact chart version, a semantic version such as `1.0.0` or `v1.16.2` (no ranges).
    pub version: String,
    /// The chart repository URL: `oci://` for an OCI registry (e.g.
    /// `oci://ghcr.io/k0rdent/kcm/charts`), or `https://` / `http://` for a classic repository
    /// with an index.yaml.
    pub repository: String,
}

/// Manifests written inline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InlineSource {
    /// A minijinja (Jinja2) template rendering multi-document YAML. In a ClusterTemplate it
    /// sees `cluster` (`name`, `namespace`, `labels` of the ClusterDeployment) and `config`;
    /// in a ServiceTemplate, `cluster` and `values`. Rendered with trim_blocks and
    /// lstrip_blocks; undefined values chain, so `{{ config.workers.replicas | default(2) }}`
    /// works when `workers` is not given. Its syntax is checked on create.
    pub manifests: String,
}

/// What a controller found when it checked a template. Written only through `/status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateStatus {
    /// Whether the template can be used: its chart resolves, or its manifests render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
    /// Why the template is not valid, or a note about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
