//! Credential: a reference to a provider identity in the management cluster that
//! ClusterDeployments of its namespace are built with, and the region it is meant for.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A provider identity that ClusterDeployments of this namespace are built with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialSpec {
    /// The identity object in the management cluster.
    pub identity_ref: IdentityRef,
    /// The provider region clusters built with this credential go to (e.g. `us-east-1`,
    /// `eastus`, `us-central1`). It cannot change once set: create another Credential.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// What the credential is for, for humans.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// A reference to the identity object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityRef {
    /// API version of the identity (e.g. `infrastructure.cluster.x-k8s.io/v1beta2`, or `v1`
    /// for a Secret).
    pub api_version: String,
    /// Kind of the identity (e.g. `AWSClusterStaticIdentity`, `AzureClusterIdentity`,
    /// `Secret`).
    pub kind: String,
    /// Name of the identity.
    pub name: String,
    /// Namespace of a namespaced identity: empty or the Credential's own namespace (a
    /// Credential may not lend an identity of another namespace). Must be empty for the
    /// cluster-scoped AWSClusterStaticIdentity, AWSClusterRoleIdentity,
    /// AWSClusterControllerIdentity and VSphereClusterIdentity.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// Whether the identity is usable (written only through `/status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialStatus {
    /// The identity exists and its provider accepts it.
    #[serde(default)]
    pub ready: bool,
    /// Why it is not ready, for humans.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}
