//! The fleet.k0rdent.io API as Rust types: what the server stores and serves, what controllers
//! and the simulator read and write, and what users' programs use with kube-rs — as
//! k8s-openapi is for the built-in kinds.
//!
//! ```no_run
//! # async fn example(client: kube::Client) -> Result<(), kube::Error> {
//! use fleet_api::v1alpha1::ClusterDeployment;
//! let clusters: kube::Api<ClusterDeployment> = kube::Api::namespaced(client, "team-a");
//! for cluster in clusters.list(&Default::default()).await? {
//!     println!("{:?}", cluster.status.and_then(|s| s.phase));
//! }
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`v1alpha1`]: one module per kind (spec, status, their defaults; doc comments are the
//!   field descriptions `kubectl explain` shows, schemas come from `schemars`), and with the
//!   `kube` feature (default) the top-level objects and their `kube::Resource` impls.
//! - [`labelselector`]: `metav1.LabelSelector` and what matching it means.
//!
//! The server checks more than these types say (names, references, JSON Schemas of other
//! objects): a value that deserializes is not necessarily one the server accepts.

pub mod labelselector;
pub mod v1alpha1;

/// The API group.
pub const GROUP: &str = "fleet.k0rdent.io";
