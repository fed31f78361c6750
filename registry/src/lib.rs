//! What the resources ARE and what each verb MEANS: the generic store over `storage`, driven
//! by per-kind strategies, the fleet.k0rdent.io kinds and the computed views.
//!
//! # Layout
//! Empty until the resource registration of issue #3 lands; it depends on `storage` only.
