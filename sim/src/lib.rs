//! The simulated management and child clusters: a Kubernetes API built on `apiserver`,
//! `registry` and `storage`, plus a simulated Cluster API infrastructure provider.
//!
//! # Layout
//! Empty: the simulator is not built yet.
