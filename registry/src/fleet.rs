//! The fleet.k0rdent.io API group: one line per kind to install it.

use crate::catalog::{AlreadyRegistered, Catalog};

pub const GROUP: &str = "fleet.k0rdent.io";
pub const VERSION: &str = "v1alpha1";

/// The categories of every fleet kind.
pub fn categories() -> Vec<String> {
    vec!["k0rdent".into()]
}

/// Registers every fleet.k0rdent.io resource.
pub fn install(catalog: &Catalog) -> Result<(), AlreadyRegistered> {
    crate::clustertemplate::register(catalog)?;
    crate::clusterdeployment::register(catalog)?;
    crate::servicetemplate::register(catalog)?;
    crate::multiclusterservice::register(catalog)?;
    crate::credential::register(catalog)?;
    crate::pricelist::register(catalog)?;
    Ok(())
}
