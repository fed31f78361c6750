//! What the control plane DOES: controllers on one runtime, reaching the server itself and
//! other clusters only through the Kubernetes API (kube-rs). Against this server they use an
//! in-process `kube::Client` (`apiserver::inprocess`) that goes through the whole filter chain
//! as a fixed identity (`system:fleet-controller-manager`) the bootstrap policy binds and no
//! request from outside the process can claim.
//!
//! # Layout
//! - [`runtime`]: the controller runtime — kube-runtime's `Controller` with the shared error
//!   policy (per-object exponential backoff), metrics per controller, leader gating, and a
//!   finalizer helper; loops over several kinds (the garbage collector) run on it too.
//! - [`garbagecollector`]: cascading deletion over `ownerReferences` (standalone servers).
//! - [`clusterroleaggregation`]: the rules of aggregating ClusterRoles.

pub mod clusterroleaggregation;
pub mod garbagecollector;
pub mod runtime;

pub use runtime::{AlwaysLeader, Leadership, Runtime};
