//! ClusterDeployment: a wanted cluster. Until the fleet.k0rdent.io API lands (issue #7) its
//! spec is free-form; it has a status subresource written only by controllers.

use std::sync::Arc;

use serde_json::json;

use crate::catalog::{AlreadyRegistered, Catalog};
use crate::fleet;
use crate::resource::{ResourceDefinition, Scope};
use crate::strategy::SchemalessStrategy;

/// Registers `clusterdeployments.fleet.k0rdent.io`.
pub fn register(catalog: &Catalog) -> Result<(), AlreadyRegistered> {
    let mut def = ResourceDefinition::new(
        fleet::GROUP,
        fleet::VERSION,
        "ClusterDeployment",
        "clusterdeployments",
        Scope::Namespaced,
    );
    def.short_names = vec!["cld".into()];
    def.categories = fleet::categories();
    def.status_subresource = true;
    def.schema = Some(json!({
        "type": "object",
        "description": "A wanted cluster, built from a ClusterTemplate.",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }
    }));
    catalog.register(def, Arc::new(SchemalessStrategy))?;
    Ok(())
}
