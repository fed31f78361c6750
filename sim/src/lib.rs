//! The simulated management and child clusters: a Kubernetes API built on `apiserver`,
//! `registry` and `storage`, plus a simulated Cluster API infrastructure provider.
//!
//! # Layout
//! Empty until the serving machinery exists.
