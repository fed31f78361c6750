//! fleet.k0rdent.io/v1alpha1: one module per kind. The spec and status types of every kind
//! are also here under their own names; types two kinds share a name for (`Condition`,
//! `Service`) are reached through their kind's module.

pub mod clusterdeployment;
pub mod clustertemplate;
pub mod credential;
pub mod multiclusterservice;
#[cfg(feature = "kube")]
mod objects;
pub mod pricelist;
pub mod servicetemplate;
pub mod templatesource;

pub use clusterdeployment::{ClusterDeploymentSpec, ClusterDeploymentStatus};
pub use clustertemplate::ClusterTemplateSpec;
pub use credential::{CredentialSpec, CredentialStatus};
pub use multiclusterservice::{MultiClusterServiceSpec, MultiClusterServiceStatus};
#[cfg(feature = "kube")]
pub use objects::{
    ClusterDeployment, ClusterTemplate, Credential, MultiClusterService, PriceList, ServiceTemplate,
};
pub use pricelist::{PriceListSpec, PriceListStatus};
pub use servicetemplate::ServiceTemplateSpec;
pub use templatesource::{TemplateSource, TemplateStatus};

/// The API version.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of every object of this version.
pub const API_VERSION: &str = "fleet.k0rdent.io/v1alpha1";
/// The category every fleet kind is in (`kubectl get k0rdent`).
pub const CATEGORY: &str = "k0rdent";
