//! The fleet.k0rdent.io API group as the server serves it: one module per kind with its
//! definition and strategy (validation, defaulting, admission, columns) over the types of
//! `fleet_api`, and one line per kind to install it.
//!
//! # Layout
//! - [`clustertemplate`], [`clusterdeployment`], [`servicetemplate`],
//!   [`multiclusterservice`], [`credential`], [`pricelist`]: the kinds;
//! - [`templatesource`]: what the template kinds share (source checks, rendering, their JSON
//!   Schemas, columns); [`servicespec`]: what the kinds that list services share.

pub mod clusterdeployment;
pub mod clustertemplate;
pub mod credential;
pub mod multiclusterservice;
pub mod pricelist;
pub mod servicespec;
pub mod servicetemplate;
pub mod templatesource;

use crate::catalog::{AlreadyRegistered, Catalog};

pub use fleet_api::v1alpha1::VERSION;
pub use fleet_api::GROUP;

/// The categories of every fleet kind.
pub fn categories() -> Vec<String> {
    vec![fleet_api::v1alpha1::CATEGORY.into()]
}

/// Registers every fleet.k0rdent.io resource.
pub fn install(catalog: &Catalog) -> Result<(), AlreadyRegistered> {
    clustertemplate::register(catalog)?;
    clusterdeployment::register(catalog)?;
    servicetemplate::register(catalog)?;
    multiclusterservice::register(catalog)?;
    credential::register(catalog)?;
    pricelist::register(catalog)?;
    Ok(())
}
