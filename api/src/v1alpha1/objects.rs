//! The top-level objects — `metadata`, `spec`, `status` — and their `kube::Resource` impls,
//! so that `kube::Api<ClusterDeployment>` (and kube-runtime's watchers and controllers) work
//! against the server. What `#[derive(CustomResource)]` writes for a CRD, without the derive
//! macro: `apiVersion` and `kind` are written on serialization and not kept on the value.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube_core::object::{HasSpec, HasStatus};
use kube_core::Resource;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use super::{API_VERSION, VERSION};
use crate::v1alpha1::{
    ClusterDeploymentSpec, ClusterDeploymentStatus, ClusterTemplateSpec, CredentialSpec,
    CredentialStatus, MultiClusterServiceSpec, MultiClusterServiceStatus, PriceListSpec,
    PriceListStatus, ServiceTemplateSpec, TemplateStatus,
};
use crate::GROUP;

/// Declares one kind's object type and its impls.
macro_rules! object {
    ($(#[$doc:meta])* $kind:ident, $plural:literal, $scope:ty, $spec:ty, $status:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Deserialize)]
        pub struct $kind {
            /// Standard object metadata.
            #[serde(default)]
            pub metadata: ObjectMeta,
            /// The desired state.
            pub spec: $spec,
            /// The observed state, written by controllers through `/status`.
            #[serde(default)]
            pub status: Option<$status>,
        }

        impl $kind {
            /// An object named `name` (no namespace, no status) with `spec`.
            pub fn new(name: &str, spec: $spec) -> Self {
                $kind {
                    metadata: ObjectMeta {
                        name: Some(name.to_owned()),
                        ..ObjectMeta::default()
                    },
                    spec,
                    status: None,
                }
            }
        }

        impl Resource for $kind {
            type DynamicType = ();
            type Scope = $scope;

            fn kind(_: &()) -> Cow<'_, str> {
                Cow::Borrowed(stringify!($kind))
            }
            fn group(_: &()) -> Cow<'_, str> {
                Cow::Borrowed(GROUP)
            }
            fn version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed(VERSION)
            }
            fn api_version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed(API_VERSION)
            }
            fn plural(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($plural)
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl HasSpec for $kind {
            type Spec = $spec;
            fn spec(&self) -> &$spec {
                &self.spec
            }
            fn spec_mut(&mut self) -> &mut $spec {
                &mut self.spec
            }
        }

        impl HasStatus for $kind {
            type Status = $status;
            fn status(&self) -> Option<&$status> {
                self.status.as_ref()
            }
            fn status_mut(&mut self) -> &mut Option<$status> {
                &mut self.status
            }
        }

        impl Serialize for $kind {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let fields = if self.status.is_some() { 5 } else { 4 };
                let mut out = serializer.serialize_struct(stringify!($kind), fields)?;
                out.serialize_field("apiVersion", API_VERSION)?;
                out.serialize_field("kind", stringify!($kind))?;
                out.serialize_field("metadata", &self.metadata)?;
                out.serialize_field("spec", &self.spec)?;
                if let Some(status) = &self.status {
                    out.serialize_field("status", status)?;
                }
                out.end()
            }
        }
    };
}

object!(
    /// How to build a cluster (`clustertemplates`, namespaced).
    ClusterTemplate, "clustertemplates", NamespaceResourceScope, ClusterTemplateSpec, TemplateStatus
);
object!(
    /// A wanted cluster (`clusterdeployments`, namespaced).
    ClusterDeployment, "clusterdeployments", NamespaceResourceScope, ClusterDeploymentSpec,
    ClusterDeploymentStatus
);
object!(
    /// A beach-head service installed on child clusters (`servicetemplates`, namespaced).
    ServiceTemplate, "servicetemplates", NamespaceResourceScope, ServiceTemplateSpec, TemplateStatus
);
object!(
    /// Services for every cluster a selector matches (`multiclusterservices`, cluster-scoped).
    MultiClusterService, "multiclusterservices", ClusterResourceScope, MultiClusterServiceSpec,
    MultiClusterServiceStatus
);
object!(
    /// A provider identity clusters of its namespace are built with (`credentials`,
    /// namespaced).
    Credential, "credentials", NamespaceResourceScope, CredentialSpec, CredentialStatus
);
object!(
    /// What compute costs, in one currency (`pricelists`, cluster-scoped; no status).
    PriceList, "pricelists", ClusterResourceScope, PriceListSpec, PriceListStatus
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_carry_their_api_version_and_kind_on_the_wire() {
        let cluster = ClusterDeployment::new(
            "dev-1",
            ClusterDeploymentSpec {
                template: "aws-1-33".into(),
                credential: "aws".into(),
                ..ClusterDeploymentSpec::default()
            },
        );
        let wire = serde_json::to_value(&cluster).unwrap();
        assert_eq!(
            wire,
            json!({
                "apiVersion": "fleet.k0rdent.io/v1alpha1",
                "kind": "ClusterDeployment",
                "metadata": {"name": "dev-1"},
                "spec": {"template": "aws-1-33", "credential": "aws"},
            })
        );
        assert_eq!(
            serde_json::from_value::<ClusterDeployment>(wire).unwrap(),
            cluster
        );
        assert_eq!(
            ClusterDeployment::url_path(&(), Some("team-a")),
            "/apis/fleet.k0rdent.io/v1alpha1/namespaces/team-a/clusterdeployments"
        );
        assert_eq!(
            PriceList::url_path(&(), None),
            "/apis/fleet.k0rdent.io/v1alpha1/pricelists"
        );
    }
}
